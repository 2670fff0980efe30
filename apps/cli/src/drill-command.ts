import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { discoverOrganization, MemberCredentials, resolveSelector } from '@orgshield/accounts';
import { OrgshieldError } from '@orgshield/errors';
import {
  assessCoverage,
  DrillControl,
  DrillPlanError,
  drillClients,
  DRILLS_QUEUE,
  formatDuration,
  historyTrend,
  loadDrill,
  readAndPlanDrill,
  readCoverageInput,
  renderDrillHtml,
  renderDrillMarkdown,
  serverLine,
  type CoverageSettings,
  type DrillEvent,
  type DrillPlan,
  type DrillProgress,
  type DrillReport,
} from '@orgshield/drills';
import { JobQueues } from '@orgshield/jobs';
import { workerRetention } from '@orgshield/worker-runtime';
import { choiceOption, formatTable, note, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';
import { withLocalWorker, withSession, type CliSession } from './job-runner.js';
import { progressLine } from './progress-line.js';
import { localClients } from './local-aws.js';

const REPORT_FORMATS = ['json', 'markdown', 'html'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Runs `work` with a drill control; with `local`, a drills worker runs in this process when none is connected. */
export async function withDrillControl<T>(session: CliSession, options: { local: boolean }, work: (control: DrillControl) => Promise<T>): Promise<T> {
  const queues = new JobQueues(session.redis, { prefix: session.config.ORGSHIELD_QUEUE_PREFIX });
  try {
    return await withLocalWorker(session, { queues, queue: DRILLS_QUEUE, local: options.local }, () => work(new DrillControl(session.redis, queues, { retention: workerRetention(session.config) })));
  } finally {
    await queues.close();
  }
}

function printEvent(event: DrillEvent): void {
  note(`${event.at.slice(11, 19)} ${event.level === 'info' ? '' : `${event.level.toUpperCase()} `}${event.message}`);
}

/** A drill's progress on a progress line: live on a terminal, a plain line every few seconds otherwise. */
function drillProgress(drillId: string): { onProgress: (progress: DrillProgress) => void; done: () => void } {
  const line = progressLine(`drill ${drillId}`);
  return {
    onProgress: (p) => line.update(`${p.status}: ${p.launched}/${p.toLaunch} launched, ${p.passed} checks passed, ${p.failed} failed`),
    done: () => line.done(),
  };
}

export function printDrillPlan(plan: DrillPlan): void {
  process.stdout.write(`drill ${plan.drill}: ${plan.accounts.length} accounts, regions ${plan.regions.join(', ')}; RPO measured against ${plan.referenceTime}\n\n`);
  process.stdout.write(
    formatTable(
      ['SERVER', 'ACCOUNT', 'REGION', 'WAVE', 'ACTION', 'RECOVERY POINT', 'RPO', 'SUBNETS', 'REASON / NOTES'],
      plan.servers.map((server) => [
        server.hostname ? `${server.hostname} ${server.sourceServerId}` : server.sourceServerId,
        server.accountId,
        server.region,
        server.wave ?? '-',
        server.action,
        server.recoveryPoint ? `${server.recoveryPoint.at} ${server.recoveryPoint.snapshotId}` : '-',
        server.plannedRpoMs === undefined ? '-' : formatDuration(server.plannedRpoMs),
        server.subnetIds.join(',') || '-',
        server.reason ?? server.notes.join('; '),
      ]),
    ),
  );
  process.stdout.write('\n');
  process.stdout.write(formatTable(['WAVE', 'SERVERS', 'STARTRECOVERY CALLS', 'CONCURRENCY'], plan.waves.map((wave) => [wave.name, wave.batches.reduce((sum, batch) => sum + batch.servers.length, 0), wave.batches.length, wave.concurrency >= 1_000_000 ? 'all' : wave.concurrency])));
  for (const entry of plan.unavailable) note(`not drilled: ${entry.accountId} ${entry.region}: ${entry.reason}`);
  for (const text of plan.notes) note(`note: ${text}`);
  for (const problem of plan.problems) note(`refused: ${problem}`);
}

export function printDrillReport(report: DrillReport): void {
  process.stdout.write(`drill ${report.drillId} (${report.drill}): ${report.status}; ${report.message}\n`);
  if (report.simulatedTime) process.stdout.write(`times are simulated: the sandbox ran ${report.timeScale}x faster than the clock\n`);
  for (const server of report.servers) process.stdout.write(`  ${serverLine(server, report)}\n`);
  process.stdout.write(
    `${report.summary.passed} passed, ${report.summary.failed} failed, ${report.summary.skipped} skipped; objectives ${report.summary.objectivesMet ? 'met' : 'not met'}\n`,
  );
}

/** A drill that did not complete, or whose servers failed, is a failed command (exit 1). */
function requirePassed(report: DrillReport): void {
  if (report.status !== 'completed' && report.status !== 'kept') throw new OrgshieldError(`Drill${report.status}`, `drill ${report.drillId} is ${report.status}: ${report.message}.`, { exitCode: report.status === 'refused' ? 2 : 1 });
  const unread = [...report.accounts.failed, ...report.accounts.notStarted];
  if (unread.length > 0 && report.summary.failed === 0) {
    throw new OrgshieldError('DrillAccountsFailed', `drill ${report.drillId}: DRS could not be read in ${unread.map((entry) => `${entry.accountId}/${entry.region}`).join(', ')}, so those accounts were not drilled.`, { exitCode: 1 });
  }
  if (report.summary.failed > 0) throw new OrgshieldError('DrillServersFailed', `drill ${report.drillId}: ${report.summary.failed} server(s) failed; "orgshield drill report ${report.drillId}" says why.`, { exitCode: 1 });
}

export async function writeDrillReport(report: DrillReport, format: ReportFormat, file?: string): Promise<void> {
  const text = format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : format === 'markdown' ? renderDrillMarkdown(report) : renderDrillHtml(report);
  if (!file) {
    process.stdout.write(text);
    return;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  note(`report written to ${file}`);
}

export function configureDrillCommand(program: Command): void {
  const drill = program.command('drill').description('DR drills on Elastic Disaster Recovery: plan, run, measure RTO/RPO, clean up, coverage');
  const outputOption = ['--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat] as const;

  drill
    .command('plan')
    .description('which servers a drill would launch, from which recovery point, into which subnets (reads only; no Redis needed)')
    .argument('<file>', 'the drill file (YAML or JSON)')
    .option(...outputOption)
    .action(async (file: string, options: { output: OutputFormat }) => {
      const { drill: spec } = await loadDrill(file);
      const aws = localClients();
      try {
        note('reading the organization and DRS...');
        const organization = await discoverOrganization(aws);
        const members = new MemberCredentials(aws, { managementAccountId: organization.managementAccountId });
        const plan = await readAndPlanDrill({ drill: spec, organization, clients: drillClients(aws, members, 'drill-plan'), now: Date.now() });
        if (options.output === 'json') printJson(plan);
        else printDrillPlan(plan);
        if (plan.problems.length > 0) throw new DrillPlanError(plan);
      } finally {
        aws.destroy();
      }
    });

  drill
    .command('run')
    .description('queue a drill; a worker runs it wave by wave, measures it and cleans up')
    .argument('<file>', 'the drill file (YAML or JSON)')
    .option('--wait', 'follow it to its end; runs it in this process when no worker is connected')
    .option(...outputOption)
    .action(async (file: string, options: { wait?: boolean; output: OutputFormat }) => {
      // Checked before any connection: a bad file touches neither Redis nor AWS.
      const { source } = await loadDrill(file);
      await withSession((session) =>
        withDrillControl(session, { local: options.wait === true }, async (control) => {
          const { drillId } = await control.submit(source, { requestedBy: 'cli' });
          note(`drill ${drillId} queued`);
          if (!options.wait) {
            if (options.output === 'json') printJson({ drillId });
            else process.stdout.write(`${drillId}\n`);
            return;
          }
          const progress = drillProgress(drillId);
          try {
            await control.waitUntilSettled(drillId, { onEvent: printEvent, onProgress: progress.onProgress, until: ['completed', 'kept', 'refused', 'failed', 'cleanup-failed'] });
          } finally {
            progress.done();
          }
          const report = await control.report(drillId);
          if (options.output === 'json') printJson(report);
          else printDrillReport(report);
          requirePassed(report);
        }),
      );
    });

  drill
    .command('status')
    .description('one drill in detail, or the latest drills with what each still has running and since when')
    .argument('[drill-id]', 'a drill id; without it, the latest drills')
    .option(...outputOption)
    .action(async (drillId: string | undefined, options: { output: OutputFormat }) =>
      withSession((session) =>
        withDrillControl(session, { local: false }, async (control) => {
          if (drillId) {
            const report = await control.report(drillId);
            if (options.output === 'json') printJson(report);
            else printDrillReport(report);
            return;
          }
          const list = await control.list();
          if (options.output === 'json') return printJson(list);
          process.stdout.write(
            formatTable(
              ['ID', 'STATUS', 'CREATED', 'STILL UP', 'MESSAGE'],
              list.map((entry) => [entry.id, entry.status, entry.createdAt, entry.stillUp.length === 0 ? '-' : `${entry.stillUp.length} since ${entry.stillUp.map((up) => up.since).sort()[0] ?? ''}`, entry.message]),
            ),
          );
        }),
      ),
    );

  drill
    .command('report')
    .description('the report of a drill: JSON (schema in packages/drills/README.md), Markdown or one self-contained HTML page')
    .argument('<drill-id>', 'the drill id "drill run" printed')
    .option('--output <format>', 'json, markdown or html', choiceOption('--output', REPORT_FORMATS), 'markdown' as ReportFormat)
    .option('--out <file>', 'write it to this file instead of standard output')
    .action(async (drillId: string, options: { output: ReportFormat; out?: string }) =>
      withSession((session) => withDrillControl(session, { local: false }, async (control) => writeDrillReport(await control.report(drillId), options.output, options.out))),
    );

  drill
    .command('cleanup')
    .description("terminate the drill's recovery instances now (only its own: drills launched by its recorded jobs)")
    .argument('<drill-id>', 'the drill id')
    .option('--wait', 'wait until they are terminated; runs it in this process when no worker is connected')
    .action(async (drillId: string, options: { wait?: boolean }) =>
      withSession((session) =>
        withDrillControl(session, { local: options.wait === true }, async (control) => {
          await control.cleanup(drillId);
          note(`drill ${drillId}: cleanup queued`);
          if (!options.wait) return;
          const end = await control.waitForCleanup(drillId, { onEvent: printEvent });
          if (!end.cleaned) throw new OrgshieldError('CleanupFailed', `drill ${drillId} cleanup did not finish: ${end.message}.`, { exitCode: 1 });
          note(`drill ${drillId}: ${end.message}`);
        }),
      ),
    );

  drill
    .command('history')
    .description("past drills, or one server's RTO and RPO over its drills")
    .option('--server <id>', 'a source server id (or ACCOUNT:SOURCE_SERVER_ID)')
    .option(...outputOption)
    .action(async (options: { server?: string; output: OutputFormat }) =>
      withSession((session) =>
        withDrillControl(session, { local: false }, async (control) => {
          if (!options.server) {
            const list = await control.list(200);
            if (options.output === 'json') return printJson(list);
            process.stdout.write(formatTable(['ID', 'DRILL', 'STATUS', 'CREATED'], list.map((entry) => [entry.id, entry.name, entry.status, entry.createdAt])));
            return;
          }
          const trend = historyTrend(await control.store.history(options.server));
          if (trend.length === 0) throw new OrgshieldError('NoHistory', `server ${options.server} has never been drilled.`, { exitCode: 2 });
          if (options.output === 'json') return printJson(trend);
          process.stdout.write(formatTable(['AT', 'DRILL', 'STATUS', 'RTO', 'RPO'], trend.map((entry) => [entry.at, entry.drillId, entry.status, entry.rtoMs === undefined ? '-' : formatDuration(entry.rtoMs), entry.rpoMs === undefined ? '-' : formatDuration(entry.rpoMs)])));
        }),
      ),
    );

  drill
    .command('coverage')
    .description('what would we lose today: tagged instances not replicated, servers never or not recently drilled, replication in trouble')
    .argument('[file]', "a drill file: its targets, regions and coverage settings; without it, every account in AWS_REGION")
    .option(...outputOption)
    .action(async (file: string | undefined, options: { output: OutputFormat }) => {
      const spec = file ? (await loadDrill(file)).drill : undefined;
      const regions = spec?.regions ?? [process.env['AWS_REGION'] ?? 'us-east-1'];
      const settings: CoverageSettings = spec?.coverage ?? { drilledWithin: 90 * 86_400_000 };
      const aws = localClients();
      try {
        const organization = await discoverOrganization(aws);
        const accounts = resolveSelector(organization, spec?.targets ?? { all: true });
        const clients = drillClients(aws, new MemberCredentials(aws, { managementAccountId: organization.managementAccountId }), 'drill-coverage');
        const inputs = [];
        for (const accountId of accounts) for (const region of regions) inputs.push(await readCoverageInput(clients, accountId, region, settings));
        const lastDrilled = await withSession((session) => withDrillControl(session, { local: false }, (control) => control.store.lastDrilled()));
        const report = assessCoverage(inputs, { settings, lastDrilled, now: Date.now(), ...(spec ? { lagLimitMs: spec.objectives.rpo } : {}) });
        if (options.output === 'json') return printJson(report);
        process.stdout.write(`${report.accounts} accounts, ${report.sourceServers} source servers, ${report.mustRecover} instances that must be recoverable\n\n`);
        process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'GAP', 'WHAT'], report.gaps.map((gap) => [gap.accountId, gap.region, gap.kind, gap.message])));
      } finally {
        aws.destroy();
      }
    });
}

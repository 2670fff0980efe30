import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import type { z } from 'zod';
import { discoverOrganization, MemberCredentials, resolveSelector } from '@orgshield/accounts';
import { InvalidInputError, OrgshieldError } from '@orgshield/errors';
import { formatSpecProblem } from '@orgshield/spec-files';
import {
  ELASTIC_SCRIPTS_ZIP,
  eraseUserRecordings,
  exportUserRecordings,
  imageAssistantSteps,
  listUserSessions,
  loadRecording,
  RecordingFileError,
  RecordingRuns,
  recordingAuditJob,
  recordingEraseJob,
  recordingSetupJob,
  renderElasticScriptsZip,
  renderSessionScripts,
  setupTarget,
  type AuditRunResult,
  type FanOutSummary,
  type LoadedRecording,
  type RecordingTarget,
  type StepResult,
  type UserRecordingsContext,
} from '@orgshield/session-recording';
import { loadWorkerConfig, workerRetention } from '@orgshield/worker-runtime';
import { choiceOption, formatTable, integerOption, note, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';
import { runJob, withSession } from './job-runner.js';
import { localClients } from './local-aws.js';

/** Every problem of the file on stderr, then one sentence for the exit (code 2). */
export async function loadOrRefuse(file: string): Promise<LoadedRecording> {
  try {
    return await loadRecording(file);
  } catch (error) {
    if (!(error instanceof RecordingFileError)) throw error;
    for (const problem of error.problems) note(formatSpecProblem(problem));
    const count = error.problems.length;
    throw new InvalidInputError(`${file} has ${count} problem${count === 1 ? '' : 's'} (listed above); nothing was done.`, { code: error.code, cause: error });
  }
}

const outputOption = ['--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat] as const;

/**
 * The recording file, the organization (read live) and the targets it selects: what every
 * command below works on, in this process. The member role comes from ORGSHIELD_ROLE_NAME.
 */
async function withTargets<T>(file: string, work: (context: UserRecordingsContext) => Promise<T>): Promise<T> {
  const { recording } = await loadOrRefuse(file);
  const config = loadWorkerConfig(process.env);
  const clients = localClients();
  try {
    note('reading the organization...');
    const snapshot = await discoverOrganization(clients);
    const accounts = resolveSelector(snapshot, recording.targets);
    if (accounts.length === 0) throw new InvalidInputError(`The targets of ${file} select no active account of the organization; check targets.`);
    const members = new MemberCredentials(clients, { managementAccountId: snapshot.managementAccountId, roleName: config.ORGSHIELD_ROLE_NAME, externalId: config.ORGSHIELD_EXTERNAL_ID });
    const targets: RecordingTarget[] = accounts.flatMap((account) => recording.regions.map((region) => ({ account, region })));
    return await work({ clients, recording, targets, targetFor: (account, region) => members.target(account, region) });
  } finally {
    clients.destroy();
  }
}

function printSteps(results: { target: RecordingTarget; steps: StepResult[] }[], output: OutputFormat): void {
  if (output === 'json') return printJson({ targets: results.map(({ target, steps }) => ({ ...target, steps })) });
  const rows = results.flatMap(({ target, steps }) =>
    steps.flatMap((step) => [...step.changes.map((change) => [target.account, target.region, step.step, change]), ...(step.blocked ? [[target.account, target.region, step.step, `blocked: ${step.blocked}`]] : [])]),
  );
  if (rows.length === 0) process.stdout.write('nothing to change: every target is as the file wants it\n');
  else process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'STEP', 'CHANGE'], rows));
}

function parseTime(flag: string) {
  return (value: string): Date => {
    const time = new Date(value);
    if (Number.isNaN(time.getTime())) throw new InvalidInputError(`${flag} ${value} is not a time; use ISO 8601, like 2026-11-01 or 2026-11-01T10:00:00Z.`);
    return time;
  };
}

/** A target failed or was never started: the command exits 1. */
function unfinished(result: FanOutSummary): boolean {
  return result.failed.length > 0 || result.notStarted.length > 0;
}

/** The targets' outcome as runFanOut reports it, one line per account and region. */
export function printTargets(result: FanOutSummary & { blocked?: { account: string; region: string; reason: string }[] }): void {
  const rows = [
    ...result.completed.map((t) => [t.account, t.region, 'completed', '']),
    ...(result.blocked ?? []).map((t) => [t.account, t.region, 'blocked', t.reason]),
    ...result.failed.map((t) => [t.account, t.region, 'failed', t.reason]),
    ...result.skipped.map((t) => [t.account, t.region, 'skipped', t.reason]),
    ...result.notStarted.map((t) => [t.account, t.region, 'not started', t.reason]),
  ];
  process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'RESULT', 'WHY'], rows));
}

/**
 * Stores the file, makes the run and queues its job (its data is the run id alone). Without
 * --wait, prints the run id and returns nothing; with it, waits for the result (a worker in this
 * process when none is connected) and returns it, or what `full` reads of the run.
 */
export async function submitRun<C extends typeof recordingSetupJob | typeof recordingAuditJob | typeof recordingEraseJob, R = z.infer<C['result']>>(
  loaded: LoadedRecording,
  run: Omit<Parameters<RecordingRuns['create']>[0], 'recording' | 'fileId'>,
  contract: C,
  options: { wait?: boolean; output: OutputFormat },
  full?: (runs: RecordingRuns, runId: string) => Promise<R | undefined>,
): Promise<R | undefined> {
  return withSession(async (session) => {
    const runs = new RecordingRuns(session.redis, session.config.ORGSHIELD_QUEUE_PREFIX, { retention: workerRetention(session.config) });
    const fileId = await runs.storeFile(loaded.source);
    const { runId } = await runs.create({ requestedBy: 'cli', ...run, recording: loaded.recording.name, fileId });
    note(`recording ${run.kind} run ${runId} queued`);
    const submitted = await runJob(session, contract, { runId } as z.input<C['payload']>, { wait: options.wait === true, progress: `${run.kind} ${runId}` });
    if (options.wait !== true) {
      if (options.output === 'json') printJson({ runId, jobId: submitted.jobId });
      else process.stdout.write(`${runId}\n`);
      return undefined;
    }
    return full ? ((await full(runs, runId)) ?? (submitted.result as R)) : (submitted.result as R);
  });
}

export function configureRecordingCommand(program: Command): void {
  const recording = program.command('recording').description('AppStream 2.0 session recording: session scripts, setup, audit, and people\'s recordings');

  recording
    .command('scripts')
    .description('write the session scripts of a recording file (config.json and the recorder; the zip for an Elastic fleet) for the image builder')
    .argument('<file>', 'recording file (kind: SessionRecording)')
    .requiredOption('--out <dir>', 'folder to write them to (made if missing)')
    .option(...outputOption)
    .action(async (file: string, options: { out: string; output: OutputFormat }) => {
      const { recording: spec } = await loadOrRefuse(file);
      await mkdir(options.out, { recursive: true });
      const written: { file: string; bytes: number }[] = [];
      for (const script of renderSessionScripts(spec)) {
        const path = join(options.out, script.name);
        await writeFile(path, script.content);
        // writeFile keeps the mode of a file that exists; the recorder must be runnable either way.
        await chmod(path, script.executable ? 0o755 : 0o644);
        written.push({ file: path, bytes: Buffer.byteLength(script.content) });
      }
      if (spec.appstream.fleet.type === 'ELASTIC') {
        const zip = renderElasticScriptsZip(spec);
        const path = join(options.out, ELASTIC_SCRIPTS_ZIP);
        await writeFile(path, zip);
        written.push({ file: path, bytes: zip.length });
      }
      const steps = imageAssistantSteps(spec);
      if (options.output === 'json') return printJson({ platform: spec.appstream.platform, files: written, imageAssistantSteps: steps });
      process.stdout.write(formatTable(['FILE', 'BYTES'], written.map((entry) => [entry.file, entry.bytes])));
      if (steps.length > 0) note(['On the image builder (Image Assistant has no API):', ...steps].join('\n'));
    });

  recording
    .command('plan')
    .description('what setup would change in each target account and region (reads only)')
    .argument('<file>', 'recording file')
    .option(...outputOption)
    .action(async (file: string, options: { output: OutputFormat }) =>
      withTargets(file, async (context) => {
        const setup = { ...context, wait: { pollMs: 5_000, timeoutMs: 0 } };
        const results = [];
        for (const target of context.targets) results.push({ target, steps: await setupTarget(setup, target, { dryRun: true }) });
        printSteps(results, options.output);
      }),
    );

  recording
    .command('setup')
    .description('set up recording in every target: key, bucket, role, image builder, image, fleet, stack, users (a recording.setup job; idempotent, run again to go on)')
    .argument('<file>', 'recording file')
    .option('--wait', 'follow it to its end; runs it in this process when no worker is connected')
    .option('--wait-seconds <n>', 'how long the run waits for a builder, an image or a fleet', integerOption('--wait-seconds', 1, 86_400), 1800)
    .option(...outputOption)
    .addHelpText('after', '\nExample:\n  orgshield recording setup admin-recording.yaml --wait\n')
    .action(async (file: string, options: { wait?: boolean; waitSeconds: number; output: OutputFormat }) => {
      const loaded = await loadOrRefuse(file);
      const result = await submitRun(loaded, { kind: 'setup', waitSeconds: options.waitSeconds }, recordingSetupJob, options);
      if (!result) return;
      if (options.output === 'json') printJson(result);
      else printTargets(result);
      for (const { account, region } of result.blocked.slice(0, 1)) note(['To make the image (Image Assistant has no API):', ...imageAssistantSteps(loaded.recording, { account, region })].join('\n'));
      if (result.status === 'blocked') throw new OrgshieldError('SetupIncomplete', `${result.blocked.length} of ${result.blocked.length + result.completed.length} targets wait for their image; finish it in Image Assistant and run setup again.`, { exitCode: 1 });
      if (unfinished(result)) process.exitCode = 1;
    });

  recording
    .command('audit')
    .description('every fleet in the targets: recording, not recording or unknown; and sessions that left no recording (a recording.audit job)')
    .argument('<file>', 'recording file')
    .option('--days <n>', 'past days of usage reports to check', integerOption('--days', 1, 90), 7)
    .option('--wait', 'follow it to its end; runs it in this process when no worker is connected')
    .option(...outputOption)
    .addHelpText('after', '\nExample:\n  orgshield recording audit admin-recording.yaml --days 7 --wait --output json\n')
    .action(async (file: string, options: { days: number; wait?: boolean; output: OutputFormat }) => {
      const loaded = await loadOrRefuse(file);
      const result = await submitRun(loaded, { kind: 'audit', days: options.days }, recordingAuditJob, options, (runs, runId) => runs.result<AuditRunResult>(runId));
      if (!result) return;
      const { report } = result;
      if (options.output === 'json') printJson(result);
      else {
        printTargets(result);
        process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'FLEET', 'STACKS', 'VERDICT', 'WHY'], report.fleets.map((fleet) => [fleet.account, fleet.region, fleet.fleet, fleet.stacks.join(','), fleet.verdict, fleet.reasons.join('; ')])));
        process.stdout.write(`\n${report.sessionsWithoutRecording.length} of ${report.sessionsChecked} sessions left no recording\n`);
        if (report.sessionsWithoutRecording.length > 0) {
          process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'STACK', 'FLEET', 'SESSION', 'USER PSEUDONYM', 'STARTED', 'SEEN IN'], report.sessionsWithoutRecording.map((s) => [s.account, s.region, s.stack, s.fleet, s.sessionId, s.userPseudonym.slice(0, 16), s.startedAt ?? '', s.source])));
        }
      }
      if (result.findings > 0 || unfinished(result)) process.exitCode = 1;
    });

  recording
    .command('status')
    .description('a recording run (setup, audit, erase): its status and result; without an id, the latest runs')
    .argument('[run-id]', 'the run id a setup, audit or erase printed')
    .option(...outputOption)
    .addHelpText('after', '\nExample:\n  orgshield recording status admin-recording-setup-m1x2y3z4ab12\n')
    .action(async (runId: string | undefined, options: { output: OutputFormat }) =>
      withSession(async (session) => {
        const runs = new RecordingRuns(session.redis, session.config.ORGSHIELD_QUEUE_PREFIX);
        if (!runId) {
          const ids = await runs.runs.list(50);
          const rows = await Promise.all(ids.map(async (id) => ({ id, record: await runs.record(id), state: await runs.state(id) })));
          if (options.output === 'json') return printJson(rows.map(({ id, record, state }) => ({ id, kind: record?.kind, recording: record?.recording, status: state?.status, message: state?.message, createdAt: record?.createdAt })));
          process.stdout.write(formatTable(['ID', 'KIND', 'RECORDING', 'STATUS', 'CREATED', 'MESSAGE'], rows.map(({ id, record, state }) => [id, record?.kind ?? '?', record?.recording ?? '?', state?.status ?? 'expired', record?.createdAt ?? '', state?.message ?? ''])));
          return;
        }
        const [record, state, result] = await Promise.all([runs.record(runId), runs.state(runId), runs.result(runId)]);
        if (!record || !state) throw new InvalidInputError(`recording run ${runId} is not known (expired, or never made); "orgshield recording status" lists the latest.`);
        if (options.output === 'json') return printJson({ record: { ...record }, state, result });
        process.stdout.write(`${record.kind} run ${record.id} of ${record.recording}: ${state.status} since ${state.at}; ${state.message}\n`);
      }),
    );

  const userOption = ['--user <name>', 'the user pool user name (email); it is never logged or stored'] as const;

  recording
    .command('list')
    .description("a person's recorded sessions in every target, from the metadata files")
    .argument('<file>', 'recording file')
    .requiredOption(...userOption)
    .option('--from <time>', 'sessions that ended at or after', parseTime('--from'))
    .option('--to <time>', 'sessions that started at or before', parseTime('--to'))
    .option(...outputOption)
    .action(async (file: string, options: { user: string; from?: Date; to?: Date; output: OutputFormat }) =>
      withTargets(file, async (context) => {
        const sessions = await listUserSessions(context, options.user, { from: options.from, to: options.to });
        if (options.output === 'json') return printJson({ sessions });
        process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'SESSION', 'STARTED', 'ENDED', 'SEGMENTS', 'BYTES'], sessions.map((s) => [s.account, s.region, s.sessionId, s.startedAt ?? '', s.endedAt ?? '', s.segments, s.bytes])));
      }),
    );

  recording
    .command('export')
    .description("a manifest of every object of a person's recordings, with time-limited download links")
    .argument('<file>', 'recording file')
    .requiredOption(...userOption)
    .requiredOption('--out <manifest>', 'the manifest file to write (JSON)')
    .option('--expires-hours <n>', 'how long the links work (at most 7 days, as S3 allows)', integerOption('--expires-hours', 1, 168), 24)
    .action(async (file: string, options: { user: string; out: string; expiresHours: number }) =>
      withTargets(file, async (context) => {
        const manifest = await exportUserRecordings(context, options.user, { expiresInSeconds: options.expiresHours * 3600 });
        await writeFile(options.out, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
        note(`${manifest.objects.length} objects in ${options.out}; the links work until ${manifest.expiresAt}.`);
      }),
    );

  recording
    .command('erase')
    .description("every video and metadata file of a person in every target, old versions included (a dry run unless --yes; with --yes, a recording.erase job)")
    .argument('<file>', 'recording file')
    .requiredOption(...userOption)
    .option('--yes', 'erase; without it, only show what would go')
    .option('--wait', 'with --yes: follow it to its end; runs it in this process when no worker is connected')
    .option(...outputOption)
    .addHelpText('after', '\nExamples:\n  orgshield recording erase admin-recording.yaml --user ada@example.com\n  orgshield recording erase admin-recording.yaml --user ada@example.com --yes --wait\n')
    .action(async (file: string, options: { user: string; yes?: boolean; wait?: boolean; output: OutputFormat }) => {
      if (options.yes === true) {
        const loaded = await loadOrRefuse(file);
        const clients = localClients();
        const caller = await clients
          .client(STSClient, { region: 'us-east-1' })
          .send(new GetCallerIdentityCommand({}))
          .finally(() => clients.destroy());
        const result = await submitRun(loaded, { kind: 'erase', subject: options.user, requestedBy: caller.Arn ?? 'unknown' }, recordingEraseJob, options);
        if (!result) return;
        if (options.output === 'json') printJson(result);
        note(`${result.versions} object versions erased (pseudonyms ${result.pseudonyms.join(', ') || 'none'}); the erasure is recorded under the pseudonyms only.`);
        return;
      }
      await withTargets(file, async (context) => {
        const erasure = await eraseUserRecordings(context, options.user, { dryRun: true, by: 'dry run' });
        if (options.output === 'json') printJson(erasure);
        else process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'KEY', 'VERSION', 'DELETE MARKER'], erasure.versions.map((v) => [v.account, v.region, v.key, v.versionId, v.isDeleteMarker ? 'yes' : ''])));
        note(`${erasure.versions.length} object versions would be erased; run again with --yes to erase them.`);
      });
    });
}

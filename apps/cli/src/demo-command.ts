import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { GetFindingsCommand, GuardDutyClient, ListDetectorsCommand } from '@aws-sdk/client-guardduty';
import { loadSnapshot, MemberCredentials, orgSyncJob } from '@orgshield/accounts';
import { investigationRunJob } from '@orgshield/investigations';
import { drsPlan, HEALTHY_BODY_PREFIX, incidentPlan, recordingPlan, startSandbox } from '@orgshield/sandbox';
import { readDrillSource, renderDrillHtml, serverLine } from '@orgshield/drills';
import { loadRecording, recordingAuditJob, recordingSetupJob, RecordingRuns, type AuditRunResult } from '@orgshield/session-recording';
import { withDrillControl } from './drill-command.js';
import { formatTable, integerOption, note } from './cli-kit.js';
import { runDemoRollout } from './demo-rollout.js';
import { openSession, runJob, type CliSession } from './job-runner.js';
import { connectOrStartRedis } from './local-redis.js';
import { renderTree } from './org-command.js';
import { printTargets, submitRun } from './recording-command.js';
import { localClients } from './local-aws.js';
import { withRolloutControl } from './rollout-command.js';

/**
 * `npm start`: the main jobs on the embedded default. The sandbox organization runs in this
 * process with its clock 1000x faster (Firewall Manager evaluates in ~0.3 s, Detective
 * investigates in ~0.1 s); the queues live in Redis under their own prefix, and no worker
 * listens there, so every job runs in-process exactly as a worker would run it.
 */
export function configureDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the main jobs against the embedded sandbox organization and print what they did')
    .option('--accounts <n>', 'accounts in the sandbox organization', integerOption('--accounts', 20, 20_000), 300)
    .option('--ous <n>', 'OUs in the sandbox organization', integerOption('--ous', 5, 2_000), 30)
    .action(async (options: { accounts: number; ous: number }) => {
      // Seed 1: the demo rollout's canary wave names an OU of this organization.
      const sandbox = await startSandbox({ port: 0, accounts: options.accounts, ous: options.ous, seed: 1, timeScale: 0.001 });
      const redis = await connectOrStartRedis();
      Object.assign(process.env, sandbox.env());
      process.env['ORGSHIELD_QUEUE_PREFIX'] = `orgshield-demo-${process.pid}`;
      process.env['ORGSHIELD_REPORT_DIR'] ??= 'reports';
      // The sandbox runs DRS 1000x faster: drill reports give simulated minutes, and say so.
      process.env['ORGSHIELD_TIME_SCALE'] = '1000';
      process.env['ORGSHIELD_DRILL_POLL_MS'] = '100';
      // The sandbox enforces no quota unless given faults, so the demo lets the client go faster
      // than the conservative defaults it uses against AWS.
      process.env['ORGSHIELD_RATE_LIMITS'] ??= JSON.stringify({
        'organizations:*': { rate: 100, burst: 100 },
        'fms:*': { rate: 50, burst: 50 },
        ...Object.fromEntries(['appstream', 's3', 'iam', 'secretsmanager'].map((service) => [`${service}:*`, { rate: 100, burst: 100 }])),
      });
      note(`sandbox organization: ${options.accounts} accounts, ${options.ous} OUs at ${sandbox.url}; Redis at ${redis.url}`);
      const session = await openSession();
      try {
        await demoOrgSync(session);
        await demoInvestigation(session, sandbox);
        await demoRollout(session);
        await demoDrill(session, sandbox);
        await demoRecording(session, sandbox);
      } finally {
        const keys = await session.redis.keys(`${session.config.ORGSHIELD_QUEUE_PREFIX}:*`);
        if (keys.length > 0) await session.redis.del(...keys);
        await session.close();
        await redis.stop();
        await sandbox.close();
      }
    });
}

async function demoOrgSync(session: CliSession): Promise<void> {
  note('\n== 1. org sync: discovering the organization');
  const { result } = await runJob(session, orgSyncJob, { requestedBy: 'demo' }, { wait: true, progress: 'org sync' });
  if (!result) throw new Error('org sync returned no result');
  process.stdout.write(`synced ${result.accounts} accounts (${result.suspended} not active) in ${result.ous} OUs in ${(result.durationMs / 1000).toFixed(1)} s\n`);
  const snapshot = await loadSnapshot(session.redis, { keyPrefix: session.keyPrefix });
  if (snapshot) process.stdout.write(renderTree(snapshot).split('\n').slice(0, 12).join('\n') + '\n  ...\n');
}

/** The first seeded GuardDuty finding, read from GuardDuty in its member account as an analyst would. */
async function demoInvestigation(session: CliSession, sandbox: Awaited<ReturnType<typeof startSandbox>>): Promise<void> {
  const incident = incidentPlan(sandbox.world).incidents[0];
  const snapshot = await loadSnapshot(session.redis, { keyPrefix: session.keyPrefix });
  if (!incident || !snapshot) throw new Error('the sandbox planted no incident');
  const { accountId, region } = incident.instance;
  const clients = localClients();
  const members = new MemberCredentials(clients, { managementAccountId: snapshot.managementAccountId });
  const guardduty = clients.client(GuardDutyClient, members.target(accountId, region, 'demo'));
  const detectorId = (await guardduty.send(new ListDetectorsCommand({}))).DetectorIds?.[0];
  const finding = detectorId && (await guardduty.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: [incident.findingId] }))).Findings?.[0];
  clients.destroy();
  if (!finding) throw new Error(`GuardDuty has no finding ${incident.findingId} in ${accountId}`);

  note(`\n== 2. investigate: GuardDuty ${finding.Type} on ${incident.instance.instanceId} in account ${accountId} ${region}`);
  const { result } = await runJob(session, investigationRunJob, { finding, accountId, region }, { wait: true, progress: 'investigate' });
  if (!result) throw new Error('the investigation returned no result');
  process.stdout.write(`window ${result.window.from} .. ${result.window.to}; ${result.records.matched} flow records analysed\n`);
  process.stdout.write(
    formatTable(
      ['FINDING', 'REMOTE', 'LOCAL PORT', 'FROM GUARDDUTY'],
      result.findings.map((f) => [f.kind, f.remoteIp ?? '-', f.localPort ?? '-', f.fromFinding ? 'yes' : 'no']),
    ),
  );
  const investigation = result.detective.investigation;
  if (investigation) process.stdout.write(`Detective investigation ${investigation.id}: ${investigation.status ?? '?'}, severity ${investigation.severity ?? '?'}\n`);
  process.stdout.write(`HTML report: ${resolve(result.reportPaths.html)}\n`);
}

async function demoRollout(session: CliSession): Promise<void> {
  note('\n== 3. rollout: regional WAF and Shield Advanced, canary audit -> rest audit -> all remediate');
  const aws = localClients();
  try {
    const demo = await withRolloutControl(session, { local: true }, (control) =>
      runDemoRollout({ control, aws, onEvent: (event) => note(`  ${event.message}`) }),
    );
    process.stdout.write(`rollout ${demo.rolloutId}: ${demo.state.status}\n`);
    for (const wave of demo.waves) {
      process.stdout.write(`wave ${wave.name} (${wave.mode}, ${wave.accounts} accounts)\n`);
      for (const region of wave.regions) {
        const gate = region.gate;
        process.stdout.write(
          `  ${region.region}: ${region.writes.join('; ') || 'no change'}; gate ${gate ? `${gate.status}: ${gate.judged} accounts judged, ${gate.nonCompliantAccounts} non-compliant (${gate.reason})` : 'none'}\n`,
        );
      }
    }
    process.stdout.write(
      formatTable(
        ['POLICY', 'REGIONS', 'ACCOUNTS', 'COMPLIANT', 'NON-COMPLIANT', 'NOT EVALUATED'],
        demo.compliance.map(({ policy, regions, totals }) => [
          policy,
          regions.map((r) => r.region).join(','),
          totals.accounts,
          totals.compliant,
          totals.nonCompliant,
          totals.notEvaluated,
        ]),
      ),
    );
  } finally {
    aws.destroy();
  }
}

/**
 * A drill file for the sandbox's three drill accounts: its isolated subnets and security groups
 * are the sandbox's, so it is written at run time beside the reports.
 */
function demoDrillYaml(sandbox: Awaited<ReturnType<typeof startSandbox>>): string {
  const plan = drsPlan(sandbox.world);
  const networks = plan.drillAccountIds.map((accountId) => plan.networkOf(accountId, plan.drillRegion));
  return [
    'kind: Drill',
    'name: demo-dr',
    `targets: { accounts: [${plan.drillAccountIds.map((id) => `"${id}"`).join(', ')}] }`,
    `regions: [${plan.drillRegion}]`,
    'servers: { hostnames: [db-0, db-1, db-2, web-0, web-1, web-2, shop-0] }',
    'recoveryPoint: latest',
    'waves:',
    '  - name: databases',
    '    servers: { tags: { app: db } }',
    '    checks: [{ type: tcp, port: 5432 }]',
    '  - name: web',
    `    checks: [{ type: http, port: 8080, expectStatus: 200, expectBody: "${HEALTHY_BODY_PREFIX}" }]`,
    'objectives: { rto: 30m, rpo: 15m }',
    'isolation:',
    `  subnets: [${networks.map((n) => n.isolatedSubnet.id).join(', ')}]`,
    `  securityGroups: [${networks.map((n) => n.isolatedSecurityGroup.id).join(', ')}]`,
    'cleanup: terminate',
    '',
  ].join('\n');
}

async function demoDrill(session: CliSession, sandbox: Awaited<ReturnType<typeof startSandbox>>): Promise<void> {
  note('\n== 4. drill: Elastic Disaster Recovery, two waves over three accounts, isolated, measured, cleaned up');
  const dir = session.config.ORGSHIELD_REPORT_DIR;
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'demo-drill.yaml');
  await writeFile(file, demoDrillYaml(sandbox));
  const source = await readDrillSource(file);
  const report = await withDrillControl(session, { local: true }, async (control) => {
    const { drillId } = await control.submit(source, { requestedBy: 'demo' });
    await control.waitUntilSettled(drillId, { onEvent: (event) => note(`  ${event.message}`), timeoutMs: 120_000 });
    return control.report(drillId);
  });
  process.stdout.write(`drill ${report.drillId}: ${report.status} (${report.summary.passed} passed, ${report.summary.failed} failed, ${report.summary.skipped} skipped)\n`);
  if (report.simulatedTime) process.stdout.write(`times are simulated: the sandbox ran DRS ${report.timeScale}x faster than the clock\n`);
  for (const server of report.servers) process.stdout.write(`  ${serverLine(server, report)}\n`);
  const html = join(dir, `${report.drillId}.html`);
  await writeFile(html, renderDrillHtml(report));
  process.stdout.write(`drill file: ${resolve(file)}\ndrill report: ${resolve(html)}\n`);
}

/** A recording file for the sandbox's recording region and `accounts`. */
function demoRecordingYaml(region: string, accounts: string[]): string {
  return [
    '# Records every session of the administrators\' stack; written by `npm start` for the sandbox.',
    'kind: SessionRecording',
    'name: demo-recording',
    `targets: { accounts: [${accounts.map((id) => `"${id}"`).join(', ')}] }`,
    `regions: [${region}]`,
    'bucket: { name: "orgshield-recordings-{account}-{region}", encryption: SSE-KMS, retentionDays: 90, prefix: recordings/ }',
    'capture: { framesPerSecond: 5, segmentSeconds: 60 }',
    'sessionScripts: { waitingTime: 30 }',
    'appstream:',
    '  platform: linux',
    '  imageBuilder: { name: demo-recording-builder, baseImageName: AppStream-AmazonLinux2-06-17-2024 }',
    '  imageName: demo-recording-image',
    '  fleet: { name: recorded-fleet, type: ALWAYS_ON, instanceType: stream.standard.medium, capacity: { desired: 2 } }',
    '  stack: { name: admin-stack }',
    '  users: [{ userName: demo.admin@example.com }]',
    '',
  ].join('\n');
}

async function demoRecording(session: CliSession, sandbox: Awaited<ReturnType<typeof startSandbox>>): Promise<void> {
  const plan = recordingPlan(sandbox.world);
  const seeded = new Set(plan.accounts.map((account) => account.accountId));
  const management = sandbox.world.org.managementAccountId;
  const account = sandbox.world.snapshot().accounts.find((candidate) => candidate.status === 'ACTIVE' && candidate.id !== management && !seeded.has(candidate.id))?.id;
  if (!account) throw new Error('the sandbox has no clean account to set recording up in');
  note(`\n== 5. session recording: set up in account ${account}, then audited with the three accounts already recording`);
  const dir = session.config.ORGSHIELD_REPORT_DIR;
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'demo-recording.yaml');
  await writeFile(file, demoRecordingYaml(plan.region, [account]));
  const loaded = await loadRecording(file);
  // The audit also looks at the three seeded accounts: one has a fleet that records nothing, and
  // each has sessions whose recording never arrived.
  const auditFile = join(dir, 'demo-recording-audit.yaml');
  await writeFile(auditFile, demoRecordingYaml(plan.region, [account, ...seeded]));
  const setup = () => submitRun(loaded, { kind: 'setup', requestedBy: 'demo', waitSeconds: 5 }, recordingSetupJob, { wait: true, output: 'table' });
  const first = await setup();
  process.stdout.write(`setup ${first?.runId}: ${first?.status}; ${first?.blocked.length} account(s) wait for the image made with Image Assistant\n`);
  // Image Assistant has no API: the sandbox's stand-in makes the image on the builder setup started.
  const control = (path: string, body: Record<string, unknown>) => fetch(`${sandbox.url}/_sandbox/${path}`, { method: 'POST', body: JSON.stringify({ accountId: account, region: plan.region, ...body }) });
  await control('appstream/images', { builderName: 'demo-recording-builder', imageName: 'demo-recording-image', tags: { 'orgshield:session-recording': 'v1' } });
  await control('appstream/images/finish', { imageName: 'demo-recording-image' });
  const second = await setup();
  if (!second) throw new Error('the recording setup returned no result');
  process.stdout.write(`setup ${second.runId}: ${second.status}\n`);
  printTargets(second);
  const audit = await submitRun(await loadRecording(auditFile), { kind: 'audit', requestedBy: 'demo', days: 7 }, recordingAuditJob, { wait: true, output: 'table' }, (runs: RecordingRuns, runId) => runs.result<AuditRunResult>(runId));
  if (!audit) throw new Error('the recording audit returned no result');
  process.stdout.write(`audit ${audit.runId}: ${audit.findings} finding(s)\n`);
  process.stdout.write(formatTable(['ACCOUNT', 'FLEET', 'VERDICT', 'WHY'], audit.report.fleets.map((fleet) => [fleet.account, fleet.fleet, fleet.verdict, fleet.reasons.join('; ')])));
  process.stdout.write(`${audit.report.sessionsWithoutRecording.length} of ${audit.report.sessionsChecked} sessions left no recording:\n`);
  process.stdout.write(formatTable(['ACCOUNT', 'SESSION', 'USER PSEUDONYM', 'SEEN IN'], audit.report.sessionsWithoutRecording.map((s) => [s.account, s.sessionId, s.userPseudonym.slice(0, 16), s.source])));
  process.stdout.write(`recording files: ${resolve(file)}, ${resolve(auditFile)}\n`);
}

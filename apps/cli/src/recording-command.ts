import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import { discoverOrganization, MemberCredentials, resolveSelector } from '@orgshield/accounts';
import { InvalidInputError, OrgshieldError } from '@orgshield/errors';
import { formatSpecProblem } from '@orgshield/spec-files';
import {
  auditRecording,
  ELASTIC_SCRIPTS_ZIP,
  eraseUserRecordings,
  exportUserRecordings,
  imageAssistantSteps,
  listUserSessions,
  loadRecording,
  RecordingFileError,
  renderElasticScriptsZip,
  renderSessionScripts,
  setupTarget,
  type LoadedRecording,
  type RecordingTarget,
  type StepResult,
  type UserRecordingsContext,
} from '@orgshield/session-recording';
import { loadWorkerConfig } from '@orgshield/worker-runtime';
import { choiceOption, formatTable, integerOption, note, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';
import { localClients } from './rollout-command.js';

/** Every problem of the file on stderr, then one sentence for the exit (code 2). */
async function loadOrRefuse(file: string): Promise<LoadedRecording> {
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
    .description('set up recording in every target: key, bucket, role, image builder, image, fleet, stack, users (idempotent; run again to go on)')
    .argument('<file>', 'recording file')
    .option('--wait-seconds <n>', 'how long to wait for a builder, an image or a fleet', integerOption('--wait-seconds', 1, 86_400), 1800)
    .option(...outputOption)
    .action(async (file: string, options: { waitSeconds: number; output: OutputFormat }) =>
      withTargets(file, async (context) => {
        const setup = { ...context, wait: { pollMs: Math.min(10_000, options.waitSeconds * 100), timeoutMs: options.waitSeconds * 1000 }, onProgress: note };
        const results = [];
        for (const target of context.targets) results.push({ target, steps: await setupTarget(setup, target, { dryRun: false }) });
        printSteps(results, options.output);
        const blocked = results.filter(({ steps }) => steps.some((step) => step.blocked));
        if (blocked.length > 0) throw new OrgshieldError('SetupIncomplete', `${blocked.length} of ${results.length} targets wait for their image; finish it in Image Assistant and run setup again.`, { exitCode: 1 });
      }),
    );

  recording
    .command('audit')
    .description('every fleet in the targets: recording, not recording or unknown; and sessions that left no recording')
    .argument('<file>', 'recording file')
    .option('--days <n>', 'past days of usage reports to check', integerOption('--days', 1, 90), 7)
    .option(...outputOption)
    .action(async (file: string, options: { days: number; output: OutputFormat }) =>
      withTargets(file, async (context) => {
        const to = new Date();
        const report = await auditRecording(context, { from: new Date(to.getTime() - options.days * 86_400_000), to });
        if (options.output === 'json') printJson(report);
        else {
          process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'FLEET', 'STACKS', 'VERDICT', 'WHY'], report.fleets.map((fleet) => [fleet.account, fleet.region, fleet.fleet, fleet.stacks.join(','), fleet.verdict, fleet.reasons.join('; ')])));
          process.stdout.write(`\n${report.sessionsWithoutRecording.length} of ${report.sessionsChecked} sessions left no recording\n`);
          if (report.sessionsWithoutRecording.length > 0) {
            process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'STACK', 'FLEET', 'SESSION', 'USER PSEUDONYM', 'STARTED', 'SEEN IN'], report.sessionsWithoutRecording.map((s) => [s.account, s.region, s.stack, s.fleet, s.sessionId, s.userPseudonym.slice(0, 16), s.startedAt ?? '', s.source])));
          }
        }
        const findings = report.sessionsWithoutRecording.length + report.fleets.filter((fleet) => fleet.verdict !== 'recording').length;
        if (findings > 0) process.exitCode = 1;
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
    .description("every video and metadata file of a person in every target, old versions included (a dry run unless --yes)")
    .argument('<file>', 'recording file')
    .requiredOption(...userOption)
    .option('--yes', 'erase; without it, only show what would go')
    .option(...outputOption)
    .action(async (file: string, options: { user: string; yes?: boolean; output: OutputFormat }) =>
      withTargets(file, async (context) => {
        const caller = await context.clients.client(STSClient, { region: 'us-east-1' }).send(new GetCallerIdentityCommand({}));
        const erasure = await eraseUserRecordings(context, options.user, { dryRun: options.yes !== true, by: caller.Arn ?? 'unknown' });
        if (options.output === 'json') printJson(erasure);
        else process.stdout.write(formatTable(['ACCOUNT', 'REGION', 'KEY', 'VERSION', 'DELETE MARKER'], erasure.versions.map((v) => [v.account, v.region, v.key, v.versionId, v.isDeleteMarker ? 'yes' : ''])));
        note(erasure.dryRun ? `${erasure.versions.length} object versions would be erased; run again with --yes to erase them.` : `${erasure.versions.length} object versions erased (pseudonyms ${erasure.pseudonyms.join(', ')}, by ${erasure.by}, at ${erasure.at}).`);
      }),
    );
}

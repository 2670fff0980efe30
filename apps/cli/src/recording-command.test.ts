import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRecording, renderElasticScriptsZip, renderSessionScripts } from '@orgshield/session-recording';
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { recordingPlan, startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { freePort } from '../../../vitest.global-setup.js';
import { deleteQueuePrefix, redisContents, runCli, sandboxCliEnv, startWorker } from '../test/run-cli.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const examples = 'packages/session-recording/examples';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('orgshield recording scripts (end to end)', () => {
  it('writes config.json and the runnable recorder, and says the Image Assistant steps', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recording-scripts-'));
    const result = await runCli(['recording', 'scripts', `${examples}/admin-recording.yaml`, '--out', out], {});
    expect(result.code, result.stderr).toBe(0);
    const { recording } = await loadRecording(`${repoRoot}${examples}/admin-recording.yaml`);
    for (const script of renderSessionScripts(recording)) {
      expect(readFileSync(join(out, script.name), 'utf8')).toBe(script.content);
      expect(statSync(join(out, script.name)).mode & 0o777).toBe(script.executable ? 0o755 : 0o644);
      expect(result.stdout).toContain(join(out, script.name));
    }
    expect(result.stderr).toContain('Image Assistant has no API');
    expect(result.stderr).toContain('/opt/appstream/SessionScripts');
  });

  it('writes the zip for an Elastic fleet, and lists it with --output json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recording-scripts-'));
    const result = await runCli(['recording', 'scripts', `${examples}/elastic-windows-recording.yaml`, '--out', out, '--output', 'json'], {});
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { platform: string; files: { file: string }[]; imageAssistantSteps: string[] };
    expect(report.platform).toBe('windows');
    expect(report.files.map((entry) => entry.file)).toEqual(['config.json', 'orgshield-recorder.ps1', 'session-scripts.zip'].map((name) => join(out, name)));
    expect(report.imageAssistantSteps).toEqual([]);
    const { recording } = await loadRecording(`${repoRoot}${examples}/elastic-windows-recording.yaml`);
    expect(readFileSync(join(out, 'session-scripts.zip')).equals(renderElasticScriptsZip(recording))).toBe(true);
  });

  it('refuses a bad file with every problem at its line and field, exit code 2, nothing written', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'recording-bad-'));
    const bad = join(directory, 'bad.yaml');
    const text = readFileSync(`${repoRoot}${examples}/admin-recording.yaml`, 'utf8').replace('waitingTime: 30', 'waitingTime: 90').replace('type: ON_DEMAND', 'type: SPOT');
    writeFileSync(bad, text);
    const out = join(directory, 'out');
    const result = await runCli(['recording', 'scripts', bad, '--out', out], {});
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')).toEqual([
      `${bad}:19:16 sessionScripts.waitingTime: AppStream waits at most 60 seconds for session scripts`,
      `${bad}:29:11 appstream.fleet.type: must be "ALWAYS_ON" or "ON_DEMAND" or "ELASTIC", not "SPOT"`,
      `orgshield: ${bad} has 2 problems (listed above); nothing was done.`,
      '',
    ]);
    expect(() => statSync(out)).toThrow();
  });
});

describe('orgshield recording against the sandbox (end to end)', () => {
  const prefix = `test-recording-${randomUUID()}`;
  it('plan shows the changes, setup makes them up to the image, a second plan shows only what waits for Image Assistant; erase is a dry run unless --yes', { timeout: 180_000 }, async () => {
    const sandbox = await startSandbox({ port: 0, accounts: 10, ous: 1, seed: 4, timeScale: 0.001 });
    try {
      const management = sandbox.world.org.managementAccountId;
      const accounts = sandbox.world.snapshot().accounts.filter((account) => account.status === 'ACTIVE' && account.id !== management).slice(0, 2).map((account) => account.id);
      const directory = mkdtempSync(join(tmpdir(), 'recording-e2e-'));
      const file = join(directory, 'recording.yaml');
      const text = readFileSync(`${repoRoot}${examples}/admin-recording.yaml`, 'utf8')
        .replace('  ous: [Root/Workloads/Prod]', `  accounts: [${accounts.map((account) => `"${account}"`).join(', ')}]`)
        .replace('regions: [eu-west-1]', 'regions: [us-east-1]');
      writeFileSync(file, text);
      const env = sandbox.env();

      const plan = await runCli(['recording', 'plan', file, '--output', 'json'], env);
      expect(plan.code, plan.stderr).toBe(0);
      const planned = JSON.parse(plan.stdout) as { targets: { account: string; steps: { step: string; changes: string[] }[] }[] };
      expect(planned.targets.map((target) => target.account)).toEqual(accounts);
      expect(planned.targets[0]!.steps.find((step) => step.step === 'fleet')?.changes).toEqual(['create ON_DEMAND fleet admin-fleet on image admin-recording-image', 'start fleet admin-fleet']);

      const setup = await runCli(['recording', 'setup', file, '--wait', '--wait-seconds', '3'], { ...env, REDIS_URL, ORGSHIELD_QUEUE_PREFIX: prefix }, { timeoutMs: 150_000 });
      // The image is made by hand: setup says so and exits 1, having done everything before it.
      expect(setup.code).toBe(1);
      expect(setup.stderr).toContain('Image Assistant');
      expect(setup.stderr).toContain('2 of 2 targets wait for their image');
      expect(setup.stderr).not.toContain('ada@example.com');

      const again = await runCli(['recording', 'plan', file, '--output', 'json'], env);
      const steps = (JSON.parse(again.stdout) as typeof planned).targets[0]!.steps.filter((step) => step.changes.length > 0).map((step) => step.step);
      expect(steps).toEqual(['image', 'fleet', 'stack', 'users']);

      const erase = await runCli(['recording', 'erase', file, '--user', 'Ada@Example.com'], env);
      expect(erase.code, erase.stderr).toBe(0);
      expect(erase.stderr).toContain('0 object versions would be erased; run again with --yes');
    } finally {
      await sandbox.close();
      await deleteQueuePrefix(prefix);
    }
  });
});

/**
 * The recording jobs through the built worker, on the sandbox's seeded recordings (three accounts
 * recording on `recorded-fleet`, one with `plain-fleet` that records nothing, sessions whose
 * recording is missing): the audit's findings, an erase of a seeded person with its record kept
 * under the pseudonym only, and no trace of the person's name in the worker's log or in Redis
 * (every key and value under the test's prefix, BullMQ's jobs included). Before any worker is
 * there, a second setup of the same file is refused with the first's id.
 */
describe('orgshield schedule set … recording-audit FILE (end to end)', () => {
  const prefix = `test-recording-schedule-${randomUUID()}`;
  it('stores the file in Redis and schedules a firing that carries its id only; a bad file is refused', { timeout: 120_000 }, async () => {
    const env = { REDIS_URL, ORGSHIELD_QUEUE_PREFIX: prefix };
    const file = `${repoRoot}${examples}/admin-recording.yaml`;
    try {
      const set = await runCli(['schedule', 'set', 'nightly-recording', '--cron', '0 4 * * *', 'recording-audit', file], env);
      expect(set.code, set.stderr).toBe(0);
      expect(set.stderr).toMatch(/schedule nightly-recording: recording audit of admin-recording at "0 4 \* \* \*", next 20\d\d-/);
      const list = await runCli(['schedule', 'list', '--output', 'json'], env);
      expect(JSON.parse(list.stdout)).toEqual([{ kind: 'recording-audit', name: 'nightly-recording', cron: '0 4 * * *', next: expect.stringMatching(/T04:00:00\.000Z$/) }]);
      // The scheduler's job template holds the file's id; the file (it names users) sits apart.
      const contents = await redisContents(`${prefix}:`);
      expect(contents).toMatch(/"fileId":"[0-9a-f]{64}"/);
      const scheduler = contents.split('\n').filter((line) => line.includes('"fileId"'));
      expect(scheduler.join('\n')).not.toContain('ada@example.com');
      expect(contents).toContain(`${prefix}:recording:file:`);

      const bad = join(mkdtempSync(join(tmpdir(), 'recording-schedule-')), 'bad.yaml');
      writeFileSync(bad, readFileSync(file, 'utf8').replace('type: ON_DEMAND', 'type: SPOT'));
      const refused = await runCli(['schedule', 'set', 'n2', '--cron', '0 4 * * *', 'recording-audit', bad], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`${bad}:29:11 appstream.fleet.type: must be "ALWAYS_ON" or "ON_DEMAND" or "ELASTIC", not "SPOT"`);
      expect((await runCli(['schedule', 'remove', 'nightly-recording'], env)).code).toBe(0);
      expect(JSON.parse((await runCli(['schedule', 'list', '--output', 'json'], env)).stdout)).toEqual([]);
    } finally {
      await deleteQueuePrefix(prefix);
    }
  });
});

describe('orgshield recording through the worker (end to end)', () => {
  const prefix = `test-recording-worker-${randomUUID()}`;
  const PERSON = 'alice.admin@example.com';

  it('setup is fenced by file, the audit finds what is not recorded, erase leaves no name behind', { timeout: 240_000 }, async () => {
    const sandbox = await startSandbox({ port: 0, accounts: 10, ous: 1, seed: 8, timeScale: 0.001 });
    const plan = recordingPlan(sandbox.world);
    const accounts = plan.accounts.map((account) => account.accountId);
    const env = sandboxCliEnv(sandbox, prefix, {
      ORGSHIELD_HTTP_PORT: String(await freePort()),
      LOG_LEVEL: 'debug',
      ORGSHIELD_RATE_LIMITS: JSON.stringify(Object.fromEntries(['organizations', 'appstream', 's3', 'secretsmanager', 'iam', 'sts'].map((service) => [`${service}:*`, { rate: 500, burst: 500 }]))),
    });
    const directory = mkdtempSync(join(tmpdir(), 'recording-worker-'));
    const file = join(directory, 'recording.yaml');
    writeFileSync(
      file,
      readFileSync(`${repoRoot}${examples}/admin-recording.yaml`, 'utf8')
        .replace('  ous: [Root/Workloads/Prod]', `  accounts: [${accounts.map((account) => `"${account}"`).join(', ')}]`)
        .replace('regions: [eu-west-1]', `regions: [${plan.region}]`)
        .replace('name: admin-fleet', 'name: recorded-fleet')
        .replace('type: ON_DEMAND', 'type: ALWAYS_ON'),
    );
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      // No worker yet: the first setup is queued and holds the file's name; the second is refused with its id.
      // (It waits 2 s for the image, which nobody makes here, so the worker soon goes on to the audit.)
      const first = await runCli(['recording', 'setup', file, '--wait-seconds', '2'], env);
      expect(first.code, first.stderr).toBe(0);
      const firstId = first.stdout.trim();
      const second = await runCli(['recording', 'setup', file], env);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`already has setup run ${firstId} under way`);

      // (Given a minute to start: this runs beside five other suites at load 20 and more.)
      worker = await startWorker(env, { readyWithinMs: 60_000 });
      const audit = await runCli(['recording', 'audit', file, '--wait', '--output', 'json'], env, { timeoutMs: 120_000 });
      expect(audit.stderr).not.toContain('running its jobs in this process');
      expect(audit.code, audit.stderr).toBe(1);
      const result = JSON.parse(audit.stdout) as { completed: unknown[]; findings: number; report: { fleets: { account: string; fleet: string; verdict: string }[]; sessionsWithoutRecording: { account: string; sessionId: string }[] } };
      expect(result.completed).toHaveLength(3);
      const plain = plan.accounts[0]!;
      expect(result.report.fleets.filter((fleet) => fleet.verdict !== 'recording').map((fleet) => `${fleet.account} ${fleet.fleet}`)).toEqual([`${plain.accountId} plain-fleet`]);
      const missing = plan.accounts.flatMap((account) => account.sessions.filter((session) => session.recording === 'missing').map((session) => session.id)).sort();
      expect(result.report.sessionsWithoutRecording.map((session) => session.sessionId).sort()).toEqual(missing);

      // The person's objects, and everyone else's, before the erase.
      const objects = (user?: string) =>
        plan.accounts.flatMap((account) => account.sessions.filter((session) => session.recording === 'recorded' && (user === undefined ? session.userName !== PERSON : session.userName === PERSON)).flatMap((session) => session.keys.map((key) => `${account.bucket}/${key}`)));
      const versions = async () => {
        const found: string[] = [];
        for (const account of plan.accounts) {
          const listed = await s3In(sandbox, account.accountId).send(new ListObjectVersionsCommand({ Bucket: account.bucket, Prefix: plan.prefix }));
          for (const version of [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])]) found.push(`${account.bucket}/${version.Key}`);
        }
        return found;
      };
      const before = await versions();
      expect(objects(PERSON).length).toBeGreaterThan(0);
      for (const key of objects(PERSON)) expect(before).toContain(key);

      const erase = await runCli(['recording', 'erase', file, '--user', PERSON, '--yes', '--wait'], env, { timeoutMs: 120_000 });
      expect(erase.code, erase.stderr).toBe(0);
      expect(erase.stderr).toMatch(/\d+ object versions erased/);
      const after = await versions();
      expect(after.filter((key) => key.includes(plan.pseudonym(PERSON)))).toEqual([]);
      // Everyone else's objects and versions are all still there.
      expect(after.sort()).toEqual(before.filter((key) => !key.includes(plan.pseudonym(PERSON))).sort());

      // The erasure is recorded (kept on purpose) under the pseudonym; the name is nowhere.
      const contents = await redisContents(`${prefix}:`);
      expect(contents).toContain(`${prefix}:recording:erasure:`);
      expect(contents).toContain(plan.pseudonym(PERSON));
      for (const [place, text] of [['Redis', contents], ['the worker log', worker.output.log], ['the CLI output', erase.stdout + erase.stderr]] as const) {
        expect(text.toLowerCase().includes('alice.admin'), `${place} holds the name`).toBe(false);
      }
    } finally {
      worker?.worker.kill('SIGTERM');
      await worker?.exited;
      await sandbox.close();
      await deleteQueuePrefix(prefix);
    }
  });
});

/** An S3 client in a member account of the sandbox, as an operator reaches it (AssumeRole). */
function s3In(sandbox: RunningSandbox, account: string): S3Client {
  const config = sandbox.clientConfig();
  const clients = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: 'us-east-1' });
  const members = new MemberCredentials(clients, { managementAccountId: sandbox.world.org.managementAccountId });
  return clients.client(S3Client, members.target(account, 'us-east-1'));
}

import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { freePort } from '../../../vitest.global-setup.js';
import { deleteQueuePrefix, redisContents, runCli, sandboxCliEnv, spawnWorker, startWorker, writeTorClientFinding, type CliResult } from '../test/run-cli.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Every file under `dir`, as text. */
async function folderContents(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return (await Promise.all(files.map((file) => readFile(file, 'utf8')))).join('\n');
}

// Lives with the CLI: it drives the worker through the CLI, as an operator would.
describe('the worker process (end to end)', () => {
  let sandbox: RunningSandbox;
  const prefixes: string[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    // FMS compliance and Detective run 1000x faster than on AWS.
    sandbox = await startSandbox({ port: 0, accounts: 30, ous: 4, seed: 3, timeScale: 0.001 });
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteQueuePrefix(prefix, REDIS_URL);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    await sandbox.close();
  });

  it('takes jobs the CLI submits, serves health and metrics, and stops cleanly on SIGTERM', async () => {
    const prefix = `test-wp-${randomUUID()}`;
    prefixes.push(prefix);
    const port = await freePort();
    const env = sandboxCliEnv(sandbox, prefix, { ORGSHIELD_HTTP_PORT: String(port), LOG_LEVEL: 'info' });
    const { worker, output, exited } = await startWorker(env);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    const sync = await runCli(['org', 'sync', '--wait'], env);
    expect(sync.code).toBe(0);
    // The running worker did the job: the CLI did not fall back to running it in-process.
    expect(sync.stderr).not.toContain('no worker is connected');
    expect(sync.stderr).toContain('organization synced: 30 accounts');
    expect(output.log).toContain('"job":"org.sync"');
    // The CLI says the job ran on the worker's AWS settings, and whether they are the shell's.
    const endpoint = new URL(env['AWS_ENDPOINT_URL'] ?? '').origin;
    const settings = `region ${env['AWS_REGION']} (AWS_REGION), credentials from environment variables (AWS_ACCESS_KEY_ID), endpoint ${endpoint}`;
    expect(sync.stderr).toContain(`1 worker(s) connected to the "org" queue run the jobs with their own AWS settings (${settings}), the same as this shell`);
    const elsewhere = await runCli(['org', 'sync', '--wait'], { ...env, AWS_REGION: 'ap-south-2', AWS_ACCESS_KEY_ID: '', AWS_PROFILE: 'audit' });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(elsewhere.stderr).toContain(`(${settings}), not this shell's (region ap-south-2 (AWS_REGION), credentials from profile audit (AWS_PROFILE), endpoint ${endpoint})`);
    expect(elsewhere.stderr).not.toContain(env['AWS_SECRET_ACCESS_KEY'] ?? 'no secret');

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/orgshield_jobs_total\{kind="org.sync",outcome="completed"\} 2/);
    // A schedule fires on the worker: org.sync every second (six-field cron, seconds first).
    const scheduled = await runCli(['schedule', 'set', 'every-second', '--cron', '* * * * * *', 'org-sync'], env);
    expect(scheduled.code, scheduled.stderr).toBe(0);
    let completed = 2;
    for (let i = 0; i < 60 && completed < 4; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      completed = Number(/orgshield_jobs_total\{kind="org.sync",outcome="completed"\} (\d+)/.exec(text)?.[1] ?? 0);
    }
    expect(completed).toBeGreaterThanOrEqual(4);
    expect(output.log).toContain('"requestedBy":"schedule:every-second"');
    expect((await runCli(['schedule', 'remove', 'every-second'], env)).code).toBe(0);

    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output.log).toContain('stopped');
  }, 90_000);

  it('/metrics of a real worker: AWS calls, throttles and retries, queue depth, jobs, and the accounts of a halted rollout by state', async () => {
    // Organizations answers 5xx to a quarter of the calls and throttles tag reads past 2 a second.
    const faulty = await startSandbox({
      port: 0,
      accounts: 30,
      ous: 4,
      seed: 3,
      timeScale: 0.001,
      faults: { operations: { 'organizations:*': { errorRate: 0.25 }, 'organizations:ListTagsForResource': { rate: 2, burst: 2 } } },
    });
    const prefix = `test-wp-${randomUUID()}`;
    prefixes.push(prefix);
    const dir = await mkdtemp(join(tmpdir(), 'orgshield-worker-metrics-'));
    dirs.push(dir);
    const port = await freePort();
    const env = sandboxCliEnv(faulty, prefix, { ORGSHIELD_HTTP_PORT: String(port), AWS_MAX_ATTEMPTS: '10' });
    const { worker, exited } = await startWorker(env);
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
    try {
      expect((await runCli(['org', 'sync', '--wait'], env, { timeoutMs: 120_000 })).code).toBe(0);
      const afterSync = await scrape();
      expect(value(afterSync, 'orgshield_jobs_total{kind="org.sync",outcome="completed"}')).toBe(1);
      expect(value(afterSync, 'orgshield_aws_calls_total{service="organizations",operation="ListAccountsForParent",outcome="ok"}')).toBeGreaterThan(0);
      expect(value(afterSync, 'orgshield_aws_retries_total{service="organizations",operation="ListTagsForResource"}')).toBeGreaterThan(0);
      expect(value(afterSync, 'orgshield_aws_throttled_total{service="organizations",operation="ListTagsForResource"}')).toBeGreaterThan(0);
      // Each throttled or failed attempt that was retried is a retry: throttles are part of them.
      const faultsSeen = faulty.requests().filter((entry) => entry.service === 'organizations' && entry.status >= 400).length;
      const retries = [...afterSync.matchAll(/^orgshield_aws_retries_total\{service="organizations",[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
      expect(retries).toBe(faultsSeen);
      expect(value(afterSync, 'orgshield_queue_waiting{queue="org"}')).toBe(0);
      expect(value(afterSync, 'orgshield_queue_oldest_age_seconds{queue="firewall"}')).toBe(0);

      await writeFile(join(dir, 'waf.yaml'), 'name: edge-waf\ntype: WAFV2\nresourceTypes: [alb]\nregions: [eu-west-1]\nwebACLSource: RETROFIT_EXISTING\nrules: { defaultAction: ALLOW }\n');
      await writeFile(
        join(dir, 'rollout.yaml'),
        'kind: Rollout\nname: metered\npolicies: [waf.yaml]\nwaves:\n  - { name: everyone, targets: { all: true }, mode: audit, gates: { maxNonCompliantAccounts: 0, timeout: 30s } }\n',
      );
      const started = await runCli(['rollout', 'start', join(dir, 'rollout.yaml')], env, { timeoutMs: 120_000 });
      expect(started.code, started.stderr).toBe(0);
      const watched = await runCli(['rollout', 'watch', started.stdout.trim()], env, { timeoutMs: 120_000 });
      expect(watched.stderr).toContain('failed its gate');
      const halted = await scrape();
      expect(value(halted, 'orgshield_rollout_accounts{rollout="metered",state="applied-audit"}')).toBe(0);
      expect(value(halted, 'orgshield_rollout_accounts{rollout="metered",state="pending"}')).toBeGreaterThan(0);
      expect(value(halted, 'orgshield_rollout_accounts{rollout="metered",state="non-compliant"}')).toBeGreaterThan(0);
      expect(value(halted, 'orgshield_aws_calls_total{service="fms",operation="PutPolicy",outcome="ok"}')).toBe(1);
      expect(halted).toMatch(/^orgshield_job_duration_seconds_count\{kind="firewall.rollout.start"\} 1$/m);
      expect((await runCli(['rollout', 'abort', started.stdout.trim()], env)).code).toBe(0);
      // Settled: the rollout leaves the gauge.
      expect(await scrape()).not.toContain('rollout="metered"');
    } finally {
      worker.kill('SIGTERM');
      await exited;
      await faulty.close();
    }
  }, 240_000);

  it('never writes a credential: not to stdout, stderr, the worker log, Redis or the reports, even with --debug', async () => {
    const prefix = `test-wp-${randomUUID()}`;
    prefixes.push(prefix);
    const dir = await mkdtemp(join(tmpdir(), 'orgshield-worker-secrets-'));
    dirs.push(dir);
    const reportDir = join(dir, 'reports');
    // Recognisable secrets in the environment the CLI and the worker start with (the sandbox
    // takes any secret and token for its admin key); the member-account secrets are the ones the
    // sandbox's STS issues, read back from its world below.
    const planted = {
      AWS_SECRET_ACCESS_KEY: `PLANTEDsecret${randomBytes(16).toString('hex')}`,
      AWS_SESSION_TOKEN: `PLANTEDtoken${randomBytes(32).toString('base64')}`,
    };
    const env = sandboxCliEnv(sandbox, prefix, { ...planted, LOG_LEVEL: 'debug', ORGSHIELD_REPORT_DIR: reportDir, ORGSHIELD_HTTP_PORT: String(await freePort()) });
    const { findingFile } = await writeTorClientFinding(sandbox, dir);
    await writeFile(join(dir, 'shield.yaml'), 'name: edge-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [us-east-1]\n');
    await writeFile(
      join(dir, 'rollout.yaml'),
      'kind: Rollout\nname: secrets\npolicies: [shield.yaml]\nregions: { order: [us-east-1] }\nwaves:\n  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }\n',
    );
    const issuedBefore = sandbox.world.credentials.issued().length;
    const { worker, output, exited } = await startWorker(env);

    const runs: CliResult[] = [];
    const run = async (args: string[]) => {
      const result = await runCli([...args, '--debug'], env, { timeoutMs: 120_000 });
      runs.push(result);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('no worker is connected');
      return result;
    };
    await run(['org', 'sync', '--wait']);
    await run(['rollout', 'start', join(dir, 'rollout.yaml'), '--wait']);
    await run(['investigate', '--finding', findingFile, '--wait', '--report', join(reportDir, 'tor')]);
    // A failure with --debug prints a stack trace: that must not carry a secret either.
    const failed = await runCli(['rollout', 'status', 'nope-123', '--debug'], env);
    runs.push(failed);
    expect(failed.code).not.toBe(0);
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);

    // The worker entered member accounts with credentials the sandbox's STS handed out.
    const issued = sandbox.world.credentials.issued().slice(issuedBefore);
    expect(issued.length).toBeGreaterThan(0);
    const secrets = [planted.AWS_SECRET_ACCESS_KEY, planted.AWS_SESSION_TOKEN, ...issued.flatMap((c) => [c.secretAccessKey, c.sessionToken])];
    const places: Record<string, string> = {
      stdout: runs.map((r) => r.stdout).join('\n'),
      stderr: runs.map((r) => r.stderr).join('\n'),
      'the worker log': output.log,
      Redis: await redisContents(prefix),
      'the report folder': await folderContents(reportDir),
    };
    // The places hold what the runs did (a search of empty text would prove nothing).
    expect(places['the worker log']).toContain('"job":"investigation.run"');
    expect(places['Redis']).toContain(`${prefix}:`);
    expect(places['the report folder']).toContain('198.51.100.23');
    for (const [place, text] of Object.entries(places)) {
      for (const secret of secrets) {
        // A prefix of 16 characters catches a secret cut short as well as whole.
        const found = [secret, secret.slice(0, 16)].some((part) => text.includes(part));
        expect(found, `a credential (${secret.slice(0, 8)}…) appears in ${place}`).toBe(false);
      }
    }
  }, 240_000);

  it('says 503 on /readyz once its Redis is gone, and stops on SIGTERM within ORGSHIELD_SHUTDOWN_TIMEOUT_MS all the same', async () => {
    // A private Redis, so this test can kill it without touching the one others share.
    const redisPort = await freePort();
    const redisServer = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const redisExited = new Promise((resolve) => redisServer.on('close', resolve));
    // A failed expectation must not leave the worker running against a dead Redis.
    let started: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      for (let i = 0; i < 50; i++) {
        const probe = new Redis(`redis://127.0.0.1:${redisPort}`, { lazyConnect: true, retryStrategy: () => null });
        probe.on('error', () => undefined);
        const up = await probe.connect().then(() => true, () => false);
        probe.disconnect();
        if (up) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const httpPort = await freePort();
      const timeoutMs = 2000;
      const env = sandboxCliEnv(sandbox, `test-wp-${randomUUID()}`, {
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        ORGSHIELD_HTTP_PORT: String(httpPort),
        ORGSHIELD_SHUTDOWN_TIMEOUT_MS: String(timeoutMs),
        LOG_LEVEL: 'info',
      });
      started = await startWorker(env);
      const { worker, exited } = started;
      const readyz = `http://127.0.0.1:${httpPort}/readyz`;
      expect((await fetch(readyz)).status).toBe(200);

      redisServer.kill('SIGKILL');
      await redisExited;
      const statuses: number[] = [];
      for (let i = 0; i < 20 && statuses.at(-1) !== 503; i++) {
        statuses.push((await fetch(readyz)).status);
        if (statuses.at(-1) !== 503) await new Promise((r) => setTimeout(r, 250));
      }
      expect(statuses.at(-1)).toBe(503);
      // It stays not ready while Redis stays gone.
      await new Promise((r) => setTimeout(r, 1500));
      const later = await fetch(readyz);
      expect(later.status).toBe(503);
      expect(await later.text()).toContain('Redis did not answer a PING');

      const signalled = Date.now();
      worker.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), timeoutMs + 5000))]);
      const tookMs = Date.now() - signalled;
      if (code === 'still running') worker.kill('SIGKILL');
      expect(code).not.toBe('still running');
      expect(tookMs).toBeLessThan(timeoutMs + 1000);
    } finally {
      started?.worker.kill('SIGKILL');
      redisServer.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses a bad configuration in one sentence with exit code 2', async () => {
    const worker = spawnWorker({ ORGSHIELD_CONCURRENCY: 'org=two' });
    let stderr = '';
    worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => worker.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('orgshield-worker: ORGSHIELD_CONCURRENCY="org=two" is not valid: use the form org=1,investigations=2.');
  });
});

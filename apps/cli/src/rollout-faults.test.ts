import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FIREWALL_QUEUES, type RolloutView } from '@orgshield/firewall';
import { connectRedis, type RedisClient } from '@orgshield/jobs';
import { startSandbox, type RunningSandbox, type SandboxOptions } from '@orgshield/sandbox';
import { deleteQueuePrefix, runCli, sandboxCliEnv, spawnCli, spawnWorker } from '../test/run-cli.js';
import { startAofRedis, startRedisCluster } from '../../../redis-test-servers.js';

/**
 * The faults a rollout must survive, end to end: the built CLI submits and follows, built workers
 * (apps/worker/dist) run it against the sandbox. Each scenario asserts from the sandbox's request
 * log (every PutPolicy and DeletePolicy answered 200 exactly once per step of the plan that makes
 * it) and from the run's records (completed, every step recorded, no failed job), never from time.
 *
 * Size: every scenario runs on a 500-account organization, under `npm test` as under
 * `npm run test:long` (about a minute each at load average 30; 150 accounts saved only 5 to 15 s each).
 */

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const WAF = `name: fault-waf
type: WAFV2
resourceTypes: [alb]
regions: [eu-west-1, us-east-1]
webACLSource: RETROFIT_EXISTING
rules: { defaultAction: ALLOW }
`;
const SHIELD = 'name: fault-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1, us-east-1]\n';
// Three waves over two policies and two regions: 12 puts (audit copies, then enforcing ones), 4 deletes of the audit copies.
const ROLLOUT = `kind: Rollout
name: faults
policies: [waf.yaml, shield.yaml]
waves:
  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 60s } }
  - { name: audit-all, targets: { all: true }, mode: audit, gates: { timeout: 60s } }
  - { name: everyone, targets: { all: true }, mode: remediate, gates: { timeout: 60s } }
`;

interface RunningWorker {
  /** Jobs this worker has started and not finished: job id -> job name. */
  inFlight: Map<string, string>;
  log(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Everything a scenario started, stopped after it whatever happened. */
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

async function sandboxFor(options: SandboxOptions): Promise<RunningSandbox> {
  // FMS compliance evaluates 1000x faster than on AWS.
  const sandbox = await startSandbox({ port: 0, seed: 5, timeScale: 0.001, ...options });
  cleanup.push(() => sandbox.close());
  return sandbox;
}

async function rolloutFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'orgshield-faults-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'waf.yaml'), WAF);
  await writeFile(join(dir, 'shield.yaml'), SHIELD);
  await writeFile(join(dir, 'rollout.yaml'), ROLLOUT);
  return join(dir, 'rollout.yaml');
}

/** The environment of the CLI and the workers of one scenario. */
function scenarioEnv(sandbox: RunningSandbox, redisUrl: string, prefix: string): Record<string, string> {
  return sandboxCliEnv(sandbox, prefix, {
    REDIS_URL: redisUrl,
    // A dead worker's jobs are taken over after about two leases.
    ORGSHIELD_LEASE_MS: '2000',
    ORGSHIELD_CONCURRENCY: 'firewall=4',
    ORGSHIELD_HTTP_PORT: '0',
    LOG_LEVEL: 'info',
  });
}

/** Starts the built worker and follows its JSON log for the jobs it has in hand. */
async function startWorker(env: Record<string, string>): Promise<RunningWorker> {
  const child = spawnWorker(env);
  let log = '';
  let pending = '';
  const inFlight = new Map<string, string>();
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stderr.on('data', (data: Buffer) => (log += data.toString()));
  child.stdout.on('data', (data: Buffer) => {
    log += data.toString();
    pending += data.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const entry = (() => {
        try {
          return JSON.parse(line) as { msg?: string; job?: string; jobId?: string };
        } catch {
          return {};
        }
      })();
      if (entry.jobId === undefined) continue;
      if (entry.msg === 'job started') inFlight.set(entry.jobId, entry.job ?? '');
      if (entry.msg === 'job completed' || entry.msg === 'job failed') inFlight.delete(entry.jobId);
    }
  });
  const worker: RunningWorker = {
    inFlight,
    log: () => log,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  cleanup.push(() => worker.kill('SIGKILL'));
  await until(() => log.includes('orgshield worker ready') || child.exitCode !== null, 60_000);
  expect(log).toContain('orgshield worker ready');
  return worker;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

const answered = (sandbox: RunningSandbox, operation: string) => sandbox.requests().filter((entry) => entry.operation === operation && entry.status === 200);

/** Submits the rollout with the CLI (no --wait: the workers run it); returns its id. */
async function submit(env: Record<string, string>, file: string): Promise<string> {
  const start = await runCli(['rollout', 'start', file, '--output', 'json'], env, { timeoutMs: 120_000 });
  expect(start.code, start.stderr).toBe(0);
  return (JSON.parse(start.stdout) as { rolloutId: string }).rolloutId;
}

/**
 * The run's records and the request log agree that the rollout completed with every planned
 * write made once: each put step's PutPolicy and each delete step's DeletePolicy answered 200
 * exactly once, per region; every step recorded; no job of the queue failed.
 */
async function expectCompletedOnce(options: { sandbox: RunningSandbox; env: Record<string, string>; rolloutId: string; redis: RedisClient; queuePrefix: string }) {
  const { sandbox, env, rolloutId } = options;
  const status = await runCli(['rollout', 'status', rolloutId, '--output', 'json'], env, { timeoutMs: 120_000 });
  expect(status.code, status.stderr).toBe(0);
  const view = JSON.parse(status.stdout) as RolloutView;
  expect(view.state.status).toBe('completed');
  expect(view.done).toBe(view.total);
  const plan = view.record.plan?.steps ?? [];
  const perRegion = (entries: { region: string }[]) => entries.reduce<Record<string, number>>((counts, { region }) => ({ ...counts, [region]: (counts[region] ?? 0) + 1 }), {});
  const puts = plan.filter((step) => step.kind === 'put');
  const deletes = plan.filter((step) => step.kind === 'delete');
  expect(puts.length).toBe(12);
  expect(deletes.length).toBe(4);
  expect(perRegion(answered(sandbox, 'PutPolicy'))).toEqual(perRegion(puts));
  expect(perRegion(answered(sandbox, 'DeletePolicy'))).toEqual(perRegion(deletes));
  // Every planned step is recorded (a step re-run after a crash that finds its write made says "unchanged").
  expect(new Set(view.steps.map((step) => step.step))).toEqual(new Set(plan.map((step) => step.id)));
  for (const name of FIREWALL_QUEUES) {
    const queue = new Queue(name, { connection: options.redis, prefix: options.queuePrefix });
    try {
      expect(await queue.getJobCounts('failed'), name).toEqual({ failed: 0 });
    } finally {
      await queue.close();
    }
  }
  return view;
}

describe('a rollout survives faults (end to end: built CLI and workers, sandbox, real Redis)', () => {
  it('500 accounts: the worker is SIGKILLed with steps in flight; another worker finishes, each PutPolicy and DeletePolicy once', { timeout: 300_000 }, async () => {
    // Every PutPolicy takes a while, so the kill lands while one is being answered.
    const sandbox = await sandboxFor({ accounts: 500, ous: 50, faults: { operations: { 'fms:PutPolicy': { latencyMs: [200, 400] } } } });
    const prefix = `test-kill-${randomUUID()}`;
    cleanup.push(() => deleteQueuePrefix(prefix));
    const env = scenarioEnv(sandbox, REDIS_URL, prefix);
    const file = await rolloutFile();
    const first = await startWorker(env);
    const rolloutId = await submit(env, file);

    // The kill: after the first write, at a moment the worker holds a step that writes a policy.
    const heldPuts = () => [...first.inFlight].filter(([id, name]) => name === 'firewall.rollout.step' && id.includes('.put.')).map(([id]) => id);
    await until(() => answered(sandbox, 'PutPolicy').length >= 1 && heldPuts().length > 0, 120_000, 5);
    const strandedJobs = heldPuts();
    await first.kill('SIGKILL');
    const putsAtKill = answered(sandbox, 'PutPolicy').length;
    expect(putsAtKill).toBeLessThan(12);

    await startWorker(env);
    const watch = await runCli(['rollout', 'watch', rolloutId], env, { timeoutMs: 240_000 });
    expect(watch.code, watch.stderr).toBe(0);
    const redis = await connectRedis(REDIS_URL);
    cleanup.push(async () => void (await redis.quit()));
    const view = await expectCompletedOnce({ sandbox, env, rolloutId, redis, queuePrefix: prefix });
    // The steps the dead worker held were finished by the other one.
    const recorded = new Set(view.steps.map((step) => step.step));
    expect(strandedJobs.length).toBeGreaterThan(0);
    for (const job of strandedJobs) expect([...recorded].some((step) => job.startsWith(`${rolloutId}.${step}.`)), job).toBe(true);
  });

  it('Redis (AOF, fsync always) is killed and restarted mid-run: no job is lost, workers and the CLI reconnect, the run completes, each write once (500 accounts)', { timeout: 300_000 }, async () => {
    const sandbox = await sandboxFor({ accounts: 500, ous: 20, faults: { operations: { 'fms:PutPolicy': { latencyMs: [100, 200] } } } });
    const aof = await startAofRedis();
    cleanup.push(() => aof.stop());
    const prefix = `test-aof-${randomUUID()}`;
    const env = scenarioEnv(sandbox, aof.url, prefix);
    const file = await rolloutFile();
    await startWorker(env);
    await startWorker(env);
    const rolloutId = await submit(env, file);
    // The CLI follows the run across the restart.
    const watch = spawnCli(['rollout', 'watch', rolloutId], env);
    let watchErr = '';
    watch.stderr.on('data', (data: Buffer) => (watchErr += data.toString()));
    const watched = new Promise<number | null>((resolve) => watch.once('close', resolve));
    cleanup.push(async () => void watch.kill('SIGKILL'));

    // Once the CLI is connected (it prints the run's events) and the run is writing.
    await until(() => watchErr.length > 0 && answered(sandbox, 'PutPolicy').length >= 2, 120_000, 10);
    // Down for longer than a lease: locks held before the kill have lapsed when it comes back.
    await aof.restart(3000);
    expect(answered(sandbox, 'PutPolicy').length).toBeLessThan(12);

    expect(await watched, watchErr).toBe(0);
    const redis = await connectRedis(aof.url);
    cleanup.push(async () => void (await redis.quit()));
    await expectCompletedOnce({ sandbox, env, rolloutId, redis, queuePrefix: prefix });
  });

  it('10% of AWS calls throttled, 2% 5xx and 1% connection resets: the run completes with zero failed tasks, each write once (500 accounts)', { timeout: 300_000 }, async () => {
    const mix = { throttleRate: 0.1, errorRate: 0.02, resetRate: 0.01 };
    const sandbox = await sandboxFor({ accounts: 500, ous: 20, faults: { operations: { 'fms:*': mix, 'organizations:*': mix, 'sts:*': mix } } });
    const prefix = `test-mix-${randomUUID()}`;
    cleanup.push(() => deleteQueuePrefix(prefix));
    const env = scenarioEnv(sandbox, REDIS_URL, prefix);
    await startWorker(env);
    await startWorker(env);
    const rolloutId = await submit(env, await rolloutFile());
    const watch = await runCli(['rollout', 'watch', rolloutId], env, { timeoutMs: 240_000 });
    expect(watch.code, watch.stderr).toBe(0);
    const redis = await connectRedis(REDIS_URL);
    cleanup.push(async () => void (await redis.quit()));
    await expectCompletedOnce({ sandbox, env, rolloutId, redis, queuePrefix: prefix });
    // The faults were there: about their share of the calls.
    const requests = sandbox.requests();
    const share = (test: (entry: (typeof requests)[number]) => boolean) => requests.filter(test).length / requests.length;
    expect(share((entry) => /Throttl|TooManyRequests/.test(entry.error ?? ''))).toBeGreaterThan(0.05);
    expect(share((entry) => entry.status >= 500)).toBeGreaterThan(0.005);
    expect(requests.some((entry) => entry.error === 'ConnectionReset')).toBe(true);
    // Some of the faults hit the writes themselves, and their retries still left one answered write per step.
    expect(sandbox.requests().filter((entry) => (entry.operation === 'PutPolicy' || entry.operation === 'DeletePolicy') && entry.status !== 200).length).toBeGreaterThan(0);
  });

  it('Redis Cluster of three primaries, two workers, queue prefix as a hash tag: the run completes, each write once, every key in one slot (500 accounts)', { timeout: 300_000 }, async () => {
    const cluster = await startRedisCluster();
    cleanup.push(() => cluster.stop());
    const sandbox = await sandboxFor({ accounts: 500, ous: 20 });
    const prefix = `test-cluster-${randomUUID()}`;
    const env = scenarioEnv(sandbox, cluster.url, prefix);
    await startWorker(env);
    await startWorker(env);
    const rolloutId = await submit(env, await rolloutFile());
    const watch = await runCli(['rollout', 'watch', rolloutId], env, { timeoutMs: 240_000 });
    expect(watch.code, watch.stderr).toBe(0);
    const redis = await connectRedis(cluster.url);
    cleanup.push(async () => void (await redis.quit()));
    await expectCompletedOnce({ sandbox, env, rolloutId, redis, queuePrefix: `{${prefix}}` });

    // Every key orgshield wrote lives on one node, in the slot of its hash tag.
    const keysPerNode = await Promise.all(
      cluster.ports.map(async (port) => {
        const node = new Redis(port, '127.0.0.1');
        try {
          return await node.keys('*');
        } finally {
          node.disconnect();
        }
      }),
    );
    const keys = keysPerNode.flat();
    expect(keys.length).toBeGreaterThan(10);
    expect(keys.every((key) => key.startsWith(`{${prefix}}`)), keys.filter((key) => !key.startsWith(`{${prefix}}`)).join(', ')).toBe(true);
    expect(keysPerNode.filter((nodeKeys) => nodeKeys.length > 0)).toHaveLength(1);
    // The shared rate buckets and the audit trail ran their scripts on the cluster too (a bucket that fails falls back silently).
    expect(keys.some((key) => key.startsWith(`{${prefix}}:ratelimit:`))).toBe(true);
    expect(keys).toContain(`{${prefix}}:{audit}`);
  });
});

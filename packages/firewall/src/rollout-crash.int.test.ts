import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashAtEveryPoint, type CrashRun, type CrashScenario } from '@orgshield/jobs';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { startRedisCluster, type RedisClusterFixture } from '../../../redis-test-servers.js';
import { startHarness, writeTree, type Harness } from '../test/rollout-harness.js';
import { fmsClient, findPolicy, listPolicies } from './live-policies.js';
import { readRolloutSource } from './rollout-loader.js';

/**
 * The crash harness on rollout steps: the step under test is killed (SIGKILL, in a worker
 * process of its own) right after each of its Redis writes and mutating AWS calls in turn; a
 * fresh worker then finishes the rollout. Every time, the rollout completes, FMS ends as in the
 * run without a crash, and each PutPolicy and DeletePolicy was made exactly once.
 *
 * The put step runs on a Redis Cluster of three primaries too (the queue prefix a hash tag), so
 * its crash points are proven where a script touching keys of two slots would fail. Sizes: at
 * ORGSHIELD_TEST_SIZE=long it is killed at every point there as well; in CI at a deterministic
 * sample (the guard's entry, the PutPolicy, the result recorded before the next step is queued).
 */

const LONG = process.env['ORGSHIELD_TEST_SIZE'] === 'long';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

const ROLLOUT = `kind: Rollout
name: crash
policies: [waf.yaml]
waves:
  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }
  - { name: everyone, targets: { all: true }, mode: remediate, gates: { timeout: 30s } }
`;
/**
 * A gate that halts on a violation reason: it reads every non-compliant account's detail, in one
 * detail batch. It soaks past the sandbox's evaluation delay, so its first look after the soak
 * finds every account evaluated, keeps its read and queues the batch (one order of points).
 */
const DETAILS_ROLLOUT = `kind: Rollout
name: crash
policies: [waf.yaml]
waves:
  - { name: everyone, targets: { all: true }, mode: audit, soakTime: 2s, gates: { haltOnViolationReasons: [RESOURCE_INCORRECT_WEB_ACL], timeout: 30s } }
`;
const WAF = 'name: waf\ntype: WAFV2\nresourceTypes: [alb]\nregions: [eu-west-1]\nwebACLSource: RETROFIT_EXISTING\nrules: { defaultAction: ALLOW }\n';

interface World {
  sandbox: RunningSandbox;
  prefix: string;
  harness: Harness;
  rolloutId?: string;
}

/** What FMS holds at the end, named and scoped: the same whether or not a worker died on the way. */
async function endState(harness: Harness): Promise<unknown> {
  const fms = fmsClient(harness.aws, 'eu-west-1');
  const policies = await Promise.all(
    (await listPolicies(fms)).map(async (summary) => {
      const found = await findPolicy(fms, summary.PolicyName ?? '');
      const policy = found?.output.Policy;
      return { name: policy?.PolicyName, remediation: policy?.RemediationEnabled, include: [...(policy?.IncludeMap?.ACCOUNT ?? [])].sort() };
    }),
  );
  return policies.sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

/** `clusterUrl`: the run's Redis is that cluster (its prefix a hash tag), not REDIS_URL's; `rollout`: the rollout file. */
function scenario(crashJob: string, expected: { endState?: unknown }, options: { clusterUrl?: string; rollout?: string } = {}): CrashScenario<World> {
  const { clusterUrl, rollout = ROLLOUT } = options;
  return {
    async setup() {
      const sandbox = await startSandbox({ accounts: 40, ous: 8, seed: 3, timeScale: 0.001, port: 0 });
      const id = randomBytes(6).toString('hex');
      const prefix = clusterUrl ? `{test-${id}}` : `test:${id}`;
      const harness = await startHarness(sandbox, prefix, { workerOptions: { lockDuration: 1000, stalledInterval: 500 }, ...(clusterUrl ? { redisUrl: clusterUrl } : {}) });
      return { sandbox, prefix, harness };
    },
    spawn({ sandbox, prefix }, env) {
      return spawn(process.execPath, ['--import', 'tsx', '--conditions=@orgshield/source', 'test/rollout-worker-process.ts'], {
        cwd: packageRoot,
        env: { ...process.env, ...sandbox.env(), SANDBOX_URL: sandbox.url, QUEUE_PREFIX: prefix, CRASH_JOB: crashJob, ...(clusterUrl ? { REDIS_URL: clusterUrl } : {}), ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    },
    async start(world) {
      const root = await writeTree({ 'waf.yaml': WAF, 'rollout.yaml': rollout });
      world.rolloutId = (await world.harness.control.submit(await readRolloutSource(join(root, 'rollout.yaml')))).rolloutId;
    },
    async recover({ harness, sandbox, rolloutId = '' }, crash) {
      await harness.startWorker();
      const final = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000, pollMs: 100 });
      const view = await harness.control.view(rolloutId);
      const where = crash ? `after crash point ${crash.index} (${crash.point})` : 'without a crash';
      expect(final.status, where).toBe('completed');
      expect(view.done, where).toBe(view.total);
      const steps = view.record.plan?.steps ?? [];
      const writes = (operation: string) => sandbox.requests().filter((entry) => entry.operation === operation);
      expect(writes('PutPolicy').map((entry) => entry.status), where).toEqual(steps.filter((step) => step.kind === 'put').map(() => 200));
      expect(writes('DeletePolicy').map((entry) => entry.status), where).toEqual(steps.filter((step) => step.kind === 'delete').map(() => 200));
      // Detail reads are not mutating, but a finished batch is never read again: each evaluation once.
      const details = writes('GetComplianceDetail').map((entry) => entry.resources?.[0]);
      expect(new Set(details).size, where).toBe(details.length);
      const state = await endState(harness);
      if (expected.endState === undefined) expected.endState = state;
      else expect(state, where).toEqual(expected.endState);
    },
    async teardown({ harness, sandbox, prefix }) {
      await harness.close();
      await sandbox.close();
      // A cluster's keys go with it when the suite stops it.
      if (clusterUrl) return;
      const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.unlink(...keys);
      redis.disconnect();
    },
  };
}

/**
 * The points of a step that writes one policy: guard (with the "done already" check), previous
 * version, intent, the call, the result with its event (one script since the queue-overhead
 * work: six points, was seven with the event a write of its own), the next step.
 */
const writeStepPoints = (call: string) => [
  'redis:orgshieldRunEnter state',
  'redis:orgshieldRunAddOnce previous',
  'redis:multi hset intents',
  `aws:fms:${call}`,
  'redis:orgshieldRunComplete inflight',
  'redis:addStandardJob wait',
];

const START_JOB = '^firewall\\.rollout\\.start:';
const PUT_JOB = '^firewall\\.rollout\\.step:canary\\..*\\.put$';
const DELETE_JOB = '^firewall\\.rollout\\.step:.*\\.delete$';
/** The start's points: the run created with its name, the plan's snapshot, the record, running, the first step queued. */
const START_POINTS = [
  'redis:orgshieldRunCreate <run>',
  'redis:set snapshot',
  'redis:set <run>',
  'redis:orgshieldRunTransition state',
  'redis:hset meta',
  'redis:addStandardJob wait',
];

describe('a rollout step killed at every crash point', () => {
  it('start (planning): a fresh worker plans and completes the rollout', { timeout: 600_000 }, async () => {
    const run = await crashAtEveryPoint(scenario(START_JOB, {}), { expectedPoints: START_POINTS });
    expect(run.crashedAt).toEqual(run.points);
  });

  it('put: a fresh worker completes the rollout with each PutPolicy once', { timeout: 600_000 }, async () => {
    const run = await crashAtEveryPoint(scenario(PUT_JOB, {}), {
      expectedPoints: writeStepPoints('PutPolicy'),
    });
    expect(run.crashedAt).toEqual(run.points);
  });

  it('delete (the audit copy): a fresh worker completes the rollout with each DeletePolicy once', { timeout: 600_000 }, async () => {
    const run = await crashAtEveryPoint(scenario(DELETE_JOB, {}), {
      expectedPoints: writeStepPoints('DeletePolicy'),
    });
    expect(run.crashedAt).toEqual(run.points);
  });

  it('a detail batch: a fresh worker completes the rollout, reading each evaluation once', { timeout: 600_000 }, async () => {
    const run = await crashAtEveryPoint(scenario('^firewall\\.rollout\\.details:', {}, { rollout: DETAILS_ROLLOUT }), {
      // guard (with the "done already" check), the violators into the cache, done with the guard left, the gate's next look
      expectedPoints: ['redis:orgshieldRunEnter state', 'redis:multi hset violators', 'redis:orgshieldRunComplete inflight', 'redis:addStandardJob wait'],
    });
    expect(run.crashedAt).toEqual(run.points);
  });
});

describe('a rollout step killed at crash points on a Redis Cluster', () => {
  let cluster: RedisClusterFixture | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  /**
   * In CI: a step's guard entry, its mutating call and its recorded result; the start's run
   * creation (the name, the record and the state in one script) and its move to running. Every
   * point at full size.
   */
  const sample = (index: number, point: string) =>
    LONG || ['redis:orgshieldRunEnter state', 'redis:orgshieldRunComplete inflight', 'redis:orgshieldRunCreate <run>', 'redis:orgshieldRunTransition state'].includes(point) || point.startsWith('aws:');
  const sampled = (run: CrashRun) => run.points.filter((point, index) => sample(index, point));

  for (const { name, job, points, sampledInCi } of [
    { name: 'start (planning): a fresh worker plans and completes the rollout', job: START_JOB, points: START_POINTS, sampledInCi: 2 },
    { name: 'put: a fresh worker completes the rollout with each PutPolicy once', job: PUT_JOB, points: writeStepPoints('PutPolicy'), sampledInCi: 3 },
    { name: 'delete (the audit copy): a fresh worker completes the rollout with each DeletePolicy once', job: DELETE_JOB, points: writeStepPoints('DeletePolicy'), sampledInCi: 3 },
  ]) {
    it(name, { timeout: 600_000 }, async () => {
      const run = await crashAtEveryPoint(scenario(job, {}, { clusterUrl: cluster?.url ?? '' }), { expectedPoints: points, sample });
      expect(run.crashedAt).toEqual(sampled(run));
      expect(run.crashedAt.length).toBe(LONG ? run.points.length : sampledInCi);
    });
  }
});

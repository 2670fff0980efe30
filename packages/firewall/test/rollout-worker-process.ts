/**
 * A firewall worker in a process of its own, for the tests that kill one mid-rollout.
 * Run with: node --import tsx --conditions=@orgshield/source test/rollout-worker-process.ts
 * Environment: SANDBOX_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, QUEUE_PREFIX, REDIS_URL (one Redis or a cluster);
 * for the crash harness, CRASH_JOB (a pattern matched against `<job name>:<step id>`: the first
 * job it matches is the step under test) and CRASH_AT (the crash point to die at).
 * Prints `ready` once it listens.
 */
import { Worker } from 'bullmq';
import { AwsClientFactory } from '@orgshield/aws';
import { connectRedis, CrashPoints, duplicateConnection, JobQueues } from '@orgshield/jobs';
import { currentOrganization } from '../src/organization-source.js';
import { RolloutExecutor } from '../src/rollout-executor.js';
import { FIREWALL_QUEUES } from '../src/rollout-jobs.js';
import { bullmqStepQueue } from '../src/rollout-step-queue.js';
import { processFirewallJob, TEST_LEASE_MS, TEST_RATE_LIMITS } from './rollout-harness.js';

const prefix = process.env['QUEUE_PREFIX'] ?? 'orgshield';
const crashJob = process.env['CRASH_JOB'] ? new RegExp(process.env['CRASH_JOB']) : undefined;
const crash = CrashPoints.fromEnv();
// One Redis or a cluster (a `redis+cluster://` REDIS_URL, with a hash tag in QUEUE_PREFIX).
const redis = await connectRedis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
// The store's and the step queue's connection: each of their writes is a crash point.
crash.instrumentRedis(redis);
const queues = new JobQueues(redis, { prefix });
const aws = new AwsClientFactory({
  endpoint: process.env['SANDBOX_URL'],
  region: 'us-east-1',
  credentials: { accessKeyId: process.env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'] ?? '' },
  rateLimits: TEST_RATE_LIMITS,
  callerAccountId: 'caller',
  // Called by the factory's middleware before and after each mutating call: the answered call is a crash point.
  onMutation: (entry) => entry.phase === 'after' && crash.hit(`aws:${entry.service}:${entry.operation}`),
});
const executor = new RolloutExecutor({
  redis,
  queuePrefix: prefix,
  steps: bullmqStepQueue(queues),
  aws,
  organization: () => currentOrganization(aws, redis, { keyPrefix: `${prefix}:` }),
  gatePollMs: 200,
  leaseMs: TEST_LEASE_MS,
});
// Under the crash harness one job at a time, of either queue, so the points of the job under test come in one order.
let turn: Promise<unknown> = Promise.resolve();
const inTurn = <T>(run: () => Promise<T>): Promise<T> => {
  const mine = turn.then(run);
  turn = mine.catch(() => undefined);
  return mine;
};
for (const queue of FIREWALL_QUEUES) {
  const worker = new Worker(
    queue,
    (job) => {
      const { step, rolloutId } = job.data as { step?: unknown; rolloutId?: unknown };
      const underTest = crashJob?.test(`${job.name}:${typeof step === 'string' ? step : ''}`) === true;
      if (!crashJob) return processFirewallJob(executor, job);
      return inTurn(() => (underTest ? crash.scope(() => processFirewallJob(executor, job), { runId: String(rolloutId) }) : processFirewallJob(executor, job)));
    },
    { connection: duplicateConnection(redis), prefix, concurrency: crashJob ? 1 : 4, lockDuration: 1000, stalledInterval: 500 },
  );
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
}
process.stdout.write('ready\n');

/**
 * A recording worker in a process of its own, for the crash harness: a BullMQ worker on the
 * recording queue that runs setup jobs as worker-runtime's processor does (one executor call).
 * Run with: node --import tsx --conditions=@orgshield/source test/recording-worker-process.ts
 * Environment: SANDBOX_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, QUEUE_PREFIX, REDIS_URL;
 * CRASH_AT (the crash point to die at, see CrashPoints); without CRASH_SCOPE=0 the first setup
 * job is the step under test. Prints `ready` once it listens.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { CrashPoints } from '@orgshield/jobs';
import { crashTestExecutor } from './recording-crash-fixture.js';

const prefix = process.env['QUEUE_PREFIX'] ?? 'orgshield';
const crash = CrashPoints.fromEnv();
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
// The run store's and the locks' connection: each of their writes is a crash point.
crash.instrumentRedis(redis);
const { executor } = crashTestExecutor({
  redis,
  prefix,
  endpoint: process.env['SANDBOX_URL'] ?? '',
  credentials: { accessKeyId: process.env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'] ?? '' },
  // Called by the client factory's middleware before and after each mutating call: the answered call is a crash point.
  onMutation: (entry) => entry.phase === 'after' && entry.operation !== 'AssumeRole' && crash.hit(`aws:${entry.service}:${entry.operation}`),
});
const worker = new Worker(
  'recording',
  (job) => {
    const { runId } = job.data as { runId: string };
    return crash.scope(() => executor.setup(runId, (progress) => job.updateProgress(progress)), { runId });
  },
  { connection: redis.duplicate(), prefix, concurrency: 1, lockDuration: 1000, stalledInterval: 500 },
);
worker.on('error', () => undefined);
await worker.waitUntilReady();
process.stdout.write('ready\n');

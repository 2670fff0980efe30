/**
 * A drills worker in a process of its own, for the crash harness (drill-crash.int.test.ts).
 * Run with: node --import tsx --conditions=@orgshield/source test/drill-worker-process.ts
 * Environment: SANDBOX_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, QUEUE_PREFIX, REDIS_URL,
 * DRILL_POLL_MS; CRASH_JOB (a pattern matched against `<job name>:<step>`: the first job it
 * matches is the step under test) and CRASH_AT (the crash point to die at).
 * Prints `ready` once it listens.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { CrashPoints, JobQueues } from '@orgshield/jobs';
import { DRILLS_QUEUE } from '../src/drill-contracts.js';
import { DrillExecutor } from '../src/drill-executor.js';
import { processDrillJob, sandboxAws, sandboxDrillRuntime } from './drill-runtime.js';

const prefix = process.env['QUEUE_PREFIX'] ?? 'orgshield';
const crashJob = process.env['CRASH_JOB'] ? new RegExp(process.env['CRASH_JOB']) : undefined;
const crash = CrashPoints.fromEnv();
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
// The store's and the step queue's connection: each of their writes is a crash point.
crash.instrumentRedis(redis);
const queues = new JobQueues(redis, { prefix });
const aws = sandboxAws(
  { url: process.env['SANDBOX_URL'] ?? '', env: () => ({ AWS_ACCESS_KEY_ID: process.env['AWS_ACCESS_KEY_ID'] ?? '', AWS_SECRET_ACCESS_KEY: process.env['AWS_SECRET_ACCESS_KEY'] ?? '' }) },
  {
    // Each answered DRS or EC2 change is a crash point. AssumeRole (the way into a member
    // account) changes nothing of the drill's, and is cached, so it is not one.
    onMutation: (entry) => entry.phase === 'after' && entry.service !== 'sts' && crash.hit(`aws:${entry.service}:${entry.operation}`),
  },
);
const { runtime } = await sandboxDrillRuntime(aws, redis, queues, { prefix, timeScale: 1000, pollMs: Number(process.env['DRILL_POLL_MS'] ?? 100) });
const executor = new DrillExecutor(runtime);
const worker = new Worker(
  DRILLS_QUEUE,
  (job) => {
    const { step, drillId } = job.data as { step?: unknown; drillId?: unknown };
    const underTest = crashJob?.test(`${job.name}:${typeof step === 'string' ? step : ''}`) === true;
    return underTest ? crash.scope(() => processDrillJob(executor, job), { runId: String(drillId) }) : processDrillJob(executor, job);
  },
  {
    connection: redis.duplicate(),
    prefix,
    // One job at a time under the crash harness, so the points of the step under test come in one order.
    concurrency: 1,
    lockDuration: 1000,
    stalledInterval: 500,
  },
);
worker.on('error', () => undefined);
await worker.waitUntilReady();
process.stdout.write('ready\n');

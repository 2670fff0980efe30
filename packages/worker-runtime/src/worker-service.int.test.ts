import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '@orgshield/errors';
import { defineJob, JobFailedError, JobQueues, JobSkipSchema, type JobProgress } from '@orgshield/jobs';
import { processor, WorkerService, type FailedForGood, type JobFinishedEvent } from './worker-service.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const logs: { level: number; msg: string; reason?: string; blockedBy?: string }[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) });

const echoJob = defineJob({
  name: 'test.echo',
  queue: 'org',
  dedupe: 'in-flight',
  payload: z.object({ text: z.string(), delayMs: z.number().default(0), fail: z.enum(['no', 'input', 'transient']).default('no') }),
  result: z.object({ echoed: z.string(), attempt: z.number() }),
});

/** A job that may choose not to act, as a scheduled firing behind a halted run does. */
const maybeJob = defineJob({
  name: 'test.maybe',
  queue: 'org',
  dedupe: 'in-flight',
  payload: z.object({ blockedBy: z.string().optional() }),
  result: z.object({ done: z.boolean(), skipped: JobSkipSchema.optional() }),
});

describe('WorkerService with JobQueues (real Redis)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(concurrency = 1) {
    const prefix = `test-worker-${randomUUID()}`;
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const calls: string[] = [];
    const finished: JobFinishedEvent[] = [];
    const failedForGood: { text: string; failure: FailedForGood }[] = [];
    const service = new WorkerService({
      onJobFinished: (event) => finished.push(event),
      connection: redis,
      logger,
      prefix,
      concurrency: { org: concurrency },
      shutdownTimeoutMs: 5_000,
      processors: [
        processor(echoJob, async (payload, { job, progress }) => {
          calls.push(payload.text);
          await progress({ phase: 'echoing', done: 1, total: 2 });
          if (payload.fail === 'input') throw new InvalidInputError(`text "${payload.text}" is not acceptable.`);
          if (payload.fail === 'transient' && job.attemptsMade < 2) throw new Error('flaky');
          await new Promise((r) => setTimeout(r, payload.delayMs));
          return { echoed: payload.text.toUpperCase(), attempt: job.attemptsMade + 1 };
        }, async (payload, failure) => void failedForGood.push({ text: payload.text, failure })),
        processor(maybeJob, async ({ blockedBy }) => (blockedBy ? { done: false, skipped: { reason: `run ${blockedBy} is halted`, blockedBy } } : { done: true })),
      ],
    });
    const queues = new JobQueues(redis, { prefix });
    cleanups.push(async () => {
      await service.close();
      await queues.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    });
    await service.start();
    return { service, queues, calls, redis, prefix, finished, failedForGood };
  }

  it('runs a job, reports progress and validates the result', async () => {
    const { queues } = await setup();
    const progress: JobProgress[] = [];
    await queues.listen('org');
    const job = await queues.submit(echoJob, { text: 'hello' });
    const result = await queues.waitFor(echoJob, job, { onProgress: (p) => progress.push(p) });
    expect(result).toEqual({ echoed: 'HELLO', attempt: 1 });
    expect(progress).toContainEqual({ phase: 'echoing', done: 1, total: 2 });
    expect(await queues.workerCount('org')).toBe(1);
  });

  it('joins an equal request while it is in flight, and runs it anew once finished', async () => {
    const { queues, calls } = await setup();
    const first = await queues.submit(echoJob, { text: 'once', delayMs: 300 });
    const second = await queues.submit(echoJob, { delayMs: 300, text: 'once' });
    expect(second.id).toBe(first.id);
    await queues.waitFor(echoJob, first);
    expect(calls).toEqual(['once']);
    const third = await queues.submit(echoJob, { text: 'once', delayMs: 300 });
    expect(third.id).not.toBe(first.id);
    await queues.waitFor(echoJob, third);
    expect(calls).toEqual(['once', 'once']);
  });

  it('fails bad input at once (no retries) and retries transient failures; only a job failed for good is settled', async () => {
    const { queues, calls, failedForGood } = await setup();
    const bad = await queues.submit(echoJob, { text: 'bad', fail: 'input' });
    await expect(queues.waitFor(echoJob, bad)).rejects.toThrow(JobFailedError);
    // Settled before BullMQ recorded the failure: a worker dying in between cannot leave the run "running".
    expect(failedForGood.map((entry) => entry.text)).toEqual(['bad']);
    await expect(queues.waitFor(echoJob, bad)).rejects.toThrow(/text "bad" is not acceptable/);
    expect(calls.filter((c) => c === 'bad')).toHaveLength(1);

    const flaky = await queues.submit(echoJob, { text: 'flaky', fail: 'transient' });
    expect(await queues.waitFor(echoJob, flaky)).toEqual({ echoed: 'FLAKY', attempt: 3 });
    // Only the last attempt settles: the flaky job's two failed attempts did not call the hook.
    expect(failedForGood).toEqual([{ text: 'bad', failure: { jobId: String(bad.id), timestamp: bad.timestamp, stalled: false, reason: `job ${bad.id} failed for good: text "bad" is not acceptable` } }]);
  }, 30_000);

  it('closes every connection it opened, so none outlives it (a cluster client would go on refreshing its slots)', async () => {
    const name = `orgshield-test-${randomUUID()}`;
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null, connectionName: name });
    const service = new WorkerService({ connection: redis, logger, prefix: `test-worker-${randomUUID()}`, processors: [processor(echoJob, async ({ text }) => ({ echoed: text, attempt: 1 }))] });
    // Clients carrying this test's name besides `redis` itself (BullMQ may rename the ones it uses).
    const opened = async () => ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(name)).length - 1;
    try {
      const before = await opened();
      await service.start();
      expect(await opened()).toBeGreaterThan(before);
      await service.close();
      await expect.poll(opened, { timeout: 5_000 }).toBe(before);
    } finally {
      await service.close();
      await redis.quit();
    }
  });

  it('refuses an invalid payload before it reaches Redis', async () => {
    const { queues } = await setup();
    await expect(queues.submit(echoJob, { text: 42 } as never)).rejects.toThrow(/test.echo payload is invalid at text/);
    const counts = await queues.queue('org').getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('shuts down gracefully: a running job finishes before close() resolves', async () => {
    const { service, queues } = await setup();
    const job = await queues.submit(echoJob, { text: 'slow', delayMs: 800 });
    const waiting = queues.waitFor(echoJob, job);
    await new Promise((r) => setTimeout(r, 200));
    await service.close();
    expect(await job.getState()).toBe('completed');
    await expect(waiting).resolves.toEqual({ echoed: 'SLOW', attempt: 1 });
  });

  it('logs and counts a job that skips its work as skipped, with the reason and the run that blocked it', async () => {
    const { queues, finished } = await setup();
    await queues.waitFor(maybeJob, await queues.submit(maybeJob, {}));
    await queues.waitFor(maybeJob, await queues.submit(maybeJob, { blockedBy: 'edge-123' }));
    expect(finished.filter((event) => event.name === 'test.maybe').map((event) => event.outcome)).toEqual(['completed', 'skipped']);
    expect(logs).toContainEqual(expect.objectContaining({ level: 40, msg: 'job skipped', reason: 'run edge-123 is halted', blockedBy: 'edge-123' }));
  });
});

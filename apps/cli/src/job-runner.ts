import type { z } from 'zod';
import { pino } from 'pino';
import { connectRedis, JobQueues, type AnyContract, type JobProgress, type RedisClient } from '@orgshield/jobs';
import { createRuntime, decodeAwsSettings, describeAwsSettings, formatAwsSettings, loadWorkerConfig, processorsFor, WorkerService, type Runtime, type WorkerConfig } from '@orgshield/worker-runtime';
import { note } from './cli-kit.js';
import { progressLine } from './progress-line.js';

/** The Redis connection and configuration a command works with; close() when done. */
export interface CliSession {
  config: WorkerConfig;
  redis: RedisClient;
  keyPrefix: string;
  close(): Promise<void>;
}

export async function openSession(): Promise<CliSession> {
  const config = loadWorkerConfig();
  const redis = await connectRedis(config.REDIS_URL);
  return {
    config,
    redis,
    keyPrefix: `${config.ORGSHIELD_QUEUE_PREFIX}:`,
    close: async () => {
      await redis.quit().catch(() => undefined);
    },
  };
}

/** A job's progress report as one line: `phase 3/10 (message)`. */
export function describeProgress(p: JobProgress): string {
  return `${p.phase}${p.total ? ` ${p.done}/${p.total}` : ''}${p.message ? ` (${p.message})` : ''}`;
}

export async function withSession<T>(work: (session: CliSession) => Promise<T>): Promise<T> {
  const session = await openSession();
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

export interface LocalWorkerOptions {
  /** The caller's producer (it asks how many workers listen). */
  queues: JobQueues;
  queue: string;
  /** Queues whose jobs the queue's own jobs queue (a rollout's detail batches): a local worker runs them too. */
  alongside?: readonly string[];
  /** Whether a worker in this process may run the jobs at all (`--no-local` says no). */
  local: boolean;
}

/**
 * Runs `work` with a worker for the queue in this process when no worker is connected to it
 * (and `local`), so one command carries its jobs to their end on a laptop with nothing else running.
 */
export async function withLocalWorker<T>(session: CliSession, options: LocalWorkerOptions, work: () => Promise<T>): Promise<T> {
  const { queues, queue } = options;
  let local: WorkerService | undefined;
  let runtime: Runtime | undefined;
  try {
    const workers = options.local ? await queues.workerNames(queue) : [];
    if (workers.length > 0) {
      // The job runs on the worker's AWS settings, which may not be this shell's: say whose.
      const theirs = [...new Set(workers.map((name) => decodeAwsSettings(name)).map((settings) => (settings ? formatAwsSettings(settings) : 'settings not announced')))];
      const mine = formatAwsSettings(describeAwsSettings());
      note(
        `${workers.length} worker(s) connected to the "${queue}" queue run the jobs with their own AWS settings (${theirs.join('; ')})${theirs.length === 1 && theirs[0] === mine ? ', the same as this shell' : `, not this shell's (${mine})`}`,
      );
    } else if (options.local) {
      note(`no worker is connected to the "${queue}" queue: running its jobs in this process`);
      // The job's own failure reaches the user as one sentence; the worker's log only with --debug.
      const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }, pino.destination(2));
      runtime = createRuntime(session.config, session.redis, logger);
      local = new WorkerService({
        connection: session.redis,
        logger,
        prefix: session.config.ORGSHIELD_QUEUE_PREFIX,
        processors: processorsFor(runtime, [queue, ...(options.alongside ?? [])]),
        leaseMs: session.config.ORGSHIELD_LEASE_MS,
        shutdownTimeoutMs: 5_000,
      });
      await local.start();
    }
    return await work();
  } finally {
    await local?.close();
    await runtime?.close();
  }
}

/**
 * Submits a job under its deterministic id. With `wait`, waits for its result, with a worker
 * in this process when none listens on the job's queue.
 */
export async function runJob<C extends AnyContract>(
  session: CliSession,
  contract: C,
  payload: z.input<C['payload']>,
  options: { wait: boolean; /** Shows the job's progress while waiting, under this label. */ progress?: string },
): Promise<{ jobId: string; result?: z.infer<C['result']> }> {
  const queues = new JobQueues(session.redis, { prefix: session.config.ORGSHIELD_QUEUE_PREFIX });
  try {
    if (options.wait) await queues.listen(contract.queue);
    const job = await queues.submit(contract, payload);
    const jobId = String(job.id);
    if (!options.wait) return { jobId };
    const line = options.progress === undefined ? undefined : progressLine(options.progress);
    try {
      const result = await withLocalWorker(session, { queues, queue: contract.queue, local: true }, () =>
        queues.waitFor(contract, job, { ...(line ? { onProgress: (progress: JobProgress) => line.update(describeProgress(progress)) } : {}) }),
      );
      return { jobId, result };
    } finally {
      line?.done();
    }
  } finally {
    await queues.close();
  }
}

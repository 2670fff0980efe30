import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { withAwsCallContext } from '@orgshield/aws';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { DEFAULT_QUEUE_PREFIX, duplicateConnection, parsePayload, skipOf, type AnyContract, type JobProgress, type RedisClient } from '@orgshield/jobs';

/** Failures that another attempt cannot fix: the job fails at once instead of retrying. */
const UNRECOVERABLE_CODES = new Set(['CredentialsMissing', 'InvalidConfig']);

export interface ProcessorContext {
  job: Job;
  /** Reports progress to whoever waits on the job (CLI, dashboard). */
  progress(progress: JobProgress): Promise<void>;
  logger: Logger;
}

/** A processor is an adapter: parsed payload in, one domain call, result out. */
export type Processor<C extends AnyContract> = (payload: z.output<C['payload']>, context: ProcessorContext) => Promise<z.input<C['result']>>;

/**
 * A contract with its processor, as the worker service runs it: `run` checks the job's data
 * against the contract (a bad payload is bad input, so it is not retried) before the processor
 * sees it.
 */
export interface ProcessorRegistration<C extends AnyContract = AnyContract> {
  contract: C;
  run(data: unknown, context: ProcessorContext): Promise<unknown>;
  /** Settles the job's run once the job has failed for good (see FailedForGood). */
  failedForGood?(data: unknown, failure: FailedForGood): Promise<void>;
}

/**
 * A job that will not run again: its last attempt failed, its error cannot be retried away, or
 * its worker died holding it more often than BullMQ allows (then the processor never saw it fail).
 */
export interface FailedForGood {
  jobId: string;
  /** When BullMQ created the job (a scheduled firing's run id is made from it). */
  timestamp: number;
  /** The worker holding it died more than maxStalledCount times. */
  stalled: boolean;
  /** One sentence: what happened to the job. */
  reason: string;
}

/**
 * What a processor does when its job has failed for good: mark its run failed, so status does
 * not say "running" for ever with nothing queued. Called by the worker whose last attempt failed,
 * before BullMQ records the failure, or by the worker that fetched a stall-failed job; it must be
 * safe to run again: runs change only from a status still running.
 */
export type FailedForGoodHandler<C extends AnyContract> = (payload: z.output<C['payload']>, failure: FailedForGood) => Promise<void>;

export function processor<C extends AnyContract>(contract: C, process: Processor<C>, onFailedForGood?: FailedForGoodHandler<C>): ProcessorRegistration<C> {
  return {
    contract,
    run: (data, context) => process(parsePayload(contract, data), context),
    ...(onFailedForGood ? { failedForGood: (data: unknown, failure: FailedForGood) => onFailedForGood(parsePayload(contract, data), failure) } : {}),
  };
}

/** BullMQ's failedReason for a job whose worker died holding it more than maxStalledCount times. */
const STALLED_LIMIT_REASON = 'job stalled more than allowable limit';

/**
 * One processor per contract, keyed by contract name: the compiler refuses a map that misses a
 * contract, names one that is not registered, or puts a processor under another contract's name.
 */
export type ProcessorMap<Contracts extends readonly AnyContract[]> = {
  [C in Contracts[number] as C['name']]: ProcessorRegistration<C>;
};

export interface WorkerServiceOptions {
  connection: RedisClient;
  logger: Logger;
  processors: ProcessorRegistration[];
  prefix?: string;
  /** The workers' name (BullMQ stores it on each job and in the connection name that getWorkers lists). */
  name?: string;
  /** Jobs each queue runs at once; defaults to 1 per queue. */
  concurrency?: Partial<Record<string, number>>;
  /** BullMQ's job lock and stalled-job check, in ms (ORGSHIELD_LEASE_MS); BullMQ's 30 s by default. */
  leaseMs?: number;
  /** How long shutdown waits for running jobs before it lets BullMQ's stall handling take them. */
  shutdownTimeoutMs?: number;
  onJobFinished?: (event: JobFinishedEvent) => void;
}

/** How a job ended: done, failed (this attempt), or skipped (it ran and chose not to act; its result says why). */
export type JobOutcome = 'completed' | 'failed' | 'skipped';

export interface JobFinishedEvent {
  name: string;
  queue: string;
  outcome: JobOutcome;
  durationMs: number;
}

/**
 * One BullMQ Worker per queue that has processors, each routing by job name. Bad input
 * (exit-code-2 errors) is unrecoverable: retrying cannot fix it, so it fails at once.
 */
export class WorkerService {
  private readonly workers: Worker[] = [];
  /** The connections made for the workers: BullMQ closes only those it made itself, so close() does. */
  private readonly connections: RedisClient[] = [];
  /** failedForGood handlers under way: close() waits for them. */
  private readonly settling = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WorkerServiceOptions) {}

  get queues(): string[] {
    return [...new Set(this.options.processors.map((p) => p.contract.queue))];
  }

  /** Every queue's worker is running (none has been closed or has stopped). */
  get running(): boolean {
    return this.closing === undefined && this.workers.length > 0 && this.workers.every((worker) => worker.isRunning());
  }

  async start(): Promise<void> {
    const { connection, logger, processors, prefix = DEFAULT_QUEUE_PREFIX } = this.options;
    for (const queue of this.queues) {
      const byName = new Map(processors.filter((p) => p.contract.queue === queue).map((p) => [p.contract.name, p]));
      const own = duplicateConnection(connection);
      this.connections.push(own);
      const worker = new Worker(queue, (job) => this.run(queue, byName, job), {
        connection: own,
        prefix,
        concurrency: this.options.concurrency?.[queue] ?? 1,
        ...(this.options.leaseMs === undefined ? {} : { lockDuration: this.options.leaseMs, stalledInterval: this.options.leaseMs }),
        autorun: false,
        ...(this.options.name ? { name: this.options.name } : {}),
      });
      worker.on('error', (error) => logger.error({ queue, err: error.message }, 'worker error'));
      // A job whose worker died holding it too often is failed by the next worker to fetch it,
      // without running the processor: its run is settled here. Every other last attempt settles
      // its run in `run`, before BullMQ records the failure, so no crash can fall in between.
      worker.on('failed', (job) => {
        if (job?.failedReason !== STALLED_LIMIT_REASON) return;
        const settled = this.failedForGood(queue, byName, job, `job ${String(job.id)} stalled more than allowed: its worker died while holding it`).finally(() =>
          this.settling.delete(settled),
        );
        this.settling.add(settled);
      });
      this.workers.push(worker);
      void worker.run();
      await worker.waitUntilReady();
      logger.info({ queue, jobs: [...byName.keys()], concurrency: worker.opts.concurrency }, 'worker listening');
    }
  }

  private async run(queue: string, byName: Map<string, ProcessorRegistration>, job: Job): Promise<unknown> {
    const registration = byName.get(job.name);
    const logger = this.options.logger.child({ queue, job: job.name, jobId: job.id, attempt: job.attemptsMade + 1 });
    if (!registration) throw new UnrecoverableError(`No processor for job "${job.name}" on queue "${queue}".`);
    const started = Date.now();
    logger.info('job started');
    try {
      // Every AWS call the job makes is attributed to it (and its run) in the audit trail.
      const result = await withAwsCallContext({ jobId: job.id, runId: runIdOf(job.data) }, () =>
        registration.run(job.data, {
          job,
          logger,
          progress: (progress) => job.updateProgress(progress),
        }),
      );
      const checked = registration.contract.result.parse(result);
      const skip = skipOf(checked);
      this.options.onJobFinished?.({ name: job.name, queue, outcome: skip ? 'skipped' : 'completed', durationMs: Date.now() - started });
      if (skip) logger.warn({ durationMs: Date.now() - started, reason: skip.reason, blockedBy: skip.blockedBy }, 'job skipped');
      else logger.info({ durationMs: Date.now() - started }, 'job completed');
      return checked;
    } catch (error) {
      this.options.onJobFinished?.({ name: job.name, queue, outcome: 'failed', durationMs: Date.now() - started });
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ err: message, code: error instanceof OrgshieldError ? error.code : undefined }, 'job failed');
      const unrecoverable = error instanceof UnrecoverableError || (error instanceof OrgshieldError && (error.exitCode === EXIT_CODES.badInput || UNRECOVERABLE_CODES.has(error.code)));
      // BullMQ counts this attempt after we throw: it is the last when it makes `attempts`.
      if (unrecoverable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        await this.failedForGood(queue, byName, job, `job ${String(job.id)} failed for good: ${message.replace(/\.$/, '')}`);
      }
      if (unrecoverable && !(error instanceof UnrecoverableError)) throw new UnrecoverableError(message);
      throw error;
    }
  }

  private async failedForGood(queue: string, byName: Map<string, ProcessorRegistration>, job: Job, reason: string): Promise<void> {
    const registration = byName.get(job.name);
    if (!registration?.failedForGood) return;
    const jobId = String(job.id);
    const stalled = job.failedReason === STALLED_LIMIT_REASON;
    const logger = this.options.logger.child({ queue, job: job.name, jobId });
    try {
      await registration.failedForGood(job.data, { jobId, timestamp: job.timestamp, stalled, reason });
      logger.warn({ stalled }, 'job failed for good: its run is marked failed');
    } catch (error) {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'job failed for good, and its run could not be marked failed');
    }
  }

  /** Stops taking jobs, lets running ones finish (bounded), closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const timeout = this.options.shutdownTimeoutMs ?? 30_000;
      const graceful = Promise.all(this.workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeout).unref()),
      ]);
      if (timedOut) await Promise.all(this.workers.map((w) => w.close(true)));
      await Promise.all([...this.settling]);
      // Left open, a cluster client goes on refreshing its slots (and logging) after its Redis has gone.
      for (const own of this.connections) own.disconnect();
    })();
    return this.closing;
  }
}

/** The run a job belongs to, for the audit trail: a payload's runId, or a rollout's id. */
function runIdOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { runId, rolloutId } = payload as { runId?: unknown; rolloutId?: unknown };
  return typeof runId === 'string' ? runId : typeof rolloutId === 'string' ? rolloutId : undefined;
}

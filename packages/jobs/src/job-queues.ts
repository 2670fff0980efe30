import { Queue, QueueEvents, type Job, type JobsOptions } from 'bullmq';
import type { z } from 'zod';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { duplicateConnection, type RedisClient } from './redis-connection.js';
import { type AnyContract, DEFAULT_QUEUE_PREFIX, jobIdFor, type JobProgress, JobProgressSchema, parsePayload, retryOptions } from './job-contract.js';

/** The job failed in the worker; its message is the processor's one sentence. */
export class JobFailedError extends OrgshieldError {
  constructor(name: string, id: string, reason: string) {
    super('JobFailed', `${name} job ${id} failed: ${reason}`, { exitCode: EXIT_CODES.failed });
  }
}

/** Producer side of the queues: one Queue per capability, sharing one connection. */
export class JobQueues {
  readonly prefix: string;
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, QueueEvents>();

  constructor(
    private readonly connection: RedisClient,
    options: { prefix?: string } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  }

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** A QueueEvents needs its own blocking connection, so it is made only when waited on. */
  queueEvents(name: string): QueueEvents {
    let events = this.events.get(name);
    if (!events) {
      events = new QueueEvents(name, { connection: duplicateConnection(this.connection), prefix: this.prefix });
      this.events.set(name, events);
    }
    return events;
  }

  /**
   * Validates the payload against its contract (bad input never reaches Redis) and adds the
   * job under its deterministic id: submitting the same request again while the first is
   * still known returns that job instead of doing the work twice.
   */
  async submit<C extends AnyContract>(
    contract: C,
    payload: z.input<C['payload']>,
    options: { scope?: string; jobId?: string } & Pick<JobsOptions, 'delay' | 'priority'> = {},
  ): Promise<Job> {
    const data = parsePayload(contract, payload);
    const requestId = options.jobId ?? jobIdFor(contract.name, data, options.scope);
    const inFlight = contract.dedupe === 'in-flight' && options.jobId === undefined;
    // BullMQ answers a deduplicated add with the id of the job already in flight.
    return this.queue(contract.queue).add(contract.name, data, {
      jobId: inFlight ? `${requestId}.${Date.now().toString(36)}` : requestId,
      deduplication: inFlight ? { id: requestId } : undefined,
      ...retryOptions(contract),
      removeOnComplete: { age: 300, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
      delay: options.delay,
      priority: options.priority,
    });
  }

  /** Starts listening to a queue's events; call it before submit() to see every progress report. */
  async listen(name: string): Promise<void> {
    await this.queueEvents(name).waitUntilReady();
  }

  /** Waits for a job to finish, passing progress on; the result is checked against the contract. */
  async waitFor<C extends AnyContract>(
    contract: C,
    job: Job,
    options: { onProgress?: (progress: JobProgress) => void; timeoutMs?: number } = {},
  ): Promise<z.infer<C['result']>> {
    const events = this.queueEvents(contract.queue);
    await events.waitUntilReady();
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      if (jobId !== job.id) return;
      const progress = JobProgressSchema.safeParse(data);
      if (progress.success) options.onProgress?.(progress.data);
    };
    events.on('progress', onProgress);
    try {
      const value: unknown = await job.waitUntilFinished(events, options.timeoutMs);
      return contract.result.parse(value) as z.infer<C['result']>;
    } catch (error) {
      if (error instanceof OrgshieldError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new JobFailedError(contract.name, String(job.id), reason);
    } finally {
      events.off('progress', onProgress);
    }
  }

  /** How many workers are connected to a queue right now. */
  async workerCount(name: string): Promise<number> {
    return this.queue(name).getWorkersCount();
  }

  /** The connection names of the workers connected to a queue (`<prefix>:<queue>:w:<worker name>`). */
  async workerNames(name: string): Promise<string[]> {
    return (await this.queue(name).getWorkers()).map((worker) => String(worker['rawname'] ?? ''));
  }

  async close(): Promise<void> {
    await Promise.all([...this.events.values()].map(async (e) => {
      await e.close();
      await (e.client.then((c) => c.quit()).catch(() => undefined));
    }));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.events.clear();
    this.queues.clear();
  }
}

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '@orgshield/errors';

/** Redis key prefix of every queue; tests give each run its own. */
export const DEFAULT_QUEUE_PREFIX = 'orgshield';

/** What a processor reports while it runs; the CLI shows it, the dashboard too. */
export const JobProgressSchema = z.object({
  phase: z.string().min(1),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().optional(),
  message: z.string().optional(),
});
export type JobProgress = z.infer<typeof JobProgressSchema>;

/**
 * A job that ran but chose not to do its work (a scheduled firing while the run it would start
 * is still held by an earlier one) says so in its result: the worker logs and counts it as a
 * skip, with the reason and the run that blocked it, not as an ordinary completed job.
 */
export const JobSkipSchema = z.object({ reason: z.string().min(1), blockedBy: z.string().min(1).optional() });
export type JobSkip = z.infer<typeof JobSkipSchema>;

/** The skip a job result carries (`{ skipped: { reason, blockedBy } }`), if it carries one. */
export function skipOf(result: unknown): JobSkip | undefined {
  if (typeof result !== 'object' || result === null || !('skipped' in result)) return undefined;
  const parsed = JobSkipSchema.safeParse((result as { skipped: unknown }).skipped);
  return parsed.success ? parsed.data : undefined;
}

export interface JobContract<Name extends string, P extends z.ZodType, R extends z.ZodType> {
  readonly name: Name;
  /**
   * The queue its jobs go to. Each domain names its own (one per capability, so each can have
   * its own concurrency and rate); the set of queues is whatever the registered contracts name.
   */
  readonly queue: string;
  readonly payload: P;
  readonly result: R;
  readonly attempts: number;
  /**
   * How a repeated request is recognised (both by the job id derived from the payload):
   * - `in-flight`: a request made while an equal one is queued or running joins it; once it has
   *   finished, the next request runs anew (a sync, an investigation: the answer may change).
   * - `remembered`: an equal request returns the same job for as long as the queue keeps it
   *   (steps of a rollout: applying one twice is exactly what must not happen).
   */
  readonly dedupe: 'in-flight' | 'remembered';
}

export function defineJob<Name extends string, P extends z.ZodType, R extends z.ZodType>(
  contract: Omit<JobContract<Name, P, R>, 'attempts' | 'dedupe'> & { attempts?: number; dedupe?: 'in-flight' | 'remembered' },
): JobContract<Name, P, R> {
  return { attempts: 3, dedupe: 'remembered', ...contract };
}

export type AnyContract = JobContract<string, z.ZodType, z.ZodType>;

/** A payload checked against its contract; a bad one is one sentence naming where it is wrong. */
export function parsePayload<C extends AnyContract>(contract: C, payload: unknown): z.infer<C['payload']> {
  const parsed = contract.payload.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(`${contract.name} payload is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown problem'}.`);
  }
  return parsed.data as z.infer<C['payload']>;
}

/** How a contract's jobs are retried, whoever queues them (a caller or a schedule). */
export function retryOptions(contract: AnyContract): { attempts: number; backoff: { type: 'exponential'; delay: number } } {
  return { attempts: contract.attempts, backoff: { type: 'exponential', delay: 1000 } };
}

/** JSON with object keys sorted, so equal payloads hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The deterministic id of a job: the same request submitted twice while the first is still
 * known to the queue is the same job, so a retried command never does the work twice.
 * BullMQ reserves ':' in ids, so the parts are joined with '.'.
 */
export function jobIdFor(name: string, payload: unknown, scope?: string): string {
  const digest = createHash('sha256').update(canonicalJson(payload)).digest('hex').slice(0, 20);
  return [name, scope, digest].filter(Boolean).join('.').replaceAll(':', '.');
}

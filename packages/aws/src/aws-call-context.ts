import { AsyncLocalStorage } from 'node:async_hooks';

/** Why AWS is being called: the job (and the run it belongs to) on whose behalf. */
export interface AwsCallContext {
  jobId?: string;
  /** The run the job belongs to: a rollout's id, an investigation's id. */
  runId?: string;
}

const storage = new AsyncLocalStorage<AwsCallContext>();

/**
 * Runs `work` with every AWS call it makes (however deep, through whichever shared client)
 * attributed to `context` in the audit trail. A context and not a client option, because the
 * factory's clients are shared by every job of the process.
 */
export function withAwsCallContext<T>(context: AwsCallContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentAwsCallContext(): AwsCallContext {
  return storage.getStore() ?? {};
}

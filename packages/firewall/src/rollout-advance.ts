import type { RolloutStepQueue } from './rollout-step-queue.js';
import type { RolloutStore } from './rollout-store.js';
import { runnableSteps } from './step-scheduler.js';

/** The job id of one look at one step: rollout, step (wave.region.policy.variant.action), generation, look. */
export function stepJobId(rolloutId: string, step: string, generation: number, check = 0): string {
  return `${rolloutId}.${step}.g${generation}.c${check}`;
}

/**
 * Queues whatever may run next, or marks the rollout completed when nothing is left. Called
 * after every step and on resume; queuing a step that is already queued does nothing, since
 * its job id is the same.
 */
export async function queueRunnableSteps(store: RolloutStore, steps: RolloutStepQueue, rolloutId: string): Promise<void> {
  const [state, record, done] = await Promise.all([store.state(rolloutId), store.record(rolloutId), store.steps(rolloutId)]);
  if (state?.status !== 'running' || !record?.plan) return;
  const next = runnableSteps(record.plan, new Set(done.keys()));
  if (next.length === 0) {
    // Completing lets go of the name and logs the event in the same step.
    await store.transition(
      rolloutId,
      ['running'],
      () => ({ status: 'completed', message: `all ${record.plan?.steps.length ?? 0} steps done` }),
      { event: (finished) => `rollout completed: ${finished.message}` },
    );
    return;
  }
  for (const step of next) {
    await steps.enqueueStep({ rolloutId, step: step.id, generation: state.generation, check: 0 }, { jobId: stepJobId(rolloutId, step.id, state.generation) });
  }
}

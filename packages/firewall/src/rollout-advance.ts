import type { RolloutPlan } from './rollout-plan.js';
import type { RolloutStepQueue } from './rollout-step-queue.js';
import type { RolloutState, RolloutStore } from './rollout-store.js';
import { runnableSteps } from './step-scheduler.js';

/** The job id of one look at one step: rollout, step (wave.region.policy.variant.action), generation, look. */
export function stepJobId(rolloutId: string, step: string, generation: number, check = 0): string {
  return `${rolloutId}.${step}.g${generation}.c${check}`;
}

/** What deciding the next steps takes: where the rollout stands, its plan, and the steps done. */
export interface RolloutProgress {
  state: RolloutState | undefined;
  plan: RolloutPlan | undefined;
  done: ReadonlySet<string>;
}

/**
 * Queues whatever may run next, or marks the rollout completed when nothing is left. Called
 * after every step and on resume; queuing a step that is already queued does nothing, since
 * its job id is the same. A step that has just recorded its result passes the progress its
 * completion read (the same script), so it costs no reads; every other caller (a step found
 * done already, as after a crash between recording and queuing, a gate, a resume) reads it here.
 */
export async function queueRunnableSteps(store: RolloutStore, steps: RolloutStepQueue, rolloutId: string, known?: RolloutProgress): Promise<void> {
  const { state, plan, done } = known ?? (await readProgress(store, rolloutId));
  if (state?.status !== 'running' || !plan) return;
  const next = runnableSteps(plan, done);
  if (next.length === 0) {
    // Completing lets go of the name and logs the event in the same step.
    await store.transition(
      rolloutId,
      ['running'],
      () => ({ status: 'completed', message: `all ${plan.steps.length} steps done` }),
      { event: (finished) => `rollout completed: ${finished.message}` },
    );
    return;
  }
  for (const step of next) {
    await steps.enqueueStep({ rolloutId, step: step.id, generation: state.generation, check: 0 }, { jobId: stepJobId(rolloutId, step.id, state.generation) });
  }
}

async function readProgress(store: RolloutStore, rolloutId: string): Promise<RolloutProgress> {
  const [state, record, done] = await Promise.all([store.state(rolloutId), store.record(rolloutId), store.steps(rolloutId)]);
  return { state, plan: record?.plan, done: new Set(done.keys()) };
}

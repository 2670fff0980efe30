import type { PlanStep, RolloutPlan } from './rollout-plan.js';

/**
 * The steps that may run now, given those done: pure, so every step that finishes can ask it
 * and queue the answer (queuing a step twice is harmless: its job id is deterministic).
 *
 * Sequential regions: the plan's order, one step at a time (a wave in one region, its gate, the
 * same wave in the next region...). Parallel regions: within the earliest unfinished wave, each
 * region's next step at once; the next wave starts when every region has passed its gate.
 */
export function runnableSteps(plan: Pick<RolloutPlan, 'steps' | 'concurrency'>, done: ReadonlySet<string>): PlanStep[] {
  const pending = plan.steps.filter((step) => !done.has(step.id));
  const [first] = pending;
  if (!first) return [];
  if (plan.concurrency === 'sequential') return [first];
  const wave = first.wave;
  const next = new Map<string, PlanStep>();
  for (const step of pending) if (step.wave === wave && !next.has(step.region)) next.set(step.region, step);
  return [...next.values()];
}

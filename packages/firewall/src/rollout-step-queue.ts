import type { z } from 'zod';
import type { firewallRolloutStepJob } from './rollout-jobs.js';

export type StepPayload = z.infer<typeof firewallRolloutStepJob.payload>;

/**
 * The port through which rollouts queue their own next steps. The worker runtime implements it
 * with BullMQ; the rollout code only needs "run this step (later)", under an id that makes
 * queuing the same look at the same step twice do nothing.
 */
export interface RolloutStepQueue {
  enqueueStep(step: StepPayload, options: { jobId: string; delayMs?: number }): Promise<void>;
}

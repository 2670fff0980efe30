import type { z } from 'zod';
import type { firewallRolloutDetailsJob, firewallRolloutStepJob } from './rollout-jobs.js';

export type StepPayload = z.infer<typeof firewallRolloutStepJob.payload>;
export type DetailsPayload = z.infer<typeof firewallRolloutDetailsJob.payload>;

/**
 * The port through which rollouts queue their own next steps and a gate's detail batches. The
 * worker runtime implements it with BullMQ; the rollout code only needs "run this (later)",
 * under an id that makes queuing the same job twice do nothing.
 */
export interface RolloutStepQueue {
  enqueueStep(step: StepPayload, options: { jobId: string; delayMs?: number }): Promise<void>;
  /** `priority`: lower runs first, after every step job (which have none); a gate's n-th batch gets n. */
  enqueueDetails(batch: DetailsPayload, options: { jobId: string; priority: number }): Promise<void>;
}

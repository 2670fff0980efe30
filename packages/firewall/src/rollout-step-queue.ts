import type { z } from 'zod';
import type { JobQueues } from '@orgshield/jobs';
import { firewallRolloutDetailsJob, firewallRolloutStepJob } from './rollout-jobs.js';

export type StepPayload = z.infer<typeof firewallRolloutStepJob.payload>;
export type DetailsPayload = z.infer<typeof firewallRolloutDetailsJob.payload>;

/**
 * The port through which rollouts queue their own next steps and a gate's detail batches. The
 * worker runtime implements it with BullMQ (bullmqStepQueue); the rollout code only needs "run
 * this (later)", under an id that makes queuing the same job twice do nothing.
 */
export interface RolloutStepQueue {
  enqueueStep(step: StepPayload, options: { jobId: string; delayMs?: number }): Promise<void>;
  /**
   * `priority`: lower runs first, after every step job (which have none). A batch queued
   * already that still waits moves to the priority given (a gate's next batch moves ahead).
   */
  enqueueDetails(batch: DetailsPayload, options: { jobId: string; priority: number }): Promise<void>;
}

/** The step-queue port on BullMQ: a step or a detail batch is a job on the firewall queue, under its own id. */
export function bullmqStepQueue(queues: JobQueues): RolloutStepQueue {
  return {
    enqueueStep: async (step, { jobId, delayMs }) => {
      await queues.submit(firewallRolloutStepJob, step, { jobId, delay: delayMs });
    },
    enqueueDetails: async (batch, { jobId, priority }) => {
      const job = await queues.submit(firewallRolloutDetailsJob, batch, { jobId, priority });
      // An add under an id already queued does nothing, so the priority is set apart; a job under
      // way or finished keeps its place (only the field changes), and one gone since is no matter.
      await job.changePriority({ priority }).catch((error: unknown) => {
        if (!(error instanceof Error && error.message.startsWith('Missing key'))) throw error;
      });
    },
  };
}

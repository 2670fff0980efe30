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
  /** `priority`: lower runs first. A batch queued already keeps its place (prioritizeDetails moves it). */
  enqueueDetails(batch: DetailsPayload, options: { jobId: string; priority: number }): Promise<void>;
  /** Moves a queued detail batch that still waits to `priority`; one under way or finished keeps its place, one gone is no matter. */
  prioritizeDetails(jobId: string, priority: number): Promise<void>;
}

/** The step-queue port on BullMQ: a step is a job on the firewall queue, a detail batch one on firewall-details, each under its own id. */
export function bullmqStepQueue(queues: JobQueues): RolloutStepQueue {
  return {
    enqueueStep: async (step, { jobId, delayMs }) => {
      await queues.submit(firewallRolloutStepJob, step, { jobId, delay: delayMs });
    },
    enqueueDetails: async (batch, { jobId, priority }) => {
      await queues.submit(firewallRolloutDetailsJob, batch, { jobId, priority });
    },
    prioritizeDetails: async (jobId, priority) => {
      const job = await queues.queue(firewallRolloutDetailsJob.queue).getJob(jobId);
      // A change re-queues the job behind those of its priority: none when it has it already.
      if (!job || job.priority === priority) return;
      // Under way or finished, only the field changes; removed since it was read, no matter.
      await job.changePriority({ priority }).catch((error: unknown) => {
        if (!(error instanceof Error && error.message.startsWith('Missing key'))) throw error;
      });
    },
  };
}

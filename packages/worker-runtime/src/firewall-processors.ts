import { currentOrganization, FIREWALL_JOBS, firewallRolloutRollbackJob, firewallRolloutStartJob, firewallRolloutStepJob, firewallScheduledRolloutJob, jobAttempt, RolloutExecutor, type RolloutStepQueue } from '@orgshield/firewall';
import { JobQueues } from '@orgshield/jobs';
import type { Runtime } from './runtime.js';
import { processor, type ProcessorMap } from './worker-service.js';

/** The firewall's step-queue port on BullMQ: a step is a job on the firewall queue, under its own id. */
export function bullmqStepQueue(queues: JobQueues): RolloutStepQueue {
  return {
    enqueueStep: async (step, { jobId, delayMs }) => {
      await queues.submit(firewallRolloutStepJob, step, { jobId, delay: delayMs });
    },
  };
}

/**
 * Firewall Manager rollouts: start (plan), step (one write or one gate look), rollback and
 * scheduled runs, each one executor call. The executor queues the next steps itself, through
 * the step-queue port on the worker's own Redis connection.
 */
export function firewallProcessors(runtime: Runtime): ProcessorMap<typeof FIREWALL_JOBS> {
  const queues = new JobQueues(runtime.redis, { prefix: runtime.config.ORGSHIELD_QUEUE_PREFIX });
  const executor = new RolloutExecutor({
    redis: runtime.redis,
    queuePrefix: queues.prefix,
    steps: bullmqStepQueue(queues),
    aws: runtime.clients,
    organization: () => currentOrganization(runtime.clients, runtime.redis, { keyPrefix: runtime.keyPrefix }),
    retention: runtime.retention,
    leaseMs: runtime.config.ORGSHIELD_LEASE_MS,
  });
  return {
    [firewallRolloutStartJob.name]: processor(firewallRolloutStartJob, async (payload, { job, progress }) => {
      await progress({ phase: 'planning', done: 0 });
      return executor.start(payload, jobAttempt(job));
    }),
    [firewallRolloutStepJob.name]: processor(firewallRolloutStepJob, (payload, { job }) => executor.runStep(payload, jobAttempt(job))),
    [firewallRolloutRollbackJob.name]: processor(firewallRolloutRollbackJob, (payload, { job }) => executor.rollback(payload, jobAttempt(job))),
    [firewallScheduledRolloutJob.name]: processor(firewallScheduledRolloutJob, (payload, { job }) => executor.runScheduled(payload, job.timestamp, jobAttempt(job))),
  };
}

import type { Job } from 'bullmq';
import { currentOrganization, RolloutExecutor, type JobAttempt } from '@orgshield/firewall';
import {
  firewallRolloutRollbackJob,
  firewallRolloutStartJob,
  firewallRolloutStepJob,
  firewallScheduledRolloutJob,
  JobQueues,
} from '@orgshield/jobs';
import type { Runtime } from './runtime.js';
import { processor, type ProcessorRegistration } from './worker-service.js';

/** The last attempt of a job is where a failing step also fails its rollout. */
function attemptOf(job: Job): JobAttempt {
  return { jobId: String(job.id), final: job.attemptsMade + 1 >= (job.opts.attempts ?? 1) };
}

/**
 * Firewall Manager rollouts: start (plan), step (one write or one gate look), rollback and
 * scheduled runs. Each processor hands its payload to the package's executor; the executor
 * queues the next steps itself, through a producer on the worker's own Redis connection.
 */
export function firewallProcessors(runtime: Runtime): ProcessorRegistration[] {
  const queues = new JobQueues(runtime.redis, { prefix: runtime.config.ORGSHIELD_QUEUE_PREFIX });
  const executor = new RolloutExecutor({
    redis: runtime.redis,
    queues,
    aws: runtime.clients,
    organization: () => currentOrganization(runtime.clients, runtime.redis, { keyPrefix: runtime.keyPrefix }),
  });
  return [
    processor(firewallRolloutStartJob, async (payload, { job, progress }) => {
      await progress({ phase: 'planning', done: 0 });
      return executor.start(payload, attemptOf(job));
    }),
    processor(firewallRolloutStepJob, (payload, { job }) => executor.runStep(payload, attemptOf(job))),
    processor(firewallRolloutRollbackJob, (payload, { job }) => executor.rollback(payload, attemptOf(job))),
    processor(firewallScheduledRolloutJob, (payload, { job }) => executor.runScheduled(payload, job.timestamp, attemptOf(job))),
  ] as ProcessorRegistration[];
}

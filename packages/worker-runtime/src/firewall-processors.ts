import { bullmqStepQueue, currentOrganization, FIREWALL_JOBS, firewallRolloutDetailsJob, firewallRolloutRollbackJob, firewallRolloutStartJob, firewallRolloutStepJob, firewallScheduledRolloutJob, jobAttempt, RolloutExecutor } from '@orgshield/firewall';
import { JobQueues } from '@orgshield/jobs';
import type { Runtime } from './runtime.js';
import { processor, type FailedForGood, type ProcessorMap } from './worker-service.js';

/**
 * Firewall Manager rollouts: start (plan), step (one write or one gate look), a gate's detail batch, rollback and
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
  /**
   * A job failed for good (its processor never saw it when its worker died): the rollout fails
   * from the status that job was serving, as the executor's own last-attempt path does. A step
   * of an older generation (the rollout was resumed since) leaves the run alone.
   */
  const failed = async (rolloutId: string, from: 'planning' | 'running' | 'rolling-back', failure: FailedForGood, options: { step?: string; generation?: number } = {}) => {
    if (options.generation !== undefined && (await executor.store.state(rolloutId))?.generation !== options.generation) return;
    const goOn =
      from === 'planning'
        ? `"orgshield rollout start <file>" starts it again`
        : from === 'running'
          ? `"orgshield rollout resume ${rolloutId}" goes on from its first unfinished step`
          : `run "orgshield rollout rollback ${rolloutId}" again`;
    await executor.store.transition(rolloutId, [from], () => ({ status: 'failed', message: `${failure.reason}; ${goOn}` }), {
      level: 'error',
      ...(options.step ? { step: options.step } : {}),
      // Nothing was changed before planning: the failed rollout lets go of its name, as a failed plan does.
      ...(from === 'planning' ? { releaseName: true } : {}),
    });
  };
  return {
    [firewallRolloutStartJob.name]: processor(
      firewallRolloutStartJob,
      async (payload, { job, progress }) => {
        await progress({ phase: 'planning', done: 0 });
        return executor.start(payload, jobAttempt(job));
      },
      (payload, failure) => failed(payload.rolloutId, 'planning', failure),
    ),
    [firewallRolloutStepJob.name]: processor(
      firewallRolloutStepJob,
      (payload, { job }) => executor.runStep(payload, jobAttempt(job)),
      (payload, failure) => failed(payload.rolloutId, 'running', failure, { step: payload.step, generation: payload.generation }),
    ),
    // A batch that fails for good fails the rollout as its gate would: the gate cannot be judged without it.
    [firewallRolloutDetailsJob.name]: processor(
      firewallRolloutDetailsJob,
      (payload, { job }) => executor.readDetails(payload, jobAttempt(job)),
      (payload, failure) => failed(payload.rolloutId, 'running', failure, { step: payload.step, generation: payload.generation }),
    ),
    [firewallRolloutRollbackJob.name]: processor(
      firewallRolloutRollbackJob,
      (payload, { job }) => executor.rollback(payload, jobAttempt(job)),
      (payload, failure) => failed(payload.rolloutId, 'rolling-back', failure),
    ),
    [firewallScheduledRolloutJob.name]: processor(
      firewallScheduledRolloutJob,
      (payload, { job }) => executor.runScheduled(payload, job.timestamp, jobAttempt(job)),
      // The firing's rollout is named for the job's creation time, which the failure carries.
      (payload, failure) => executor.settleScheduled(payload, failure.timestamp, failure.reason),
    ),
  };
}

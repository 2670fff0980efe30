import { currentOrganization, RolloutExecutor, runFirewallJob } from '@orgshield/firewall';
import {
  firewallRolloutRollbackJob,
  firewallRolloutStartJob,
  firewallRolloutStepJob,
  firewallScheduledRolloutJob,
  JobQueues,
} from '@orgshield/jobs';
import type { Runtime } from './runtime.js';
import { processor, type ProcessorRegistration } from './worker-service.js';

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
      return runFirewallJob(executor, firewallRolloutStartJob, payload, job);
    }),
    processor(firewallRolloutStepJob, (payload, { job }) => runFirewallJob(executor, firewallRolloutStepJob, payload, job)),
    processor(firewallRolloutRollbackJob, (payload, { job }) => runFirewallJob(executor, firewallRolloutRollbackJob, payload, job)),
    processor(firewallScheduledRolloutJob, (payload, { job }) => runFirewallJob(executor, firewallScheduledRolloutJob, payload, job)),
  ] as ProcessorRegistration[];
}

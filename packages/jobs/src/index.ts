export {
  QUEUE_NAMES,
  DEFAULT_QUEUE_PREFIX,
  JobProgressSchema,
  defineJob,
  canonicalJson,
  jobIdFor,
} from './job-contract.js';
export type { QueueName, JobProgress, JobContract } from './job-contract.js';
export { orgSyncJob, investigationRunJob } from './contracts.js';
export { connectRedis, DEFAULT_REDIS_URL, RedisUnavailableError, redactUrl } from './redis-connection.js';
export { JobQueues, JobFailedError } from './job-queues.js';
export {
  firewallRolloutStartJob,
  firewallRolloutStepJob,
  firewallRolloutRollbackJob,
  firewallScheduledRolloutJob,
  rolloutSourceSchema,
} from './firewall-contracts.js';
export { JobSchedules } from './job-schedules.js';
export type { JobScheduleInfo, ScheduleTiming } from './job-schedules.js';

export { DEFAULT_QUEUE_PREFIX, JobProgressSchema, defineJob, canonicalJson, jobIdFor, parsePayload } from './job-contract.js';
export type { AnyContract, JobProgress, JobContract } from './job-contract.js';
export { connectRedis, DEFAULT_REDIS_URL, RedisUnavailableError, redactUrl } from './redis-connection.js';
export { JobQueues, JobFailedError } from './job-queues.js';
export { JobSchedules } from './job-schedules.js';
export type { JobScheduleInfo, ScheduleTiming } from './job-schedules.js';

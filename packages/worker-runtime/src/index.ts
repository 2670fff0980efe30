export { WorkerService, processor } from './worker-service.js';
export type { Processor, ProcessorContext, ProcessorMap, ProcessorRegistration, WorkerServiceOptions } from './worker-service.js';
export { configuredRateLimits, createRuntime, workerRetention } from './runtime.js';
export type { Runtime } from './runtime.js';
export { JOB_CONTRACTS, QUEUE_NAMES } from './job-contracts.js';
export { allProcessors, processorsFor } from './processor-registry.js';
export { bullmqStepQueue } from './firewall-processors.js';
export { WorkerConfigSchema, loadWorkerConfig } from './worker-config.js';
export type { WorkerConfig } from './worker-config.js';

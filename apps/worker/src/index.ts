export { WorkerService, processor } from './worker-service.js';
export type { ProcessorContext, ProcessorRegistration, WorkerServiceOptions } from './worker-service.js';
export { configuredRateLimits, createRuntime } from './runtime.js';
export type { Runtime } from './runtime.js';
export { allProcessors } from './processors.js';
export { loadWorkerConfig } from './worker-config.js';
export type { WorkerConfig } from './worker-config.js';
export { WorkerMetrics, startWorkerHttp } from './worker-http.js';

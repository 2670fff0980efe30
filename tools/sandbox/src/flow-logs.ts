/**
 * Synthetic VPC flow logs for one instance: seeded, deterministic, streamed.
 *
 * Every minute of traffic is a pure function of (seed, absolute minute), so any sub-range
 * of a window yields exactly the records the whole window yields for those minutes: a
 * file, an S3 object or an 8-million-record benchmark can each be generated on its own.
 * The clean background draws every endpoint from bounded pools (web clients that cycle
 * through a few ephemeral ports each, a few services, one resolver asked from a pool of
 * source ports, a few hundred internet scanners with one fixed probe each), so the number
 * of distinct conversations stops growing after the first hours however long the window is.
 *
 * The generator imports nothing of the sandbox but its PRNG, so it is exported on its own as
 * `@orgshield/sandbox/flow-logs` for tests and benchmarks.
 */
export { flowLogFileName, flowLogText, writeFlowLogFiles } from './flow-logs/flow-log-files.js';
export type { FlowLogFileOptions, WrittenFlowLogFile } from './flow-logs/flow-log-files.js';
export { CUSTOM_FLOW_LOG_FIELDS, DEFAULT_FLOW_LOG_FIELDS, flowFieldValue, formatFlowRecord } from './flow-logs/flow-log-format.js';
export type { FlowLogRecord, GeneratedFlowField } from './flow-logs/flow-log-format.js';
export { generateFlowRecords } from './flow-logs/flow-record-generator.js';
export type { FlowLogScenario, PlantedIncident } from './flow-logs/flow-scenario.js';

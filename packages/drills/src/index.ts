export { DrillSchema, ServerSelectorSchema, RecoveryPointSchema, CheckSchema, MAX_SERVERS_PER_START, parseDuration } from './drill-schema.js';
export type { Drill, DrillInput, Wave, Check, RecoveryPoint, ServerSelector, Isolation, Cleanup, CoverageSettings } from './drill-schema.js';
export { loadDrill, readDrillSource, parseDrillSource, DrillFileError } from './drill-loader.js';
export type { DrillSource, LoadedDrill } from './drill-loader.js';

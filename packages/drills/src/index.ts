export { DrillSchema, ServerSelectorSchema, RecoveryPointSchema, CheckSchema, MAX_SERVERS_PER_START, parseDuration } from './drill-schema.js';
export type { Drill, DrillInput, Wave, Check, RecoveryPoint, ServerSelector, Isolation, Cleanup, CoverageSettings } from './drill-schema.js';
export { loadDrill, readDrillSource, parseDrillSource, DrillFileError } from './drill-loader.js';
export type { DrillSource, LoadedDrill } from './drill-loader.js';
export { planDrill, DrillPlanError, matches as serverMatches, serverName } from './drill-planner.js';
export type { DrillPlanInput } from './drill-planner.js';
export { chooseRecoveryPoint, formatDuration } from './recovery-point.js';
export type { RecoveryPointChoice } from './recovery-point.js';
export type { DrillPlan, PlannedServer, LaunchBatch, WavePlan, LiveRegion, LiveSourceServer, LiveSnapshot, ChosenRecoveryPoint } from './drill-plan.js';

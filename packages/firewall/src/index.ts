export { RolloutSchema, GATE_VIOLATION_REASONS, parseDuration } from './rollout-schema.js';
export type { Rollout, RolloutInput, RolloutPolicyEntry, Wave, WaveGates, FailureTolerance, RegionStrategy, GateViolationReason } from './rollout-schema.js';
export { loadRollout, readRolloutSource, parseRolloutSource, RolloutFileError } from './rollout-loader.js';
export type { RolloutSource, RolloutPolicy, LoadedRollout } from './rollout-loader.js';
export { planRollout, RolloutPlanError } from './rollout-planner.js';
export type { PlanInput, LiveRegion } from './rollout-planner.js';
export type {
  RolloutPlan,
  PlanStep,
  PutPolicyStep,
  DeletePolicyStep,
  GateStep,
  GateCheck,
  WavePlan,
  PolicyChange,
  PolicyVariant,
  PolicyAction,
  PlanProblem,
} from './rollout-plan.js';
export { ScopeTree, DEFAULT_SCOPE_QUOTAS } from './target-compression.js';
export type { ScopeQuotas, CompressedScope } from './target-compression.js';
export { judgeGate } from './compliance-gate.js';
export type { AccountCompliance, Violator, GateViolator, GateReport, GateStatus, GateTiming } from './compliance-gate.js';
export { readCompliance } from './compliance-reader.js';
export { readLiveState, listPolicies, findPolicy, fmsClient } from './live-policies.js';

export { RolloutSchema } from './rollout-schema.js';
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
export { ScopeTree } from './target-compression.js';
export type { ScopeQuotas, CompressedScope } from './target-compression.js';
export { judgeGate } from './compliance-gate.js';
export type { AccountCompliance, Violator, GateViolator, GateReport, GateStatus, GateTiming } from './compliance-gate.js';
export { readComplianceStatus, readViolators } from './compliance-reader.js';
export { readLiveState, listPolicies, findPolicy, fmsClient } from './live-policies.js';
export { runnableSteps } from './step-scheduler.js';
export { complianceReport, complianceReportCsv, complianceSummary } from './compliance-report.js';
export type { ComplianceReport, ComplianceReportOptions, ComplianceReportRow, ComplianceSummary, PolicyComplianceCounts } from './compliance-report.js';
export { policyDocument, policyDrift, policyOverview, readPolicies, scopeSummary } from './policy-inventory.js';
export type { LivePolicyRecord, PolicyDrift, PolicyOverview } from './policy-inventory.js';
export { checkAdministrator, ensureNotificationChannel, NotFmsAdministratorError } from './rollout-preflight.js';
export { planAgainstAws } from './rollout-planning.js';
export { currentOrganization } from './organization-source.js';
export { RolloutExecutor, jobAttempt } from './rollout-executor.js';
export type { FirewallJob, RolloutRuntime, JobAttempt, StartPayload } from './rollout-executor.js';
export {
  FIREWALL_JOBS,
  FIREWALL_DETAILS_QUEUE,
  FIREWALL_QUEUE,
  FIREWALL_QUEUES,
  firewallRolloutDetailsJob,
  firewallRolloutRollbackJob,
  firewallRolloutStartJob,
  firewallRolloutStepJob,
  firewallScheduledRolloutJob,
  rolloutSourceSchema,
} from './rollout-jobs.js';
export { bullmqStepQueue } from './rollout-step-queue.js';
export type { DetailsPayload, RolloutStepQueue, StepPayload } from './rollout-step-queue.js';
export { RolloutControl } from './rollout-control.js';
export type { RolloutView, RolloutSummary } from './rollout-control.js';
export { RolloutSchedules } from './rollout-schedules.js';
export type { RolloutScheduleInfo } from './rollout-schedules.js';
export { RELEASED_STATUSES, RolloutStore, SETTLED_STATUSES } from './rollout-store.js';
export type { RolloutStatus, RolloutState, RolloutRecord, StepRecord, StepOutcome, RolloutEvent, PreviousPolicy, ScheduleRun } from './rollout-store.js';
export { summarizeWaves, DEMO_ROLLOUT_FILE } from './rollout-summary.js';
export type { WaveSummary } from './rollout-summary.js';
export { FIREWALL_AWS_OPERATIONS } from './aws-operations.js';
export { withOuIds } from './scope-paths.js';

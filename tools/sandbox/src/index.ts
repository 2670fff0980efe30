export { startSandbox } from './sandbox-server.js';
export type { RunningSandbox } from './sandbox-server.js';
export { sandboxOptionsSchema, parseSandboxOptions } from './sandbox-options.js';
export type { SandboxOptions, ResolvedSandboxOptions } from './sandbox-options.js';
export { faultsConfigSchema, faultRuleSchema, parseFaultsConfig, loadFaultsFile } from './faults/faults-config.js';
export type { FaultsConfig, FaultRule } from './faults/faults-config.js';
export { SandboxConfigError } from './sandbox-config-error.js';
export type { RequestLogEntry } from './request-log.js';

// For service files and scenarios.
export { defineService } from './service-definition.js';
export type { Handler, RequestContext, ServiceDefinition } from './service-definition.js';
export { ServiceError } from './service-error.js';
export { httpStatus } from './protocols/protocol.js';
export {
  World,
  AccountState,
  RegionState,
  ORGANIZATION_ACCESS_ROLE,
  defineRegionState,
  defineWorldState,
} from './world/world.js';
export type { IamRole, OrgSnapshot, RegionStateKey, WorldStateKey } from './world/world.js';
export { Organization } from './world/organization.js';
export type { AccountStatus, OrgAccount, OrgRoot, OrgUnit, Tags } from './world/organization.js';
export { Clock } from './world/clock.js';
export type { CallerIdentity } from './world/credentials.js';
export { PageTokens } from './world/page-tokens.js';
export type { Random } from './world/prng.js';
export { createS3Bucket, putS3Object, s3Buckets } from './services/s3.js';
export type { ObjectSource, S3Bucket, S3DeleteMarker, S3Object, S3Version } from './services/s3-buckets.js';
export { versionsOf } from './services/s3-buckets.js';
export { configureFirewallManager, firewallManagerOptionsSchema } from './services/fms.js';
export type { FirewallManagerOptions } from './services/fms.js';
export { fmsPolicies } from './services/fms-policy-store.js';
export type { FmsPolicy, FmsPolicyStore, PolicyVersion } from './services/fms-policy-store.js';
export { complianceEvaluator } from './services/fms-compliance.js';
export type { AccountEvaluation, ComplianceEvaluator, ViolationReason, Violator } from './services/fms-compliance.js';
export { GLOBAL_REGION, protectedResources, RESOURCE_TYPES } from './world/protected-resources.js';
export type { CustomerWebAcl, ProtectedResource, ProtectedResourceRegistry, ProtectedResourceType, RegionResources } from './world/protected-resources.js';
export { incidentPlan, INCIDENT_REGION } from './world/seeded-incidents.js';
export type { IncidentKind, IncidentPlan, SeededIncident, SeededInstance } from './world/seeded-incidents.js';
export { configureDetective } from './services/detective-graph.js';
export { configureGuardDuty, plantGuardDutyFindings } from './services/guardduty.js';
export { DRILL_REGION, DRS_REGIONS, drsPlan, FLEET_SIZE, HEALTHY_BODY_PREFIX, RECOVERABLE_TAG } from './world/seeded-drs.js';
export type { DrsPlan, ListenerBehaviour, RecoveryNetwork, ReplicationState, SeededRecovery, SeededSourceInstance, SeededSourceServer, ServicePort } from './world/seeded-drs.js';
export { holdDrsServer, injectDrsLaunchFailure, releaseDrsServer } from './services/drs-jobs.js';
export { recoverySnapshotsOf } from './services/drs-snapshots.js';
export type { RecoverySnapshotRecord } from './services/drs-snapshots.js';
export {
  APPSTREAM_DELAYS,
  APPSTREAM_QUOTAS,
  appstreamRegion,
  createImageFromBuilder,
  deliverUsageReports,
  endSession,
  finishImage,
  fleetRoleCredentials,
  SESSIONS_REPORT_COLUMNS,
  sessionsReportKey,
  startSession,
  subscribeUsageReports,
  usageReportsBucketName,
} from './services/appstream-store.js';
export type { AppStreamFleet, AppStreamImage, AppStreamRegion, AppStreamSession, AppStreamStack } from './services/appstream-store.js';
export { CONTROL_PREFIX } from './control-endpoint.js';
export { resolveKmsKey } from './services/kms.js';
export type { KmsKey } from './services/kms.js';
export { plantSecret } from './services/secrets-manager.js';
export {
  pseudonymOf,
  RECORDING_IMAGE_TAG,
  RECORDING_KEY_ALIAS,
  RECORDING_PREFIX,
  RECORDING_REGION,
  RECORDING_ROLE_NAME,
  RECORDING_SECRET_NAME,
  recordingPlan,
} from './world/seeded-recordings.js';
export type { RecordingPlan, RecordingState, SeededRecordingAccount, SeededRecordingFleet, SeededRecordingSession } from './world/seeded-recordings.js';

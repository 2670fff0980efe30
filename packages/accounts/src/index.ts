export {
  accountIdSchema,
  accountSchema,
  accountStatusSchema,
  organizationSnapshotSchema,
  organizationalUnitSchema,
  ouIdSchema,
  parentIdSchema,
  rootIdSchema,
  rootSchema,
  tagsSchema,
} from './organization-schema.js';
export type { Account, AccountStatus, OrganizationSnapshot, OrganizationalUnit, Root, Tags } from './organization-schema.js';
export { discoverOrganization, ORGANIZATIONS_REGION, UnexpectedOrganizationError } from './organization-discovery.js';
export type { DiscoveryOptions, DiscoveryProgress } from './organization-discovery.js';
export { loadSnapshot, saveSnapshot, SnapshotUnreadableError } from './snapshot-store.js';
export type { SnapshotStoreOptions } from './snapshot-store.js';
export { accountSelectorSchema, resolveSelector } from './account-selector.js';
export type { AccountSelector } from './account-selector.js';
export { fmsScopeMapSchema, resolveFmsScope } from './fms-scope.js';
export type { FmsScope, FmsScopeMap } from './fms-scope.js';
export { AssumeRoleFailedError, DEFAULT_MEMBER_ROLE, MemberCredentials, roleSessionName } from './member-credentials.js';
export type { MemberCredentialsOptions } from './member-credentials.js';
export { OrganizationIndex } from './organization-index.js';
export { ACCOUNTS_JOBS, ORG_QUEUE, orgSyncJob } from './org-sync-job.js';
export { failureToleranceSchema, fanOutExitCode, runFanOut, toleratedFailures } from './account-fan-out.js';
export type { AccountRegionTask, FailureTolerance, FanOutOptions, FanOutResult } from './account-fan-out.js';
export { ACCOUNTS_AWS_OPERATIONS } from './aws-operations.js';

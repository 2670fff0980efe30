export {
  AwsCallError,
  EndpointUnreachableError,
  CredentialsMissingError,
  CALLER_ACCOUNT,
  AuditUnavailableError,
} from './errors.js';
export type { AwsErrorKind, AwsCallTarget } from './errors.js';
export { classifyError, errorCode, isEndpointUnreachable, toOrgshieldError } from './error-classification.js';
export { AwsClientFactory, isMutatingOperation, serviceKey } from './client-factory.js';
export type { AwsCallObservation, AwsCallObserver, AwsClientFactoryOptions, AwsSdkClient, ClientTarget, MutationAuditEntry, RetryMode } from './client-factory.js';
export { MemoryRateLimiter, RedisRateLimiter } from './rate-limiter.js';
export type { RateLimiter } from './rate-limiter.js';
export {
  DEFAULT_RATE_LIMITS,
  FALLBACK_RATE_LIMIT,
  parseRateLimits,
  rateLimitSchema,
  rateLimitsSchema,
  resolveRateLimit,
} from './rate-limits.js';
export type { RateLimit, RateLimits } from './rate-limits.js';
export { OrgshieldRetryStrategy } from './retry-strategy.js';
export type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
export {
  AWS_CLIENT_OPERATIONS,
  EXTERNAL_ID_PLACEHOLDER,
  ORGSHIELD_ROLES,
  WORKER_ACCOUNT_PLACEHOLDER,
  operationKey,
  renderIamRoles,
} from './iam-policies.js';
export type {
  AwsAccountKind,
  AwsOperationUse,
  IamDocument,
  IamRenderOptions,
  IamStatement,
  OrgshieldRoleName,
  RoleDocuments,
} from './iam-policies.js';
export { withAwsCallContext, currentAwsCallContext } from './aws-call-context.js';
export { mapLimit } from './map-limit.js';
export type { AwsCallContext } from './aws-call-context.js';
export { RedisAuditTrail, DEFAULT_AUDIT_RETENTION_MS, AUDIT_GENESIS, canonicalJson, entryHash } from './audit-trail.js';
export type { AuditTrailOptions, AuditProblem, AuditVerification, StoredAuditEntry } from './audit-trail.js';
export { auditResource } from './audit-resource.js';

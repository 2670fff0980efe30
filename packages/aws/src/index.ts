export {
  AwsCallError,
  EndpointUnreachableError,
  CredentialsMissingError,
  CALLER_ACCOUNT,
} from './errors.js';
export type { AwsErrorKind, AwsCallTarget } from './errors.js';
export { classifyError, errorCode, isEndpointUnreachable, toOrgshieldError } from './error-classification.js';
export { AwsClientFactory, isMutatingOperation, serviceKey } from './client-factory.js';
export type { AwsClientFactoryOptions, AwsSdkClient, ClientTarget, MutationAuditEntry, RetryMode } from './client-factory.js';
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

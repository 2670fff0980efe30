import {
  AwsCallError,
  CredentialsMissingError,
  EndpointUnreachableError,
  type AwsCallTarget,
  type AwsErrorKind,
} from './errors.js';
import { OrgshieldError } from '@orgshield/errors';

/**
 * Error names that mean "slow down". Organizations answers TooManyRequestsException with HTTP 400,
 * so the name decides, not the status. LimitExceededException is deliberately absent: in Firewall
 * Manager and WAF it is a resource quota, and retrying it only repeats the failure.
 */
const THROTTLING_CODES = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'EC2ThrottledException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
]);

/** Failures that say nothing about the request itself: the same call may well succeed next time. */
const RETRYABLE_CODES = new Set([
  'ConcurrentModificationException',
  'InternalFailure',
  'InternalError',
  'InternalErrorException',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalServiceError',
  'InternalException',
  'ServiceException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'IDPCommunicationError',
]);

/** Connection-level failures worth another try: the server dropped or never finished the exchange. */
const CONNECTION_RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN']);

/** Connection-level failures that mean nothing is listening where we point. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** The service's error name (or the Node error code for a transport failure). */
export function errorCode(error: unknown): string {
  const e = shape(error);
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  if (typeof e.code === 'string') return e.code;
  return 'UnknownError';
}

function statusCode(error: unknown): number | undefined {
  return shape(error).$metadata?.httpStatusCode;
}

function isConnectionReset(error: unknown): boolean {
  const e = shape(error);
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  return CONNECTION_RESET_CODES.has(code) || /socket hang up/i.test(message);
}

export function classifyError(error: unknown): AwsErrorKind {
  const code = errorCode(error);
  const status = statusCode(error);
  const retryable = shape(error).$retryable;
  if (THROTTLING_CODES.has(code) || status === 429 || retryable?.throttling === true) return 'throttled';
  if (RETRYABLE_CODES.has(code) || isConnectionReset(error) || retryable !== undefined) return 'retryable';
  if (status !== undefined && status >= 500) return 'retryable';
  return 'fatal';
}

/** True when the failure happened before any HTTP answer: nothing is listening at the endpoint. */
export function isEndpointUnreachable(error: unknown): boolean {
  const e = shape(error);
  if (statusCode(error) !== undefined) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  // node-http-handler's connect timeout is a TimeoutError that says no connection was made
  return UNREACHABLE_CODES.has(code) || /did not establish a connection|without establishing a connection/i.test(message);
}

/**
 * Turns whatever an SDK call threw into the error a person reads: missing credentials and an
 * unreachable endpoint get their own sentence; everything else names the call that failed.
 */
export function toOrgshieldError(error: unknown, target: AwsCallTarget, endpoint: string): OrgshieldError {
  if (error instanceof OrgshieldError) return error;
  const code = errorCode(error);
  if (code === 'CredentialsProviderError') return new CredentialsMissingError(error);
  if (isEndpointUnreachable(error)) return new EndpointUnreachableError(target, endpoint, error);
  const e = shape(error);
  const requestId = e.$metadata?.requestId;
  const status = statusCode(error);
  return new AwsCallError(
    target,
    {
      kind: classifyError(error),
      awsCode: code,
      awsMessage: typeof e.message === 'string' && e.message !== code ? e.message : '',
      ...(status === undefined ? {} : { statusCode: status }),
      ...(requestId === undefined ? {} : { requestId }),
    },
    error,
  );
}

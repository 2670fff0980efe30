import { describe, expect, it } from 'vitest';
import { classifyError, errorCode, isEndpointUnreachable, toOrgshieldError } from './error-classification.js';
import { AwsCallError, CredentialsMissingError, EndpointUnreachableError } from './errors.js';

/** An error shaped like the SDK's ServiceException, as the deserializers build it. */
function serviceError(name: string, httpStatusCode: number, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(`${name} happened`), { name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode, requestId: 'req-1' }, ...extra });
}

function transportError(code: string, message = `connect ${code}`) {
  return Object.assign(new Error(message), { code });
}

const target = { service: 'organizations', operation: 'ListRoots', accountId: '111111111111', region: 'us-east-1' };

describe('classifyError', () => {
  it('treats Organizations TooManyRequestsException (HTTP 400) as a throttle', () => {
    expect(classifyError(serviceError('TooManyRequestsException', 400))).toBe('throttled');
  });

  it.each(['ThrottlingException', 'Throttling', 'RequestLimitExceeded', 'SlowDown'])('treats %s as a throttle', (name) => {
    expect(classifyError(serviceError(name, 400))).toBe('throttled');
  });

  it('treats HTTP 429 and the SDK throttling trait as throttles whatever the name', () => {
    expect(classifyError(serviceError('Whatever', 429))).toBe('throttled');
    expect(classifyError(serviceError('Whatever', 400, { $retryable: { throttling: true } }))).toBe('throttled');
  });

  it('retries ConcurrentModificationException although it is a 400', () => {
    expect(classifyError(serviceError('ConcurrentModificationException', 400))).toBe('retryable');
  });

  it.each([500, 502, 503, 504])('retries HTTP %i', (status) => {
    expect(classifyError(serviceError('ServiceException', status))).toBe('retryable');
    expect(classifyError(serviceError('SomethingNew', status))).toBe('retryable');
  });

  it.each(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED'])('retries the connection failure %s', (code) => {
    expect(classifyError(transportError(code))).toBe('retryable');
  });

  it('retries "socket hang up"', () => {
    expect(classifyError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('retryable');
    expect(classifyError(new Error('socket hang up'))).toBe('retryable');
  });

  it('gives up at once on client errors, quotas and unknown hosts', () => {
    expect(classifyError(serviceError('AccessDeniedException', 400))).toBe('fatal');
    expect(classifyError(serviceError('InvalidInputException', 400))).toBe('fatal');
    expect(classifyError(serviceError('LimitExceededException', 400))).toBe('fatal');
    expect(classifyError(transportError('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere.invalid'))).toBe('fatal');
    expect(classifyError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))).toBe('fatal');
  });
});

describe('errorCode', () => {
  it('prefers the Node code of a transport error and the name of a service error', () => {
    expect(errorCode(transportError('ECONNRESET'))).toBe('ECONNRESET');
    expect(errorCode(serviceError('AccessDeniedException', 400))).toBe('AccessDeniedException');
    expect(errorCode('a string')).toBe('UnknownError');
  });
});

describe('toOrgshieldError', () => {
  it('says what to do when there are no credentials, with exit code 2', () => {
    const error = toOrgshieldError(Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }), target, 'https://x');
    expect(error).toBeInstanceOf(CredentialsMissingError);
    expect(error.message).toBe('no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run against the sandbox');
    expect(error.exitCode).toBe(2);
  });

  it('names the endpoint that does not answer', () => {
    const refused = toOrgshieldError(transportError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), target, 'http://127.0.0.1:1');
    expect(refused).toBeInstanceOf(EndpointUnreachableError);
    expect(refused.message).toContain('http://127.0.0.1:1');
    expect(refused.message).toContain('organizations:ListRoots');
    const connectTimeout = Object.assign(new Error('the request socket did not establish a connection with the server within the configured timeout of 3000 ms.'), { name: 'TimeoutError' });
    expect(isEndpointUnreachable(connectTimeout)).toBe(true);
    expect(isEndpointUnreachable(serviceError('ServiceUnavailable', 503))).toBe(false);
  });

  it('wraps service errors with the call, the AWS code and the kind', () => {
    const error = toOrgshieldError(serviceError('TooManyRequestsException', 400), target, 'https://x');
    expect(error).toBeInstanceOf(AwsCallError);
    const call = error as AwsCallError;
    expect(call).toMatchObject({ code: 'TooManyRequestsException', kind: 'throttled', service: 'organizations', operation: 'ListRoots', accountId: '111111111111', region: 'us-east-1', statusCode: 400, requestId: 'req-1', exitCode: 1 });
    expect(call.message).toBe('organizations:ListRoots in account 111111111111 (us-east-1) failed with TooManyRequestsException: TooManyRequestsException happened');
  });
});

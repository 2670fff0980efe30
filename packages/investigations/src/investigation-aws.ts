import { DetectiveClient } from '@aws-sdk/client-detective';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import type { MemberCredentials } from '@orgshield/accounts';
import type { z } from 'zod';
import { AwsCallError, type AwsClientFactory, classifyError } from '@orgshield/aws';
import { OrgshieldError } from '@orgshield/errors';

/**
 * The SDK clients an investigation uses, made by @orgshield/aws (endpoint, retries, rate
 * limits) with credentials from @orgshield/accounts. `fresh` asks for newly acquired
 * credentials: an investigation can outlive a cached session.
 */
export interface InvestigationClients {
  /** Detective as the caller, or as `accountId` (the delegated administrator) when given. */
  detective(region: string, options?: { accountId?: string; fresh?: boolean }): DetectiveClient;
  /** EC2 and S3 in the member account under investigation. */
  ec2(accountId: string, region: string, options?: { fresh?: boolean }): EC2Client;
  s3(accountId: string, region: string, options?: { fresh?: boolean }): S3Client;
}

/**
 * The clients of an investigation from the one client factory: Detective as the caller (or
 * the delegated administrator), EC2 and S3 in the member account, each with the member
 * credentials' provider (AssumeRole, renewed before expiry). `fresh` drops the account's
 * session and the client that holds it, so the next call assumes the role anew.
 */
export function investigationClients(factory: AwsClientFactory, members: MemberCredentials, jobId?: string): InvestigationClients {
  const fresh = (options: { fresh?: boolean }) => ({ fresh: options.fresh === true });
  return {
    detective: (region, options = {}) =>
      factory.client(DetectiveClient, options.accountId ? members.target(options.accountId, region, jobId, fresh(options)) : { region }, fresh(options)),
    ec2: (accountId, region, options = {}) => factory.client(EC2Client, members.target(accountId, region, jobId, fresh(options)), fresh(options)),
    s3: (accountId, region, options = {}) => factory.client(S3Client, members.target(accountId, region, jobId, fresh(options)), fresh(options)),
  };
}

const EXPIRED_CREDENTIAL_ERRORS = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);

/** The service's error name, from an SDK exception or from @orgshield/aws's AwsCallError (awsCode). */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { awsCode, name } = error as { awsCode?: unknown; name?: unknown };
  if (typeof awsCode === 'string') return awsCode;
  return typeof name === 'string' ? name : undefined;
}

export function isExpiredCredentials(error: unknown): boolean {
  const name = errorName(error) ?? '';
  const message = error instanceof Error ? error.message : '';
  return EXPIRED_CREDENTIAL_ERRORS.has(name) || /security token included in the request is expired/i.test(message);
}

/** Throttled, as @orgshield/aws classifies every AWS error. */
export function isThrottled(error: unknown): boolean {
  return (error instanceof AwsCallError ? error.kind : classifyError(error)) === 'throttled';
}

/**
 * Runs one AWS call; when the credentials turn out to be expired, acquires fresh ones once
 * and repeats the call. A second expiry is an error for a person to look at.
 */
export async function withFreshCredentials<C, T>(clientFor: (fresh: boolean) => C, call: (client: C) => Promise<T>): Promise<T> {
  try {
    return await call(clientFor(false));
  } catch (error) {
    if (!isExpiredCredentials(error)) throw error;
  }
  try {
    return await call(clientFor(true));
  } catch (error) {
    if (!isExpiredCredentials(error)) throw error;
    throw new OrgshieldError('ExpiredCredentials', 'The AWS credentials expired again right after being renewed; check the clock and the role session duration.', {
      cause: error,
    });
  }
}

export interface ThrottleRetry {
  /** Waits after a throttling answer that outlived the client's own retries. */
  attempts: number;
  baseDelayMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_THROTTLE_RETRY: ThrottleRetry = {
  attempts: 4,
  baseDelayMs: 1_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Detective's investigation APIs have small quotas; when TooManyRequestsException survives
 * the client's retries, back off (exponential with full jitter) a few more times before
 * giving up with a message that says what was throttled.
 */
export async function retryThrottled<T>(operation: string, call: () => Promise<T>, retry: ThrottleRetry): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottled(error)) throw error;
      if (attempt >= retry.attempts) {
        throw new OrgshieldError('Throttled', `${operation} was still throttled (${errorName(error)}) after ${attempt + 1} tries; run again later or lower the request rate.`, {
          cause: error,
        });
      }
      await retry.sleep(Math.random() * retry.baseDelayMs * 2 ** attempt);
    }
  }
}

/**
 * An AWS answer checked against what the investigation reads of it. One that does not fit
 * (an endpoint that is not the service) is one sentence, not a stack.
 */
export function parseAwsAnswer<S extends z.ZodType>(service: string, operation: string, schema: S, answer: unknown): z.infer<S> {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const path = parsed.error.issues[0]?.path.join('.') || 'answer';
  throw new OrgshieldError('UnexpectedAwsAnswer', `${service} ${operation} answered with an unexpected ${path}; check the endpoint (AWS_ENDPOINT_URL).`);
}

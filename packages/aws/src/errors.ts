import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';

/** How a failed AWS call should be treated: retried slowly, retried, or given up on. */
export type AwsErrorKind = 'throttled' | 'retryable' | 'fatal';

/** Where a call went: enough to find it again in CloudTrail, never credentials. */
export interface AwsCallTarget {
  service: string;
  operation: string;
  accountId: string;
  region: string;
}

/** An AWS call failed after its retries; `awsCode` is the service's error name. */
export class AwsCallError extends OrgshieldError implements AwsCallTarget {
  readonly service: string;
  readonly operation: string;
  readonly accountId: string;
  readonly region: string;
  readonly kind: AwsErrorKind;
  readonly awsCode: string;
  readonly statusCode: number | undefined;
  readonly requestId: string | undefined;

  constructor(
    target: AwsCallTarget,
    details: { kind: AwsErrorKind; awsCode: string; awsMessage: string; statusCode?: number; requestId?: string },
    cause?: unknown,
  ) {
    const said = details.awsMessage ? `: ${oneLine(details.awsMessage)}` : '';
    super(
      details.awsCode,
      `${target.service}:${target.operation} in ${accountLabel(target.accountId)} (${target.region}) failed with ${details.awsCode}${said}`,
      { exitCode: EXIT_CODES.failed, cause },
    );
    this.service = target.service;
    this.operation = target.operation;
    this.accountId = target.accountId;
    this.region = target.region;
    this.kind = details.kind;
    this.awsCode = details.awsCode;
    this.statusCode = details.statusCode;
    this.requestId = details.requestId;
  }
}

/** Nothing answered at the endpoint (refused, unknown host, no route, connect timeout). */
export class EndpointUnreachableError extends OrgshieldError {
  readonly endpoint: string;

  constructor(target: AwsCallTarget, endpoint: string, cause?: unknown) {
    super(
      'EndpointUnreachable',
      `the AWS endpoint ${endpoint} for ${target.service}:${target.operation} is unreachable: check AWS_ENDPOINT_URL and your network, or start the sandbox (orgshield sandbox start).`,
      { exitCode: EXIT_CODES.failed, cause },
    );
    this.endpoint = endpoint;
  }
}

/** The SDK's credential chain found nothing to sign with. */
export class CredentialsMissingError extends OrgshieldError {
  constructor(cause?: unknown) {
    super(
      'CredentialsMissing',
      'no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run against the sandbox',
      { exitCode: EXIT_CODES.badInput, cause },
    );
  }
}

/** Clients made with the caller's own credentials carry this account label until one is known. */
export const CALLER_ACCOUNT = 'caller';

function accountLabel(accountId: string): string {
  return accountId === CALLER_ACCOUNT ? "the caller's account" : `account ${accountId}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The audit trail could not take the entry before a mutating call, so the call was not made. */
export class AuditUnavailableError extends OrgshieldError {
  constructor(call: string, cause?: unknown) {
    super(
      'AuditUnavailable',
      `${call} was not sent: its audit entry could not be written (${cause instanceof Error ? cause.message : String(cause)}); check the audit trail's Redis.`,
      { exitCode: EXIT_CODES.failed, cause },
    );
  }
}

import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsCallError, type AwsClientFactory, type AwsCredentialIdentity, type AwsCredentialIdentityProvider, type ClientTarget } from '@orgshield/aws';
import { EXIT_CODES, InvalidInputError, OrgshieldError } from '@orgshield/errors';
import { accountIdSchema } from './organization-schema.js';

export const DEFAULT_MEMBER_ROLE = 'OrganizationAccountAccessRole';

/** Credentials are renewed this long before they expire, so no call starts with dying keys. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

export interface MemberCredentialsOptions {
  /** The management account is reached with the caller's own credentials, never through a role. */
  managementAccountId: string;
  /** The role assumed in each member account; default OrganizationAccountAccessRole. */
  roleName?: string;
  externalId?: string;
  /** Session length, 900 to 43200 seconds (the role's maximum applies); default 3600. */
  durationSeconds?: number;
  /** Region of the STS endpoint used; default us-east-1. */
  region?: string;
  partition?: string;
  /** Sessions kept at most (one per account and job); the least recently used beyond are retired. Default 1000. */
  maxSessions?: number;
  now?: () => number;
}

/** AssumeRole into a member account was refused or failed. */
export class AssumeRoleFailedError extends OrgshieldError {
  constructor(roleArn: string, accountId: string, cause: AwsCallError) {
    super(
      'AssumeRoleFailed',
      `cannot assume ${roleArn} (${cause.awsCode}): check that the role exists in account ${accountId} and trusts the management account.`,
      { exitCode: EXIT_CODES.failed, cause },
    );
  }
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/** `orgshield-<job id>` in the characters and length STS accepts for a RoleSessionName. */
export function roleSessionName(jobId: string | undefined): string {
  const name = jobId ? `orgshield-${jobId}` : 'orgshield';
  return name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

interface CachedSession {
  credentials: AwsCredentialIdentity;
  renewAt: number;
}

/**
 * Credentials into member accounts through STS AssumeRole. One session per (account, role, job):
 * the session name carries the job's id, so CloudTrail names the job that made each call (a
 * session shared across jobs would blame the first job for every later one's calls). Each
 * session's clients and regions share it, and it assumes the role again only five minutes
 * before it expires. At most `maxSessions` are kept; the least recently used beyond are retired
 * with their clients. Nothing here ever logs a key.
 */
export class MemberCredentials {
  private readonly providers = new Map<string, AwsCredentialIdentityProvider>();
  private readonly roleName: string;

  constructor(
    private readonly clients: AwsClientFactory,
    private readonly options: MemberCredentialsOptions,
  ) {
    this.roleName = options.roleName ?? DEFAULT_MEMBER_ROLE;
    if (!ROLE_NAME.test(this.roleName)) {
      throw new InvalidInputError(`role name "${this.roleName}" is not a valid IAM role name: use letters, digits and +=,.@_- (at most 64).`);
    }
    if (options.externalId !== undefined && !EXTERNAL_ID.test(options.externalId)) {
      throw new InvalidInputError('the external id is not valid for STS: use 2 to 1224 of letters, digits and +=,.@:/_-.');
    }
    const duration = options.durationSeconds ?? 3600;
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      throw new InvalidInputError(`session duration ${duration} is out of range: use 900 to 43200 seconds.`);
    }
  }

  /**
   * The credentials to reach `accountId` with; undefined for the management account (the
   * caller's own). `fresh` drops the session held for the account, so the role is assumed
   * anew: for when AWS has called that session expired before its stated expiry.
   */
  provider(accountId: string, jobId?: string, options: { fresh?: boolean } = {}): AwsCredentialIdentityProvider | undefined {
    if (!accountIdSchema.safeParse(accountId).success) {
      throw new InvalidInputError(`"${accountId}" is not an AWS account id; an account id is exactly 12 digits.`, { code: 'InvalidAccountId' });
    }
    if (accountId === this.options.managementAccountId) return undefined;
    const sessionName = roleSessionName(jobId);
    const key = `${accountId}|${this.roleName}|${sessionName}`;
    const held = this.providers.get(key);
    // Map order is insertion order: taking an entry out and back in makes it the most recent.
    this.providers.delete(key);
    if (held && options.fresh) this.clients.retire(held);
    const provider = held && !options.fresh ? held : this.sessionProvider(accountId, sessionName);
    this.providers.set(key, provider);
    for (const [oldestKey, oldest] of this.providers) {
      if (this.providers.size <= (this.options.maxSessions ?? 1000)) break;
      this.providers.delete(oldestKey);
      this.clients.retire(oldest);
    }
    return provider;
  }

  /** What to pass to `AwsClientFactory.client` for work in `accountId` (`fresh`: see provider()). */
  target(accountId: string, region: string, jobId?: string, options: { fresh?: boolean } = {}): ClientTarget {
    const credentials = this.provider(accountId, jobId, options);
    return credentials ? { accountId, region, credentials } : { region };
  }

  private sessionProvider(accountId: string, sessionName: string): AwsCredentialIdentityProvider {
    const now = this.options.now ?? Date.now;
    const roleArn = `arn:${this.options.partition ?? 'aws'}:iam::${accountId}:role/${this.roleName}`;
    let session: CachedSession | undefined;
    let renewing: Promise<CachedSession> | undefined;

    const assume = async (): Promise<CachedSession> => {
      const sts = this.clients.client(STSClient, { region: this.options.region ?? 'us-east-1' });
      let answer;
      try {
        answer = await sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: sessionName,
            DurationSeconds: this.options.durationSeconds ?? 3600,
            ...(this.options.externalId ? { ExternalId: this.options.externalId } : {}),
          }),
        );
      } catch (error) {
        throw error instanceof AwsCallError ? new AssumeRoleFailedError(roleArn, accountId, error) : error;
      }
      const c = answer.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
        throw new OrgshieldError('AssumeRoleFailed', `STS returned no credentials for ${roleArn}; try again, or check the STS endpoint.`);
      }
      return {
        credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration, accountId },
        renewAt: c.Expiration.getTime() - RENEW_BEFORE_MS,
      };
    };

    return async () => {
      if (session && now() < session.renewAt) return session.credentials;
      renewing ??= assume().finally(() => {
        renewing = undefined;
      });
      session = await renewing;
      return session.credentials;
    };
  }
}

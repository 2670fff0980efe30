import type { Logger } from 'pino';
import { AwsClientFactory, parseRateLimits, RedisAuditTrail, RedisRateLimiter, type AwsCallObserver, type MutationAuditEntry, type RateLimits } from '@orgshield/aws';
import { DescribeOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { loadSnapshot, MemberCredentials, ORGANIZATIONS_REGION } from '@orgshield/accounts';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { duplicateConnection, retentionFromDays, type RedisClient, type RunRetention } from '@orgshield/jobs';
import type { WorkerConfig } from './worker-config.js';

/** What processors share in one worker process: one client factory, one credential cache. */
export interface Runtime {
  redis: RedisClient;
  /** Prefix of orgshield's own Redis keys (snapshots, rate limits, rollout state). */
  keyPrefix: string;
  clients: AwsClientFactory;
  logger: Logger;
  config: WorkerConfig;
  /** How long run state stays in Redis (ORGSHIELD_RETENTION_DAYS, ORGSHIELD_KEEP_DAYS). */
  retention: RunRetention;
  /** Credentials into member accounts of the organization (of the snapshot, or asked of Organizations). */
  members(): Promise<MemberCredentials>;
  close(): Promise<void>;
}

/** `observer` sees every AWS call the runtime's clients make (the worker's metrics). */
export function createRuntime(config: WorkerConfig, redis: RedisClient, logger: Logger, options: { observer?: AwsCallObserver } = {}): Runtime {
  const keyPrefix = `${config.ORGSHIELD_QUEUE_PREFIX}:`;
  // The limiter gets its own connection with bounded retries: while Redis is away it paces calls
  // in-process instead of waiting, which BullMQ's never-give-up connection would make it do.
  const limiterRedis = duplicateConnection(redis, { maxRetriesPerRequest: 1 });
  limiterRedis.on('error', () => undefined);
  // The audit trail too: a mutating call whose entry cannot be written fails fast instead of waiting for Redis.
  const auditRedis = duplicateConnection(redis, { maxRetriesPerRequest: 1 });
  auditRedis.on('error', () => undefined);
  const audit = new RedisAuditTrail(auditRedis, { keyPrefix, retentionMs: config.ORGSHIELD_AUDIT_RETENTION_DAYS * 24 * 60 * 60 * 1000 });
  const clients = new AwsClientFactory({
    rateLimiter: new RedisRateLimiter(limiterRedis, { keyPrefix }),
    rateLimits: configuredRateLimits(config),
    ...(options.observer ? { observer: options.observer } : {}),
    // Every mutating call, before and after, to the hash-chained trail and the log; never credentials.
    onMutation: async (entry: MutationAuditEntry) => {
      logger.info({ audit: entry }, 'aws mutation');
      await audit.append(entry);
    },
  });
  /** Made once, by whichever job asks first (the others wait for it); asked again after a failure. */
  let members: Promise<MemberCredentials> | undefined;
  return {
    redis,
    keyPrefix,
    clients,
    logger,
    config,
    retention: workerRetention(config),
    members() {
      // An organization's management account never changes: it is looked up once per worker,
      // in the snapshot, or (no sync yet) from Organizations.
      members ??= (async () => {
        const stored = await loadSnapshot(redis, { keyPrefix });
        return new MemberCredentials(clients, {
          managementAccountId: stored?.managementAccountId ?? (await describeManagementAccount(clients)),
          roleName: config.ORGSHIELD_ROLE_NAME,
          externalId: config.ORGSHIELD_EXTERNAL_ID,
        });
      })().catch((error: unknown) => {
        members = undefined;
        throw error;
      });
      return members;
    },
    async close() {
      clients.destroy();
      await limiterRedis.quit().catch(() => undefined);
      await auditRedis.quit().catch(() => undefined);
    },
  };
}

async function describeManagementAccount(clients: AwsClientFactory): Promise<string> {
  const organizations = clients.client(OrganizationsClient, { region: ORGANIZATIONS_REGION });
  const id = (await organizations.send(new DescribeOrganizationCommand({}))).Organization?.MasterAccountId;
  if (!id) throw new OrgshieldError('NoOrganization', 'Organizations did not name a management account: run orgshield with credentials of the organization.');
  return id;
}

export function workerRetention(config: WorkerConfig): RunRetention {
  return retentionFromDays({ runs: config.ORGSHIELD_RETENTION_DAYS, kept: config.ORGSHIELD_KEEP_DAYS });
}

/** ORGSHIELD_RATE_LIMITS, checked: per-operation overrides of the documented quotas. */
export function configuredRateLimits(config: WorkerConfig): RateLimits | undefined {
  if (!config.ORGSHIELD_RATE_LIMITS) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(config.ORGSHIELD_RATE_LIMITS);
  } catch {
    throw new OrgshieldError('InvalidConfig', 'ORGSHIELD_RATE_LIMITS is not valid JSON: give e.g. {"organizations:*": {"rate": 10, "burst": 10}}.', { exitCode: EXIT_CODES.badInput });
  }
  return parseRateLimits(parsed);
}

/**
 * How commands that run here, not in a worker, reach AWS: clients paced in this process, and the
 * organization a plan is made against (the stored snapshot, or a walk).
 */
import { AwsClientFactory } from '@orgshield/aws';
import { discoverOrganization, loadSnapshot, saveSnapshot, type OrganizationSnapshot } from '@orgshield/accounts';
import { connectRedis, type RedisClient } from '@orgshield/jobs';
import { configuredRateLimits, loadWorkerConfig } from '@orgshield/worker-runtime';
import { note } from './cli-kit.js';
import { formatElapsed, progressLine } from './progress-line.js';

/** Clients for commands that run here without Redis: limits from ORGSHIELD_RATE_LIMITS, buckets in this process. */
export function localClients(env: NodeJS.ProcessEnv = process.env): AwsClientFactory {
  return new AwsClientFactory({ rateLimits: configuredRateLimits(loadWorkerConfig(env)) });
}

/**
 * The organization a plan made here is made against: the stored snapshot, its age said, unless
 * `refresh` or there is none; then a walk of the organization, stored for the next plan (and
 * the workers). Without Redis, a walk.
 */
export async function organizationForPlan(aws: AwsClientFactory, store: { redis: RedisClient; keyPrefix: string } | undefined, refresh: boolean): Promise<OrganizationSnapshot> {
  if (store && !refresh) {
    const stored = await loadSnapshot(store.redis, { keyPrefix: store.keyPrefix });
    if (stored) {
      const age = formatElapsed(Date.now() - Date.parse(stored.fetchedAt));
      note(`using the organization snapshot of ${stored.fetchedAt} (${age} old, ${stored.accounts.length} accounts); --refresh walks the organization again`);
      return stored;
    }
  }
  const line = progressLine('walking the organization');
  let snapshot: OrganizationSnapshot;
  try {
    snapshot = await discoverOrganization(aws, { onProgress: (p) => line.update(`${p.ous} OUs, ${p.accounts} accounts found, tags of ${p.tagged} read`) });
  } finally {
    line.done();
  }
  if (store) await saveSnapshot(store.redis, snapshot, { keyPrefix: store.keyPrefix });
  note(`walked the organization: ${snapshot.accounts.length} accounts${store ? ' (snapshot stored)' : ''}`);
  return snapshot;
}

/**
 * Runs `work` with the organization as `rollout plan` gets it: the stored snapshot when Redis
 * answers (its age said), a walk otherwise or with `refresh`. Redis is asked only when `work`
 * calls for the organization.
 */
export async function withOrganization<T>(aws: AwsClientFactory, options: { refresh: boolean }, work: (organization: () => Promise<OrganizationSnapshot>) => Promise<T>): Promise<T> {
  const config = loadWorkerConfig();
  let redis: Promise<RedisClient | undefined> | undefined;
  try {
    return await work(async () => {
      redis ??= redisIfAnswering(config.REDIS_URL);
      const client = await redis;
      return organizationForPlan(aws, client ? { redis: client, keyPrefix: `${config.ORGSHIELD_QUEUE_PREFIX}:` } : undefined, options.refresh);
    });
  } finally {
    await (await redis)?.quit().catch(() => undefined);
  }
}

/** Redis if it answers within 1.5 s (a plan needs none; it only makes it faster). */
async function redisIfAnswering(url: string): Promise<RedisClient | undefined> {
  return connectRedis(url, 1500).catch(() => {
    note('Redis does not answer: no stored organization snapshot to plan against');
    return undefined;
  });
}

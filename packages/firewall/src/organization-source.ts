import type { AwsClientFactory } from '@orgshield/aws';
import { discoverOrganization, loadSnapshot, saveSnapshot, type OrganizationSnapshot } from '@orgshield/accounts';
import type { RedisClient } from '@orgshield/jobs';

/**
 * The organization a rollout is planned against: the cached snapshot while it is fresh, else a
 * new discovery (saved for everyone else). Plans resolve OU paths and tags to accounts, so a
 * stale snapshot would aim waves at yesterday's organization.
 */
export async function currentOrganization(
  aws: AwsClientFactory,
  redis: RedisClient,
  options: { keyPrefix?: string; maxAgeMs?: number } = {},
): Promise<OrganizationSnapshot> {
  const cached = await loadSnapshot(redis, { keyPrefix: options.keyPrefix });
  if (cached && Date.now() - Date.parse(cached.fetchedAt) <= (options.maxAgeMs ?? 15 * 60_000)) return cached;
  const snapshot = await discoverOrganization(aws);
  await saveSnapshot(redis, snapshot, { keyPrefix: options.keyPrefix });
  return snapshot;
}

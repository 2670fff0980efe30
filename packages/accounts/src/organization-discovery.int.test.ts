import { randomUUID } from 'node:crypto';
import { AwsClientFactory, RedisRateLimiter, type AwsClientFactoryOptions } from '@orgshield/aws';
import { startSandbox } from '@orgshield/sandbox';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverOrganization, type DiscoveryProgress } from './organization-discovery.js';
import { loadSnapshot, saveSnapshot } from './snapshot-store.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const cleanups: Array<() => unknown> = [() => redis.disconnect()];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

async function sandboxWith(options: Parameters<typeof startSandbox>[0]): Promise<Sandbox> {
  const sandbox = await startSandbox({ port: 0, ...options });
  cleanups.push(() => sandbox.close());
  return sandbox;
}

function factoryFor(sandbox: Sandbox, options: AwsClientFactoryOptions = {}): AwsClientFactory {
  const factory = new AwsClientFactory({
    ...sandbox.clientConfig(),
    ...options,
  });
  cleanups.push(() => factory.destroy());
  return factory;
}

const byId = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => a.id.localeCompare(b.id));

describe('discoverOrganization against the sandbox', () => {
  it('finds the sandbox organization field for field, with OU paths, in one top-down walk', async () => {
    const sandbox = await sandboxWith({ accounts: 120, ous: 25, seed: 3 });
    const world = sandbox.world.snapshot();
    // no faults here: let the client go faster than the default Organizations pace
    const snapshot = await discoverOrganization(factoryFor(sandbox, { rateLimits: { 'organizations:*': { rate: 200, burst: 50 } } }));

    expect(snapshot.managementAccountId).toBe(world.managementAccountId);
    expect(snapshot.root).toEqual({ id: world.root.id, name: world.root.name });
    expect(byId(snapshot.ous.map(({ id, name, parentId }) => ({ id, name, parentId })))).toEqual(
      byId(world.ous.map(({ id, name, parentId }) => ({ id, name, parentId }))),
    );
    expect(byId(snapshot.accounts.map(({ id, name, email, status, parentId, tags }) => ({ id, name, email, status, parentId, tags })))).toEqual(
      byId(world.accounts.map(({ id, name, email, status, parentId, tags }) => ({ id, name, email, status, parentId, tags }))),
    );

    // paths by brute force: names from the root down, joined by "/"
    const pathOf = (parentId: string): string => {
      const ou = world.ous.find((o) => o.id === parentId);
      return ou ? `${pathOf(ou.parentId)}/${ou.name}` : world.root.name;
    };
    for (const account of snapshot.accounts) expect(account.ouPath).toBe(pathOf(account.parentId));
    for (const ou of snapshot.ous) expect(ou.path).toBe(pathOf(ou.id));
    expect(snapshot.accounts.some((a) => a.ouPath === 'Root')).toBe(true);

    const calls = (operation: string) => sandbox.requests().filter((r) => r.operation === operation).length;
    expect(calls('DescribeAccount') + calls('ListParents') + calls('ListAccounts')).toBe(0);
    expect(calls('ListTagsForResource')).toBe(world.ous.length + world.accounts.length);
    expect(calls('ListOrganizationalUnitsForParent')).toBeGreaterThanOrEqual(world.ous.length + 1);
    expect(calls('ListAccountsForParent')).toBeGreaterThanOrEqual(world.ous.length + 1);
  });

  it('ends with zero errors under throttling, 5xx and resets, and reports its progress', async () => {
    const quota = { rate: 10, burst: 10 };
    const sandbox = await sandboxWith({
      accounts: 60,
      ous: 8,
      seed: 11,
      faults: { operations: { 'organizations:*': { ...quota, errorRate: 0.02, resetRate: 0.01 } } },
    });
    const progress: DiscoveryProgress[] = [];
    const snapshot = await discoverOrganization(
      // told the quota: the bucket may not learn past it
      factoryFor(sandbox, { rateLimits: { 'organizations:*': { ...quota, ceiling: quota.rate } }, rateLimiter: new RedisRateLimiter(redis, { keyPrefix: `test:${randomUUID()}:` }) }),
      { onProgress: (p) => progress.push(p) },
    );
    const world = sandbox.world.snapshot();
    expect(snapshot.accounts).toHaveLength(world.accounts.length);
    expect(snapshot.ous).toHaveLength(world.ous.length);
    expect(progress.at(-1)).toEqual({ ous: world.ous.length, accounts: world.accounts.length, tagged: world.ous.length + world.accounts.length });
    const organizationsLog = sandbox.requests().filter((r) => r.service === 'organizations');
    expect(organizationsLog.filter((r) => r.error === 'TooManyRequestsException').length).toBeLessThanOrEqual(2);

    // not told: the buckets probe past the quota and are throttled, which costs retries, never the result
    const from = sandbox.requests().length;
    const probing = await discoverOrganization(factoryFor(sandbox, { rateLimiter: new RedisRateLimiter(redis, { keyPrefix: `test:${randomUUID()}:` }) }));
    expect(probing.accounts).toEqual(snapshot.accounts);
    expect(sandbox.requests().slice(from).filter((r) => r.error === 'TooManyRequestsException').length).toBeGreaterThan(0);
  });

  it('keeps the snapshot in Redis with its time, for org list to read', async () => {
    const sandbox = await sandboxWith({ accounts: 20, ous: 3, seed: 5 });
    const snapshot = await discoverOrganization(factoryFor(sandbox));
    const keyPrefix = `test:${randomUUID()}:`;
    await saveSnapshot(redis, snapshot, { keyPrefix });
    const loaded = await loadSnapshot(redis, { keyPrefix });
    expect(loaded).toEqual(snapshot);
    expect(Date.now() - Date.parse(loaded!.fetchedAt)).toBeLessThan(60_000);
    await redis.del(`${keyPrefix}org:snapshot`);
  });
});

import { randomUUID } from 'node:crypto';
import { ListRootsCommand, ListTagsForResourceCommand, OrganizationsClient, TagResourceCommand } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { startSandbox } from '@orgshield/sandbox';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { AwsClientFactory, type AwsClientFactoryOptions, type MutationAuditEntry } from './client-factory.js';
import { withAwsCallContext } from './aws-call-context.js';
import { AwsCallError } from './errors.js';
import { MemoryRateLimiter, RedisRateLimiter } from './rate-limiter.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const cleanups: Array<() => unknown> = [() => redis.disconnect()];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

async function sandboxWith(options: Parameters<typeof startSandbox>[0]): Promise<Sandbox> {
  const sandbox = await startSandbox({ port: 0, accounts: 40, ous: 6, seed: 7, ...options });
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

function organizationsRequests(sandbox: Sandbox, operation: string) {
  return sandbox.requests().filter((r) => r.service === 'organizations' && r.operation === operation);
}

/**
 * Pacing read from the sandbox's request log (the time each request arrived), not from the
 * test's wall clock: a loaded machine slows the callers, which stretches a run's wall time but
 * not the spacing of slots the limiter hands out, nor the most requests it lets into a window.
 */
function arrivals(log: { t: number }[]): number[] {
  return log.map((r) => r.t).sort((a, b) => a - b);
}

/** The gap (ms) between consecutive arrivals that half the gaps stay under. */
function medianGapMs(log: { t: number }[]): number {
  const times = arrivals(log);
  const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t)).sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 0;
}

/** The most arrivals within any `ms` window. */
function peakInWindow(log: { t: number }[], ms: number): number {
  const times = arrivals(log);
  let peak = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= ms) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

describe('AwsClientFactory against the sandbox', () => {
  it('ends with zero errors against a throttled, failing service when the Redis limiter knows the quota', async () => {
    const quota = { rate: 20, burst: 5 };
    const sandbox = await sandboxWith({ faults: { operations: { 'organizations:*': { ...quota, errorRate: 0.05, resetRate: 0.03 } } } });
    const clients = factoryFor(sandbox, {
      rateLimits: { 'organizations:*': { ...quota, ceiling: quota.rate } },
      rateLimiter: new RedisRateLimiter(redis, { keyPrefix: `test:${randomUUID()}:` }),
    });
    const organizations = clients.client(OrganizationsClient);
    const ids = sandbox.world.snapshot().accounts.map((a) => a.id);
    const started = performance.now();
    const answers = await Promise.all(ids.map((id) => organizations.send(new ListTagsForResourceCommand({ ResourceId: id }))));
    const seconds = (performance.now() - started) / 1000;

    expect(answers).toHaveLength(ids.length);
    const log = organizationsRequests(sandbox, 'ListTagsForResource');
    const failed = log.filter((r) => r.status === 0 || r.status >= 500).length;
    expect(failed).toBeGreaterThan(0); // the faults did happen, and were absorbed
    // the limiter keeps below the service's bucket (a throttle or two may come from timing jitter)
    expect(log.filter((r) => r.error === 'TooManyRequestsException').length).toBeLessThanOrEqual(2);
    // paced at the quota: never faster than its bucket allows (load only makes a run longer)...
    const quotaSeconds = (log.length - quota.burst) / quota.rate;
    expect(seconds).toBeGreaterThanOrEqual(quotaSeconds - 0.1);
    expect(peakInWindow(log, 1000)).toBeLessThanOrEqual(quota.rate + quota.burst);
    // ...and not much slower: the limiter spaces its slots 1/rate apart (50 ms here; a limiter
    // at half the quota would space them 100 ms), which a slow caller does not change.
    expect(medianGapMs(log)).toBeLessThan((1000 / quota.rate) * 1.5);
  });

  it('shares one bucket between two factories (two workers) on the same Redis', async () => {
    const quota = { rate: 10, burst: 4 };
    const sandbox = await sandboxWith({ faults: { operations: { 'organizations:*': quota } } });
    const keyPrefix = `test:${randomUUID()}:`;
    const workers = [0, 1].map(() => {
      const connection = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
      cleanups.push(() => connection.disconnect());
      return factoryFor(sandbox, {
        rateLimits: { 'organizations:*': { ...quota, ceiling: quota.rate } },
        rateLimiter: new RedisRateLimiter(connection, { keyPrefix }),
      });
    });
    await Promise.all(workers.flatMap((w) => Array.from({ length: 12 }, () => w.client(OrganizationsClient).send(new ListRootsCommand({})))));
    const log = organizationsRequests(sandbox, 'ListRoots');
    expect(log.filter((r) => r.error === 'TooManyRequestsException')).toHaveLength(0);
    // 24 calls through one bucket of 10/s that lets 3 through at once: two buckets would let 6
    // through at once and take half the time, as the sandbox saw them arrive
    const times = arrivals(log);
    expect(((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000).toBeGreaterThanOrEqual((24 - 3) / 10 - 0.1);
    expect(peakInWindow(log, 1000)).toBeLessThanOrEqual(quota.rate + quota.burst);
  });

  it('finds a quota it was not told, shared by two workers, and the next run starts from what it learned', async () => {
    // The service allows ListTagsForResource 50/s; orgshield starts from its default 10/s.
    const quota = { rate: 50, burst: 50 };
    const sandbox = await sandboxWith({ accounts: 700, faults: { operations: { 'organizations:ListTagsForResource': quota } } });
    const keyPrefix = `test:${randomUUID()}:`;
    const ids = sandbox.world.snapshot().accounts.map((a) => a.id);
    const tagAll = async (accounts: string[]) => {
      const workers = [0, 1].map(() => factoryFor(sandbox, { rateLimiter: new RedisRateLimiter(redis, { keyPrefix }) }));
      let next = 0;
      const started = performance.now();
      const from = sandbox.requests().length;
      // 32 callers in all, as two workers' pools would be
      await Promise.all(Array.from({ length: 32 }, async (_, caller) => {
        for (let id = accounts[next++]; id !== undefined; id = accounts[next++]) {
          await workers[caller % 2]!.client(OrganizationsClient).send(new ListTagsForResourceCommand({ ResourceId: id }));
        }
      }));
      const log = sandbox.requests().slice(from).filter((r) => r.operation === 'ListTagsForResource');
      return { seconds: (performance.now() - started) / 1000, log };
    };
    const first = await tagAll(ids.slice(0, 600));
    const throttled = first.log.filter((r) => r.error === 'TooManyRequestsException').length;
    const answered = first.log.length - throttled;
    expect(answered).toBe(600);
    // the quota's own bound is (600 - 50) / 50 = 11 s; at the configured 10/s it would be 60 s.
    // Never faster than the quota (load only stretches a run); above the configured 10/s, which
    // lets at most 9 + 10 into a second, by what the sandbox saw arrive in its busiest second.
    expect(first.seconds).toBeGreaterThanOrEqual((answered - quota.burst) / quota.rate - 0.2);
    expect(peakInWindow(first.log, 1000)).toBeGreaterThanOrEqual(25);
    expect(throttled / first.log.length).toBeLessThan(0.1);
    const learned = await new RedisRateLimiter(redis, { keyPrefix }).learnedRate('caller:us-east-1:organizations:ListTagsForResource');
    expect(learned).toBeGreaterThan(35);
    expect(learned).toBeLessThan(80);

    // a second run starts near the quota rather than at 10/s: its busiest second holds more
    // than 10/s allows (9 + 10), from the request log rather than its wall time (~2 s, not 9)
    const second = await tagAll(ids.slice(600, 700));
    expect(peakInWindow(second.log, 1000)).toBeGreaterThanOrEqual(25);
  });

  it('slows the shared bucket on each throttling answer in adaptive mode, and never in standard mode', async () => {
    // The service allows 5/s; the client is told 100/s, so it is throttled until it slows down.
    const sandbox = await sandboxWith({ faults: { operations: { 'organizations:ListRoots': { rate: 5, burst: 1 } } } });
    const slowed = async (retryMode: 'adaptive' | 'standard'): Promise<string[]> => {
      const keys: string[] = [];
      const memory = new MemoryRateLimiter();
      const rateLimiter = { acquire: memory.acquire.bind(memory), throttled: async (key: string) => void keys.push(key) };
      const clients = factoryFor(sandbox, { retryMode, maxAttempts: 1, rateLimits: { 'organizations:*': { rate: 100, burst: 10 } }, rateLimiter });
      await Promise.allSettled(Array.from({ length: 6 }, () => clients.client(OrganizationsClient).send(new ListRootsCommand({}))));
      return keys;
    };
    const before = organizationsRequests(sandbox, 'ListRoots').filter((r) => r.error === 'TooManyRequestsException').length;
    const adaptive = await slowed('adaptive');
    const throttledAnswers = organizationsRequests(sandbox, 'ListRoots').filter((r) => r.error === 'TooManyRequestsException').length - before;
    expect(throttledAnswers).toBeGreaterThan(0);
    expect(adaptive).toHaveLength(throttledAnswers);
    expect(new Set(adaptive)).toEqual(new Set(['caller:us-east-1:organizations:ListRoots']));
    expect(await slowed('standard')).toEqual([]);
  });

  it('records every mutating call to the audit sink, with the account it ran in, and nothing else', async () => {
    const sandbox = await sandboxWith({});
    const audit: MutationAuditEntry[] = [];
    const clients = factoryFor(sandbox, { onMutation: (entry) => audit.push(entry) });
    const management = sandbox.world.snapshot().managementAccountId;
    const member = sandbox.world.snapshot().accounts.find((a) => a.id !== management)!.id;

    await clients.client(OrganizationsClient).send(new ListRootsCommand({}));
    await withAwsCallContext({ jobId: 'job-7', runId: 'run-3' }, () =>
      clients.client(STSClient).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${member}:role/OrganizationAccountAccessRole`, RoleSessionName: 'audit-test' })),
    );
    const refused = await clients.client(OrganizationsClient).send(new TagResourceCommand({ ResourceId: member, Tags: [{ Key: 'k', Value: 'v' }] })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AwsCallError);

    const roleArn = `arn:aws:iam::${member}:role/OrganizationAccountAccessRole`;
    const who = { arn: expect.stringMatching(new RegExp(`^arn:aws:(iam|sts)::${management}:`)), accountId: management };
    const assume = { callId: expect.any(String), who, service: 'sts', operation: 'AssumeRole', accountId: management, region: 'us-east-1', resource: roleArn, jobId: 'job-7', runId: 'run-3' };
    expect(audit).toEqual([
      { ...assume, phase: 'before', at: expect.any(String) },
      { ...assume, phase: 'after', at: expect.any(String), result: 'ok', requestId: expect.any(String) },
      expect.objectContaining({ phase: 'before', service: 'organizations', operation: 'TagResource', accountId: management, resource: member }),
      expect.objectContaining({ phase: 'after', service: 'organizations', operation: 'TagResource', result: 'error', error: (refused as AwsCallError).awsCode }),
    ]);
    expect(audit[0]?.callId).toBe(audit[1]?.callId);
    expect(JSON.stringify(audit)).not.toMatch(/AKIA|secret|ASIA/i);
    expect(clients.usedOperations()).toEqual(['organizations:ListRoots', 'organizations:TagResource', 'sts:AssumeRole', 'sts:GetCallerIdentity']);
  });
});

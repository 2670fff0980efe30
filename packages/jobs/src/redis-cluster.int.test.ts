import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterFixture } from '../../../redis-test-servers.js';
import { FencedLocks } from './fenced-lock.js';
import { connectRedis, type RedisClient } from './redis-connection.js';
import { RunStateStore } from './run-state-store.js';

/**
 * The state layer on a Redis Cluster of three primaries (started here from Debian's
 * redis-server): every script and MULTI runs with keys of one slot, the branches that reach a key
 * they derive (a name held by another run) included. A script touching a key of another slot
 * fails on a cluster with CROSSSLOT, so each call here passing is the check.
 */
describe('the run state layer on a Redis Cluster', () => {
  let cluster: RedisClusterFixture;
  let redis: RedisClient;
  const prefix = `{test-${randomBytes(4).toString('hex')}}`;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    redis = await connectRedis(cluster.url);
  }, 120_000);
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  const store = () =>
    new RunStateStore<{ name: string }, { status: string; generation: number }, { at: string; message: string }>(redis, {
      keyPrefix: `${prefix}:drills`,
      kind: 'drill',
      releasedStatuses: ['completed'],
    });

  it('connects through any seed node to a cluster', () => {
    expect(redis).toBeInstanceOf(Cluster);
  });

  it('creates, claims, takes over a stale name, transitions, releases and records once, all within one slot', async () => {
    const runs = store();
    const running = { status: 'running', generation: 0 };
    expect(await runs.create({ id: 'd1', name: 'n', record: { name: 'n' }, state: running, createdAt: Date.now() })).toEqual({ created: true });
    // Held by a live run: the holder's state key is derived inside the script.
    expect(await runs.create({ id: 'd2', name: 'n', record: { name: 'n' }, state: running, createdAt: Date.now() })).toEqual({ created: false, exists: false, holder: 'd1' });
    await runs.transition('d1', ['running'], () => ({ status: 'halted' }), { event: () => ({ message: 'halted' }) });
    expect(await runs.nameHolder('n')).toBe('d1');
    // Its state gone (expired): the name is taken over.
    await redis.del(runs.runKey('d1', 'state'));
    expect(await runs.create({ id: 'd3', name: 'n', record: { name: 'n' }, state: running, createdAt: Date.now() })).toEqual({ created: true });
    expect(await runs.addOnce('d3', 'previous', 'p', 'v1')).toBe(true);
    expect(await runs.addOnce('d3', 'previous', 'p', 'v2')).toBe(false);
    expect(await runs.ordered('d3', 'previous')).toEqual(['v1']);
    await runs.setField('d3', 'intents', 'step', 'put');
    await runs.addEvent('d3', { message: 'hello' });
    // The release passes the name key in KEYS.
    await runs.transition('d3', ['running'], () => ({ status: 'completed' }), { event: () => ({ message: 'done' }) });
    expect(await runs.nameHolder('n')).toBeUndefined();
    expect((await runs.events('d3')).events.map((event) => event.message)).toEqual(['hello', 'done']);
    expect(await runs.list()).toEqual(['d3', 'd2', 'd1'].filter((id) => id !== 'd2'));
  });

  it('runs a step in the guard under a fenced lock and counts its write only with the lock held', async () => {
    const runs = store();
    const locks = new FencedLocks(redis, `${prefix}:drills`);
    await runs.create({ id: 'g1', record: { name: 'g' }, state: { status: 'running', generation: 0 }, createdAt: Date.now() });
    const outcome = await runs.guarded('g1', { status: 'running', generation: 0, member: 'job-1' }, (guard) =>
      locks.withLock('destination', async (lease) => {
        await lease.assertHeld();
        return guard.complete({ part: 'steps', field: 'put', value: 'done', lease });
      }),
    );
    expect(outcome).toEqual({ entered: true, value: true });
    await runs.waitForSteps('g1', { timeoutMs: 5000 });
    expect(await runs.field('g1', 'steps', 'put')).toBe('done');
  });

  it('refuses a key prefix without a hash tag on a cluster, in one sentence (exit 2)', () => {
    expect(() => new RunStateStore(redis, { keyPrefix: 'plain:drills', kind: 'drill', releasedStatuses: [] })).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining('the key prefix "plain:drills" has no hash tag') }),
    );
    expect(() => new FencedLocks(redis, 'plain:drills')).toThrow(/has no hash tag/);
  });

  it('kept every key it wrote in the slot of the prefix hash tag', async () => {
    const nodes = (redis as Cluster).nodes('master');
    const keys = (await Promise.all(nodes.map((node) => node.keys(`${prefix}*`)))).flat();
    expect(keys.length).toBeGreaterThan(8);
    const slots = new Set(await Promise.all(keys.map((key) => redis.call('CLUSTER', 'KEYSLOT', key))));
    expect(slots.size).toBe(1);
  });
});

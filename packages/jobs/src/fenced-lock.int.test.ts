import { describe, expect } from 'vitest';
import { redisTest as test } from '../test/redis-fixture.js';
import { FencedLocks, LockLostError } from './fenced-lock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('FencedLocks (Redis)', () => {
  test('serializes holders and gives each acquisition its own, growing token', async ({ redis, prefix }) => {
    const locks = new FencedLocks(redis, prefix);
    const spans: { token: string; start: number; end: number }[] = [];
    const work = async (lease: { token: string }) => {
      const start = Date.now();
      await sleep(100);
      spans.push({ token: lease.token, start, end: Date.now() });
    };
    await Promise.all([locks.withLock('dest', work), locks.withLock('dest', work), locks.withLock('dest', work)]);
    const sorted = [...spans].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
    expect(new Set(spans.map((span) => span.token)).size).toBe(3);
    expect(sorted.map((span) => Number(span.token))).toEqual([...sorted.map((span) => Number(span.token))].sort((a, b) => a - b));
  });

  test('renews the lock while held: work three times longer than its ttl keeps it', async ({ redis, prefix }) => {
    const locks = new FencedLocks(redis, prefix);
    await locks.withLock(
      'slow',
      async (lease) => {
        await sleep(600);
        await expect(lease.assertHeld()).resolves.toBeUndefined();
        expect(await redis.get(lease.key)).toBe(lease.token);
      },
      { ttlMs: 200 },
    );
    expect(await locks.holder('slow')).toBeUndefined();
  });

  test("a stale holder's release never frees the lock of the holder after it", async ({ redis, prefix }) => {
    const locks = new FencedLocks(redis, prefix);
    let newHolder = '';
    await locks.withLock(
      'dest',
      async (stale) => {
        // The stale holder stops renewing (its worker stalled) and its lock lapses; a rerun takes it.
        await redis.del(stale.key);
        const rerun = locks.withLock('dest', async (lease) => {
          newHolder = lease.token;
          await sleep(200);
          expect(await locks.holder('dest')).toBe(lease.token);
        });
        await sleep(50);
        await expect(stale.assertHeld()).rejects.toBeInstanceOf(LockLostError);
        expect(stale.signal.aborted).toBe(true);
        await rerun;
      },
      { ttlMs: 5000 },
    );
    // The stale holder's release (its finally) ran after the rerun's lock was taken and released: nothing leaked either way.
    expect(newHolder).not.toBe('');
    expect(await locks.holder('dest')).toBeUndefined();
  });

  test('the stale holder releasing while the new holder works leaves the new lock in place', async ({ redis, prefix }) => {
    const locks = new FencedLocks(redis, prefix);
    const stale = locks.withLock('dest', async (lease) => {
      await redis.del(lease.key);
      await sleep(100);
    });
    await sleep(30);
    await locks.withLock('dest', async (lease) => {
      await stale;
      expect(await locks.holder('dest')).toBe(lease.token);
    });
  });
});

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BUCKET_TUNING, clientBurst, grownRate, type BucketState } from './token-bucket.js';
import { MemoryRateLimiter, RedisRateLimiter } from './rate-limiter.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const connections: Redis[] = [];
function connect(): Redis {
  const redis = new Redis(REDIS_URL);
  connections.push(redis);
  return redis;
}
afterAll(() => connections.forEach((redis) => redis.disconnect()));

/** Times (ms since start) at which each acquisition was granted. */
async function grantTimes(acquisitions: Array<() => Promise<void>>): Promise<number[]> {
  const start = performance.now();
  return Promise.all(acquisitions.map(async (acquire) => {
    await acquire();
    return performance.now() - start;
  }));
}

describe('RedisRateLimiter', () => {
  it('lets the client burst through, then spaces requests at the sustained rate', async () => {
    const limiter = new RedisRateLimiter(connect(), { keyPrefix: `test:${randomUUID()}:` });
    const limit = { rate: 20, burst: 10, ceiling: 20 }; // a client burst of 8, then one per 50 ms
    expect(clientBurst(limit)).toBe(8);
    const times = await grantTimes(Array.from({ length: 15 }, () => () => limiter.acquire('k', limit)));
    times.sort((a, b) => a - b);
    // the burst measured from the first grant: the round trip to a loaded Redis is not the bucket's doing
    expect(times[7]! - times[0]!).toBeLessThan(40);
    expect(times[8]!).toBeGreaterThanOrEqual(50 - 5);
    expect(times[14]!).toBeGreaterThanOrEqual(7 * 50 - 5);
    // callers told to come back spread their return over the 250 ms horizon, and a loaded machine fires timers late
    expect(times[14]!).toBeLessThan(7 * 50 + 250);
  });

  it('shares one bucket between two workers on the same Redis', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const a = new RedisRateLimiter(connect(), { keyPrefix });
    const b = new RedisRateLimiter(connect(), { keyPrefix });
    const limit = { rate: 20, burst: 1, ceiling: 20 };
    const times = await grantTimes(Array.from({ length: 20 }, (_, i) => () => (i % 2 ? a : b).acquire('shared', limit)));
    // 20 requests from a bucket of one token refilled 20 times a second: 19 waits of 50 ms
    expect(Math.max(...times)).toBeGreaterThanOrEqual(19 * 50 - 5);
    // while separate keys do not wait for each other
    const separate = await grantTimes([() => a.acquire('one', limit), () => b.acquire('other', limit)]);
    expect(Math.max(...separate)).toBeLessThan(40);
  });

  it('cuts the shared bucket for everyone after a throttle, once per cooldown, and keeps what it learned', async () => {
    const redis = connect();
    const keyPrefix = `test:${randomUUID()}:`;
    const a = new RedisRateLimiter(redis, { keyPrefix });
    const b = new RedisRateLimiter(connect(), { keyPrefix });
    const limit = { rate: 10, burst: 1 };
    await a.throttled('k', limit);
    await a.throttled('k', limit); // same burst of throttles: not compounded
    expect(await b.learnedRate('k')).toBeCloseTo(10 * BUCKET_TUNING.firstSlowdown, 5);
    await b.acquire('k', limit);
    const start = performance.now();
    await b.acquire('k', limit);
    const gap = performance.now() - start;
    expect(gap).toBeGreaterThan(1000 / (10 * BUCKET_TUNING.firstSlowdown) - 15);
    expect(gap).toBeLessThan(1000 / (10 * BUCKET_TUNING.firstSlowdown) + 100);
    // what was learned outlives the run, for a day
    const ttl = await redis.pttl(`${keyPrefix}ratelimit:k`);
    expect(ttl).toBeGreaterThan(BUCKET_TUNING.learnedTtlMs - 60_000);
  });

  it('after a deep cut climbs back quickly towards the rate that was throttled, after a regular cut climbs by about 1%/s, as token-bucket.ts', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const limit = { rate: 20, burst: 2 };
    const queueFor = async (acquire: () => Promise<void>, ms: number) => {
      const start = performance.now();
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (performance.now() - start < ms) await acquire();
      }));
    };
    for (const limiter of [new RedisRateLimiter(connect(), { keyPrefix }), new MemoryRateLimiter()]) {
      const rate = async () => (await limiter.learnedRate('k'))!;
      await limiter.acquire('k', limit);
      await limiter.throttled('k', limit); // the end of slow start: halved, from 20
      expect(await rate()).toBeCloseTo(20 * BUCKET_TUNING.firstSlowdown, 5);
      await queueFor(() => limiter.acquire('k', limit), 1000);
      // below 85% of 20 it grows by about 10%/s (1%/s would leave it at 10.1)
      const recovered = await rate();
      expect(recovered).toBeGreaterThan(10.6);
      await new Promise((resolve) => setTimeout(resolve, BUCKET_TUNING.cooldownMs + 50));
      await limiter.throttled('k', limit); // a regular cut: 10%, remembering where it was cut from
      const cut = await rate();
      expect(cut).toBeCloseTo(recovered * BUCKET_TUNING.slowdown, 5);
      await queueFor(() => limiter.acquire('k', limit), 1000);
      // at 90% of where it was throttled it climbs at most about 1% a second (each step counts at most 1 s)
      expect(await rate()).toBeGreaterThanOrEqual(cut);
      expect(await rate()).toBeLessThan(cut * 1.03);
    }
  });

  it('grows by the same step as grownRate from every kind of state: slow start, recovery, approach, probe', async () => {
    const redis = connect();
    const keyPrefix = `test:${randomUUID()}:`;
    const limiter = new RedisRateLimiter(redis, { keyPrefix });
    const limit = { rate: 10, burst: 1, ceiling: 1000 };
    const states: BucketState[] = [
      { tat: 0, rate: 30, probedAt: 0 }, // slow start
      { tat: 0, rate: 50, probedAt: 0, slowedAt: 0, slowedFrom: 100 }, // below 85%: recovery
      { tat: 0, rate: 90, probedAt: 0, slowedAt: 0, slowedFrom: 100 }, // below 95%: approach
      { tat: 0, rate: 97, probedAt: 0, slowedAt: 0, slowedFrom: 100 }, // probe
    ];
    for (const [index, state] of states.entries()) {
      const key = `k${index}`;
      const [seconds, micros] = await redis.time();
      const now = Number(seconds) * 1000 + Number(micros) / 1000;
      // a backlog (tat ahead, within the horizon) and a growth step of more than maxProbeStepMs, so the step is exactly 1 s
      const stored = { ...state, tat: now + 100, probedAt: now - 5000 };
      await redis.hset(`${keyPrefix}ratelimit:${key}`, Object.fromEntries(Object.entries(stored).map(([field, value]) => [field, String(value)])));
      await limiter.acquire(key, limit);
      expect(await limiter.learnedRate(key)).toBeCloseTo(grownRate(stored, BUCKET_TUNING.maxProbeStepMs, limit), 4);
    }
  });

  it('grows the shared rate while callers queue on it, up to the ceiling, and agrees with token-bucket.ts', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const workers = [new RedisRateLimiter(connect(), { keyPrefix }), new RedisRateLimiter(connect(), { keyPrefix })];
    const limit = { rate: 20, burst: 2, ceiling: 60 };
    const memory = new MemoryRateLimiter();
    const run = async (acquire: (i: number) => Promise<void>) => {
      const start = performance.now();
      let granted = 0;
      // 8 callers, each taking slots back to back for 3 s: slow start doubles 20/s to the 60/s ceiling in ~1.6 s
      await Promise.all(Array.from({ length: 8 }, async (_, caller) => {
        while (performance.now() - start < 3000) {
          await acquire(caller);
          granted += 1;
        }
      }));
      return granted;
    };
    const shared = await run((caller) => workers[caller % 2]!.acquire('grow', limit));
    const local = await run(() => memory.acquire('grow', limit));
    expect(await workers[0]!.learnedRate('grow')).toBeCloseTo(60, 5);
    expect(memory.learnedRate('grow')).toBeCloseTo(60, 5);
    // fixed at 20/s it would be ~60 grants in 3 s; at the ceiling all along, ~180
    for (const granted of [shared, local]) {
      expect(granted).toBeGreaterThan(100);
      expect(granted).toBeLessThan(185);
    }
    expect(Math.abs(shared - local)).toBeLessThan(30);
  });

  it('paces calls in-process when Redis is unreachable, rather than failing them', async () => {
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    down.on('error', () => undefined);
    connections.push(down);
    const limiter = new RedisRateLimiter(down, { keyPrefix: `test:${randomUUID()}:` });
    const times = await grantTimes(Array.from({ length: 3 }, () => () => limiter.acquire('k', { rate: 20, burst: 1 })));
    expect(Math.max(...times)).toBeGreaterThanOrEqual(95);
  });
});

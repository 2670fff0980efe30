import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BUCKET_TUNING, clientBurst } from './token-bucket.js';
import { RedisRateLimiter } from './rate-limiter.js';

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
    const limit = { rate: 20, burst: 10 }; // a client burst of 8, then one per 50 ms
    expect(clientBurst(limit)).toBe(8);
    const times = await grantTimes(Array.from({ length: 15 }, () => () => limiter.acquire('k', limit)));
    times.sort((a, b) => a - b);
    expect(times[7]!).toBeLessThan(40);
    expect(times[8]!).toBeGreaterThanOrEqual(50 - 5);
    expect(times[14]!).toBeGreaterThanOrEqual(7 * 50 - 5);
    expect(times[14]!).toBeLessThan(7 * 50 + 120);
  });

  it('shares one bucket between two workers on the same Redis', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const a = new RedisRateLimiter(connect(), { keyPrefix });
    const b = new RedisRateLimiter(connect(), { keyPrefix });
    const limit = { rate: 20, burst: 1 };
    const times = await grantTimes(Array.from({ length: 20 }, (_, i) => () => (i % 2 ? a : b).acquire('shared', limit)));
    // 20 requests from a bucket of one token refilled 20 times a second: 19 waits of 50 ms
    expect(Math.max(...times)).toBeGreaterThanOrEqual(19 * 50 - 5);
    // while separate keys do not wait for each other
    const separate = await grantTimes([() => a.acquire('one', limit), () => b.acquire('other', limit)]);
    expect(Math.max(...separate)).toBeLessThan(40);
  });

  it('slows the shared bucket down for everyone after a throttle, once per cooldown', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const a = new RedisRateLimiter(connect(), { keyPrefix });
    const b = new RedisRateLimiter(connect(), { keyPrefix });
    const limit = { rate: 10, burst: 1 };
    await a.throttled('k');
    await a.throttled('k'); // same burst of throttles: not compounded
    await b.acquire('k', limit);
    const start = performance.now();
    await b.acquire('k', limit);
    const gap = performance.now() - start;
    const slowedInterval = 100 / BUCKET_TUNING.slowdown;
    expect(gap).toBeGreaterThan(slowedInterval - 15);
    expect(gap).toBeLessThan(100 / (BUCKET_TUNING.slowdown * BUCKET_TUNING.slowdown) - 5);
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

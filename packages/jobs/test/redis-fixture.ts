import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { test } from 'vitest';

/**
 * `redisTest`: a connection to the test Redis (REDIS_URL, which the shared global setup
 * provides) and a key prefix of the test's own, every key under it deleted afterwards.
 */
export const redisTest = test.extend<{ redis: Redis; prefix: string }>({
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from its first parameter
  redis: async ({}, use) => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    try {
      await use(redis);
    } finally {
      redis.disconnect();
    }
  },
  prefix: async ({ redis }, use) => {
    const prefix = `test:${randomBytes(6).toString('hex')}`;
    try {
      await use(prefix);
    } finally {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  },
});

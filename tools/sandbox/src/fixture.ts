import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { test } from 'vitest';
import { startSandbox, type RunningSandbox } from './sandbox-server.js';
import type { SandboxOptions } from './sandbox-options.js';

/**
 * Fixtures for integration tests (`*.int.test.ts`) across the repo.
 *
 * - `sandbox`: a sandbox on a free port, started for the test and closed after it. The default
 *   organization is small (40 accounts, 8 OUs, seed 1); change it for a file or a describe block
 *   with `sandboxTest.override({ sandboxOptions: { accounts: 300, faults: {...} } })`.
 * - `sandboxOptions`: the options the `sandbox` fixture starts with (port is always 0).
 * - `redisPrefix`: `test:<random>`, unique to the test, for BullMQ `prefix` or key names
 *   (`${redisPrefix}:...`); every key under it is deleted after the test. Redis is REDIS_URL, or
 *   redis://127.0.0.1:6379; the shared vitest global setup starts a private one when none answers.
 *
 * ```ts
 * import { sandboxTest as test } from '@orgshield/sandbox/fixture';
 * test('discovers the org', async ({ sandbox, redisPrefix }) => { ... sandbox.env() ... });
 * ```
 */
export const sandboxTest = test.extend<{ sandboxOptions: SandboxOptions; sandbox: RunningSandbox; redisPrefix: string }>({
  sandboxOptions: { accounts: 40, ous: 8, seed: 1 },
  sandbox: async ({ sandboxOptions }, use) => {
    const sandbox = await startSandbox({ ...sandboxOptions, port: 0 });
    try {
      await use(sandbox);
    } finally {
      await sandbox.close();
    }
  },
  // eslint-disable-next-line no-empty-pattern -- vitest reads a fixture's dependencies from its first parameter
  redisPrefix: async ({}, use) => {
    const prefix = `test:${randomBytes(6).toString('hex')}`;
    const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(`Redis is not reachable at ${url} (${(error as Error).message}); start redis-server or set REDIS_URL.`);
    }
    try {
      await use(prefix);
    } finally {
      await deleteKeys(redis, `${prefix}:*`);
      redis.disconnect();
    }
  },
});

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

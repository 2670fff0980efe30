import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { sandboxTest as test } from './fixture.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.quit());

describe('redisPrefix', () => {
  let previous: string | undefined;

  test('is test:<random> and free for the test to use', async ({ redisPrefix }) => {
    expect(redisPrefix).toMatch(/^test:[0-9a-f]{12}$/);
    await redis.set(`${redisPrefix}:a`, '1');
    await redis.hset(`${redisPrefix}:queue:jobs`, 'x', '1');
    previous = redisPrefix;
  });

  test('differs per test, and the previous test’s keys are gone', async ({ redisPrefix }) => {
    expect(redisPrefix).not.toBe(previous);
    expect(await redis.exists(`${previous}:a`, `${previous}:queue:jobs`)).toBe(0);
  });
});

describe('sandbox', () => {
  test('is a small organization on a random port by default', async ({ sandbox }) => {
    expect(sandbox.port).not.toBe(4566);
    expect(sandbox.url).toBe(`http://127.0.0.1:${sandbox.port}`);
    expect(sandbox.world.snapshot().accounts).toHaveLength(40);
    expect(sandbox.world.snapshot().ous).toHaveLength(8);
  });

  describe('with options', () => {
    test.override({ sandboxOptions: { accounts: 12, ous: 3, seed: 9 } });

    test('starts the organization the options ask for', async ({ sandbox }) => {
      expect(sandbox.world.snapshot().accounts).toHaveLength(12);
      expect(sandbox.world.seed).toBe(9);
    });
  });
});

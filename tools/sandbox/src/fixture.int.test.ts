import { Redis } from 'ioredis';
import { afterAll, describe, expect } from 'vitest';
import { sandboxTest as test } from './fixture.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.quit());

describe('redisPrefix', () => {
  const used: string[] = [];
  const writeKeys = async (prefix: string) => {
    await redis.set(`${prefix}:a`, '1');
    await redis.hset(`${prefix}:queue:jobs`, 'x', '1');
    used.push(prefix);
  };
  // Checked once every test here has ended, so it holds in any order (`--sequence.shuffle`):
  // each test had a prefix of its own, and the fixture deleted its keys after it.
  afterAll(async () => {
    expect(used.length).toBeGreaterThan(0);
    expect(new Set(used).size).toBe(used.length);
    for (const prefix of used) expect(await redis.exists(`${prefix}:a`, `${prefix}:queue:jobs`)).toBe(0);
  });

  test('is test:<random> and free for the test to use', async ({ redisPrefix }) => {
    expect(redisPrefix).toMatch(/^test:[0-9a-f]{12}$/);
    expect(await redis.exists(`${redisPrefix}:a`, `${redisPrefix}:queue:jobs`)).toBe(0);
    await writeKeys(redisPrefix);
    expect(await redis.exists(`${redisPrefix}:a`, `${redisPrefix}:queue:jobs`)).toBe(2);
  });

  test('differs per test, and no other test’s keys are left under it', async ({ redisPrefix }) => {
    expect(used).not.toContain(redisPrefix);
    expect(await redis.keys(`${redisPrefix}:*`)).toEqual([]);
    await writeKeys(redisPrefix);
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

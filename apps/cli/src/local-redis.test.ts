import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { connectOrStartRedis } from './local-redis.js';

describe('connectOrStartRedis (the demo\'s Redis)', () => {
  const saved = process.env['REDIS_URL'];
  afterEach(() => {
    if (saved === undefined) delete process.env['REDIS_URL'];
    else process.env['REDIS_URL'] = saved;
  });

  it('uses the Redis at REDIS_URL when it answers', async () => {
    process.env['REDIS_URL'] = saved ?? 'redis://127.0.0.1:6379';
    const local = await connectOrStartRedis();
    expect(local.url).toBe(process.env['REDIS_URL']);
    expect(await local.redis.ping()).toBe('PONG');
    await local.stop();
    await local.redis.quit();
  });

  it('starts a private, memory-only redis-server when none answers, and stops it', async () => {
    expect(spawnSync('redis-server', ['--version']).status, 'redis-server must be installed for this test').toBe(0);
    process.env['REDIS_URL'] = 'redis://127.0.0.1:1';
    const local = await connectOrStartRedis();
    expect(local.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(local.url).not.toBe('redis://127.0.0.1:1');
    expect(process.env['REDIS_URL']).toBe(local.url); // jobs started later in the process find it
    expect(await local.redis.ping()).toBe('PONG');
    expect(await local.redis.config('GET', 'save')).toEqual(['save', '']);
    const port = Number(new URL(local.url).port);
    await local.stop();
    await new Promise((r) => setTimeout(r, 300));
    const probe = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    expect(probe.stdout.trim()).not.toBe('PONG');
  });
});

import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { startRedisCluster } from '../../../redis-test-servers.js';
import { redisTest as test } from '../test/redis-fixture.js';
import { connectRedis, duplicateConnection, type RedisClient } from './redis-connection.js';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

type CountedSocket = Socket & { _writeGeneric: (...args: unknown[]) => unknown };

/**
 * The socket writes of `redis` (of every node, on a cluster) while `work` runs: system calls,
 * one per write, or one per writev of a corked batch.
 */
async function socketWrites(redis: RedisClient, work: () => Promise<unknown>): Promise<number> {
  // A cluster connects to a node once it sends it a command: the nodes not yet connected have no socket.
  const sockets = ('nodes' in redis ? redis.nodes() : [redis]).flatMap((node: Redis) => (node.stream ? [node.stream as CountedSocket] : []));
  let writes = 0;
  const originals = sockets.map((socket) => socket._writeGeneric);
  sockets.forEach((socket, i) => {
    socket._writeGeneric = (...args: unknown[]) => {
      writes += 1;
      return originals[i]?.apply(socket, args);
    };
  });
  try {
    await work();
  } finally {
    sockets.forEach((socket, i) => (socket._writeGeneric = originals[i] ?? socket._writeGeneric));
  }
  return writes;
}

/** 20 commands sent in one turn, read back in order. */
async function twentyInOneTurn(redis: RedisClient, prefix: string): Promise<void> {
  const keys = Array.from({ length: 10 }, (_, i) => `${prefix}:k${i}`);
  const replies = await Promise.all(keys.flatMap((key, i) => [redis.set(key, String(i)), redis.get(key)]));
  expect(replies).toEqual(keys.flatMap((_, i) => ['OK', String(i)]));
}

describe('orgshield Redis connections', () => {
  test('write the commands of one turn of the event loop in one system call, in order', async ({ redis: plain, prefix }) => {
    const redis = await connectRedis(url);
    const copy = duplicateConnection(redis);
    try {
      await copy.ping();
      expect(await socketWrites(plain, () => twentyInOneTurn(plain, `${prefix}:plain`))).toBe(20);
      expect(await socketWrites(redis, () => twentyInOneTurn(redis, `${prefix}:own`))).toBe(1);
      expect(await socketWrites(copy, () => twentyInOneTurn(copy, `${prefix}:copy`))).toBe(1);
      // Commands of different turns are not held back for one another.
      expect(await socketWrites(redis, async () => {
        for (let i = 0; i < 5; i++) await redis.set(`${prefix}:turn`, String(i));
      })).toBe(5);
      expect(await redis.get(`${prefix}:turn`)).toBe('4');
    } finally {
      copy.disconnect();
      redis.disconnect();
    }
  });

  test('keep doing so on the socket of a reconnection', async ({ prefix }) => {
    const redis = await connectRedis(url);
    try {
      const first = (redis as unknown as { stream: Socket }).stream;
      const ready = new Promise((resolve) => redis.once('ready', resolve));
      first.destroy();
      await ready;
      expect((redis as unknown as { stream: Socket }).stream).not.toBe(first);
      expect(await socketWrites(redis, () => twentyInOneTurn(redis, prefix))).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  test('do so on the node of a Redis Cluster that serves the keys', async ({ prefix }) => {
    const cluster = await startRedisCluster();
    const redis = await connectRedis(cluster.url);
    try {
      // The node serving the keys' slot is connected by a first command to it.
      await redis.get(`{${prefix}}:first`);
      expect(await socketWrites(redis, () => twentyInOneTurn(redis, `{${prefix}}`))).toBe(1);
    } finally {
      redis.disconnect();
      await cluster.stop();
    }
  }, 120_000);
});

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { OrgshieldError } from '@orgshield/errors';
import { connectRedis, DEFAULT_REDIS_URL, redactUrl, type RedisClient } from '@orgshield/jobs';

export interface LocalRedis {
  redis: RedisClient;
  url: string;
  /** Stops the private server, if this process started one. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The demo's Redis: the one at REDIS_URL if it answers, otherwise a private, memory-only
 * redis-server on a free loopback port that lives as long as this process.
 */
export async function connectOrStartRedis(): Promise<LocalRedis> {
  const url = process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL;
  try {
    const redis = await connectRedis(url, 1500);
    return { redis, url, stop: async () => undefined };
  } catch (error) {
    if (spawnSync('redis-server', ['--version']).status !== 0) {
      throw new OrgshieldError(
        'RedisUnavailable',
        `Redis is not reachable at ${redactUrl(url)} and redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL to a running Redis.`,
        { cause: error },
      );
    }
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  const privateUrl = `redis://127.0.0.1:${port}`;
  let redis: RedisClient | undefined;
  for (let attempt = 0; attempt < 50 && !redis; attempt++) {
    await new Promise((r) => setTimeout(r, 100));
    redis = await connectRedis(privateUrl, 500).catch(() => undefined);
  }
  if (!redis) {
    child.kill();
    throw new OrgshieldError('RedisUnavailable', `Could not start a private redis-server on ${privateUrl}: start Redis yourself and set REDIS_URL.`);
  }
  process.env['REDIS_URL'] = privateUrl;
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  return {
    redis,
    url: privateUrl,
    stop: async () => {
      await redis.quit().catch(() => undefined);
      process.off('exit', kill);
      kill();
    },
  };
}

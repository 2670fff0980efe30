import { Redis } from 'ioredis';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisUnavailableError extends OrgshieldError {
  constructor(url: string, cause?: unknown) {
    super(
      'RedisUnavailable',
      `Redis is not reachable at ${redactUrl(url)}: start it (redis-server --daemonize yes) or point REDIS_URL at a running one.`,
      { exitCode: EXIT_CODES.failed, cause },
    );
  }
}

/** Never print a password that a Redis URL may carry. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * Opens a connection and proves it answers before anyone relies on it, so a missing Redis is
 * one clear sentence instead of BullMQ retrying forever. `maxRetriesPerRequest: null` is what
 * BullMQ requires of connections its workers block on.
 */
export async function connectRedis(url: string = process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL, timeoutMs = 3000): Promise<Redis> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OrgshieldError('InvalidRedisUrl', `REDIS_URL "${url}" is not a URL: use the form redis://HOST:PORT.`, { exitCode: EXIT_CODES.badInput });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new OrgshieldError('InvalidRedisUrl', `REDIS_URL "${redactUrl(url)}" must start with redis:// or rediss://.`, { exitCode: EXIT_CODES.badInput });
  }
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // While connecting the first time, fail fast; once up, reconnect as ioredis does.
    retryStrategy: (times) => (times > 3 ? null : Math.min(times * 200, 1000)),
  });
  redis.on('error', () => undefined); // surfaced through connect() and commands, not as an unhandled event
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
  } catch (error) {
    redis.disconnect();
    throw new RedisUnavailableError(url, error);
  }
  redis.options.retryStrategy = (times) => Math.min(times * 200, 2000);
  return redis;
}

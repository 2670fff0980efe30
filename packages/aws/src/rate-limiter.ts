import type { Redis } from 'ioredis';
import type { RateLimit } from './rate-limits.js';
import { BUCKET_TUNING, clientBurst, reserveSlot, slowDown, type BucketState } from './token-bucket.js';

/**
 * Client-side rate limits, one token bucket per key (account, region, service, operation).
 * `acquire` resolves when the caller may send; `throttled` reports that the service said
 * "slow down" so the bucket's rate drops for everyone sharing it, then recovers.
 */
export interface RateLimiter {
  acquire(key: string, limit: RateLimit): Promise<void>;
  throttled(key: string): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Buckets in this process only: for local commands that run without Redis, and as the fallback. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, BucketState>();

  /** Reserves a slot and returns the wait in ms (the Redis limiter's fallback uses this). */
  reserve(key: string, limit: RateLimit): number {
    const { state, waitMs } = reserveSlot(this.buckets.get(key), performance.timeOrigin + performance.now(), limit);
    this.buckets.set(key, state);
    return waitMs;
  }

  async acquire(key: string, limit: RateLimit): Promise<void> {
    const waitMs = this.reserve(key, limit);
    if (waitMs > 0) await sleep(waitMs);
  }

  async throttled(key: string): Promise<void> {
    this.buckets.set(key, slowDown(this.buckets.get(key), performance.timeOrigin + performance.now()));
  }
}

// The same arithmetic as token-bucket.ts, run atomically in Redis on Redis's clock so that every
// worker reserves from one bucket. Keep the two in step: rate-limiter.int.test.ts checks this
// bucket's burst, spacing and slowdown against token-bucket.ts's clientBurst and BUCKET_TUNING.
const RESERVE_SLOT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local recovery = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tat', 'factor', 'slowedAt')
local tat = tonumber(s[1]) or now
local factor = tonumber(s[2]) or 1
local slowedAt = tonumber(s[3]) or 0
local f = math.min(1, factor + math.max(0, now - slowedAt) * recovery)
local interval = 1000 / (rate * f)
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', tat + interval))
redis.call('PEXPIRE', KEYS[1], math.ceil(tat + interval - now) + 60000)
return math.ceil(wait)
`;

const SLOW_DOWN_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local slowdown = tonumber(ARGV[1])
local recovery = tonumber(ARGV[2])
local cooldown = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'factor', 'slowedAt')
local factor = tonumber(s[1]) or 1
local slowedAt = tonumber(s[2]) or 0
if now - slowedAt < cooldown then return 0 end
local f = math.min(1, factor + math.max(0, now - slowedAt) * recovery)
f = f * slowdown
redis.call('HSET', KEYS[1], 'factor', string.format('%.6f', f), 'slowedAt', string.format('%.3f', now))
if redis.call('PTTL', KEYS[1]) < 60000 then redis.call('PEXPIRE', KEYS[1], 60000) end
return 1
`;

interface BucketCommands {
  orgshieldReserveSlot(key: string, rate: number, burst: number, recoveryPerMs: number): Promise<number>;
  orgshieldSlowDown(key: string, slowdown: number, recoveryPerMs: number, cooldownMs: number): Promise<number>;
}

/**
 * Buckets in Redis, shared by every worker. rate-limiter-flexible was the first choice, but all of
 * its limiters (RateLimiterRedis, BurstyRateLimiter, RateLimiterQueue over them) count in fixed
 * windows of whole seconds, which let twice the rate through across a window edge; a service that
 * keeps a real token bucket then throttles. So the bucket is a small GCRA script instead.
 *
 * If Redis fails mid-call, the call is paced by an in-process bucket rather than failed: the
 * limiter protects AWS quotas, it must not become a reason for AWS work to fail.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly commands: BucketCommands;
  private readonly fallback = new MemoryRateLimiter();

  constructor(
    redis: Redis,
    private readonly options: { keyPrefix?: string } = {},
  ) {
    if (!('orgshieldReserveSlot' in redis)) {
      redis.defineCommand('orgshieldReserveSlot', { numberOfKeys: 1, lua: RESERVE_SLOT_LUA });
      redis.defineCommand('orgshieldSlowDown', { numberOfKeys: 1, lua: SLOW_DOWN_LUA });
    }
    this.commands = redis as unknown as BucketCommands;
  }

  private redisKey(key: string): string {
    return `${this.options.keyPrefix ?? 'orgshield:'}ratelimit:${key}`;
  }

  async acquire(key: string, limit: RateLimit): Promise<void> {
    let waitMs: number;
    try {
      waitMs = await this.commands.orgshieldReserveSlot(this.redisKey(key), limit.rate, clientBurst(limit), BUCKET_TUNING.recoveryPerMs);
    } catch {
      waitMs = this.fallback.reserve(key, limit);
    }
    if (waitMs > 0) await sleep(waitMs);
  }

  async throttled(key: string): Promise<void> {
    try {
      await this.commands.orgshieldSlowDown(
        this.redisKey(key),
        BUCKET_TUNING.slowdown,
        BUCKET_TUNING.recoveryPerMs,
        BUCKET_TUNING.cooldownMs,
      );
    } catch {
      await this.fallback.throttled(key);
    }
  }
}

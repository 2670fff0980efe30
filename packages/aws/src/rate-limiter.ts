import type { Cluster, Redis } from 'ioredis';
import type { RateLimit } from './rate-limits.js';
import { BUCKET_TUNING, ceilingOf, clientBurst, floorOf, reserveSlot, slowDown, type BucketState } from './token-bucket.js';

/**
 * Client-side rate limits, one token bucket per key (account, region, service, operation).
 * `acquire` resolves when the caller may send; `throttled` reports that the service said
 * "slow down", so the bucket's learned rate drops for everyone sharing it.
 */
export interface RateLimiter {
  acquire(key: string, limit: RateLimit): Promise<void>;
  throttled(key: string, limit: RateLimit): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What one try at a bucket answered: a slot to wait for, or when to try again. */
interface SlotAnswer {
  reserved: boolean;
  waitMs: number;
}

/**
 * Tries until a slot is reserved, then waits for it. Callers told to come back spread their
 * next tries over the horizon, so they do not all return at the same instant.
 */
async function acquireSlot(tryReserve: () => Promise<SlotAnswer> | SlotAnswer): Promise<void> {
  for (;;) {
    const answer = await tryReserve();
    if (answer.reserved) {
      if (answer.waitMs > 0) await sleep(answer.waitMs);
      return;
    }
    await sleep(answer.waitMs + Math.random() * BUCKET_TUNING.horizonMs);
  }
}

/** Buckets in this process only: for local commands that run without Redis, and as the fallback. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, BucketState>();

  /** One try at the bucket (the Redis limiter's fallback uses this). */
  reserve(key: string, limit: RateLimit): SlotAnswer {
    const { state, reserved, waitMs } = reserveSlot(this.buckets.get(key), performance.timeOrigin + performance.now(), limit);
    this.buckets.set(key, state);
    return { reserved, waitMs };
  }

  async acquire(key: string, limit: RateLimit): Promise<void> {
    await acquireSlot(() => this.reserve(key, limit));
  }

  async throttled(key: string, limit: RateLimit): Promise<void> {
    this.buckets.set(key, slowDown(this.buckets.get(key), performance.timeOrigin + performance.now(), limit));
  }

  /** The rate a bucket has learned, if it has been used. */
  learnedRate(key: string): number | undefined {
    return this.buckets.get(key)?.rate;
  }
}

// The same arithmetic as token-bucket.ts, run atomically in Redis on Redis's clock so that every
// worker reserves from, and learns into, one bucket. Keep the two in step: rate-limiter.int.test.ts
// checks this bucket's burst, spacing, growth and cuts against token-bucket.ts. The hash outlives
// its last use by BUCKET_TUNING.learnedTtlMs, so the next run starts from what this one learned.
// ARGV: rate, burst, floor, ceiling, then the tuning.
const BUCKET_LUA_PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local configured = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local floor = tonumber(ARGV[3])
local ceiling = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'probedAt', 'slowedAt', 'slowedFrom')
local tat = tonumber(s[1]) or now
local rate = tonumber(s[2]) or configured
local probedAt = tonumber(s[3]) or now
local slowedAt = tonumber(s[4])
local slowedFrom = tonumber(s[5]) or 0
local function clamp(r) return math.min(ceiling, math.max(floor, r)) end
`;

const RESERVE_SLOT_LUA = `${BUCKET_LUA_PRELUDE}
local slowStart = tonumber(ARGV[5])
local probe = tonumber(ARGV[6])
local maxStep = tonumber(ARGV[7])
local ttl = tonumber(ARGV[8])
local horizon = tonumber(ARGV[9])
local recover = tonumber(ARGV[10])
local recoverShare = tonumber(ARGV[11])
local approach = tonumber(ARGV[12])
local approachShare = tonumber(ARGV[13])
if tat > now then
  local seconds = math.min(math.max(0, now - probedAt), maxStep) / 1000
  local perSecond = probe
  if slowedAt == nil then perSecond = slowStart
  elseif rate < recoverShare * slowedFrom then perSecond = recover
  elseif rate < approachShare * slowedFrom then perSecond = approach end
  rate = clamp(rate * math.exp(perSecond * seconds))
else
  rate = clamp(rate)
end
local interval = 1000 / rate
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
if wait > horizon then
  redis.call('HSET', KEYS[1], 'rate', string.format('%.6f', rate), 'probedAt', string.format('%.3f', now))
  return {0, math.ceil(wait - horizon)}
end
redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', tat + interval), 'rate', string.format('%.6f', rate), 'probedAt', string.format('%.3f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(tat + interval - now) + ttl)
return {1, math.ceil(wait)}
`;

const SLOW_DOWN_LUA = `${BUCKET_LUA_PRELUDE}
local firstCut = tonumber(ARGV[5])
local cut = tonumber(ARGV[6])
local cooldown = tonumber(ARGV[7])
local ttl = tonumber(ARGV[8])
if slowedAt ~= nil and now - slowedAt < cooldown then return 0 end
local from = rate
if slowedAt == nil then rate = clamp(rate * firstCut) else rate = clamp(rate * cut) end
redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', tat), 'rate', string.format('%.6f', rate), 'probedAt', string.format('%.3f', now), 'slowedAt', string.format('%.3f', now), 'slowedFrom', string.format('%.6f', from))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

type BucketArgs = [rate: number, burst: number, floor: number, ceiling: number, ...tuning: number[]];

interface BucketCommands {
  /** [1, wait] for a reserved slot, [0, retry] to come back later. */
  orgshieldReserveSlot(key: string, ...args: BucketArgs): Promise<[number, number]>;
  orgshieldSlowDown(key: string, ...args: BucketArgs): Promise<number>;
  hget(key: string, field: string): Promise<string | null>;
}

function bucketArgs(limit: RateLimit, ...tuning: number[]): BucketArgs {
  return [limit.rate, clientBurst(limit), floorOf(limit), ceilingOf(limit), ...tuning];
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
    redis: Redis | Cluster,
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
    const { slowStartPerSecond, probePerSecond, maxProbeStepMs, learnedTtlMs, horizonMs, recoverPerSecond, recoverShare, approachPerSecond, approachShare } = BUCKET_TUNING;
    const args = bucketArgs(limit, slowStartPerSecond, probePerSecond, maxProbeStepMs, learnedTtlMs, horizonMs, recoverPerSecond, recoverShare, approachPerSecond, approachShare);
    await acquireSlot(async () => {
      try {
        const [reserved, waitMs] = await this.commands.orgshieldReserveSlot(this.redisKey(key), ...args);
        return { reserved: reserved === 1, waitMs };
      } catch {
        return this.fallback.reserve(key, limit);
      }
    });
  }

  async throttled(key: string, limit: RateLimit): Promise<void> {
    try {
      const { firstSlowdown, slowdown, cooldownMs, learnedTtlMs } = BUCKET_TUNING;
      await this.commands.orgshieldSlowDown(this.redisKey(key), ...bucketArgs(limit, firstSlowdown, slowdown, cooldownMs, learnedTtlMs));
    } catch {
      await this.fallback.throttled(key, limit);
    }
  }

  /** The rate a bucket has learned (requests per second), if it has been used and not expired. */
  async learnedRate(key: string): Promise<number | undefined> {
    const rate = await this.commands.hget(this.redisKey(key), 'rate');
    return rate === null ? undefined : Number(rate);
  }
}

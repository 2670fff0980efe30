import { OrgshieldError } from '@orgshield/errors';
import { assertOneSlot, type RedisClient } from './redis-connection.js';

/**
 * Takes the lock when nobody holds it; the token comes from a counter beside the lock, so it is
 * unique to this acquisition (a stalled job's rerun has the same job id but never the same token).
 */
const ACQUIRE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
`;

const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface LockCommands {
  orgshieldLockAcquire(key: string, fenceKey: string, ttlMs: number): Promise<number | null>;
  orgshieldLockRenew(key: string, token: string, ttlMs: number): Promise<number>;
  orgshieldLockRelease(key: string, token: string): Promise<number>;
}

/** The lock was lost while held (it expired, or its renewal failed): what was done under it does not count. */
export class LockLostError extends OrgshieldError {
  constructor(resource: string, token: string) {
    super('LockLost', `the lock on ${resource} (token ${token}) was lost while held; the work is retried under a new lock.`);
  }
}

/** One acquisition of a lock. Writes made under it compare `token` with `key` in the same script. */
export interface LockLease {
  resource: string;
  key: string;
  token: string;
  /** Aborted as soon as a renewal finds the lock gone. */
  signal: AbortSignal;
  /** Throws LockLostError unless the lock is still ours; call it right before a mutating call. */
  assertHeld(): Promise<void>;
}

export interface LockOptions {
  /** Lifetime of the lock between renewals; it outlives a holder that died by at most this. */
  ttlMs?: number;
  /** How long to wait for a lock someone else holds. */
  waitMs?: number;
}

/**
 * Locks with fencing tokens, renewed while held: a throttled write that retries for minutes keeps
 * its lock, a holder that died loses it after `ttlMs`, and only the holder's token releases it.
 */
export class FencedLocks {
  private readonly commands: LockCommands;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {
    // The lock, its fence counter and the run keys a fenced write checks it with share one slot.
    assertOneSlot(redis, keyPrefix);
    if (!('orgshieldLockAcquire' in redis)) {
      redis.defineCommand('orgshieldLockAcquire', { numberOfKeys: 2, lua: ACQUIRE_LUA });
      redis.defineCommand('orgshieldLockRenew', { numberOfKeys: 1, lua: RENEW_LUA });
      redis.defineCommand('orgshieldLockRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    }
    this.commands = redis as unknown as LockCommands;
  }

  key(resource: string): string {
    return `${this.keyPrefix}:lock:${resource}`;
  }

  /** Who holds the lock now (its token), if anyone. */
  async holder(resource: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(resource))) ?? undefined;
  }

  /** Runs `work` holding the lock on `resource`, waiting for it, renewing it every third of its ttl. */
  async withLock<T>(resource: string, work: (lease: LockLease) => Promise<T>, options: LockOptions = {}): Promise<T> {
    const key = this.key(resource);
    const ttlMs = options.ttlMs ?? 30_000;
    const deadline = Date.now() + (options.waitMs ?? 300_000);
    let token: number | null;
    while ((token = await this.commands.orgshieldLockAcquire(key, `${key}:fence`, ttlMs)) === null) {
      if (Date.now() > deadline) {
        throw new OrgshieldError('LockTimeout', `${resource} stayed locked (token ${(await this.holder(resource)) ?? '?'}) for over ${options.waitMs ?? 300_000} ms; try again later.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const held = String(token);
    const lost = new AbortController();
    const assertHeld = async () => {
      if (lost.signal.aborted || (await this.redis.get(key)) !== held) {
        lost.abort();
        throw new LockLostError(resource, held);
      }
    };
    const renewal = setInterval(() => {
      this.commands.orgshieldLockRenew(key, held, ttlMs).then(
        (renewed) => renewed === 1 || lost.abort(),
        // Redis away: the lock may lapse; the next assertHeld or fenced write finds out.
        () => undefined,
      );
    }, Math.max(10, Math.floor(ttlMs / 3)));
    try {
      return await work({ resource, key, token: held, signal: lost.signal, assertHeld });
    } finally {
      clearInterval(renewal);
      await this.commands.orgshieldLockRelease(key, held).catch(() => undefined);
    }
  }
}

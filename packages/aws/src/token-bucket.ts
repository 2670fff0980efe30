import type { RateLimit } from './rate-limits.js';

/**
 * A token bucket kept as GCRA state: `tat` is the theoretical arrival time of the next request
 * at the sustained rate. A request reserves the next slot and waits until it comes, so every
 * caller sharing the state (across workers, through Redis) is spaced at the true rate, with
 * up to a burst of requests let through at once from an idle bucket.
 *
 * Adaptive part: a throttling answer multiplies the bucket's rate by `slowdown` (at most once per
 * cooldown, so the other answers of the same burst do not compound it); the rate then recovers
 * linearly to the configured one.
 */
export interface BucketState {
  /** Theoretical arrival time (ms) of the next request at the current rate. */
  tat: number;
  /**
   * Share of the configured rate currently allowed, in (0, 1]. Throttled once per cooldown
   * without pause, it settles where the slowdown and the recovery balance: 0.7 (f + 0.1) = f,
   * about a quarter of the rate, never zero.
   */
  factor: number;
  /** When the last slowdown happened (ms; 0 if never): `factor` was set then and recovers since. */
  slowedAt: number;
}

export const BUCKET_TUNING = {
  slowdown: 0.7,
  /** Share of the configured rate won back per millisecond after a slowdown: full in 3 s from 0.7. */
  recoveryPerMs: 0.1 / 1000,
  cooldownMs: 1000,
} as const;

/**
 * The burst we allow ourselves. The server's bucket and ours never see a request at quite the
 * same instant (timers fire late, a cold connection delays the first requests, requests overtake
 * each other), so we leave part of the server's bucket unused to absorb that jitter: a tenth of
 * it, and at least 100 ms worth of its rate, while keeping one token. Without this slack a client
 * running exactly at the quota is throttled every few seconds. A burst of 1 leaves no room.
 */
export function clientBurst(limit: RateLimit): number {
  const slack = Math.max(Math.ceil(limit.burst / 10), Math.ceil(limit.rate * 0.1));
  return Math.max(1, limit.burst - slack);
}

export function factorAt(state: BucketState | undefined, now: number): number {
  if (!state) return 1;
  return Math.min(1, state.factor + Math.max(0, now - state.slowedAt) * BUCKET_TUNING.recoveryPerMs);
}

/** Reserves the next slot; returns the new state and how long to wait before sending (ms). */
export function reserveSlot(
  state: BucketState | undefined,
  now: number,
  limit: RateLimit,
): { state: BucketState; waitMs: number } {
  const factor = factorAt(state, now);
  const interval = 1000 / (limit.rate * factor);
  const tolerance = (clientBurst(limit) - 1) * interval;
  const tat = Math.max(state?.tat ?? now, now);
  const waitMs = Math.max(0, tat - tolerance - now);
  return { state: { tat: tat + interval, factor: state?.factor ?? 1, slowedAt: state?.slowedAt ?? 0 }, waitMs };
}

/** A throttling answer came back: lower the rate unless we just did. */
export function slowDown(state: BucketState | undefined, now: number): BucketState {
  if (state && now - state.slowedAt < BUCKET_TUNING.cooldownMs) return state;
  const factor = factorAt(state, now) * BUCKET_TUNING.slowdown;
  return { tat: state?.tat ?? now, factor, slowedAt: now };
}

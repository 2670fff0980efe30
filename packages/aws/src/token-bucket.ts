import type { RateLimit } from './rate-limits.js';

/**
 * A token bucket kept as GCRA state: `tat` is the theoretical arrival time of the next request
 * at the bucket's current rate. A request reserves the next slot and waits until it comes, so
 * every caller sharing the state (across workers, through Redis) is spaced at that rate, with up
 * to a burst of requests let through at once from an idle bucket.
 *
 * The rate is learned, because AWS publishes few per-operation quotas (Organizations none):
 * it starts at the configured rate and, while callers queue on the bucket (so the bucket, not
 * the demand, is what limits them), grows; each throttling answer cuts it (AIMD, as TCP and
 * the SDK's adaptive mode do). Before the first throttle the growth is exponential (doubling
 * per second, "slow start"), so a quota five times the configured rate is found in seconds;
 * the first throttle halves the rate, since it was overshooting. After that the bucket
 * remembers the rate it was cut from (where the service last said no) and climbs back in three
 * steps, as TCP CUBIC does towards its last window: below 85% of it by 10% a second, below 95%
 * by 1% a second, and from there it probes by 0.3% a second; each throttle cuts it by 10%.
 *
 * Why so slow a probe: the service's bucket (a second deep in the sandbox) hides an overshoot
 * until it is drained, so a probe growing by g per second is throttled only about sqrt(2 g)
 * above the quota. At 1%/s that is ~14%, and the 10% cut left the rate still above the quota,
 * so each cycle (every ~10 s) ended in two cuts. The request log of a 5,000-account x 4-region
 * rollout (1 worker, 0.94% throttled) showed it: ~70% of the throttles came in steady probing,
 * 1-3 at a time, in pairs of cuts 2 s apart, the rest in clusters of ~20 per region when the
 * detail reads started while the bucket was still in slow start. At 0.3%/s the overshoot is
 * ~8%, one cut brings the rate under the quota and a cycle lasts ~30 s; the 1%/s step up to
 * 95% keeps the time spent below the quota after a cut short. The cooldown (one cut per burst
 * of throttles) is 500 ms: the horizon of reserved slots plus a round trip, not a whole second,
 * in which a rate still above the quota after the halving kept being throttled. Measured in
 * token-bucket.test.ts's simulation (quota 20/s, 8 callers, 5 minutes): 0.88% -> 0.47%
 * throttled, at the same rate; on that rollout (loaded machine) 1 worker 0.94% -> 0.61%, 4
 * workers 0.79% (0.97% before, quiet). What is left: the slow-start cluster when the detail
 * reads begin (~18 a region), bursts after the whole machine stalls for ~1 s (4 workers), and
 * ListComplianceStatus at the last wave's gates. The rate never leaves [floor, ceiling].
 */
export interface BucketState {
  /** Theoretical arrival time (ms) of the next request at the current rate. */
  tat: number;
  /** The learned rate, requests per second. */
  rate: number;
  /** When the rate was last grown or cut (ms). */
  probedAt: number;
  /** When the last cut happened (ms); absent while the bucket is still in slow start. */
  slowedAt?: number;
  /** The rate the last cut was made from: where the service last said no. */
  slowedFrom?: number;
}

export const BUCKET_TUNING = {
  /** Growth per second in slow start: doubling. */
  slowStartPerSecond: Math.LN2,
  /**
   * Growth per second from `approachShare` of the rate that was throttled, and beyond: the probe
   * for more. Its overshoot before the service pushes back is about sqrt(2 x this) (see above).
   */
  probePerSecond: 0.003,
  /**
   * Growth per second back up to `recoverShare` of the rate that was throttled, after the deep
   * first cut. Slow start may have overshot the quota well beyond double (a bucket grows while
   * callers queue, before the service has pushed back), so this climbs by 10% a second, not
   * faster: at 35% a 5,000-account rollout kept overshooting for ten seconds.
   */
  recoverPerSecond: 0.1,
  recoverShare: 0.85,
  /** Growth per second from `recoverShare` to `approachShare` of the rate that was throttled: where a regular cut lands. */
  approachPerSecond: 0.01,
  approachShare: 0.95,
  /** The first throttle ends slow start, which overshot by up to its own doubling. */
  firstSlowdown: 0.5,
  slowdown: 0.9,
  /** Throttles of one burst (the slots reserved within the horizon) come back together: they cut the rate once. */
  cooldownMs: 500,
  /**
   * A caller reserves a slot only this close to it; further out it is told to come back. Slots
   * reserved far ahead would keep the pace they were reserved at, so a learned change of rate
   * would reach the callers only after the whole queue of reservations had drained.
   */
  horizonMs: 250,
  /** Growth is computed over at most this long, so a bucket idle for an hour does not jump. */
  maxProbeStepMs: 1000,
  /** The rate never falls below this share of the configured rate. */
  floorShare: 0.05,
  /** Without a configured ceiling, the rate may grow to this multiple of the configured rate. */
  defaultCeilingFactor: 10,
  /** What a bucket learned is kept this long after its last use (a day). */
  learnedTtlMs: 24 * 3600 * 1000,
} as const;

export function ceilingOf(limit: RateLimit): number {
  return limit.ceiling ?? limit.rate * BUCKET_TUNING.defaultCeilingFactor;
}

export function floorOf(limit: RateLimit): number {
  return Math.min(limit.rate, ceilingOf(limit)) * BUCKET_TUNING.floorShare;
}

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

function clamp(rate: number, limit: RateLimit): number {
  return Math.min(ceilingOf(limit), Math.max(floorOf(limit), rate));
}

/** The rate after `elapsedMs` of callers queueing on the bucket. */
export function grownRate(state: BucketState, elapsedMs: number, limit: RateLimit): number {
  const seconds = Math.min(Math.max(0, elapsedMs), BUCKET_TUNING.maxProbeStepMs) / 1000;
  const slowedFrom = state.slowedFrom ?? 0;
  const perSecond =
    state.slowedAt === undefined ? BUCKET_TUNING.slowStartPerSecond
    : state.rate < BUCKET_TUNING.recoverShare * slowedFrom ? BUCKET_TUNING.recoverPerSecond
    : state.rate < BUCKET_TUNING.approachShare * slowedFrom ? BUCKET_TUNING.approachPerSecond
    : BUCKET_TUNING.probePerSecond;
  return clamp(state.rate * Math.exp(perSecond * seconds), limit);
}

export type Reservation =
  /** A slot is the caller's: send after `waitMs`. */
  | { state: BucketState; reserved: true; waitMs: number }
  /** The next slot is beyond the horizon: come back in about `waitMs`, nothing reserved. */
  | { state: BucketState; reserved: false; waitMs: number };

/** Reserves the next slot if it is within the horizon; returns the new state and the wait (ms). */
export function reserveSlot(state: BucketState | undefined, now: number, limit: RateLimit): Reservation {
  const current: BucketState = state ?? { tat: now, rate: limit.rate, probedAt: now };
  // Only a backlog (tat ahead of now) says the rate is what holds callers back; an idle or
  // lightly used bucket must not drift up to the ceiling on rates nobody tried.
  const rate = current.tat > now ? grownRate(current, now - current.probedAt, limit) : clamp(current.rate, limit);
  const interval = 1000 / rate;
  const tolerance = (clientBurst(limit) - 1) * interval;
  const tat = Math.max(current.tat, now);
  const waitMs = Math.max(0, tat - tolerance - now);
  if (waitMs > BUCKET_TUNING.horizonMs) {
    return { state: { ...current, rate, probedAt: now }, reserved: false, waitMs: waitMs - BUCKET_TUNING.horizonMs };
  }
  return { state: { ...current, tat: tat + interval, rate, probedAt: now }, reserved: true, waitMs };
}

/** A throttling answer came back: cut the rate unless we just did. */
export function slowDown(state: BucketState | undefined, now: number, limit: RateLimit): BucketState {
  const current: BucketState = state ?? { tat: now, rate: limit.rate, probedAt: now };
  if (current.slowedAt !== undefined && now - current.slowedAt < BUCKET_TUNING.cooldownMs) return current;
  const cut = current.slowedAt === undefined ? BUCKET_TUNING.firstSlowdown : BUCKET_TUNING.slowdown;
  return { ...current, rate: clamp(current.rate * cut, limit), probedAt: now, slowedAt: now, slowedFrom: current.rate };
}

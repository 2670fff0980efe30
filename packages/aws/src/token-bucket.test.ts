import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_TUNING, ceilingOf, clientBurst, floorOf, grownRate, reserveSlot, slowDown, type BucketState } from './token-bucket.js';

/**
 * Feeds requests arriving at `arrivals` (ms) through a bucket, in time order, each coming back
 * when told to; returns when each may be sent, in arrival order.
 */
function sendTimes(arrivals: number[], limit: { rate: number; burst: number; ceiling?: number }, initial?: BucketState): number[] {
  let state = initial;
  const sends: number[] = [];
  const pending = arrivals.map((at, index) => ({ at, index }));
  while (pending.length > 0) {
    pending.sort((a, b) => a.at - b.at || a.index - b.index);
    const next = pending.shift()!;
    const reservation = reserveSlot(state, next.at, limit);
    state = reservation.state;
    if (reservation.reserved) sends[next.index] = next.at + reservation.waitMs;
    else pending.push({ at: next.at + reservation.waitMs, index: next.index });
  }
  return sends;
}

describe('clientBurst', () => {
  it('keeps a tenth of the burst, and at least 100 ms of the rate, as slack for timing jitter', () => {
    expect(clientBurst({ rate: 10, burst: 10 })).toBe(9);
    expect(clientBurst({ rate: 20, burst: 5 })).toBe(3);
    expect(clientBurst({ rate: 600, burst: 600 })).toBe(540);
    expect(clientBurst({ rate: 100, burst: 20 })).toBe(10);
    expect(clientBurst({ rate: 1, burst: 2 })).toBe(1);
    expect(clientBurst({ rate: 1, burst: 1 })).toBe(1);
    expect(clientBurst({ rate: 50, burst: 3 })).toBe(1);
  });
});

describe('reserveSlot', () => {
  it('lets the client burst through at once, then spaces requests at the rate', () => {
    const times = sendTimes(Array(12).fill(0), { rate: 10, burst: 10, ceiling: 10 });
    expect(times.slice(0, 9)).toEqual(Array(9).fill(0));
    expect(times.slice(9)).toEqual([100, 200, 300]);
  });

  it('refills while idle, but never beyond the burst', () => {
    const limit = { rate: 10, burst: 10, ceiling: 10 };
    const first = sendTimes(Array(9).fill(0), limit);
    expect(first.every((t) => t === 0)).toBe(true);
    let state: BucketState | undefined;
    for (let i = 0; i < 9; i += 1) state = reserveSlot(state, 0, limit).state;
    // after an hour idle, again only the client burst goes at once
    const later = sendTimes(Array(10).fill(3_600_000), limit, state);
    expect(later.filter((t) => t === 3_600_000)).toHaveLength(9);
    expect(later[9]).toBe(3_600_100);
  });

  it('never lets more through than a token bucket of (rate, clientBurst) admits, whatever the arrivals', () => {
    fc.assert(
      fc.property(
        fc.record({ rate: fc.integer({ min: 1, max: 50 }), burst: fc.integer({ min: 1, max: 30 }) }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 120 }),
        (bucket, gaps) => {
          const limit = { ...bucket, ceiling: bucket.rate }; // a fixed pace: nothing to learn
          const arrivals: number[] = [];
          gaps.reduce((t, gap) => {
            arrivals.push(t + gap);
            return t + gap;
          }, 0);
          const sends = sendTimes(arrivals, limit).sort((a, b) => a - b);
          const burst = clientBurst(limit);
          for (let i = 0; i < sends.length; i += 1) {
            for (let j = i; j < sends.length; j += 1) {
              const allowed = burst + (limit.rate * (sends[j]! - sends[i]!)) / 1000;
              if (j - i + 1 > allowed + 1e-6) return false;
            }
          }
          return true;
        },
      ),
    );
  });

  it('keeps the sustained rate exactly over a long run when the ceiling is the rate', () => {
    const limit = { rate: 10, burst: 10, ceiling: 10 };
    const times = sendTimes(Array(209).fill(0), limit).sort((a, b) => a - b);
    // 9 at once, then 200 more at 10 per second
    expect(times.at(-1)).toBeCloseTo(20_000, 6);
  });
});

/**
 * A closed loop of `callers` against a service that keeps its own token bucket (`quota`), as the
 * sandbox does: each caller reserves a slot, sends, and on a throttle reports it and retries after
 * a pause. Returns the successes per second over the last `measureMs`, the throttled share, and
 * the bucket's final state.
 */
function simulate(options: {
  limit: { rate: number; burst: number; ceiling?: number };
  quota: { rate: number; burst: number };
  durationMs: number;
  measureMs: number;
  callers?: number;
  /** How many of the callers have work at a time (default: all of them, all along). */
  demand?: (now: number) => number;
}) {
  const { limit, quota, durationMs, measureMs } = options;
  let state: BucketState | undefined;
  let tokens = quota.burst;
  let refilledAt = 0;
  const take = (now: number) => {
    tokens = Math.min(quota.burst, tokens + ((now - refilledAt) / 1000) * quota.rate);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
  type Event = { at: number; kind: 'arrive' | 'send'; caller: number };
  const events: Event[] = Array.from({ length: options.callers ?? 32 }, (_, caller) => ({ at: 0, kind: 'arrive', caller }));
  let ok = 0;
  let throttled = 0;
  let sent = 0;
  while (events.length > 0) {
    let index = 0;
    for (let i = 1; i < events.length; i += 1) if (events[i]!.at < events[index]!.at) index = i;
    const event = events.splice(index, 1)[0]!;
    if (event.at > durationMs) continue;
    if (event.kind === 'arrive') {
      if (options.demand && event.caller >= options.demand(event.at)) {
        events.push({ ...event, at: event.at + 100 }); // no work yet: look again in 100 ms
        continue;
      }
      const reservation = reserveSlot(state, event.at, limit);
      state = reservation.state;
      const jitter = reservation.reserved ? 0 : ((event.at * 7919) % 997) / 997 * BUCKET_TUNING.horizonMs;
      events.push({ ...event, at: event.at + reservation.waitMs + jitter, kind: reservation.reserved ? 'send' : 'arrive' });
      continue;
    }
    const measured = event.at >= durationMs - measureMs;
    if (measured) sent += 1;
    if (take(event.at)) {
      if (measured) ok += 1;
      events.push({ ...event, at: event.at + 5, kind: 'arrive' });
    } else {
      if (measured) throttled += 1;
      state = slowDown(state, event.at + 5, limit);
      events.push({ ...event, at: event.at + 130, kind: 'arrive' });
    }
  }
  return { perSecond: ok / (measureMs / 1000), throttledShare: throttled / sent, state: state! };
}

describe('learning the rate', () => {
  it('starts from the configured rate and finds a quota five times higher within seconds', () => {
    const limit = { rate: 10, burst: 10 };
    const quota = { rate: 50, burst: 50 };
    expect(reserveSlot(undefined, 0, limit).state.rate).toBe(10);
    const early = simulate({ limit, quota, durationMs: 5_000, measureMs: 2_000 });
    expect(early.perSecond).toBeGreaterThan(45);
    const long = simulate({ limit, quota, durationMs: 60_000, measureMs: 50_000 });
    // the service's rate is used all along, and few calls are wasted on throttles
    expect(long.perSecond).toBeGreaterThan(0.97 * quota.rate);
    expect(long.perSecond).toBeLessThanOrEqual(quota.rate + quota.burst / 50);
    expect(long.throttledShare).toBeLessThan(0.01);
    expect(long.state.rate).toBeGreaterThan(40);
    expect(long.state.rate).toBeLessThan(65);
  });

  it('wastes under 1% of the calls on throttles over a long run, while using at least 93% of the quota', () => {
    // bench:fan-out's case: FMS told 5/s, the service allowing 20/s with a burst of 20, for minutes
    const result = simulate({ limit: { rate: 5, burst: 5 }, quota: { rate: 20, burst: 20 }, durationMs: 300_000, measureMs: 280_000, callers: 8 });
    expect(result.throttledShare).toBeLessThan(0.01);
    expect(result.perSecond).toBeGreaterThan(0.93 * 20);
  });

  // bench:fan-out's request log had two causes of throttles: steady probing (a probe of 1%/s
  // overshot the quota by ~14% before the service's bucket ran dry, and one 10% cut did not bring
  // it back under), and the detail reads starting while the bucket was still in slow start. The
  // tuning before the header's fix measured 0.88% and 1.43% here; these fail on it.
  it('wastes under 0.6% of the calls over five minutes from a cold start, at the quota', () => {
    const result = simulate({ limit: { rate: 5, burst: 5 }, quota: { rate: 20, burst: 20 }, durationMs: 300_000, measureMs: 300_000, callers: 8 });
    expect(result.throttledShare).toBeLessThan(0.006);
    expect(result.perSecond).toBeGreaterThan(0.995 * 20);
  });

  it('wastes under 1% of the calls when the demand jumps while the bucket is still in slow start', () => {
    // 30 s of a light, bursty demand (4 callers, then 1, by turns of 2 s), then 8 callers for a minute
    const demand = (now: number) => (now >= 30_000 ? 8 : Math.floor(now / 2000) % 2 ? 1 : 4);
    const result = simulate({ limit: { rate: 5, burst: 5 }, quota: { rate: 20, burst: 20 }, durationMs: 90_000, measureMs: 90_000, callers: 8, demand });
    expect(result.throttledShare).toBeLessThan(0.01);
    expect(result.perSecond).toBeGreaterThan(0.98 * 20 * (60 / 90) + 0.5 * 20 * (30 / 90) * 0.9); // the light phase asks for less
  });

  it('settles below the configured rate when the quota is lower (another tenant shares it)', () => {
    const result = simulate({ limit: { rate: 10, burst: 10 }, quota: { rate: 3, burst: 3 }, durationMs: 60_000, measureMs: 40_000 });
    expect(result.perSecond).toBeGreaterThan(2.8);
    expect(result.state.rate).toBeLessThan(5);
    // the configured burst (10) is above the service's (3), which costs throttles the rate cannot avoid
    expect(result.throttledShare).toBeLessThan(0.25);
  });

  it('never goes above the ceiling, however much the service allows', () => {
    const limit = { rate: 10, burst: 10, ceiling: 25 };
    const result = simulate({ limit, quota: { rate: 1000, burst: 1000 }, durationMs: 20_000, measureMs: 10_000 });
    expect(result.state.rate).toBe(25);
    expect(result.perSecond).toBeCloseTo(25, 0);
    expect(ceilingOf({ rate: 10, burst: 10 })).toBe(100);
  });

  it('does not grow while nobody queues on the bucket', () => {
    const limit = { rate: 10, burst: 10 };
    let state: BucketState | undefined;
    for (let t = 0; t < 60_000; t += 500) state = reserveSlot(state, t, limit).state; // 2/s: never a backlog
    expect(state?.rate).toBe(10);
  });
});

describe('grownRate', () => {
  it('climbs back from a cut by 10%/s below 85% of the throttled rate, 1%/s below 95%, then probes by 0.3%/s', () => {
    const limit = { rate: 10, burst: 10, ceiling: 1000 };
    const after = (rate: number) => grownRate({ tat: 0, rate, probedAt: 0, slowedAt: 0, slowedFrom: 100 }, 1000, limit) / rate;
    expect(after(50)).toBeCloseTo(Math.exp(BUCKET_TUNING.recoverPerSecond), 9);
    expect(after(90)).toBeCloseTo(Math.exp(BUCKET_TUNING.approachPerSecond), 9);
    expect(after(96)).toBeCloseTo(Math.exp(BUCKET_TUNING.probePerSecond), 9);
    expect(after(120)).toBeCloseTo(Math.exp(BUCKET_TUNING.probePerSecond), 9);
    expect([BUCKET_TUNING.recoverPerSecond, BUCKET_TUNING.approachPerSecond, BUCKET_TUNING.probePerSecond]).toEqual([0.1, 0.01, 0.003]);
    // a regular cut lands between the recovery and the probe: it climbs back by about 1%/s
    expect(BUCKET_TUNING.slowdown).toBeGreaterThan(BUCKET_TUNING.recoverShare);
    expect(BUCKET_TUNING.slowdown).toBeLessThan(BUCKET_TUNING.approachShare);
  });
});

describe('slowDown', () => {
  it('halves the rate on the first throttle, then cuts by the slowdown, once per cooldown', () => {
    const limit = { rate: 10, burst: 1 };
    let state: BucketState | undefined = slowDown(undefined, 1_000, limit);
    expect(state.rate).toBeCloseTo(10 * BUCKET_TUNING.firstSlowdown);
    expect(slowDown(state, 1_000 + BUCKET_TUNING.cooldownMs - 1, limit)).toBe(state);
    state = slowDown(state, 1_000 + BUCKET_TUNING.cooldownMs, limit);
    expect(state.rate).toBeCloseTo(10 * BUCKET_TUNING.firstSlowdown * BUCKET_TUNING.slowdown);
    const now = 1_000 + BUCKET_TUNING.cooldownMs;
    const gap = reserveSlot(reserveSlot(state, now, limit).state, now, limit).waitMs;
    expect(gap).toBeCloseTo(1000 / state.rate, 5);
  });

  it('never cuts below the floor, so a throttled bucket keeps moving', () => {
    const limit = { rate: 10, burst: 10 };
    let state: BucketState | undefined;
    for (let t = 0; t < 60_000; t += BUCKET_TUNING.cooldownMs) state = slowDown(state, t, limit);
    expect(state?.rate).toBe(floorOf(limit));
    expect(floorOf(limit)).toBeGreaterThan(0);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_TUNING, clientBurst, factorAt, reserveSlot, slowDown, type BucketState } from './token-bucket.js';

/** Feeds requests arriving at `arrivals` (ms) through a bucket; returns when each may be sent. */
function sendTimes(arrivals: number[], limit: { rate: number; burst: number }, initial?: BucketState): number[] {
  let state = initial;
  return arrivals.map((now) => {
    const reserved = reserveSlot(state, now, limit);
    state = reserved.state;
    return now + reserved.waitMs;
  });
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
    const times = sendTimes(Array(12).fill(0), { rate: 10, burst: 10 });
    expect(times.slice(0, 9)).toEqual(Array(9).fill(0));
    expect(times.slice(9)).toEqual([100, 200, 300]);
  });

  it('refills while idle, but never beyond the burst', () => {
    const limit = { rate: 10, burst: 10 };
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
        (limit, gaps) => {
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

  it('keeps the sustained rate exactly over a long run', () => {
    const limit = { rate: 10, burst: 10 };
    const times = sendTimes(Array(1009).fill(0), limit);
    // 9 at once, then 1000 more at 10 per second
    expect(times.at(-1)).toBe(100_000);
  });
});

describe('slowDown', () => {
  it('cuts the rate, ignores the rest of the same burst of throttles, and recovers over time', () => {
    const limit = { rate: 10, burst: 1 };
    let state: BucketState | undefined = slowDown(undefined, 1_000);
    expect(state.factor).toBeCloseTo(BUCKET_TUNING.slowdown);
    expect(slowDown(state, 1_500)).toBe(state);
    state = slowDown(state, 2_000);
    expect(factorAt(state, 2_000)).toBeLessThan(BUCKET_TUNING.slowdown);
    const slowed = factorAt(state, 2_000);
    const gap = reserveSlot(reserveSlot(state, 2_000, limit).state, 2_000, limit).waitMs;
    expect(gap).toBeCloseTo(100 / slowed, 5);
    expect(factorAt(state, 2_000 + 5_000)).toBe(1);
  });

  it('settles near a quarter of the rate under constant throttling, never at zero', () => {
    let state: BucketState | undefined;
    for (let t = 0; t < 60_000; t += BUCKET_TUNING.cooldownMs) state = slowDown(state, t);
    expect(state?.factor).toBeCloseTo(0.07 / 0.3, 3);
  });
});

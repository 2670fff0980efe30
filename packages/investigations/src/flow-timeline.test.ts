import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTimeline, chooseBucketSeconds, rollingBaseline, SPIKE_BASELINE_BUCKETS, SPIKE_MIN_HISTORY } from './flow-timeline.js';

describe('chooseBucketSeconds', () => {
  it('picks the smallest readable size giving at most about 200 buckets', () => {
    expect(chooseBucketSeconds(3600)).toBe(60);
    expect(chooseBucketSeconds(6 * 3600)).toBe(120);
    expect(chooseBucketSeconds(86400)).toBe(600);
    expect(chooseBucketSeconds(30 * 86400)).toBe(21600);
    expect(chooseBucketSeconds(400 * 86400)).toBe(2 * 86400);
  });
});

describe('rollingBaseline', () => {
  it('is the median of the buckets before, once there are enough', () => {
    fc.assert(fc.property(fc.array(fc.nat(1000), { maxLength: 40 }), fc.nat(40), (values, at) => {
      const index = Math.min(at, values.length);
      const before = values.slice(Math.max(0, index - SPIKE_BASELINE_BUCKETS), index).sort((a, b) => a - b);
      const expected = before.length < SPIKE_MIN_HISTORY ? null
        : before.length % 2 === 1 ? before[(before.length - 1) / 2] : (before[before.length / 2 - 1]! + before[before.length / 2]!) / 2;
      expect(rollingBaseline(values, index)).toBe(expected);
    }));
  });
});

describe('buildTimeline', () => {
  it('sums minutes into aligned dense buckets and marks a spike against the baseline', () => {
    const minute0 = 1748736000 / 60;
    const minutes = Array.from({ length: 60 }, (_, i) => minute0 + i);
    const bytes = minutes.map((_, i) => (i >= 40 && i < 45 ? 10 * 1024 * 1024 : 1024 * 1024));
    const timeline = buildTimeline({ minutes, inBytes: bytes, outBytes: bytes.map(() => 0), accepted: bytes.map(() => 1), rejected: bytes.map(() => 0) }, minute0 * 60, (minute0 + 60) * 60, 300);
    expect(timeline).toHaveLength(12);
    expect(timeline[0]).toMatchObject({ start: '2025-06-01T00:00:00.000Z', end: '2025-06-01T00:05:00.000Z', inBytes: 5 * 1024 * 1024, accepted: 5, baselineBytes: null, spike: false });
    expect(timeline.map((b) => b.spike)).toEqual([false, false, false, false, false, false, false, false, true, false, false, false]);
    expect(timeline[8]!.baselineBytes).toBe(5 * 1024 * 1024);
  });
});

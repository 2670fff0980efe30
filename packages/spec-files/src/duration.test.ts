import { describe, expect, it } from 'vitest';
import { durationSchema, parseDuration } from './duration.js';

describe('durations', () => {
  it('reads the units people write, summed', () => {
    expect(['350ms', '90s', '10m', '1h30m', '2d'].map(parseDuration)).toEqual([350, 90_000, 600_000, 5_400_000, 172_800_000]);
  });

  it('refuses other text, too long a duration, and 0 when it must be positive', () => {
    expect(durationSchema({ maxDays: 7 }).safeParse('0s').success).toBe(true);
    expect(durationSchema({ maxDays: 7, positive: true }).safeParse('0s').error?.issues[0]?.message).toBe('a duration is more than 0');
    expect(durationSchema({ maxDays: 7 }).safeParse('8d').error?.issues[0]?.message).toBe('a duration is at most 7d');
    expect(durationSchema({ maxDays: 7 }).safeParse('ten minutes').error?.issues[0]?.message).toBe('a duration looks like 30s, 10m or 1h30m');
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '@orgshield/errors';
import { DEFAULT_RATE_LIMITS, FALLBACK_RATE_LIMIT, parseRateLimits, resolveRateLimit } from './rate-limits.js';

describe('resolveRateLimit', () => {
  const limits = parseRateLimits({
    'organizations:*': { rate: 10, burst: 10 },
    'fms:PutPolicy': { rate: 1, burst: 2 },
    'fms:*': { rate: 5, burst: 5 },
    'ec2:Describe*': { rate: 20, burst: 100 },
    'ec2:*': { rate: 5, burst: 50 },
  });

  it('picks the most specific entry', () => {
    expect(resolveRateLimit(limits, 'fms', 'PutPolicy')).toEqual({ rate: 1, burst: 2 });
    expect(resolveRateLimit(limits, 'fms', 'GetPolicy')).toEqual({ rate: 5, burst: 5 });
    expect(resolveRateLimit(limits, 'ec2', 'DescribeInstances')).toEqual({ rate: 20, burst: 100 });
    expect(resolveRateLimit(limits, 'ec2', 'RunInstances')).toEqual({ rate: 5, burst: 50 });
    expect(resolveRateLimit(limits, 'organizations', 'ListRoots')).toEqual({ rate: 10, burst: 10 });
  });

  it('falls back for services nobody configured', () => {
    expect(resolveRateLimit(limits, 'appstream', 'CreateFleet')).toEqual(FALLBACK_RATE_LIMIT);
  });

  it('has a default for every service orgshield calls', () => {
    for (const service of ['organizations', 'sts', 'fms', 'wafv2', 'detective', 'guardduty', 's3', 'ec2']) {
      expect(Object.keys(DEFAULT_RATE_LIMITS).some((key) => key.startsWith(`${service}:`))).toBe(true);
    }
  });
});

describe('parseRateLimits', () => {
  it('refuses malformed keys and values, naming them', () => {
    expect(() => parseRateLimits({ organizations: { rate: 1, burst: 1 } })).toThrow(InvalidInputError);
    expect(() => parseRateLimits({ organizations: { rate: 1, burst: 1 } })).toThrow(/"organizations"/);
    expect(() => parseRateLimits({ 'fms:PutPolicy': { rate: 0, burst: 1 } })).toThrow(/fms:PutPolicy\.rate/);
    expect(() => parseRateLimits({ 'fms:PutPolicy': { rate: 1, burst: 1.5 } })).toThrow(InvalidInputError);
  });

  it('takes a ceiling the learned rate may reach, never below the starting rate', () => {
    expect(parseRateLimits({ 'fms:*': { rate: 5, burst: 5, ceiling: 20 } })).toEqual({ 'fms:*': { rate: 5, burst: 5, ceiling: 20 } });
    expect(() => parseRateLimits({ 'fms:*': { rate: 5, burst: 5, ceiling: 2 } })).toThrow(/"fms:\*\.ceiling" is invalid: ceiling must be at least the rate/);
    // AWS's documented quotas are not probed past
    expect(DEFAULT_RATE_LIMITS['sts:*']?.ceiling).toBe(600);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../world/prng.js';
import { FaultInjector, TokenBucket } from './fault-injector.js';

describe('TokenBucket', () => {
  it('lets a burst through, then refills at the rate', () => {
    const bucket = new TokenBucket(10, 5, 0);
    const first = Array.from({ length: 7 }, () => bucket.take(0));
    expect(first).toEqual([true, true, true, true, true, false, false]);
    expect(bucket.take(50)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100)).toBe(false);
    expect(bucket.take(10_000)).toBe(true);
  });

  it('never admits more than burst + rate x elapsed time', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
        (rate, burst, gaps) => {
          const bucket = new TokenBucket(rate, burst, 0);
          let now = 0;
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            if (bucket.take(now)) admitted++;
          }
          expect(admitted).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-9);
        },
      ),
    );
  });
});

describe('FaultInjector', () => {
  const config = {
    operations: {
      'organizations:*': { rate: 2, burst: 2 },
      'organizations:ListRoots': { rate: 1, burst: 1 },
      's3:GetObject': { errorRate: 1 },
      's3:PutObject': { resetRate: 1, latencyMs: [5, 5] as [number, number] },
    },
  };

  it('gives each operation, account and region its own bucket under a service:* rule', () => {
    const faults = new FaultInjector(config, mulberry32(1));
    const decide = (operation: string, account = '111111111111', region = 'us-east-1') => faults.decide({ service: 'organizations', operation, accountId: account, region }, 0).kind;
    expect([decide('ListAccounts'), decide('ListAccounts'), decide('ListAccounts')]).toEqual(['pass', 'pass', 'throttle']);
    expect([decide('ListChildren'), decide('ListChildren'), decide('ListChildren')]).toEqual(['pass', 'pass', 'throttle']);
    expect(decide('ListAccounts', '222222222222')).toBe('pass');
    // AWS's quotas are per account and region: another region of the same account has its own bucket
    expect([decide('ListAccounts', '111111111111', 'eu-west-1'), decide('ListAccounts', '111111111111', 'eu-west-1'), decide('ListAccounts', '111111111111', 'eu-west-1')]).toEqual(['pass', 'pass', 'throttle']);
  });

  it('lets the exact operation rule win over service:*', () => {
    const faults = new FaultInjector(config, mulberry32(1));
    expect(faults.ruleFor('organizations', 'ListRoots')).toEqual({ rate: 1, burst: 1 });
    expect(faults.ruleFor('organizations', 'ListAccounts')).toEqual({ rate: 2, burst: 2 });
    expect(faults.ruleFor('sts', 'AssumeRole')).toBeUndefined();
    expect([0, 0].map(() => faults.decide({ service: 'organizations', operation: 'ListRoots', accountId: 'a', region: 'us-east-1' }, 0).kind)).toEqual(['pass', 'throttle']);
  });

  it('injects errors, resets and latency at their rates', () => {
    const faults = new FaultInjector(config, mulberry32(1));
    expect(faults.decide({ service: 's3', operation: 'GetObject', accountId: 'a', region: 'us-east-1' }, 0)).toEqual({ kind: 'error', latencyMs: 0 });
    expect(faults.decide({ service: 's3', operation: 'PutObject', accountId: 'a', region: 'us-east-1' }, 0)).toEqual({ kind: 'reset', latencyMs: 5 });
    expect(faults.decide({ service: 's3', operation: 'ListBuckets', accountId: 'a', region: 'us-east-1' }, 0)).toEqual({ kind: 'pass', latencyMs: 0 });
  });

  it('denies every call of a deny rule, before rates, in the named accounts only', () => {
    const faults = new FaultInjector({ operations: { 'ec2:DescribeVpcs': { deny: true, rate: 1, accounts: ['111111111111'] } } }, mulberry32(1));
    const decide = (accountId: string, operation = 'DescribeVpcs') => faults.decide({ service: 'ec2', operation, accountId, region: 'us-east-1' }, 0).kind;
    expect([decide('111111111111'), decide('111111111111'), decide('111111111111')]).toEqual(['deny', 'deny', 'deny']);
    expect(decide('222222222222')).toBe('pass');
    expect(decide('111111111111', 'DescribeSubnets')).toBe('pass');
  });

  it('fails about errorRate of the requests, the same way for the same seed', () => {
    const run = () => {
      const faults = new FaultInjector({ operations: { 'fms:*': { errorRate: 0.1 } } }, mulberry32(7));
      return Array.from({ length: 2000 }, () => faults.decide({ service: 'fms', operation: 'GetPolicy', accountId: 'a', region: 'us-east-1' }, 0).kind);
    };
    const kinds = run();
    const errors = kinds.filter((k) => k === 'error').length;
    expect(errors).toBeGreaterThan(140);
    expect(errors).toBeLessThan(260);
    expect(run()).toEqual(kinds);
  });

  it('throttles about throttleRate of the requests whatever their rate, before any other fault', () => {
    const faults = new FaultInjector({ operations: { 'fms:*': { throttleRate: 0.1, errorRate: 0.02, resetRate: 0.01 } } }, mulberry32(11));
    const kinds = Array.from({ length: 5000 }, () => faults.decide({ service: 'fms', operation: 'PutPolicy', accountId: 'a', region: 'us-east-1' }, 0).kind);
    const count = (kind: string) => kinds.filter((k) => k === kind).length;
    expect(count('throttle')).toBeGreaterThan(400);
    expect(count('throttle')).toBeLessThan(600);
    // Errors and resets are drawn among the calls not throttled.
    expect(count('error')).toBeGreaterThan(50);
    expect(count('reset')).toBeGreaterThan(20);
    expect(count('pass')).toBe(5000 - count('throttle') - count('error') - count('reset'));
  });
});

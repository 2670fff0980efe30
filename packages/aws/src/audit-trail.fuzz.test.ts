/**
 * Fuzz suite (fast-check) over the audit trail as `audit export` and `audit verify` read it back
 * from Redis, where whoever can write the stream may have put anything: an entry's text replaced
 * by a hostile variation (garbage, `null`, a number, `__proto__` keys, a missing or non-string
 * hash), an entry removed, two swapped. Property: export and verify never throw, and verify names
 * at least one problem whenever the stream differs from what was written.
 * CI size: 60 cases, seeded, within 20 s; `npm run fuzz` (ORGSHIELD_TEST_SIZE=long): 20x the cases within 4x the time. Uses the shared Redis under a unique prefix.
 */
import { randomUUID } from 'node:crypto';
import { expectValueOrRefusal, fuzzParameters, fuzzTimeoutMs, hostileVariants } from '@orgshield/spec-files/fuzzing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisAuditTrail, type StoredAuditEntry } from './audit-trail.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const prefix = `test:audit-fuzz:${randomUUID()}:`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

type Tamper = { kind: 'replace'; at: number; text: string } | { kind: 'remove'; at: number } | { kind: 'swap'; at: number };

describe('fuzz: the audit trail read back', () => {
  it('exports and verifies any tampered stream without throwing, and names a problem whenever it was tampered with', async () => {
    const sample = JSON.stringify({ callId: 'c', phase: 'before', who: { arn: 'arn:aws:iam::111111111111:role/w', accountId: '111111111111' }, service: 'fms', operation: 'PutPolicy', accountId: '111111111111', region: 'us-east-1', resource: 'p', jobId: 'j', runId: 'r', at: '2026-01-01T00:00:00.000Z', prev: '0', hash: '1' });
    const tamper: fc.Arbitrary<Tamper> = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: hostileVariants(sample) }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
    );
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 5 }), tamper, async (count, change) => {
      const keyPrefix = `${prefix}${run++}:`;
      const audit = new RedisAuditTrail(redis, { keyPrefix });
      for (let n = 0; n < count; n++) {
        await audit.append({ callId: `c${n}`, phase: 'before', who: { arn: 'arn:aws:iam::111111111111:role/w', accountId: '111111111111' }, service: 'fms', operation: 'PutPolicy', accountId: '111111111111', region: 'us-east-1', resource: `p${n}`, jobId: `j${n}`, runId: 'r', at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() });
      }
      const stream = `${keyPrefix}{audit}`;
      const original = await redis.xrange(stream, '-', '+');
      const texts = original.map(([, fields]) => fields[1] ?? '');
      const ids = original.map(([id]) => id);
      const at = change.at % texts.length;
      if (change.kind === 'replace') texts[at] = change.text;
      else if (change.kind === 'remove') texts.splice(at, 1);
      else if (texts.length > 1) [texts[at], texts[(at + 1) % texts.length]] = [texts[(at + 1) % texts.length]!, texts[at]!];
      await redis.del(stream);
      for (const [i, text] of texts.entries()) await redis.xadd(stream, ids[i]!, 'entry', text);
      const tampered = texts.length !== original.length || texts.some((text, i) => text !== original[i]![1][1]);
      await expectValueOrRefusal(async () => {
        const exported: StoredAuditEntry[] = [];
        for await (const entry of audit.entries()) exported.push(entry);
        expect(exported).toHaveLength(texts.length);
        const verification = await audit.verify();
        if (tampered) expect(verification.problems.length).toBeGreaterThan(0);
        else expect(verification.problems).toEqual([]);
      }, () => false);
    }), fuzzParameters(60, 20));
  }, fuzzTimeoutMs(20));
});

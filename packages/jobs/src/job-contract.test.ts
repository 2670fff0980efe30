import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, jobIdFor } from './job-contract.js';

describe('jobIdFor', () => {
  it('is the same for equal payloads whatever their key order', () => {
    expect(jobIdFor('org.sync', { a: 1, b: { c: 2, d: 3 } })).toBe(jobIdFor('org.sync', { b: { d: 3, c: 2 }, a: 1 }));
  });

  it('differs when the payload, the name or the scope differs', () => {
    const base = jobIdFor('org.sync', { a: 1 });
    expect(jobIdFor('org.sync', { a: 2 })).not.toBe(base);
    expect(jobIdFor('investigation.run', { a: 1 })).not.toBe(base);
    expect(jobIdFor('org.sync', { a: 1 }, 'r1')).not.toBe(base);
  });

  it('never contains the ":" BullMQ reserves', () => {
    fc.assert(fc.property(fc.string(), fc.jsonValue(), (scope, payload) => !jobIdFor('x:y', payload, scope).includes(':')));
  });
});

describe('canonicalJson', () => {
  it('round-trips to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOW_LOG_FORMAT, FLOW_LOG_FIELDS, type FlowLogField, readFlowLogHeader } from './flow-log-format.js';

const ALL = Object.keys(FLOW_LOG_FIELDS) as FlowLogField[];

describe('readFlowLogHeader', () => {
  it('reads any set of v2-v7 fields in any order', () => {
    fc.assert(fc.property(fc.shuffledSubarray(ALL, { minLength: 1 }), (fields) => {
      const reading = readFlowLogHeader(fields.join(' '));
      expect(reading).toMatchObject({ kind: 'header', columns: fields, unknown: [] });
    }));
  });

  it('lists unknown names and the required fields a format lacks', () => {
    expect(readFlowLogHeader('srcaddr dstaddr colour start\r')).toEqual({
      kind: 'header', columns: ['srcaddr', 'dstaddr', null, 'start'], unknown: ['colour'],
      missing: ['srcport', 'dstport', 'protocol', 'packets', 'bytes', 'action'],
    });
  });

  it('never takes a record for a header', () => {
    const token = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 40 }).map(String), fc.constantFrom('-', 'ACCEPT', 'REJECT', 'OK', 'NODATA', 'SKIPDATA', 'IPv4', 'ingress', 'egress'),
      fc.ipV4(), fc.ipV6(), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 8, maxLength: 17 }).map((h) => `eni-${h}`), fc.constantFrom('vpc-0f1e2d3c', 'subnet-01', 'use1-az1', 'us-east-1'),
    );
    fc.assert(fc.property(fc.array(token, { minLength: 1, maxLength: 30 }), (tokens) => {
      expect(readFlowLogHeader(tokens.join(' ')).kind).toBe('no-header');
    }));
    expect(readFlowLogHeader('2 123456789012 eni-0a1b 10.0.0.1 10.0.0.2 1 2 6 1 1 1 1 ACCEPT OK').kind).toBe('no-header');
  });

  it('takes prototype names for unknown fields, not fields and not a record (constructor was a field, __proto__ made the file headerless)', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(readFlowLogHeader(`${DEFAULT_FLOW_LOG_FORMAT.join(' ')} ${name}`), name).toEqual({
        kind: 'header', columns: [...DEFAULT_FLOW_LOG_FORMAT, null], unknown: [name], missing: [],
      });
    }
    expect(readFlowLogHeader('constructor toString __proto__')).toEqual({ kind: 'no-header' });
  });

  it('knows the default format', () => {
    expect(readFlowLogHeader(DEFAULT_FLOW_LOG_FORMAT.join(' '))).toMatchObject({ kind: 'header', missing: [] });
  });
});

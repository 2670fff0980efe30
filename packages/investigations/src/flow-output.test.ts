import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Conversation, ConversationRows } from './flow-accumulator.js';
import { CORE_LAYOUT as L } from './flow-core.js';
import { RowPrinter } from './flow-output.js';

/** One row of numbers as the core lays it out, and the Conversation it stands for. */
function row(fields: { address: number; localPort: number; remotePort: number; protocol: number; opened: number; totals: number[]; first: number; last: number }): Float64Array {
  const numbers = new Float64Array(L.ROW);
  numbers[L.ROW_ADDRESS] = fields.address;
  numbers[L.ROW_KEY] = fields.localPort * 16777216 + fields.remotePort * 256 + fields.protocol;
  [L.ROW_IN_BYTES, L.ROW_OUT_BYTES, L.ROW_IN_PACKETS, L.ROW_OUT_PACKETS, L.ROW_ACCEPTED, L.ROW_REJECTED].forEach((field, i) => (numbers[field] = fields.totals[i]!));
  numbers[L.ROW_FIRST_SEEN] = fields.first;
  numbers[L.ROW_LAST_SEEN] = fields.last;
  numbers[L.ROW_OPENED] = fields.opened;
  return numbers;
}

const source = (marked: boolean): ConversationRows => ({
  addressText: () => '2001:db8::7',
  fromFinding: () => marked,
  [Symbol.iterator]: () => [][Symbol.iterator](),
});

const printed = (format: 'csv' | 'json', numbers: Float64Array, marked: boolean, first: boolean): string => {
  const printer = new RowPrinter(format);
  printer.row(source(marked), numbers, 0, first);
  return Buffer.from(printer.take()).toString('latin1');
};

const csvOf = (c: Conversation): string =>
  `${c.remoteIp},${c.localPort},${c.remotePort},${c.protocol},${c.direction},${c.inBytes},${c.outBytes},${c.inPackets},${c.outPackets},${c.accepted},${c.rejected},${c.firstSeen},${c.lastSeen},${c.fromFinding ? 'true' : 'false'}\n`;

describe('RowPrinter', () => {
  it('prints a row exactly as JSON.stringify prints its Conversation, and its CSV as the values read, at the edges of every field', () => {
    const cases: { numbers: Float64Array; conversation: Conversation }[] = [
      {
        numbers: row({ address: 4294967295, localPort: 65535, remotePort: 0, protocol: 255, opened: 0, totals: [0, 9007199254740991, 1, 10, 99, 100], first: 0, last: 253402300799 }),
        conversation: {
          remoteIp: '255.255.255.255', localPort: 65535, remotePort: 0, protocol: 255, direction: 'outbound', inBytes: 0, outBytes: 9007199254740991, inPackets: 1,
          outPackets: 10, accepted: 99, rejected: 100, firstSeen: '1970-01-01T00:00:00.000Z', lastSeen: '9999-12-31T23:59:59.000Z',
        },
      },
      {
        // Past 2^53 a total prints as String prints it; past the year 9999 a time as toISOString does.
        numbers: row({ address: 2 ** 32 + 3, localPort: 443, remotePort: 51000, protocol: 6, opened: L.OPENED_BY_LOCAL, totals: [2 ** 60, 1e21, 7, 0, 1, 0], first: 253402300800, last: 1748736059 }),
        conversation: {
          remoteIp: '2001:db8::7', localPort: 443, remotePort: 51000, protocol: 6, direction: 'outbound', inBytes: 2 ** 60, outBytes: 1e21, inPackets: 7, outPackets: 0,
          accepted: 1, rejected: 0, firstSeen: '+010000-01-01T00:00:00.000Z', lastSeen: '2025-06-01T00:00:59.000Z', fromFinding: true,
        },
      },
      {
        numbers: row({ address: 16909060, localPort: 22, remotePort: 22, protocol: 17, opened: 0, totals: [5, 6, 7, 8, 9, 10], first: 59, last: 60 }),
        conversation: {
          remoteIp: '1.2.3.4', localPort: 22, remotePort: 22, protocol: 17, direction: 'unknown', inBytes: 5, outBytes: 6, inPackets: 7, outPackets: 8,
          accepted: 9, rejected: 10, firstSeen: '1970-01-01T00:00:59.000Z', lastSeen: '1970-01-01T00:01:00.000Z',
        },
      },
    ];
    for (const { numbers, conversation } of cases) {
      const marked = conversation.fromFinding === true;
      expect(printed('json', numbers, marked, true)).toBe(`\n    ${JSON.stringify(conversation)}`);
      expect(printed('json', numbers, marked, false)).toBe(`,\n    ${JSON.stringify(conversation)}`);
      expect(printed('csv', numbers, marked, false)).toBe(csvOf(conversation));
    }
  });

  it('says when a piece is full and hands each piece over whole, going on in a new buffer', () => {
    const printer = new RowPrinter('csv');
    const numbers = row({ address: 16909060, localPort: 22, remotePort: 50000, protocol: 6, opened: 0, totals: [1, 2, 3, 4, 5, 6], first: 60, last: 120 });
    let rows = 0;
    while (!printer.row(source(false), numbers, 0, false)) rows++;
    const piece = printer.take();
    expect(Buffer.from(piece).toString('latin1').split('\n')).toHaveLength(rows + 2);
    printer.row(source(false), numbers, 0, false);
    expect(Buffer.from(piece).toString('latin1').startsWith('1.2.3.4,22,50000,6,inbound,1,2,3,4,5,6,1970-01-01T00:01:00.000Z,')).toBe(true);
    expect(printer.n).toBeGreaterThan(0);
  });

  it('counts the bytes of a row (length) as it prints them, whatever the numbers: the offset an output thread writes the rows after at', () => {
    // Every kind of value a row can hold, the hostile ones often: huge, fractional, negative, not finite, times past 9999 or before 1970.
    const anyNumber = fc.oneof(fc.nat(), fc.nat({ max: 99 }), fc.constantFrom(0, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 2 ** 60, 1e21, -1, 0.5, NaN, Infinity, -Infinity), fc.double());
    const seconds = fc.oneof(fc.integer({ min: 0, max: 253402300799 }), fc.constantFrom(253402300800, 8.64e12, -1, -62198755200, 1.5));
    fc.assert(
      fc.property(
        fc.record({
          address: fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(0, 9, 10, 99, 100, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 36)),
          localPort: fc.nat({ max: 65535 }), remotePort: fc.nat({ max: 65535 }), protocol: fc.nat({ max: 255 }),
          opened: fc.constantFrom(0, L.OPENED_BY_LOCAL), totals: fc.array(anyNumber, { minLength: 6, maxLength: 6 }), first: seconds, last: seconds,
        }),
        fc.boolean(), fc.constantFrom('csv' as const, 'json' as const),
        (fields, marked, format) => {
          const numbers = row(fields);
          let text: string;
          try {
            text = printed(format, numbers, marked, false);
          } catch {
            // A time no Date holds throws as toISOString does, in both.
            expect(() => new RowPrinter(format).length(source(marked), numbers, 0)).toThrow(RangeError);
            return;
          }
          expect(new RowPrinter(format).length(source(marked), numbers, 0)).toBe(Buffer.byteLength(text, 'latin1'));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

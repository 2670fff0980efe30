/**
 * Fuzz suite (fast-check) over flow-log input: headers (with prototype names and words that are
 * no field), records with hostile tokens, CRLF, endless lines, gzip whole, cut, with a byte
 * flipped or several members, and binary garbage; and over the analysis options. Property: the
 * analysis never throws for what is in the files (every problem is one of the documented ones,
 * with its file), a gzip file cut short is always listed as cut (or as skipped, for a listed reason,
 * before the cut was reached), and bad options
 * are one InvalidInputError (exit 2). Never a crash, a hang or a polluted prototype.
 * CI size: 120 inputs and 150 option sets, seeded, within 20 s each; `npm run fuzz` (ORGSHIELD_TEST_SIZE=long): 20x the cases within 4x the time.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { InvalidInputError } from '@orgshield/errors';
import { expectValueOrRefusal, fuzzParameters, fuzzTimeoutMs, HOSTILE_STRINGS, hostileValue } from '@orgshield/spec-files/fuzzing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeFlowLogs } from './flow-analysis.js';
import { FLOW_LOG_FIELDS } from './flow-log-format.js';
import { isIntegrityProblem } from './flow-log-problems.js';
import type { FlowLogObjectSource } from './flow-log-reader.js';
import { flowLogProblemSchema } from './report-json.js';

const FIELDS = Object.keys(FLOW_LOG_FIELDS);
const LOCAL = '10.0.1.25';

/** A flow-log object source over files held in memory: the interface the S3 reader implements. */
function memorySource(files: ReadonlyMap<string, Buffer>): FlowLogObjectSource {
  return {
    async *list(prefix) {
      for (const [key, body] of files) if (key.startsWith(prefix)) yield { key, size: body.length };
    },
    open: async (key) => Readable.from([files.get(key) ?? Buffer.alloc(0)]),
  };
}

const token = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('2', '123456789012', 'eni-0a1b2c3d', '198.51.100.7', LOCAL, '2001:db8::1', '443', '40000', '6', '17', '10', '1000', '1748736000', '1748736060', 'ACCEPT', 'REJECT', 'OK', 'NODATA', 'SKIPDATA', '-', 'ingress', 'egress', '18') },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_STRINGS.map((s) => s.replace(/\s/g, '')).filter((s) => s !== '')) },
  { weight: 1, arbitrary: fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.string({ maxLength: 12 }).map((s) => s.replace(/\s/g, '') || 'x')) },
);
const header = fc.oneof(
  fc.constant(null),
  fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'colour', 'Version') }), { minLength: 1, maxLength: 20 }).map((names) => names.join(' ')),
);
const record = fc.array(token, { minLength: 0, maxLength: 20 }).map((tokens) => tokens.join(' '));
const text = fc.tuple(header, fc.array(record, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([head, records, eol, endless]) => [...(head === null ? [] : [head]), ...records, ...(endless ? ['9'.repeat(70_000)] : [])].join(eol));

type Damage = 'plain' | 'gzip' | 'cut' | 'flip' | 'members' | 'garbage';
const file = fc.record({
  text,
  damage: fc.constantFrom<Damage>('plain', 'gzip', 'cut', 'flip', 'members', 'garbage'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  garbage: fc.uint8Array({ maxLength: 400 }),
});

function bytesOf({ text: body, damage, at, garbage }: { text: string; damage: Damage; at: number; garbage: Uint8Array }): { bytes: Buffer; cut: boolean } {
  const gz = gzipSync(body);
  switch (damage) {
    case 'plain': return { bytes: Buffer.from(body), cut: false };
    case 'gzip': return { bytes: gz, cut: false };
    case 'members': return { bytes: Buffer.concat([gz, gzipSync(body)]), cut: false };
    case 'garbage': return { bytes: Buffer.from(garbage), cut: false };
    case 'flip': {
      const flipped = Buffer.from(gz);
      const i = Math.floor(at * flipped.length);
      flipped[i] = flipped[i]! ^ 0x5a;
      return { bytes: flipped, cut: false };
    }
    case 'cut': {
      // Past the 10-byte header and short of the end: zlib must say the stream ended early.
      const length = 10 + Math.floor(at * (gz.length - 11));
      return { bytes: gz.subarray(0, length), cut: true };
    }
  }
}

describe('fuzz: flow-log files', () => {
  it('analyses any set of files without throwing, lists only documented problems, and always lists a cut gzip file', async () => {
    await fc.assert(fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 4 }), fc.boolean(), async (specs, localIps) => {
      const files = new Map<string, Buffer>();
      const cut: string[] = [];
      specs.forEach((spec, i) => {
        const { bytes, cut: isCut } = bytesOf(spec);
        const key = `logs/${i}.log${spec.damage === 'plain' || spec.damage === 'garbage' ? '' : '.gz'}`;
        files.set(key, bytes);
        if (isCut) cut.push(key);
      });
      await expectValueOrRefusal(async () => {
        const analysis = await analyzeFlowLogs({ objects: memorySource(files), prefixes: ['logs/'] }, localIps ? { localIps: [LOCAL] } : {});
        try {
          for (const problem of analysis.problems) flowLogProblemSchema.parse(problem);
          expect(analysis.records.matched).toBeLessThanOrEqual(analysis.records.total);
          expect(analysis.problemCount).toBeGreaterThanOrEqual(analysis.problems.filter((p) => p.code !== 'more-problems').length);
          // A cut file is listed as cut, unless it was skipped before the cut for a listed reason (a header without the needed fields).
          for (const key of cut) {
            expect(analysis.problems.some((p) => p.file === key && (isIntegrityProblem(p) || p.code === 'missing-field' || p.code === 'unsupported-file')), key).toBe(true);
          }
        } finally {
          analysis.dispose();
        }
      }, () => false);
    }), fuzzParameters(120, 20));
  }, fuzzTimeoutMs(20));
});

describe('fuzz: flow analysis options', () => {
  it('takes options or refuses them in one InvalidInputError, whatever they hold', async () => {
    const options = fc.oneof(
      hostileValue,
      fc.record({ localIps: fc.array(fc.oneof(fc.constantFrom(LOCAL, '::1', '999.1.1.1'), fc.string()), { maxLength: 70 }), eni: fc.oneof(fc.constant('eni-0a1b2c3d'), fc.string()), from: fc.date(), to: fc.date(), bucketSeconds: fc.integer(), memory: fc.integer(), filters: hostileValue }, { requiredKeys: [] }),
    );
    await fc.assert(fc.asyncProperty(options, async (value) => {
      await expectValueOrRefusal(async () => {
        const analysis = await analyzeFlowLogs({ objects: memorySource(new Map()), prefixes: [] }, value as never);
        analysis.dispose();
      }, (error) => error instanceof InvalidInputError);
    }), fuzzParameters(150, 20));
  }, fuzzTimeoutMs(20));
});

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { InvalidInputError } from '@orgshield/errors';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MINUTES } from './flow-accumulator.js';
import { analyzeFlowLogs } from './flow-analysis.js';
import { flowLogKeyPrefixes, listFlowLogFiles } from './flow-log-reader.js';
import { MAX_LINE_BYTES } from './flow-log-format.js';
import { FlowLogProblems, MAX_PROBLEMS_PER_FILE } from './flow-log-problems.js';

const RECORD = (port: number, start = 1748736000): string =>
  `2 123456789012 eni-0a1b2c3d4e5f60718 198.51.100.7 10.0.1.25 40000 ${port} 6 10 1000 ${start} ${start + 60} ACCEPT OK`;
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flow-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function analyzeText(name: string, body: string | Buffer) {
  const path = join(dir, name);
  await writeFile(path, body);
  return analyzeFlowLogs({ paths: [path] }, { localIps: ['10.0.1.25'] });
}

describe('flowLogKeyPrefixes', () => {
  const base = { accountId: '123456789012', region: 'eu-west-1' };

  it('lists one folder per UTC day of the window in the default layout', () => {
    expect(flowLogKeyPrefixes({ ...base, from: new Date('2025-06-01T22:00:00Z'), to: new Date('2025-06-03T00:00:00Z') })).toEqual([
      'AWSLogs/123456789012/vpcflowlogs/eu-west-1/2025/06/01/',
      'AWSLogs/123456789012/vpcflowlogs/eu-west-1/2025/06/02/',
    ]);
  });

  it('lists hours with per-hour partitions, Hive style, under the bucket prefix', () => {
    expect(flowLogKeyPrefixes({ ...base, prefix: 'flow', hive: true, perHour: true, from: new Date('2025-12-31T22:30:00Z'), to: new Date('2026-01-01T00:00:01Z') })).toEqual([
      'flow/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2025/month=12/day=31/hour=22/',
      'flow/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2025/month=12/day=31/hour=23/',
      'flow/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=01/day=01/hour=00/',
    ]);
    expect(flowLogKeyPrefixes({ ...base, perHour: true, from: new Date('2025-06-01T05:10:00Z'), to: new Date('2025-06-01T06:00:00Z') })).toEqual([
      'AWSLogs/123456789012/vpcflowlogs/eu-west-1/2025/06/01/05/',
    ]);
  });

  it('covers every instant of the window with exactly one prefix', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }), fc.integer({ min: 1, max: 5 * 86400_000 }), fc.boolean(), fc.integer({ min: 0, max: 1 }),
      (from, length, perHour, pick) => {
        const prefixes = flowLogKeyPrefixes({ ...base, from: new Date(from), to: new Date(from + length), perHour });
        const instant = pick === 0 ? from : from + length - 1;
        const iso = new Date(instant).toISOString();
        const folder = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${perHour ? `${iso.slice(11, 13)}/` : ''}`;
        expect(prefixes.filter((p) => p.endsWith(folder))).toHaveLength(1);
        expect(new Set(prefixes).size).toBe(prefixes.length);
      },
    ));
  });

  it('refuses a bad account, region or window in one sentence', () => {
    const window = { from: new Date('2025-06-01T00:00:00Z'), to: new Date('2025-06-02T00:00:00Z') };
    expect(() => flowLogKeyPrefixes({ ...base, ...window, accountId: '12345' })).toThrow(/Account id 12345 is not 12 digits/);
    expect(() => flowLogKeyPrefixes({ ...base, ...window, region: 'Europe' })).toThrow(InvalidInputError);
    expect(() => flowLogKeyPrefixes({ ...base, from: window.to, to: window.from })).toThrow(/is empty/);
  });
});

describe('listFlowLogFiles', () => {
  it('walks folders recursively in a stable order, skipping hidden entries', async () => {
    const root = join(dir, 'tree');
    await mkdir(join(root, 'b', 'c'), { recursive: true });
    await mkdir(join(root, '.hidden'), { recursive: true });
    for (const file of ['b/c/2.log.gz', 'a.log', 'b/1.log', '.hidden/x.log', 'b/.y.log']) await writeFile(join(root, file), 'x');
    expect((await listFlowLogFiles([root])).map((f) => f.path.slice(root.length + 1))).toEqual(['a.log', 'b/1.log', 'b/c/2.log.gz']);
  });

  it('follows links that stay inside the folder, reads each file once, and lists links that lead out, nowhere or round in a loop', async () => {
    const root = join(dir, 'linked');
    const outside = join(dir, 'outside');
    await mkdir(join(root, 'logs'), { recursive: true });
    await mkdir(outside, { recursive: true });
    await writeFile(join(root, 'logs', 'a.log'), 'x');
    await writeFile(join(outside, 'secret.log'), 'x');
    await symlink(join(root, 'logs'), join(root, 'again'));        // a second way into logs/
    await symlink(join(root, 'logs', 'a.log'), join(root, 'z.log')); // the same file by another name
    await symlink(outside, join(root, 'logs', 'escape'));            // a folder outside
    await symlink(join(outside, 'secret.log'), join(root, 'secret.log'));
    await symlink(root, join(root, 'logs', 'loop'));                 // back to the top
    await symlink(join(root, 'nowhere'), join(root, 'broken.log'));
    const problems = new FlowLogProblems();
    const files = await listFlowLogFiles([root], problems);
    // again/ comes first in name order, so logs/ is read through it, once.
    expect(files.map((f) => f.path.slice(root.length + 1))).toEqual(['again/a.log']);
    expect(problems.listed.map((p) => [p.file.slice(root.length + 1), p.code])).toEqual([
      ['again/escape', 'skipped-link'], ['again/loop', 'link-loop'], ['broken.log', 'skipped-link'], ['secret.log', 'skipped-link'],
    ]);
    expect(problems.listed.find((p) => p.file.endsWith('secret.log'))!.message).toBe(
      `${join(root, 'secret.log')} is a symbolic link to ${join(outside, 'secret.log')}, outside ${root}; it was not read.`,
    );
  });

  it('names a path that does not exist', async () => {
    await expect(listFlowLogFiles([join(dir, 'nope')])).rejects.toThrow(/nope does not exist/);
  });
});

describe('reading bad input', () => {
  it('reports malformed lines with file and line and analyses the rest', async () => {
    const path = join(dir, 'malformed.log');
    const analysis = await analyzeText('malformed.log', [HEADER, RECORD(22), 'garbage', RECORD(23).replace(' 6 ', ' six '), RECORD(24), ''].join('\n'));
    expect(analysis.records.total).toBe(2);
    expect(analysis.problems.map((p) => [p.line, p.code])).toEqual([[3, 'malformed-record'], [4, 'malformed-record']]);
    expect(analysis.problems[0]!.message).toBe(`${path}:3 has 1 fields where its format has 14; the record is skipped.`);
    expect(analysis.problems[1]!.message).toBe(`${path}:4 has protocol 'six', which is not valid; the record is skipped.`);
  });

  it('lists a bounded number of problems per file and counts the rest', async () => {
    const lines = [RECORD(22), ...Array.from({ length: 500 }, (_, i) => `junk ${i}`), RECORD(23)];
    const analysis = await analyzeText('junk.log', lines.join('\n'));
    expect(analysis.records.total).toBe(2);
    expect(analysis.problemCount).toBe(500);
    expect(analysis.problems).toHaveLength(MAX_PROBLEMS_PER_FILE + 1);
    expect(analysis.problems.at(-1)!.message).toMatch(/^480 more problems in .*junk\.log were counted but not listed\.$/);
  });

  it('reads local files exactly as the same bytes streamed: many inflated pieces, several gzip members, CRLF, plain', async () => {
    const record = (i: number): string =>
      `2 123456789012 eni-0a1b2c3d4e5f60718 198.51.${(i * 7) % 256}.${i % 251} 10.0.1.25 ${40000 + (i % 997)} ${[22, 80, 443][i % 3]} 6 ${i % 90} ${i * 13} ${1748736000 + i} ${1748736060 + i} ${i % 5 === 0 ? 'REJECT' : 'ACCEPT'} OK`;
    const text = (from: number, to: number, eol = '\n'): string => Array.from({ length: to - from }, (_, k) => record(from + k)).join(eol) + eol;
    const files = new Map<string, Buffer>([
      // Over a megabyte of gzip: read in several pieces, inflated in dozens.
      ['big.log.gz', gzipSync(HEADER + '\n' + text(0, 120_000))],
      ['members.log.gz', Buffer.concat([gzipSync(HEADER + '\n' + text(0, 3000)), gzipSync(text(3000, 6000))])],
      ['crlf.log', Buffer.from(HEADER + '\r\n' + text(500, 2500, '\r\n'))],
      ['plain.log', Buffer.from(text(7000, 9000))],
    ]);
    expect(files.get('big.log.gz')!.length).toBeGreaterThan(1024 * 1024);
    const local = join(dir, 'same');
    await mkdir(local);
    for (const [name, body] of files) await writeFile(join(local, name), body);
    const objects = {
      async *list() {
        for (const [key, body] of [...files].sort()) yield { key: join(local, key), size: body.length };
      },
      async open(key: string) {
        const body = files.get(key.slice(local.length + 1))!;
        return Readable.from(Array.from({ length: Math.ceil(body.length / 65536) }, (_, k) => body.subarray(k * 65536, (k + 1) * 65536)));
      },
    };
    const options = { localIps: ['10.0.1.25'], workers: 1 };
    const read = await analyzeFlowLogs({ paths: [local] }, options);
    const streamed = await analyzeFlowLogs({ objects, prefixes: [''] }, options);
    expect(read.records.total).toBe(120_000 + 6000 + 2000 + 2000);
    expect(read.problems).toEqual([]);
    expect(read.records).toEqual(streamed.records);
    expect([...read.conversations]).toEqual([...streamed.conversations]);
    expect(read.timeline).toEqual(streamed.timeline);
  });

  it('reports a truncated gzip file with where it was cut and keeps what came before', async () => {
    const text = [HEADER, ...Array.from({ length: 5000 }, (_, i) => RECORD(1000 + (i % 50), 1748736000 + i))].join('\n');
    const gz = gzipSync(text);
    const analysis = await analyzeText('cut.log.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    expect(analysis.records.total).toBeGreaterThan(1000);
    expect(analysis.records.total).toBeLessThan(5000);
    expect(analysis.problems).toHaveLength(1);
    expect(analysis.problems[0]).toMatchObject({ code: 'truncated-gzip', line: analysis.records.total + 2 });
    expect(analysis.problems[0]!.message).toMatch(/cut\.log\.gz is cut short or corrupt after line \d+ \(unexpected end of file\); the lines before were analysed\./);
  });

  it('reports a corrupt gzip file, keeps what came before, and reads the next file with a fresh inflater', async () => {
    const text = [HEADER, ...Array.from({ length: 20000 }, (_, i) => RECORD(1000 + (i % 50), 1748736000 + i))].join('\n');
    const gz = gzipSync(text);
    const corrupt = Buffer.from(gz);
    for (let i = Math.floor(gz.length / 2); i < Math.floor(gz.length / 2) + 64; i++) corrupt[i] = 0xff;
    const folder = join(dir, 'corrupt');
    await mkdir(folder);
    await writeFile(join(folder, 'a-corrupt.log.gz'), corrupt);
    await writeFile(join(folder, 'b-fine.log.gz'), gz);
    const analysis = await analyzeFlowLogs({ paths: [folder] }, { localIps: ['10.0.1.25'], workers: 1 });
    expect(analysis.problems).toHaveLength(1);
    expect(analysis.problems[0]!.message).toMatch(/a-corrupt\.log\.gz is cut short or corrupt after line \d+ \(.+\); the lines before were analysed\./);
    const before = analysis.problems[0]!.line! - 2; // the header, and the line cut short
    expect(before).toBeGreaterThan(0);
    expect(analysis.records.total).toBe(20000 + before);
  });

  it('always lists a CRC failure, however many bad records came before it (it was folded into "777 more problems")', async () => {
    const garbage = Array.from({ length: MAX_PROBLEMS_PER_FILE + 10 }, (_, i) => `garbage ${i}`);
    const gz = gzipSync([HEADER, ...garbage, ...Array.from({ length: 1000 }, (_, i) => RECORD(1000 + (i % 50), 1748736000 + i))].join('\n'));
    const flipped = Buffer.from(gz);
    flipped[gz.length - 8] = gz[gz.length - 8]! ^ 0xff; // the CRC-32 of the trailer: every line inflates, the check fails at the end
    const analysis = await analyzeText('crc.log.gz', flipped);
    expect(analysis.records.total).toBeLessThan(1000); // the last inflated piece goes with the failed check
    expect(analysis.problems.filter((p) => p.code === 'truncated-gzip')).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/crc\.log\.gz is cut short or corrupt after line \d+ \(incorrect data check\)/) }),
    ]);
    expect(analysis.problems.filter((p) => p.code === 'malformed-record')).toHaveLength(MAX_PROBLEMS_PER_FILE);
    expect(analysis.problemCount).toBe(MAX_PROBLEMS_PER_FILE + 10 + 1);
  });

  it('reads a header naming an unknown field with its known fields, and says which field', async () => {
    const header = 'srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status colour';
    const analysis = await analyzeText('unknown.log', `${header}\n198.51.100.7 10.0.1.25 40000 443 6 10 1000 1748736000 1748736060 ACCEPT OK blue\n`);
    expect(analysis.records.matched).toBe(1);
    expect(analysis.problems).toEqual([expect.objectContaining({ code: 'unknown-field', line: 1 })]);
    expect(analysis.problems[0]!.message).toMatch(/unknown\.log:1 names colour, not a field of flow log versions 2 to 7; the file is read with its known fields and that column is ignored\./);
  });

  it('skips a file whose header lacks a needed field, naming it', async () => {
    const analysis = await analyzeText('missing.log', 'srcaddr dstaddr srcport protocol packets bytes start action\n1 2 3 6 1 1 1 ACCEPT\n');
    expect(analysis.records.total).toBe(0);
    expect(analysis.problems[0]!.message).toMatch(/missing\.log:1 is a format without dstport; the file is skipped/);
  });

  it('reports one endless line with its file and line, keeps memory flat and reads on after it', async () => {
    const path = join(dir, 'endless.log');
    await writeFile(path, '');
    const endless = (size: number, after: string): Readable => Readable.from((function* () {
      const block = Buffer.alloc(1 << 20, 'a');
      for (let sent = 0; sent < size; sent += block.length) yield block;
      yield Buffer.from(`\n${after}\n`);
    })());
    const before = process.memoryUsage().rss;
    const objects = { async *list() { yield { key: 'endless.log', size: 0 }; }, open: async () => endless(300 << 20, RECORD(443)) };
    const analysis = await analyzeFlowLogs({ objects, prefixes: [''] }, { localIps: ['10.0.1.25'] });
    expect(process.memoryUsage().rss - before).toBeLessThan(100 << 20);
    expect(analysis.records.matched).toBe(1);
    expect(analysis.problems).toEqual([{ file: 'endless.log', line: 1, code: 'line-too-long', message: `endless.log:1 is longer than ${MAX_LINE_BYTES} bytes; skipped to the next line break.` }]);
  });

  it('reports an over-long line inside a chunk and a gzip file of one endless line', async () => {
    const long = `${RECORD(22)}\n${'x'.repeat(MAX_LINE_BYTES + 10)}\n${RECORD(23)}\n`;
    const inChunk = await analyzeText('long.log', long);
    expect(inChunk.records.total).toBe(2);
    expect(inChunk.problems.map((p) => [p.line, p.code])).toEqual([[2, 'line-too-long']]);
    const bomb = await analyzeText('bomb.log.gz', gzipSync(Buffer.alloc(64 << 20, 'b')));
    expect(bomb.records.total).toBe(0);
    expect(bomb.problems.map((p) => [p.line, p.code])).toEqual([[1, 'line-too-long']]);
  });

  it('reads stream chunks larger than the core\'s own room, and a line inside one longer than that room, as the same bytes read locally', async () => {
    // One chunk of it all: the core takes lines from other memory up to 1 MiB at a time, cut at line breaks.
    const records = Array.from({ length: 40_000 }, (_, i) => RECORD(1000 + (i % 500), 1748736000 + i));
    const body = `${records.slice(0, 20_000).join('\n')}\n${'y'.repeat((3 << 20) / 2)}\n${records.slice(20_000).join('\n')}\n`;
    const objects = {
      async *list() { yield { key: 'big.log', size: body.length }; },
      open: async () => Readable.from([Buffer.from(body)]),
    };
    const streamed = await analyzeFlowLogs({ objects, prefixes: [''] }, { localIps: ['10.0.1.25'] });
    const local = await analyzeText('big.log', body);
    expect(streamed.records).toEqual({ total: 40_000, matched: 40_000, nodata: 0, skipdata: 0 });
    expect(streamed.problems.map((p) => [p.line, p.code])).toEqual([[20_001, 'line-too-long']]);
    expect(local.problems.map((p) => [p.line, p.code])).toEqual([[20_001, 'line-too-long']]);
    expect([...streamed.conversations]).toEqual([...local.conversations]);
    expect([...streamed.conversations]).toHaveLength(500);
    expect(streamed.timeline).toEqual(local.timeline);
  });

  it('keeps at most MAX_MINUTES minutes in the timeline, counting and reporting the records beyond', { timeout: 60_000 }, async () => {
    // One conversation, one record a minute for two years and a bit: the table stays small, the series fills.
    const extra = 25;
    const total = MAX_MINUTES + extra;
    const objects = {
      async *list() { yield { key: 'years.log', size: 0 }; },
      open: async () => Readable.from((function* () {
        for (let i = 0; i < total; i += 10_000) {
          yield Buffer.from(Array.from({ length: Math.min(10_000, total - i) }, (_, k) => `${RECORD(443, 1_600_000_000 + (i + k) * 60)}\n`).join(''));
        }
      })()),
    };
    const analysis = await analyzeFlowLogs({ objects, prefixes: [''] }, { localIps: ['10.0.1.25'] });
    expect(analysis.records.matched).toBe(total);
    expect([...analysis.conversations]).toHaveLength(1);
    expect([...analysis.conversations][0]).toMatchObject({ accepted: total, inBytes: total * 1000 });
    expect(analysis.timeline.reduce((sum, bucket) => sum + bucket.accepted, 0)).toBe(MAX_MINUTES);
    expect(analysis.problems).toContainEqual(expect.objectContaining({
      file: '(all files)', code: 'more-problems',
      message: `${extra} matching records start in minutes beyond the first ${MAX_MINUTES} with traffic; they are in the conversations but not in the timeline (narrow the window).`,
    }));
  });

  it('refuses a Parquet file and goes on with the others', async () => {
    const parquet = join(dir, 'p.parquet');
    await writeFile(parquet, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(100)]));
    const good = join(dir, 'good.log');
    await writeFile(good, `${RECORD(443)}\n`);
    const analysis = await analyzeFlowLogs({ paths: [parquet, good] }, { localIps: ['10.0.1.25'] });
    expect(analysis.records.matched).toBe(1);
    expect(analysis.problems).toEqual([expect.objectContaining({ code: 'unsupported-file', file: parquet })]);
  });

  it('turns a stream that fails into a problem for that file', async () => {
    const objects = {
      async *list() {
        yield { key: 'a', size: 1 };
        yield { key: 'b', size: 1 };
      },
      open: async (key: string) => key === 'a'
        ? Readable.from((async function* () {
          yield Buffer.from(`${RECORD(22)}\n`);
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        })())
        : Readable.from([Buffer.from(`${RECORD(23)}\n`)]),
    };
    const analysis = await analyzeFlowLogs({ objects, prefixes: [''] }, { localIps: ['10.0.1.25'] });
    expect(analysis.records.matched).toBe(2);
    expect(analysis.problems).toEqual([{ file: 'a', line: 2, code: 'unreadable', message: 'a could not be read past line 1 (socket hang up).' }]);
  });
});

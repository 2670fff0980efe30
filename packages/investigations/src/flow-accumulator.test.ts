import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { directionFromPorts } from './flow-accumulator.js';
import { analyzeFlowLogs } from './flow-analysis.js';
import { FlowFindingDetector } from './flow-findings.js';
import { DEFAULT_FLOW_LOG_FORMAT, type FlowLogField } from './flow-log-format.js';
import type { FlowLogObjectSource } from './flow-log-reader.js';

const LOCAL = ['10.0.1.25', '2600:1f18:abcd::25'];
const REMOTES = ['198.51.100.7', '203.0.113.9', '10.0.1.26', '2001:db8::9', '2001:db8:1::7', ...LOCAL];
const T0 = 1_748_736_000;
/** A memory budget whose table holds TINY_TABLE_ROWS conversations (its share, 40%, over 113 bytes a row). */
const TINY_BUDGET = 1024;
const TINY_TABLE_ROWS = 3;
/** The merge's table holds as many rows as the budget's share (one table after the readers): a tiny budget's, TINY_TABLE_ROWS. */
const budgetFor = (rows: number): number => Math.ceil((rows * 113) / 0.4);

interface Rec {
  src: string;
  dst: string;
  srcport: number | '-';
  dstport: number | '-';
  protocol: number;
  packets: number | '-';
  bytes: number | '-';
  start: number;
  end: number | '-';
  action: 'ACCEPT' | 'REJECT';
  status: 'OK' | 'NODATA' | 'SKIPDATA';
  flags: number | '-';
  eni: string;
  flowDirection: 'ingress' | 'egress';
}

const record: fc.Arbitrary<Rec> = fc.record({
  src: fc.constantFrom(...REMOTES),
  dst: fc.constantFrom(...REMOTES),
  srcport: fc.oneof(fc.constantFrom(22, 443, 53, 40000, 50001, 65535, 0), fc.constant('-' as const)),
  dstport: fc.constantFrom(22, 443, 53, 40000, 50001, 0),
  protocol: fc.constantFrom(6, 17, 1),
  packets: fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.constant('-' as const)),
  bytes: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant('-' as const)),
  start: fc.integer({ min: T0, max: T0 + 7200 }),
  end: fc.oneof(fc.integer({ min: T0, max: T0 + 7300 }), fc.constant('-' as const)),
  action: fc.constantFrom('ACCEPT', 'REJECT'),
  status: fc.constantFrom('OK', 'OK', 'OK', 'OK', 'NODATA', 'SKIPDATA'),
  flags: fc.oneof(fc.constantFrom(0, 1, 2, 3, 18, 19, 4), fc.constant('-' as const)),
  eni: fc.constantFrom('eni-0a1b2c3d4e5f60718', 'eni-99999999'),
  flowDirection: fc.constantFrom('ingress', 'egress'),
});

function value(r: Rec, field: FlowLogField): string {
  const ok = r.status === 'OK';
  switch (field) {
    case 'version': return '5';
    case 'account-id': return '123456789012';
    case 'interface-id': return r.eni;
    case 'srcaddr': return ok ? r.src : '-';
    case 'dstaddr': return ok ? r.dst : '-';
    case 'srcport': return ok ? String(r.srcport) : '-';
    case 'dstport': return ok ? String(r.dstport) : '-';
    case 'protocol': return ok ? String(r.protocol) : '-';
    case 'packets': return ok ? String(r.packets) : '-';
    case 'bytes': return ok ? String(r.bytes) : '-';
    case 'start': return String(r.start);
    case 'end': return String(r.end);
    case 'action': return ok ? r.action : '-';
    case 'log-status': return r.status;
    case 'tcp-flags': return ok ? String(r.flags) : '-';
    case 'flow-direction': return ok ? r.flowDirection : '-';
    default: return 'x-1';
  }
}

type Line = { kind: 'record'; rec: Rec } | { kind: 'malformed'; text: string } | { kind: 'blank' };

/** What the analysis should make of the lines: computed the slow, obvious way. */
function reference(lines: readonly Line[], fields: readonly FlowLogField[], options: { localIps: string[]; eni?: string; from?: number; to?: number }) {
  const counts = { total: 0, matched: 0, nodata: 0, skipdata: 0 };
  const conversations = new Map<string, { inBytes: number; outBytes: number; inPackets: number; outPackets: number; accepted: number; rejected: number; first: number; last: number; remote: number; local: number }>();
  let malformed = 0;
  for (const line of lines) {
    if (line.kind === 'blank') continue;
    if (line.kind === 'malformed') {
      malformed++;
      continue;
    }
    const r = line.rec;
    counts.total++;
    if (r.status === 'NODATA') counts.nodata++;
    if (r.status === 'SKIPDATA') counts.skipdata++;
    if (r.status !== 'OK') continue;
    if (options.from !== undefined && r.start < options.from) continue;
    if (options.to !== undefined && r.start >= options.to) continue;
    if (options.eni !== undefined && r.eni !== options.eni) continue;
    let outgoing: boolean;
    if (options.localIps.length > 0) {
      outgoing = options.localIps.includes(r.src);
      if (outgoing === options.localIps.includes(r.dst)) continue;
    } else {
      outgoing = r.flowDirection === 'egress';
    }
    counts.matched++;
    const sp = r.srcport === '-' ? 0 : r.srcport;
    const dp = r.dstport === '-' ? 0 : r.dstport;
    const [remote, lport, rport] = outgoing ? [r.dst, sp, dp] : [r.src, dp, sp];
    const key = `${remote} ${lport} ${rport} ${r.protocol}`;
    const c = conversations.get(key) ?? { inBytes: 0, outBytes: 0, inPackets: 0, outPackets: 0, accepted: 0, rejected: 0, first: Infinity, last: -Infinity, remote: 0, local: 0 };
    conversations.set(key, c);
    const bytes = r.bytes === '-' ? 0 : r.bytes;
    const packets = r.packets === '-' ? 0 : r.packets;
    if (outgoing) {
      c.outBytes += bytes;
      c.outPackets += packets;
    } else {
      c.inBytes += bytes;
      c.inPackets += packets;
    }
    if (r.action === 'ACCEPT') c.accepted++;
    else c.rejected++;
    c.first = Math.min(c.first, r.start);
    c.last = Math.max(c.last, r.end === '-' || !fields.includes('end') ? r.start : r.end);
    if (fields.includes('tcp-flags') && r.protocol === 6 && r.flags !== '-') {
      if ((r.flags & 18) === 18) c[outgoing ? 'remote' : 'local']++;
      else if ((r.flags & 2) !== 0) c[outgoing ? 'local' : 'remote']++;
    }
  }
  const rows = [...conversations].map(([key, c]) => {
    const [remoteIp, lport, rport, protocol] = key.split(' ');
    const direction = c.remote > 0 && c.local === 0 ? 'inbound' : c.local > 0 && c.remote === 0 ? 'outbound' : directionFromPorts(Number(lport), Number(rport));
    return `${remoteIp} ${lport} ${rport} ${protocol} ${direction} in=${c.inBytes}/${c.inPackets} out=${c.outBytes}/${c.outPackets} a=${c.accepted} r=${c.rejected} ${c.first}-${c.last}`;
  });
  return { counts, rows: rows.sort(), malformed };
}

/** An S3-like source holding the files in memory and handing them out in the given chunk sizes. */
function memorySource(files: Map<string, Buffer>, chunkSizes: readonly number[]): FlowLogObjectSource {
  return {
    async *list(prefix) {
      for (const [key, body] of files) if (key.startsWith(prefix)) yield { key, size: body.length };
    },
    async open(key) {
      const body = files.get(key)!;
      const chunks: Buffer[] = [];
      for (let at = 0, k = 0; at < body.length; k++) {
        const size = chunkSizes[k % chunkSizes.length]!;
        chunks.push(body.subarray(at, at + size));
        at += size;
      }
      return Readable.from(chunks);
    },
  };
}

const format: fc.Arbitrary<{ fields: readonly FlowLogField[]; header: boolean }> = fc.oneof(
  fc.record({ fields: fc.constant([...DEFAULT_FLOW_LOG_FORMAT]), header: fc.boolean() }),
  fc.record({
    fields: fc.shuffledSubarray(['interface-id', 'tcp-flags', 'flow-direction', 'end', 'log-status', 'version'] as FlowLogField[])
      .chain((extra) => fc.shuffledSubarray([...extra, 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'action'] as FlowLogField[], { minLength: 9 + extra.length })),
    header: fc.constant(true),
  }),
);

/**
 * Records of one remote address (of REMOTES) with many conversations, far more than a tiny
 * budget's merge table holds: its partition is split by conversation on every spilling run.
 */
const dominant: fc.Arbitrary<Line[]> = fc.array(fc.record({
  inbound: fc.boolean(),
  localPort: fc.oneof(fc.constant(22), fc.integer({ min: 0, max: 65535 })),
  remotePort: fc.integer({ min: 0, max: 65535 }),
  protocol: fc.constantFrom(6, 17),
  bytes: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 2 ** 31 })),
  start: fc.integer({ min: T0, max: T0 + 7200 }),
  duration: fc.integer({ min: 0, max: 200 }),
  action: fc.constantFrom('ACCEPT', 'ACCEPT', 'REJECT'),
  flags: fc.oneof(fc.constantFrom(2, 18), fc.constant('-' as const)),
}).map(({ inbound, localPort, remotePort, protocol, bytes, start, duration, action, flags }): Line => {
  const remote = '203.0.113.9';
  const local = LOCAL[0]!;
  return {
    kind: 'record',
    rec: {
      src: inbound ? remote : local, dst: inbound ? local : remote, srcport: inbound ? remotePort : localPort, dstport: inbound ? localPort : remotePort,
      protocol, packets: 1, bytes, start, end: start + duration, action, status: 'OK', flags, eni: 'eni-0a1b2c3d4e5f60718', flowDirection: inbound ? 'ingress' : 'egress',
    },
  };
}), { minLength: 10, maxLength: 80 });

// Without a log-status column every record is an OK record.
const lines = (fields: readonly FlowLogField[]): fc.Arbitrary<Line[]> => fc.array(fc.oneof(
  { weight: 20, arbitrary: record.map((rec): Line => ({ kind: 'record', rec: fields.includes('log-status') ? rec : { ...rec, status: 'OK' } })) },
  { weight: 1, arbitrary: record.map((rec): Line => ({ kind: 'malformed', text: fields.slice(1).map((f) => value(rec, f)).join(' ') })) },
  { weight: 1, arbitrary: record.map((rec): Line => ({ kind: 'malformed', text: fields.map((f) => (f === 'srcport' ? '4x3' : value(rec, f))).join(' ') })) },
  { weight: 1, arbitrary: fc.constant<Line>({ kind: 'blank' }) },
), { minLength: 10, maxLength: 300 });

function text(fields: readonly FlowLogField[], header: boolean, body: readonly Line[], crlf: boolean): string {
  const eol = crlf ? '\r\n' : '\n';
  const rows = body.map((line) => (line.kind === 'record' ? fields.map((f) => value(line.rec, f)).join(' ') : line.kind === 'malformed' ? line.text : ''));
  return (header ? fields.join(' ') + eol : '') + rows.map((row) => row + eol).join('');
}

describe('the flow-log reader and accumulator against a reference', () => {
  it('total the same records, conversations and problems whatever the format, chunking, compression and memory budget', async () => {
    let spilledRuns = 0;
    let splitRuns = 0;
    const split = vi.spyOn(FlowFindingDetector.prototype, 'endPieces');
    await fc.assert(fc.asyncProperty(
      format.chain((f) => fc.record({
        format: fc.constant(f),
        files: fc.tuple(fc.array(lines(f.fields), { minLength: 1, maxLength: 3 }), dominant).map(([files, many]) => [[...files[0]!, ...many], ...files.slice(1)]),
        chunks: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        gzip: fc.boolean(),
        crlf: fc.boolean(),
        useLocalIps: fc.boolean(),
        eni: fc.option(fc.constant('eni-0a1b2c3d4e5f60718'), { nil: undefined }),
        window: fc.option(fc.tuple(fc.integer({ min: T0, max: T0 + 3600 }), fc.integer({ min: 1, max: 7200 })), { nil: undefined }),
      })),
      async ({ format: { fields, header }, files, chunks, gzip, crlf, useLocalIps, eni, window }) => {
        const localIps = useLocalIps || !fields.includes('flow-direction') ? LOCAL : [];
        const usable = !(eni !== undefined && !fields.includes('interface-id'));
        const store = new Map(files.map((body, i) => {
          const raw = Buffer.from(text(fields, header, body, crlf));
          return [`f${i}.log`, gzip ? gzipSync(raw) : raw];
        }));
        const from = window === undefined ? undefined : window[0];
        const to = window === undefined ? undefined : window[0] + window[1];
        const options = { localIps, eni, ...(window === undefined ? {} : { from: new Date(from! * 1000), to: new Date(to! * 1000) }) };
        const expected = reference(usable ? files.flat() : [], fields, { localIps, eni, from, to });
        // Once within the default budget, once with a budget so small (a table of 14 rows) that the spill path runs.
        const inMemory = await analyzeFlowLogs({ objects: memorySource(store, chunks), prefixes: [''] }, options);
        split.mockClear();
        const spilling = await analyzeFlowLogs({ objects: memorySource(store, chunks), prefixes: [''] }, { ...options, memory: TINY_BUDGET });
        if (split.mock.calls.length > 0) splitRuns++;
        for (const analysis of [inMemory, spilling]) {
          const rows = [...analysis.conversations].map((c) =>
            `${c.remoteIp} ${c.localPort} ${c.remotePort} ${c.protocol} ${c.direction} in=${c.inBytes}/${c.inPackets} out=${c.outBytes}/${c.outPackets} a=${c.accepted} r=${c.rejected} ${Date.parse(c.firstSeen) / 1000}-${Date.parse(c.lastSeen) / 1000}`).sort();
          expect(analysis.records).toEqual(expected.counts);
          expect(rows).toEqual(expected.rows);
          expect(analysis.problemCount).toBe(usable ? expected.malformed : files.length);
          expect(analysis.files).toBe(files.length);
        }
        expect(spilling.spilled).toBe(expected.rows.length > TINY_TABLE_ROWS);
        if (spilling.spilled) spilledRuns++;
        // The same conversations in the same order (the runs' merge keeps the in-memory sort), and the same findings.
        expect([...spilling.conversations].map((c) => JSON.stringify(c))).toEqual([...inMemory.conversations].map((c) => JSON.stringify(c)));
        expect(spilling.findings).toEqual(inMemory.findings);
        for (const analysis of [inMemory, spilling]) analysis.dispose();
      },
    ), { numRuns: 150 });
    split.mockRestore();
    // Examples with more conversations than the tiny table holds ran the spill path, and those
    // with an address of more than the tiny merge table holds the split by conversation, on every run of this test.
    expect(spilledRuns).toBeGreaterThan(10);
    expect(splitRuns).toBeGreaterThan(10);
  }, 300_000);

  it('spill from two reader threads, IPv6 addresses numbered apart in each, into the same rows, and leave no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-spill-'));
    const spillRoot = await mkdtemp(join(tmpdir(), 'flow-spill-tmp-'));
    const previous = process.env.TMPDIR;
    try {
      // Thousands of conversations over IPv4 and IPv6 remotes (each IPv6 one in two spellings), across 8 files.
      const sample = Array.from({ length: 8 }, (_, f) => Array.from({ length: 400 }, (_, k): Line => {
        const i = f * 400 + k;
        const remote = i % 3 === 0 ? (i % 2 === 0 ? `2001:db8::${(i % 97).toString(16)}` : `2001:0db8:0:0:0:0:0:${(i % 97).toString(16)}`) : `198.51.${i % 256}.${(i * 7) % 251}`;
        const local = remote.includes(':') ? LOCAL[1]! : LOCAL[0]!;
        const outgoing = i % 5 === 0;
        return {
          kind: 'record',
          rec: {
            src: outgoing ? local : remote, dst: outgoing ? remote : local, srcport: 40000 + (i % 13), dstport: [22, 443, 53][i % 3]!, protocol: [6, 17][i % 2]!,
            packets: 1 + (i % 9), bytes: 100 * (i % 31), start: T0 + i, end: T0 + i + 5, action: i % 4 === 0 ? 'REJECT' : 'ACCEPT', status: 'OK', flags: '-',
            eni: 'eni-0a1b2c3d4e5f60718', flowDirection: outgoing ? 'egress' : 'ingress',
          },
        };
      }));
      await Promise.all(sample.map((body, i) => writeFile(join(dir, `f${i}.log.gz`), gzipSync(text(DEFAULT_FLOW_LOG_FORMAT, true, body, false)))));
      const expected = reference(sample.flat(), DEFAULT_FLOW_LOG_FORMAT, { localIps: LOCAL });
      expect(expected.rows.length).toBeGreaterThan(TINY_TABLE_ROWS * 4);
      process.env.TMPDIR = spillRoot; // os.tmpdir() reads it on every call
      const inMemory = await analyzeFlowLogs({ paths: [dir] }, { localIps: LOCAL, workers: 2 });
      const spilling = await analyzeFlowLogs({ paths: [dir] }, { localIps: LOCAL, workers: 2, memory: TINY_BUDGET });
      expect(spilling.spilled).toBe(true);
      // (tsx, which runs the reader thread from source in tests, keeps a folder there too.)
      const spillFolders = async () => (await readdir(spillRoot)).filter((name) => name.startsWith('orgshield-flows-'));
      expect(await spillFolders()).toHaveLength(1); // the spilling analysis's folder, until disposed
      expect(spilling.records).toEqual(expected.counts);
      // As JSON lines: a difference is then shown as the lines that differ, quickly.
      const asLines = (list: Iterable<unknown>) => [...list].map((c) => JSON.stringify(c));
      const inMemoryLines = asLines(inMemory.conversations);
      expect(inMemoryLines).toHaveLength(expected.rows.length);
      expect(asLines(spilling.conversations)).toEqual(inMemoryLines);
      expect(spilling.conversations.top(3)).toEqual([...inMemory.conversations].slice(0, 3));
      spilling.dispose();
      inMemory.dispose();
      expect(await spillFolders()).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      await rm(dir, { recursive: true, force: true });
      await rm(spillRoot, { recursive: true, force: true });
    }
  });
  it('merge one remote address with more conversations than the merge table holds exactly: the same rows and findings (its port scan, brute force and transfer) as in memory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-giant-'));
    const split = vi.spyOn(FlowFindingDetector.prototype, 'endPieces');
    try {
      const giant = '203.0.113.9';
      const local = LOCAL[0]!;
      const rec = (r: Partial<Rec> & Pick<Rec, 'src' | 'dst' | 'srcport' | 'dstport' | 'start'>): Line => ({
        kind: 'record',
        rec: { protocol: 6, packets: 3, bytes: 180, end: r.start + 30, action: 'ACCEPT', status: 'OK', flags: '-', eni: 'eni-0a1b2c3d4e5f60718', flowDirection: 'ingress', ...r },
      });
      const body: Line[] = [];
      // 6,000 clients' connections from the giant address to port 443 over two hours, each logged in two records...
      for (let k = 0; k < 6000; k++) for (const half of [0, 1]) body.push(rec({ src: giant, dst: local, srcport: 1024 + k, dstport: 443, start: T0 + k + half * 7, bytes: 500 + k }));
      // ...a scan of 40 ports (rejected), 30 logins to SSH, and 120 MiB sent to it over 60 connections a minute apart;
      for (let p = 0; p < 40; p++) body.push(rec({ src: giant, dst: local, srcport: 61000, dstport: 2000 + p, start: T0 + 100 + p, action: 'REJECT', bytes: 60 }));
      for (let k = 0; k < 30; k++) body.push(rec({ src: giant, dst: local, srcport: 50000 + k, dstport: 22, start: T0 + 200 + k * 5, bytes: 4000 + (k % 7) * 10 }));
      for (let k = 0; k < 60; k++) body.push(rec({ src: local, dst: giant, srcport: 45000 + k, dstport: 8443 + (k % 12), start: T0 + 3600 + k * 60, bytes: 2 * 1024 ** 2, flowDirection: 'egress' }));
      // ...and 300 other addresses once each.
      for (let k = 0; k < 300; k++) body.push(rec({ src: `198.51.${k >> 8}.${k & 255}`, dst: local, srcport: 40000 + k, dstport: 443, start: T0 + k * 20 }));
      const files = [body.filter((_, i) => i % 2 === 0), body.filter((_, i) => i % 2 === 1)];
      await Promise.all(files.map((lines, i) => writeFile(join(dir, `f${i}.log.gz`), gzipSync(text(DEFAULT_FLOW_LOG_FORMAT, true, lines, false)))));
      const expected = reference(body, DEFAULT_FLOW_LOG_FORMAT, { localIps: [local] });
      expect(expected.rows.filter((row) => row.startsWith(`${giant} `)).length).toBe(6000 + 40 + 30 + 60);

      const inMemory = await analyzeFlowLogs({ paths: [dir] }, { localIps: [local] });
      expect(inMemory.spilled).toBe(false);
      expect(split).not.toHaveBeenCalled();
      // A budget whose merge table holds 500 conversations: the giant address's 6,130 are merged in pieces.
      for (const workers of [1, 2]) {
        const spilling = await analyzeFlowLogs({ paths: [dir] }, { localIps: [local], memory: budgetFor(500), workers });
        expect(spilling.spilled).toBe(true);
        expect(split).toHaveBeenCalled();
        split.mockClear();
        const rows = [...spilling.conversations].map((c) =>
          `${c.remoteIp} ${c.localPort} ${c.remotePort} ${c.protocol} ${c.direction} in=${c.inBytes}/${c.inPackets} out=${c.outBytes}/${c.outPackets} a=${c.accepted} r=${c.rejected} ${Date.parse(c.firstSeen) / 1000}-${Date.parse(c.lastSeen) / 1000}`).sort();
        expect(rows).toEqual(expected.rows);
        expect([...spilling.conversations].map((c) => JSON.stringify(c))).toEqual([...inMemory.conversations].map((c) => JSON.stringify(c)));
        expect(spilling.findings).toEqual(inMemory.findings);
        spilling.dispose();
      }
      const kinds = inMemory.findings.filter((f) => f.remoteIp === giant).map((f) => [f.kind, f.evidence.metrics]);
      expect(kinds).toEqual([
        ['port-scan', expect.objectContaining({ localPorts: 42, rejected: 40 })], // the 40 scanned, 443 and 22,
        ['brute-force', expect.objectContaining({ connections: 30 })],
        ['exfiltration', expect.objectContaining({ outBytes: 120 * 1024 ** 2, conversations: 60 })],
      ]);
      inMemory.dispose();
    } finally {
      split.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

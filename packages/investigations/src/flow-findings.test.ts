import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConversationTable } from './flow-conversation-types.js';
import {
  BRUTE_FORCE_MIN_CONNECTIONS, type ConversationFacts, DDOS_MIN_NEW_REMOTE_IPS, DEFAULT_FLOW_THRESHOLDS, detectBruteForce, detectDdos, detectExfiltration, detectFindings,
  detectPortScans, EXFILTRATION_ASYMMETRY, factsTable, FlowFindingDetector, EXFILTRATION_BASELINE_FACTOR, EXFILTRATION_MIN_BYTES, flowThresholdsSchema,
  medianOutboundPerMinute, PORT_SCAN_MIN_LOCAL_PORTS, PRIVATE_RANGES,
} from './flow-findings.js';
import { isMarkedConversation } from './flow-finding-mark.js';
import { insideRanges } from './flow-ip.js';
import type { TimelineBucket } from './flow-timeline.js';

const T = 1748736000;
const conversation = (over: Partial<ConversationFacts>): ConversationFacts => ({
  remoteIp: '198.51.100.7', localPort: 443, remotePort: 50000, protocol: 6, direction: 'inbound', inBytes: 1000, outBytes: 1000,
  inPackets: 4, outPackets: 4, acceptedOutBytes: 1000, accepted: 2, rejected: 0, firstSeenAt: T, lastSeenAt: T + 60, ...over,
});
const buckets = (n: number): TimelineBucket[] => Array.from({ length: n }, (_, i) => ({
  start: new Date((T + i * 300) * 1000).toISOString(), end: new Date((T + (i + 1) * 300) * 1000).toISOString(),
  inBytes: 0, outBytes: 0, accepted: 0, rejected: 0, baselineBytes: null, spike: false,
}));

describe('thresholds', () => {
  it('calls a port scan from PORT_SCAN_MIN_LOCAL_PORTS probed ports, counting refused probes but not outbound calls', () => {
    const probes = (n: number) => Array.from({ length: n }, (_, i) => conversation({ localPort: 1000 + i, remotePort: 500, direction: 'outbound', accepted: 0, rejected: 1 }));
    expect(detectPortScans(probes(PORT_SCAN_MIN_LOCAL_PORTS - 1))).toEqual([]);
    expect(detectPortScans(probes(PORT_SCAN_MIN_LOCAL_PORTS))).toHaveLength(1);
    const calls = Array.from({ length: 50 }, (_, i) => conversation({ localPort: 40000 + i, remotePort: 443, direction: 'outbound' }));
    expect(detectPortScans(calls)).toEqual([]);
  });

  it('calls brute force from enough short accepted connections to an admin port, not from long sessions', () => {
    const attempts = (n: number, over: Partial<ConversationFacts> = {}) => Array.from({ length: n }, (_, i) => conversation({ localPort: 22, remotePort: 40000 + i, ...over }));
    expect(detectBruteForce(attempts(BRUTE_FORCE_MIN_CONNECTIONS - 1))).toEqual([]);
    expect(detectBruteForce(attempts(BRUTE_FORCE_MIN_CONNECTIONS))).toEqual([expect.objectContaining({ kind: 'brute-force', localPort: 22 })]);
    expect(detectBruteForce(attempts(50, { lastSeenAt: T + 3600 }))).toEqual([]);
    expect(detectBruteForce(attempts(50, { localPort: 8080 }))).toEqual([]);
    expect(detectBruteForce(attempts(50, { accepted: 0, rejected: 1 }))).toEqual([]);
  });

  it('calls a DDoS when a bucket brings many new remote IPs against the port\'s baseline, never in the first buckets', () => {
    const flood = (bucket: number, n: number) => Array.from({ length: n }, (_, i) => conversation({ remoteIp: `198.18.${i >> 8}.${i & 255}`, firstSeenAt: T + bucket * 300 + 10 }));
    expect(detectDdos(flood(8, DDOS_MIN_NEW_REMOTE_IPS), buckets(12), 300)).toEqual([expect.objectContaining({ kind: 'ddos', localPort: 443 })]);
    expect(detectDdos(flood(8, DDOS_MIN_NEW_REMOTE_IPS - 1), buckets(12), 300)).toEqual([]);
    expect(detectDdos(flood(1, 5000), buckets(12), 300)).toEqual([]);
  });

  describe('transfers out: floor, asymmetry, the instance\'s baseline, recurrence and where to', () => {
    const quiet = { usualOutboundPerMinute: () => 0, internal: insideRanges(PRIVATE_RANGES) };
    const usual = (perMinute: number) => ({ ...quiet, usualOutboundPerMinute: () => perMinute });
    // 30 minutes of upload from one ephemeral port, starting `day` days in.
    const upload = (bytes: number, over: Partial<ConversationFacts> = {}, day = 0) => conversation({
      remotePort: 443, localPort: 50000 + day, direction: 'outbound', outBytes: bytes, acceptedOutBytes: bytes, inBytes: 20000,
      firstSeenAt: T + day * 86400, lastSeenAt: T + day * 86400 + 1800, ...over,
    });

    it('needs the floor: EXFILTRATION_MIN_BYTES', () => {
      expect(detectExfiltration([upload(EXFILTRATION_MIN_BYTES - 1)], quiet)).toEqual([]);
      const [found] = detectExfiltration([upload(EXFILTRATION_MIN_BYTES)], quiet);
      expect(found).toMatchObject({ kind: 'exfiltration', remoteIp: '198.51.100.7', evidence: { metrics: { minBytes: EXFILTRATION_MIN_BYTES, minutes: 30 } } });
    });

    it('needs asymmetry: a transfer that got as much back (a sync, a session) is not one', () => {
      const bytes = 500 * 1024 ** 2;
      expect(detectExfiltration([upload(bytes, { inBytes: bytes / EXFILTRATION_ASYMMETRY + 1 })], quiet)).toEqual([]);
      expect(detectExfiltration([upload(bytes, { inBytes: bytes / EXFILTRATION_ASYMMETRY })], quiet)).toHaveLength(1);
    });

    it('is judged against what the instance usually sends in as long', () => {
      const bytes = 500 * 1024 ** 2;
      const perMinute = bytes / 30 / EXFILTRATION_BASELINE_FACTOR;
      expect(detectExfiltration([upload(bytes)], usual(perMinute * 1.01))).toEqual([]);
      const [found] = detectExfiltration([upload(bytes)], usual(perMinute * 0.99));
      expect(found!.evidence.metrics).toMatchObject({ overBaseline: EXFILTRATION_BASELINE_FACTOR, baselineFactor: EXFILTRATION_BASELINE_FACTOR });
      expect(found!.evidence.summary).toMatch(new RegExp(`^500\\.0 MiB sent to 198\\.51\\.100\\.7 in 30 minutes \\(accepted\\): ${EXFILTRATION_BASELINE_FACTOR}\\.0x what the instance usually sends in as long .*; over ${EXFILTRATION_BASELINE_FACTOR}x\\)`));
    });

    it('leaves out what the address gets every day (a nightly backup), not a one-off', () => {
      const nightly = Array.from({ length: 7 }, (_, day) => upload(1024 ** 3, {}, day));
      expect(detectExfiltration(nightly, quiet)).toEqual([]);
      // The same bytes on one persistent connection across the week: one long transfer, judged over its span.
      expect(detectExfiltration([upload(7 * 1024 ** 3, { lastSeenAt: T + 6 * 86400 + 1800 })], usual(1024 ** 2))).toEqual([]);
      // Twice is not yet a habit; a dump to another address in the same week is found.
      expect(detectExfiltration(nightly.slice(0, 2), quiet)).toHaveLength(2);
      expect(detectExfiltration([...nightly, upload(1024 ** 3, { remoteIp: '203.0.113.99' }, 3)], quiet).map((f) => f.remoteIp)).toEqual(['203.0.113.99']);
    });

    it('chains one address\'s parallel connections into one transfer', () => {
      const parts = Array.from({ length: 10 }, (_, i) => upload(15 * 1024 ** 2, { localPort: 40000 + i, firstSeenAt: T + i * 60 }));
      expect(detectExfiltration(parts, quiet)).toEqual([expect.objectContaining({ evidence: expect.objectContaining({ metrics: expect.objectContaining({ conversations: 10 }) }) })]);
    });

    it('calls a transfer inside the VPC internal-transfer', () => {
      const inside = upload(2 * 1024 ** 3, { remoteIp: '10.0.7.9' });
      expect(detectExfiltration([inside], quiet)).toEqual([expect.objectContaining({ kind: 'internal-transfer', remoteIp: '10.0.7.9' })]);
      expect(detectExfiltration([inside], { ...quiet, internal: insideRanges(['10.1.0.0/16']) })).toEqual([expect.objectContaining({ kind: 'exfiltration' })]);
      expect(detectExfiltration([upload(2 * 1024 ** 3, { remoteIp: 'fd00::9' })], quiet)[0]!.kind).toBe('internal-transfer');
    });
  });

  it('takes the median minute out, quiet minutes as 0', () => {
    expect(medianOutboundPerMinute({ minutes: [0, 1, 2], outBytes: [5, 1e9, 7] }, 0, 5 * 60)).toBe(5);
    expect(medianOutboundPerMinute({ minutes: [0, 1, 2, 3], outBytes: [4, 6, 1e9, 9] }, 0, 4 * 60)).toBe(7.5);
    expect(medianOutboundPerMinute({ minutes: [], outBytes: [] }, 0, 0)).toBe(0);
    // A transfer that fills most of a short window is taken out before the median: it is not its own baseline.
    const window = { minutes: [0, 1, 2, 3, 4], outBytes: [5, 1005, 1006, 1007, 6] };
    expect(medianOutboundPerMinute(window, 0, 5 * 60)).toBe(1005);
    expect(medianOutboundPerMinute(window, 0, 5 * 60, { first: 60, last: 3 * 60 + 59, sent: 3000 })).toBe(6);
  });
});

describe('thresholds from an options file', () => {
  it('defaults every threshold to its named constant, overrides any, refuses unknown fields and bad values', () => {
    expect(DEFAULT_FLOW_THRESHOLDS.portScan.minLocalPorts).toBe(PORT_SCAN_MIN_LOCAL_PORTS);
    const parsed = flowThresholdsSchema.parse({ exfiltration: { minBytes: 1000 } });
    expect(parsed.exfiltration).toEqual({ ...DEFAULT_FLOW_THRESHOLDS.exfiltration, minBytes: 1000 });
    expect(parsed.ddos).toEqual(DEFAULT_FLOW_THRESHOLDS.ddos);
    expect(flowThresholdsSchema.safeParse({ exfiltration: { minbytes: 1 } }).success).toBe(false);
    expect(flowThresholdsSchema.safeParse({ exfiltration: { asymmetry: 0 } }).error?.issues[0]?.message).toBe('must be more than 0, not 0');
    expect(flowThresholdsSchema.safeParse({ bruteForce: { ports: [70000] } }).success).toBe(false);
  });

  it('uses what it is given: a lower port-scan threshold finds a smaller scan, and the evidence names it', () => {
    const probes = Array.from({ length: 5 }, (_, i) => conversation({ localPort: 1000 + i, remotePort: 500, direction: 'outbound', accepted: 0, rejected: 1 }));
    expect(detectPortScans(probes)).toEqual([]);
    const t = flowThresholdsSchema.parse({ portScan: { minLocalPorts: 5 } });
    expect(detectPortScans(probes, t)[0]!.evidence.metrics).toMatchObject({ localPorts: 5, minLocalPorts: 5 });
  });
});

describe('marks from a GuardDuty finding', () => {
  it('needs both the IP and a port when both are given', () => {
    const mark = { ips: ['198.51.100.7'], ports: [9001] };
    expect(isMarkedConversation(mark, '198.51.100.7', 50000, 9001)).toBe(true);
    expect(isMarkedConversation(mark, '198.51.100.7', 50000, 443)).toBe(false);
    expect(isMarkedConversation({ ips: ['198.51.100.7'], ports: [] }, '198.51.100.7', 50000, 443)).toBe(true);
    expect(isMarkedConversation(undefined, '198.51.100.7', 50000, 9001)).toBe(false);
  });

  it('marks findings about the finding\'s IP or port', () => {
    const big = conversation({ remotePort: 9001, direction: 'outbound', outBytes: EXFILTRATION_MIN_BYTES, acceptedOutBytes: EXFILTRATION_MIN_BYTES });
    const [finding] = detectFindings([big], buckets(1), 300, { mark: { ips: ['198.51.100.7'], ports: [9001] } });
    expect(finding).toMatchObject({ kind: 'exfiltration', fromFinding: true });
    expect(detectFindings([big], buckets(1), 300, { mark: { ips: ['203.0.113.1'], ports: [] } })[0]!.fromFinding).toBeUndefined();
    // A DDoS is about a local port: marked when the finding names that port.
    const flood = Array.from({ length: DDOS_MIN_NEW_REMOTE_IPS }, (_, i) => conversation({ remoteIp: `198.18.${i >> 8}.${i & 255}`, firstSeenAt: T + 8 * 300 + 10 }));
    expect(detectFindings(flood, buckets(12), 300, { mark: { ips: [], ports: [443] } })).toEqual([expect.objectContaining({ kind: 'ddos', localPort: 443, fromFinding: true })]);
    expect(detectFindings(flood, buckets(12), 300, { mark: { ips: [], ports: [80] } })[0]!.fromFinding).toBeUndefined();
  });
});

describe('an address handed in pieces (split by conversation)', () => {
  /** Rows i of `table` (in that order) as a table: its address numbers, so the same across pieces. */
  const view = (table: ConversationTable, rows: readonly number[]): ConversationTable => ({
    length: rows.length,
    address: (i) => table.address(rows[i]!), addressText: (a) => table.addressText(a), localPort: (i) => table.localPort(rows[i]!),
    protocol: (i) => table.protocol(rows[i]!), direction: (i) => table.direction(rows[i]!), inBytes: (i) => table.inBytes(rows[i]!),
    outBytes: (i) => table.outBytes(rows[i]!), acceptedOutBytes: (i) => table.acceptedOutBytes(rows[i]!), accepted: (i) => table.accepted(rows[i]!),
    rejected: (i) => table.rejected(rows[i]!), firstSeenAt: (i) => table.firstSeenAt(rows[i]!), lastSeenAt: (i) => table.lastSeenAt(rows[i]!),
    facts: (i) => table.facts(rows[i]!),
  });
  const facts = fc.record({
    remoteIp: fc.constantFrom('198.51.100.7', '203.0.113.9', '10.0.7.9'),
    localPort: fc.oneof(fc.constant(22), fc.integer({ min: 1, max: 40 })),
    remotePort: fc.integer({ min: 1, max: 65535 }),
    protocol: fc.constantFrom(6, 17),
    direction: fc.constantFrom('inbound', 'outbound', 'unknown'),
    inBytes: fc.integer({ min: 0, max: 70_000 }),
    outBytes: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 8 * 1024 ** 2 })),
    accepted: fc.integer({ min: 0, max: 3 }),
    rejected: fc.integer({ min: 0, max: 2 }),
    firstSeenAt: fc.integer({ min: T, max: T + 4 * 3600 }),
    duration: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 1200 })),
  }).map(({ duration, ...c }): ConversationFacts => ({
    ...c, inPackets: 1, outPackets: 1, acceptedOutBytes: c.accepted > 0 ? c.outBytes : 0, lastSeenAt: c.firstSeenAt + duration,
  }));
  // Low thresholds, so scans, brute force and transfers come up among a few hundred conversations.
  const thresholds = flowThresholdsSchema.parse({ portScan: { minLocalPorts: 5 }, bruteForce: { minConnections: 3 }, exfiltration: { minBytes: 4 * 1024 ** 2, gapSeconds: 300 } });
  const transfers = { usualOutboundPerMinute: () => 0, internal: insideRanges(PRIVATE_RANGES) };

  it('gives the findings of one table, whatever the pieces', () => {
    const kinds = new Map<string, number>();
    fc.assert(fc.property(
      fc.uniqueArray(facts, { minLength: 1, maxLength: 300, size: 'max', selector: (c) => `${c.remoteIp} ${c.localPort} ${c.remotePort} ${c.protocol}` }),
      fc.array(fc.nat(), { minLength: 300, maxLength: 300 }),
      fc.integer({ min: 2, max: 6 }),
      (conversations, draws, pieces) => {
        // In the table's order: bytes (more first), then address and key.
        const key = (c: ConversationFacts) => c.localPort * 16777216 + c.remotePort * 256 + c.protocol;
        const all = [...conversations].sort((a, b) => b.inBytes + b.outBytes - a.inBytes - a.outBytes || a.remoteIp.localeCompare(b.remoteIp) || key(a) - key(b));
        const whole = new FlowFindingDetector([], 60, { thresholds, transfers });
        whole.add(factsTable(all));
        const table = factsTable(all);
        const split = new FlowFindingDetector([], 60, { thresholds, transfers });
        for (let p = 0; p < pieces; p++) split.addPiece(view(table, all.map((_, i) => i).filter((i) => draws[i]! % pieces === p)));
        split.endPieces();
        const found = whole.findings();
        expect(split.findings()).toEqual(found);
        for (const kind of new Set(found.map((f) => f.kind))) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      },
    ), { numRuns: 300 });
    // Each per-address kind came up in many of the examples (with more than one of them at once, often).
    for (const kind of ['port-scan', 'brute-force', 'exfiltration', 'internal-transfer']) expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(5);
  });
});

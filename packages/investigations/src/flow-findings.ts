/**
 * What the conversations and the timeline say happened: port scans, brute force, DDoS,
 * exfiltration, internal transfers and traffic spikes, each with the evidence that decided it.
 * Every threshold is a named constant here (the default) and a field of flowThresholdsSchema
 * (an options file overrides it); the README lists them.
 */
import { z } from 'zod';
import type { ConversationFacts, ConversationTable, FlowDirection, PartitionVisitor } from './flow-conversation-types.js';
import type { FindingMark } from './flow-finding-mark.js';
import { insideRanges, mix32 } from './flow-ip.js';
import { rollingBaseline, SPIKE_FACTOR, SPIKE_MIN_EXTRA_BYTES, type TimelineBucket } from './flow-timeline.js';

export type { ConversationFacts } from './flow-conversation-types.js';

/** port-scan: one remote IP probed at least this many distinct local ports. */
export const PORT_SCAN_MIN_LOCAL_PORTS = 20;
/** brute-force: the admin ports watched. */
export const ADMIN_PORTS: readonly number[] = [22, 23, 3389, 5900, 5985, 5986];
/** brute-force: at least this many short accepted connections from one IP to one admin port... */
export const BRUTE_FORCE_MIN_CONNECTIONS = 20;
/** ...each lasting at most this long... */
export const BRUTE_FORCE_MAX_CONNECTION_SECONDS = 120;
/** ...and moving at most this many bytes (a login attempt, not a session). */
export const BRUTE_FORCE_MAX_CONNECTION_BYTES = 64 * 1024;
/** ddos: at least this many remote IPs new to one local port within one timeline bucket... */
export const DDOS_MIN_NEW_REMOTE_IPS = 200;
/** ...and at least this multiple of that port's usual count of new IPs per bucket. */
export const DDOS_FACTOR = 5;
/**
 * exfiltration and internal-transfer: a transfer (one remote address's sending conversations,
 * chained while no more than EXFILTRATION_GAP_SECONDS apart) is judged when it sent at least
 * this many accepted bytes: the absolute floor, one input of four.
 */
export const EXFILTRATION_MIN_BYTES = 100 * 1024 ** 2;
/** ...it sent at least this multiple of what came back (a dump, not a download or a session)... */
export const EXFILTRATION_ASYMMETRY = 10;
/** ...at least this multiple of what the whole instance usually sends in that long (median bytes out per minute of the window, the transfer taken out): one address got more than all the rest would... */
export const EXFILTRATION_BASELINE_FACTOR = 2;
/** ...and the address did not get at least EXFILTRATION_RECURRING_SHARE of it on this many other days of the window (a nightly backup). */
export const EXFILTRATION_RECURRING_MIN_DAYS = 2;
export const EXFILTRATION_RECURRING_SHARE = 0.5;
/** Sending conversations of one address this close in time are one transfer. */
export const EXFILTRATION_GAP_SECONDS = 900;
/**
 * internal-transfer: where transfers to these ranges are reported as internal (staging
 * inside the VPC) instead of exfiltration, unless the VPC's own ranges are given.
 */
export const PRIVATE_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];

// Messages without the field's name: the spec-file loader puts `file:line:col path:` before them.
const positive = () => z.number({ error: 'must be a number' }).positive({ error: (issue) => `must be more than 0, not ${String(issue.input)}` });
const whole = (min: number) => z.number({ error: 'must be a number' }).int({ error: (issue) => `must be a whole number, not ${String(issue.input)}` })
  .min(min, { error: (issue) => `must be at least ${min}, not ${String(issue.input)}` });

/**
 * Every threshold of the detectors (and of the timeline's spikes), each with its default: an
 * options file (`flows analyze --thresholds FILE`) overrides any of them. Unknown fields are
 * refused, so a misspelt one is not silently ignored.
 */
export const flowThresholdsSchema = z.strictObject({
  portScan: z.strictObject({
    minLocalPorts: whole(1).default(PORT_SCAN_MIN_LOCAL_PORTS),
  }).prefault({}),
  bruteForce: z.strictObject({
    ports: z.array(whole(0).max(65535, { error: (issue) => `must be a port number (0 to 65535), not ${String(issue.input)}` })).default([...ADMIN_PORTS]),
    minConnections: whole(1).default(BRUTE_FORCE_MIN_CONNECTIONS),
    maxConnectionSeconds: whole(0).default(BRUTE_FORCE_MAX_CONNECTION_SECONDS),
    maxConnectionBytes: whole(0).default(BRUTE_FORCE_MAX_CONNECTION_BYTES),
  }).prefault({}),
  ddos: z.strictObject({
    minNewRemoteIps: whole(1).default(DDOS_MIN_NEW_REMOTE_IPS),
    factor: positive().default(DDOS_FACTOR),
  }).prefault({}),
  exfiltration: z.strictObject({
    minBytes: whole(1).default(EXFILTRATION_MIN_BYTES),
    asymmetry: positive().default(EXFILTRATION_ASYMMETRY),
    baselineFactor: positive().default(EXFILTRATION_BASELINE_FACTOR),
    recurringMinDays: whole(1).default(EXFILTRATION_RECURRING_MIN_DAYS),
    recurringShare: positive().max(1, { error: (issue) => `must be at most 1, not ${String(issue.input)}` }).default(EXFILTRATION_RECURRING_SHARE),
    gapSeconds: whole(0).default(EXFILTRATION_GAP_SECONDS),
  }).prefault({}),
  spike: z.strictObject({
    factor: positive().default(SPIKE_FACTOR),
    minExtraBytes: whole(0).default(SPIKE_MIN_EXTRA_BYTES),
  }).prefault({}),
});

export type FlowThresholds = z.output<typeof flowThresholdsSchema>;
export const DEFAULT_FLOW_THRESHOLDS: FlowThresholds = flowThresholdsSchema.parse({});

export const FINDING_KINDS = ['port-scan', 'brute-force', 'ddos', 'exfiltration', 'internal-transfer', 'traffic-spike'] as const;
export type FlowFindingKind = (typeof FINDING_KINDS)[number];

export interface FlowEvidence {
  /** One sentence for people. */
  summary: string;
  /** ISO 8601: when the evidence starts and ends. */
  from: string;
  to: string;
  /** The numbers the decision was made on. */
  metrics: Record<string, number>;
  /** A few of the ports or addresses involved. */
  examples: string[];
}

export interface FlowFinding {
  kind: FlowFindingKind;
  remoteIp?: string;
  localPort?: number;
  evidence: FlowEvidence;
  /** Set when the finding involves the GuardDuty finding's IPs or ports. */
  fromFinding?: true;
}


const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** Reached from outside: opened by the remote side, or refused before any side spoke. */
function probedFromOutside(c: ConversationFacts): boolean {
  return isProbe(c.direction, c.accepted, c.rejected);
}

/**
 * A table's address number as a key of the detectors' maps: an IPv4 address (below 2^32) as
 * a 32-bit integer, which V8 keeps unboxed and hashes fast (the maps' lookups made most of
 * the detectors' time on a million conversations), any other as it is (2^32 and above, so
 * apart from every IPv4 key).
 */
const smallAddress = (address: number): number => (address < 2 ** 32 ? address | 0 : address);
const fromSmallAddress = (key: number): number => (key < 2 ** 31 ? key >>> 0 : key);

function isProbe(direction: FlowDirection, accepted: number, rejected: number): boolean {
  return direction === 'inbound' || (accepted === 0 && rejected > 0);
}

function groupBy<K, V>(items: Iterable<V>, key: (item: V) => K): Map<K, V[]> {
  const groups = new Map<K, V[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

function span(conversations: readonly ConversationFacts[]): { from: string; to: string } {
  let first = Infinity;
  let last = -Infinity;
  for (const c of conversations) {
    first = Math.min(first, c.firstSeenAt);
    last = Math.max(last, c.lastSeenAt);
  }
  return { from: iso(first), to: iso(last) };
}

/** How many items share each key. */
function countBy<K, V>(items: readonly V[], key: (item: V) => K): Map<K, number> {
  const counts = new Map<K, number>();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

export function detectPortScans(
  conversations: readonly ConversationFacts[], t: FlowThresholds = DEFAULT_FLOW_THRESHOLDS,
): FlowFinding[] {
  const { minLocalPorts } = t.portScan;
  const inbound = conversations.filter(probedFromOutside);
  // A scan of N ports is at least N conversations: only remotes with that many are grouped.
  const counts = countBy(inbound, (c) => c.remoteIp);
  const candidates = inbound.filter((c) => counts.get(c.remoteIp)! >= minLocalPorts);
  const findings: FlowFinding[] = [];
  for (const [remoteIp, group] of groupBy(candidates, (c) => c.remoteIp)) {
    const ports = new Set(group.map((c) => c.localPort));
    if (ports.size < minLocalPorts) continue;
    const rejected = group.reduce((sum, c) => sum + c.rejected, 0);
    const accepted = group.reduce((sum, c) => sum + c.accepted, 0);
    findings.push(portScanFinding(remoteIp, ports, rejected, accepted, span(group), t));
  }
  return findings;
}

/** A port scan's finding: `ports`, the distinct local ports its probes reached; the sums and span are theirs. */
function portScanFinding(
  remoteIp: string, ports: ReadonlySet<number>, rejected: number, accepted: number, during: { from: string; to: string }, t: FlowThresholds,
): FlowFinding {
  const sorted = [...ports].sort((a, b) => a - b);
  return {
    kind: 'port-scan',
    remoteIp,
    evidence: {
      summary: `${remoteIp} reached ${sorted.length} local ports (${rejected} records rejected, ${accepted} accepted).`,
      ...during,
      metrics: { localPorts: sorted.length, rejected, accepted, minLocalPorts: t.portScan.minLocalPorts },
      examples: sorted.slice(0, 20).map(String),
    },
  };
}

/** A short, small, accepted TCP connection opened from outside to one of `ports`: one try at a login. */
function isLoginAttempt(
  c: Pick<ConversationFacts, 'localPort' | 'protocol' | 'direction' | 'accepted' | 'firstSeenAt' | 'lastSeenAt' | 'inBytes' | 'outBytes'>,
  ports: readonly number[], maxConnectionSeconds: number, maxConnectionBytes: number,
): boolean {
  return ports.includes(c.localPort) && c.protocol === 6 && c.direction === 'inbound' && c.accepted > 0 &&
    c.lastSeenAt - c.firstSeenAt <= maxConnectionSeconds && c.inBytes + c.outBytes <= maxConnectionBytes;
}

export function detectBruteForce(conversations: readonly ConversationFacts[], t: FlowThresholds = DEFAULT_FLOW_THRESHOLDS): FlowFinding[] {
  const { ports, minConnections, maxConnectionSeconds, maxConnectionBytes } = t.bruteForce;
  const attempts = conversations.filter((c) => isLoginAttempt(c, ports, maxConnectionSeconds, maxConnectionBytes));
  const findings: FlowFinding[] = [];
  for (const group of groupBy(attempts, (c) => `${c.remoteIp} ${c.localPort}`).values()) {
    if (group.length < minConnections) continue;
    const { remoteIp, localPort } = group[0]!;
    const bytes = group.reduce((sum, c) => sum + c.inBytes + c.outBytes, 0);
    findings.push(bruteForceFinding(remoteIp, localPort, group.length, bytes, span(group), group.slice(0, BRUTE_FORCE_EXAMPLES), t));
  }
  return findings;
}

/** Login attempts listed in a brute force's evidence, the first in the table's order. */
const BRUTE_FORCE_EXAMPLES = 10;

/** A brute force's finding: `connections` login attempts to one port, moving `bytes`, the first of them `examples`. */
function bruteForceFinding(
  remoteIp: string, localPort: number, connections: number, bytes: number, during: { from: string; to: string },
  examples: readonly Pick<ConversationFacts, 'remoteIp' | 'remotePort'>[], t: FlowThresholds,
): FlowFinding {
  const { minConnections, maxConnectionSeconds, maxConnectionBytes } = t.bruteForce;
  return {
    kind: 'brute-force',
    remoteIp,
    localPort,
    evidence: {
      summary: `${remoteIp} opened ${connections} short connections to admin port ${localPort}.`,
      ...during,
      metrics: { connections, bytes, averageBytes: Math.round(bytes / connections), minConnections, maxConnectionSeconds, maxConnectionBytes },
      examples: examples.map((c) => `${c.remoteIp}:${c.remotePort}`),
    },
  };
}

/** Per local port: how many remote IPs are new to it in each timeline bucket, and the first few of each bucket. */
type NewRemotes = Map<number, { total: number; perBucket: Map<number, number>; firstOf: Map<number, [seen: number, ip: string][]> }>;

/** Examples kept per port and bucket. */
const DDOS_EXAMPLES = 10;

/** The first sight of each (local port, address) among conversations probed from outside: `each` calls `sight` for every one. */
type Sightings = (sight: (localPort: number, address: number, seen: number) => void) => void;

/**
 * Counts, per local port, the remote IPs new to it per timeline bucket, into `into`, from
 * the first sight of each (port, address) among the conversations probed from outside
 * (`sightings`, grouped by port, ports and the addresses of each in the order they were
 * met). Every conversation of a remote IP must be in one call (partitions are by remote
 * address), so counts of separate calls add up.
 */
function countNewRemotes(
  sightings: Sightings, addressText: (address: number) => string, timeline: readonly TimelineBucket[], bucketSeconds: number, into: NewRemotes,
): void {
  if (timeline.length === 0) return;
  const first = Date.parse(timeline[0]!.start) / 1000;
  let lastPort = -1;
  let port = { total: 0, perBucket: new Map<number, number>(), firstOf: new Map<number, [seen: number, ip: string][]>() };
  sightings((localPort, address, seen) => {
    if (localPort !== lastPort) {
      lastPort = localPort;
      const known = into.get(localPort);
      if (known === undefined) into.set(localPort, (port = { total: 0, perBucket: new Map(), firstOf: new Map() }));
      else port = known;
    }
    const b = Math.min(timeline.length - 1, Math.max(0, Math.floor((seen - first) / bucketSeconds)));
    port.total++;
    port.perBucket.set(b, (port.perBucket.get(b) ?? 0) + 1);
    const examples = port.firstOf.get(b) ?? [];
    if (examples.length < DDOS_EXAMPLES || seen < examples[examples.length - 1]![0]) {
      examples.push([seen, addressText(address)]);
      examples.sort((x, y) => x[0] - y[0]);
      if (examples.length > DDOS_EXAMPLES) examples.pop();
      port.firstOf.set(b, examples);
    }
  });
}

/**
 * Numbers 0, 1, 2, ... for keys (whole numbers from 0 below 2^53) in the order they are
 * first met: an open-addressing table over typed arrays. The detectors number a table's
 * addresses and (address, port) pairs this way; Maps of as many numbers made most of their
 * time on a DDoS's million conversations (measured: over ten times as long).
 */
class KeyNumbers {
  private slots = new Int32Array(0);
  /** The keys by number. */
  keys = new Float64Array(0);
  size = 0;

  /** Empties it, with room for `count` keys. */
  reset(count: number): void {
    const slots = Math.max(16, 2 ** Math.ceil(Math.log2(2 * count)));
    if (this.slots.length === slots) this.slots.fill(0);
    else this.slots = new Int32Array(slots);
    if (this.keys.length < count) this.keys = new Float64Array(count);
    this.size = 0;
  }

  /** The number of `key`: the next one (size) when it is new. */
  number(key: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    const low = key >>> 0;
    for (let slot = mix32(low ^ Math.imul((key - low) / 4294967296, 0x9e3779b1)) & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot]!;
      if (entry === 0) {
        slots[slot] = ++this.size;
        this.keys[this.size - 1] = key;
        return this.size - 1;
      }
      if (this.keys[entry - 1] === key) return entry - 1;
    }
  }
}

/** A local port and a table's address as one key of KeyNumbers (exact: address numbers are below 2^37). */
const sightKey = (address: number, localPort: number): number => address * 65536 + localPort;

/**
 * A bucket is a flood on a local port when the count of remote IPs new to the port there is
 * large both absolutely and against the port's own rolling baseline (the first buckets of
 * a window have no baseline and are not judged: every connection looks new there).
 */
function ddosFindings(newRemotes: NewRemotes, timeline: readonly TimelineBucket[], bucketSeconds: number, t: FlowThresholds): FlowFinding[] {
  const { minNewRemoteIps, factor } = t.ddos;
  const findings: FlowFinding[] = [];
  for (const [localPort, port] of [...newRemotes].sort(([a], [b]) => a - b)) {
    if (port.total < minNewRemoteIps) continue;
    const counts = new Array<number>(timeline.length).fill(0);
    for (const [b, n] of port.perBucket) counts[b] = n;
    let run: { from: number; to: number; peak: number; baseline: number; total: number } | null = null;
    const close = (): void => {
      if (run === null) return;
      findings.push({
        kind: 'ddos',
        localPort,
        evidence: {
          summary: `${run.total} remote IPs new to local port ${localPort} in ${((run.to - run.from + 1) * bucketSeconds) / 60} minutes, against a usual ${run.baseline} per ${bucketSeconds / 60} minutes.`,
          from: timeline[run.from]!.start,
          to: timeline[run.to]!.end,
          metrics: { newRemoteIps: run.total, peakPerBucket: run.peak, baselinePerBucket: run.baseline, bucketSeconds, minNewRemoteIps, factor },
          examples: (port.firstOf.get(run.from) ?? []).map(([, ip]) => ip),
        },
      });
      run = null;
    };
    for (let b = 0; b < counts.length; b++) {
      const baseline = rollingBaseline(counts, b);
      const count = counts[b]!;
      if (baseline !== null && count >= minNewRemoteIps && count >= factor * baseline) {
        if (run === null) run = { from: b, to: b, peak: count, baseline, total: count };
        else Object.assign(run, { to: b, peak: Math.max(run.peak, count), total: run.total + count });
      } else {
        close();
      }
    }
    close();
  }
  return findings;
}

/** DDoS on one set of conversations (all there are): see countNewRemotes and ddosFindings. */
export function detectDdos(
  conversations: readonly ConversationFacts[], timeline: readonly TimelineBucket[], bucketSeconds: number, t: FlowThresholds = DEFAULT_FLOW_THRESHOLDS,
): FlowFinding[] {
  const detector = new FlowFindingDetector(timeline, bucketSeconds, { thresholds: t });
  detector.add(factsTable(conversations));
  return detector.findings().filter((f) => f.kind === 'ddos');
}

/**
 * What a transfer is judged against: the instance's usual bytes out per minute without the
 * transfer (see medianOutboundPerMinute), and which addresses are inside the VPC.
 */
export interface TransferContext {
  usualOutboundPerMinute: (transfer: { first: number; last: number; sent: number }) => number;
  internal: (remoteIp: string) => boolean;
}

/**
 * The median bytes out per minute over [from, to) seconds, from per-minute totals (minutes
 * without traffic are 0). With `without`, a transfer's bytes are taken out first, spread
 * evenly over its minutes: in a short window the transfer may fill most minutes, and must
 * not be its own baseline.
 */
export function medianOutboundPerMinute(
  series: { minutes: readonly number[]; outBytes: readonly number[] }, from: number, to: number,
  without?: { first: number; last: number; sent: number },
): number {
  const first = Math.floor(from / 60);
  const count = Math.max(0, Math.ceil(to / 60) - first);
  if (count === 0) return 0;
  const out = new Float64Array(count);
  for (let j = 0; j < series.minutes.length; j++) {
    const m = series.minutes[j]! - first;
    if (m >= 0 && m < count) out[m] = series.outBytes[j]!;
  }
  if (without !== undefined) {
    const a = Math.max(0, Math.floor(without.first / 60) - first);
    const b = Math.min(count - 1, Math.floor(without.last / 60) - first);
    const share = without.sent / Math.max(1, Math.floor(without.last / 60) - Math.floor(without.first / 60) + 1);
    for (let m = a; m <= b; m++) out[m] = Math.max(0, out[m]! - share);
  }
  out.sort();
  const middle = count >> 1;
  return count % 2 === 1 ? out[middle]! : (out[middle - 1]! + out[middle]!) / 2;
}

/** One remote address's sending conversations, chained while they are close in time. */
interface Transfer {
  sent: number;
  received: number;
  first: number;
  last: number;
  /** How many conversations it chains. */
  conversations: number;
  /** The first TRANSFER_EXAMPLES distinct ports of its conversations in time order (see firstPorts). */
  ports: TransferPort[];
}

/** A transfer's `remotePort/protocol`, with where its first conversation comes in time order: start, then bytes (more first) and key. */
interface TransferPort {
  port: string;
  first: number;
  bytes: number;
  key: number;
}

/** Ports listed in a transfer's evidence. */
const TRANSFER_EXAMPLES = 10;

/** The first TRANSFER_EXAMPLES distinct ports of `ports`, in time order (each at its first conversation). */
function firstPorts(ports: TransferPort[]): TransferPort[] {
  ports.sort((a, b) => a.first - b.first || b.bytes - a.bytes || a.key - b.key);
  const seen = new Set<string>();
  const out: TransferPort[] = [];
  for (const p of ports) {
    if (seen.has(p.port)) continue;
    seen.add(p.port);
    out.push(p);
    if (out.length === TRANSFER_EXAMPLES) break;
  }
  return out;
}

/**
 * Chains items by start (a stable sort: equal starts keep their order): each joins the
 * transfer before while it starts within gapSeconds of that transfer's end, else opens one.
 */
function chainByStart<T>(items: readonly T[], start: (item: T) => number, gapSeconds: number, open: (item: T) => Transfer, join: (transfer: Transfer, item: T) => void): Transfer[] {
  const transfers: Transfer[] = [];
  let current: Transfer | null = null;
  for (const item of [...items].sort((a, b) => start(a) - start(b))) {
    if (current === null || start(item) > current.last + gapSeconds) transfers.push((current = open(item)));
    else join(current, item);
  }
  return transfers;
}

/** A conversation's port example for its transfer. */
const portOf = (c: ConversationFacts): TransferPort => ({ port: `${c.remotePort}/${c.protocol}`, first: c.firstSeenAt, bytes: c.inBytes + c.outBytes, key: c.localPort * 16777216 + c.remotePort * 256 + c.protocol });

/**
 * The transfers of one address's sending conversations (in the table's order: bytes, more
 * first, then key): chained by start (the table's order among equal starts), so each
 * transfer's first ports are its first distinct ones in that order.
 */
function transfersOf(sending: readonly ConversationFacts[], gapSeconds: number): Transfer[] {
  return chainByStart(
    sending,
    (c) => c.firstSeenAt,
    gapSeconds,
    (c) => ({ sent: c.acceptedOutBytes, received: c.inBytes, first: c.firstSeenAt, last: c.lastSeenAt, conversations: 1, ports: [portOf(c)] }),
    (transfer, c) => {
      transfer.sent += c.acceptedOutBytes;
      transfer.received += c.inBytes;
      transfer.last = Math.max(transfer.last, c.lastSeenAt);
      transfer.conversations++;
      if (transfer.ports.length < TRANSFER_EXAMPLES) {
        const port = portOf(c);
        if (!transfer.ports.some((p) => p.port === port.port)) transfer.ports.push(port);
      }
    },
  );
}

/**
 * The transfers of one address from the transfers of parts of its conversations (each part
 * chained on its own, see transfersOf): chained again the same way, by start, they are the
 * transfers of all its conversations at once. A part's transfer never spans a gap that the
 * others fill, and what fills a gap joins the transfers on either side.
 */
function joinTransfers(parts: readonly Transfer[], gapSeconds: number): Transfer[] {
  return chainByStart(
    parts,
    (part) => part.first,
    gapSeconds,
    (part) => ({ ...part, ports: [...part.ports] }),
    (transfer, part) => {
      transfer.sent += part.sent;
      transfer.received += part.received;
      transfer.last = Math.max(transfer.last, part.last);
      transfer.conversations += part.conversations;
      transfer.ports = firstPorts([...transfer.ports, ...part.ports]);
    },
  );
}

const DAY = 86400;
const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const times = (ratio: number): string => `${ratio >= 100 ? Math.round(ratio) : ratio.toFixed(1)}x`;
const tenths = (ratio: number): number => Math.round(ratio * 10) / 10;

/**
 * Large transfers out: to an address outside the VPC, exfiltration; inside it (staging),
 * internal-transfer. A transfer is reported when all four hold, and its evidence names each
 * with its threshold: it sent at least the floor; much more than came back (asymmetry); much
 * more than the instance usually sends in as long (its own baseline); and the address did
 * not get a like amount on other days of the window too (a recurring backup is the
 * baseline). Every conversation of an address must be in one call.
 */
export function detectExfiltration(
  conversations: readonly ConversationFacts[], context: TransferContext, t: FlowThresholds = DEFAULT_FLOW_THRESHOLDS,
): FlowFinding[] {
  const x = t.exfiltration;
  // Sum what left per remote first: only the few remotes over the floor are looked at again.
  const sentTo = new Map<string, number>();
  for (const c of conversations) if (c.acceptedOutBytes > 0) sentTo.set(c.remoteIp, (sentTo.get(c.remoteIp) ?? 0) + c.acceptedOutBytes);
  const candidates = new Set([...sentTo].filter(([, sent]) => sent >= x.minBytes).map(([ip]) => ip));
  if (candidates.size === 0) return [];
  const findings: FlowFinding[] = [];
  const sending = conversations.filter((c) => c.acceptedOutBytes > 0 && candidates.has(c.remoteIp));
  for (const [remoteIp, group] of groupBy(sending, (c) => c.remoteIp)) findings.push(...judgeTransfers(remoteIp, transfersOf(group, x.gapSeconds), context, t));
  return findings;
}

/** The findings among one address's transfers (all of them: the recurrence test compares them). */
function judgeTransfers(remoteIp: string, transfers: readonly Transfer[], context: TransferContext, t: FlowThresholds): FlowFinding[] {
  const x = t.exfiltration;
  const findings: FlowFinding[] = [];
  // What the address got per UTC day (by each transfer's start), for the recurrence test.
  const perDay = new Map<number, number>();
  for (const tr of transfers) perDay.set(Math.floor(tr.first / DAY), (perDay.get(Math.floor(tr.first / DAY)) ?? 0) + tr.sent);
  for (const tr of transfers) {
    if (tr.sent < x.minBytes) continue;
    // Nothing back counts as one byte back, and a silent instance as one byte a minute: the ratios stay numbers.
    const asymmetry = tr.sent / Math.max(1, tr.received);
    if (asymmetry < x.asymmetry) continue;
    const minutes = Math.max(1, Math.ceil((tr.last - tr.first) / 60));
    const usual = Math.max(1, context.usualOutboundPerMinute(tr)) * minutes;
    const overBaseline = tr.sent / usual;
    if (overBaseline < x.baselineFactor) continue;
    const day = Math.floor(tr.first / DAY);
    let recurringDays = 0;
    for (const [d, sent] of perDay) if (d !== day && sent >= x.recurringShare * tr.sent) recurringDays++;
    if (recurringDays >= x.recurringMinDays) continue;
    const internal = context.internal(remoteIp);
    const sent = `${mib(tr.sent)} sent to ${remoteIp}${internal ? ', inside the VPC,' : ''} in ${minutes} minutes (accepted)`;
    findings.push({
      kind: internal ? 'internal-transfer' : 'exfiltration',
      remoteIp,
      evidence: {
        summary: `${sent}: ${times(overBaseline)} what the instance usually sends in as long (${mib(usual)}; over ${x.baselineFactor}x), ` +
          `${times(asymmetry)} what came back (${mib(tr.received)}; over ${x.asymmetry}x), over the ${mib(x.minBytes)} floor, ` +
          `and like amounts went there on ${recurringDays} other days (under ${x.recurringMinDays}).`,
        from: iso(tr.first),
        to: iso(tr.last),
        metrics: {
          outBytes: tr.sent, inBytes: tr.received, conversations: tr.conversations, minutes,
          baselineBytes: Math.round(usual), overBaseline: tenths(overBaseline), asymmetry: tenths(asymmetry), recurringDays,
          minBytes: x.minBytes, minAsymmetry: x.asymmetry, baselineFactor: x.baselineFactor, recurringMinDays: x.recurringMinDays, recurringShare: x.recurringShare,
        },
        examples: tr.ports.map((p) => p.port),
      },
    });
  }
  return findings;
}

/** Spikes as the timeline marked them (with `t.spike`): the thresholds are named in the evidence. */
export function detectTrafficSpikes(timeline: readonly TimelineBucket[], t: FlowThresholds = DEFAULT_FLOW_THRESHOLDS): FlowFinding[] {
  const findings: FlowFinding[] = [];
  for (let b = 0; b < timeline.length; b++) {
    if (!timeline[b]!.spike) continue;
    let end = b;
    while (end + 1 < timeline.length && timeline[end + 1]!.spike) end++;
    const buckets = timeline.slice(b, end + 1);
    const peak = Math.max(...buckets.map((x) => x.inBytes + x.outBytes));
    const baseline = timeline[b]!.baselineBytes ?? 0;
    findings.push({
      kind: 'traffic-spike',
      evidence: {
        summary: `Traffic reached ${(peak / 1024 ** 2).toFixed(1)} MiB per bucket against a baseline of ${(baseline / 1024 ** 2).toFixed(1)} MiB.`,
        from: timeline[b]!.start,
        to: timeline[end]!.end,
        metrics: { peakBytes: peak, baselineBytes: baseline, factor: baseline > 0 ? Math.round((peak / baseline) * 10) / 10 : 0, buckets: buckets.length, minFactor: t.spike.factor, minExtraBytes: t.spike.minExtraBytes },
        examples: buckets.map((x) => x.start),
      },
    });
    b = end;
  }
  return findings;
}

/** What the detectors are told besides the conversations. */
export interface FindingOptions {
  /** A GuardDuty finding's IPs and ports: findings about them are marked. */
  mark?: FindingMark;
  thresholds?: FlowThresholds;
  /** What transfers are judged against; default: a silent instance, the private ranges inside. */
  transfers?: TransferContext;
}

/** A login attempt kept as an example, with its place in the table's order (bytes, more first, then key). */
interface AttemptExample {
  remoteIp: string;
  remotePort: number;
  bytes: number;
  key: number;
}

/**
 * What the detectors need of the addresses of a split's pieces (each conversation whole in
 * one piece, an address's conversations across them), folded piece by piece: per address,
 * the distinct local ports its probes reached (at most 65,536) with their sums and span; per
 * address and admin port, the login attempts counted with their first few; the first sight
 * of each address on each local port; and the bytes sent with each piece's transfers (their
 * count bounded by the window over the gap, not by the conversations).
 */
class PieceFold {
  readonly probes = new Map<number, { ports: Set<number>; rejected: number; accepted: number; first: number; last: number }>();
  readonly attempts = new Map<number, Map<number, { connections: number; bytes: number; first: number; last: number; examples: AttemptExample[] }>>();
  readonly firstSeen = new Map<number, Map<number, number>>();
  readonly sending = new Map<number, { sent: number; transfers: Transfer[] }>();
  addressText: (address: number) => string = String;

  constructor(private readonly t: FlowThresholds) {}

  add(table: ConversationTable): void {
    const { ports, maxConnectionSeconds, maxConnectionBytes } = this.t.bruteForce;
    this.addressText = (address) => table.addressText(fromSmallAddress(address));
    /** This piece's sending conversations per address, in the table's order. */
    const sendingHere = new Map<number, ConversationFacts[]>();
    for (let i = 0; i < table.length; i++) {
      const address = smallAddress(table.address(i));
      const localPort = table.localPort(i);
      const direction = table.direction(i);
      const accepted = table.accepted(i);
      const rejected = table.rejected(i);
      const first = table.firstSeenAt(i);
      const last = table.lastSeenAt(i);
      if (isProbe(direction, accepted, rejected)) {
        let probes = this.probes.get(address);
        if (probes === undefined) this.probes.set(address, (probes = { ports: new Set(), rejected: 0, accepted: 0, first: Infinity, last: -Infinity }));
        probes.ports.add(localPort);
        probes.rejected += rejected;
        probes.accepted += accepted;
        probes.first = Math.min(probes.first, first);
        probes.last = Math.max(probes.last, last);
        let remotes = this.firstSeen.get(localPort);
        if (remotes === undefined) this.firstSeen.set(localPort, (remotes = new Map()));
        const seen = remotes.get(address);
        if (seen === undefined || first < seen) remotes.set(address, first);
      }
      const bytes = table.inBytes(i) + table.outBytes(i);
      const row = { localPort, protocol: table.protocol(i), direction, accepted, firstSeenAt: first, lastSeenAt: last, inBytes: table.inBytes(i), outBytes: table.outBytes(i) };
      if (isLoginAttempt(row, ports, maxConnectionSeconds, maxConnectionBytes)) {
        let byPort = this.attempts.get(address);
        if (byPort === undefined) this.attempts.set(address, (byPort = new Map()));
        let a = byPort.get(localPort);
        if (a === undefined) byPort.set(localPort, (a = { connections: 0, bytes: 0, first: Infinity, last: -Infinity, examples: [] }));
        a.connections++;
        a.bytes += bytes;
        a.first = Math.min(a.first, first);
        a.last = Math.max(a.last, last);
        const c = table.facts(i);
        a.examples.push({ remoteIp: c.remoteIp, remotePort: c.remotePort, bytes, key: localPort * 16777216 + c.remotePort * 256 + c.protocol });
        // The first in the table's order, across pieces: bytes (more first), then key.
        if (a.examples.length > 2 * BRUTE_FORCE_EXAMPLES) a.examples = firstAttempts(a.examples);
      }
      if (table.acceptedOutBytes(i) > 0) {
        let list = sendingHere.get(address);
        if (list === undefined) sendingHere.set(address, (list = []));
        list.push(table.facts(i));
      }
    }
    for (const [address, list] of sendingHere) {
      let sending = this.sending.get(address);
      if (sending === undefined) this.sending.set(address, (sending = { sent: 0, transfers: [] }));
      for (const c of list) sending.sent += c.acceptedOutBytes;
      sending.transfers.push(...transfersOf(list, this.t.exfiltration.gapSeconds));
      // Transfers far apart in time stay apart; the rest are joined as they come, so they stay few.
      sending.transfers = joinTransfers(sending.transfers, this.t.exfiltration.gapSeconds);
    }
    for (const byPort of this.attempts.values()) for (const a of byPort.values()) a.examples = firstAttempts(a.examples);
  }
}

/** The first BRUTE_FORCE_EXAMPLES attempts in the table's order: bytes (more first), then key. */
function firstAttempts(examples: AttemptExample[]): AttemptExample[] {
  return examples.sort((a, b) => b.bytes - a.bytes || a.key - b.key).slice(0, BRUTE_FORCE_EXAMPLES);
}

/**
 * The detectors over conversations handed in partitions (each holding every conversation
 * of its remote addresses, as the analysis's spill partitions do), so no more than one
 * partition's conversations are ever held: per-address findings are found per partition,
 * DDoS counts add up across them, spikes come from the timeline. An address with more
 * conversations than one table holds comes in pieces (addPiece), folded (PieceFold) and
 * judged when the last is in (endPieces), with the same findings.
 */
export class FlowFindingDetector implements PartitionVisitor {
  private readonly perAddress: FlowFinding[][] = [[], [], []];
  /** The addresses of a split's pieces so far (see addPiece). */
  private pieces: PieceFold | null = null;
  private readonly newRemotes: NewRemotes = new Map();
  /** A table's addresses, and its (address, local port) pairs probed from outside, numbered (see add). */
  private readonly addresses = new KeyNumbers();
  private readonly sights = new KeyNumbers();
  private readonly thresholds: FlowThresholds;
  private readonly transfers: TransferContext;
  private readonly mark: FindingMark | undefined;

  constructor(
    private readonly timeline: readonly TimelineBucket[],
    private readonly bucketSeconds: number,
    options: FindingOptions = {},
  ) {
    this.thresholds = options.thresholds ?? DEFAULT_FLOW_THRESHOLDS;
    this.transfers = options.transfers ?? { usualOutboundPerMinute: () => 0, internal: insideRanges(PRIVATE_RANGES) };
    this.mark = options.mark;
  }

  /**
   * Adds conversations holding every conversation of their remote addresses. One pass over
   * their numbers counts what each detector needs (probes per address and DDoS first
   * sights per port, login attempts, bytes sent per address); only the conversations of the
   * few addresses that may be a scan or a transfer, and the login attempts, are made into
   * objects for the detectors to look at closely.
   */
  add(table: ConversationTable): void {
    const t = this.thresholds;
    const { ports, maxConnectionSeconds, maxConnectionBytes } = t.bruteForce;
    const n = table.length;
    const { addresses, sights } = this;
    addresses.reset(n);
    sights.reset(n);
    /** Per address number: conversations probed from outside, and accepted bytes sent. */
    const probes = new Float64Array(n);
    const sent = new Float64Array(n);
    /** Per row, its address's number. */
    const addressOf = new Int32Array(n);
    /** Per sight number (see sightKey): the first sight of a probe from that address on that port. */
    const seen = new Float64Array(n);
    const attempts = new Set<number>();
    const row = {
      localPort: 0, protocol: 0, direction: 'unknown' as FlowDirection, accepted: 0, firstSeenAt: 0, lastSeenAt: 0, inBytes: 0, outBytes: 0,
    };
    for (let i = 0; i < n; i++) {
      const address = table.address(i);
      const a = addresses.number(address);
      addressOf[i] = a;
      row.localPort = table.localPort(i);
      row.direction = table.direction(i);
      row.accepted = table.accepted(i);
      row.firstSeenAt = table.firstSeenAt(i);
      if (isProbe(row.direction, row.accepted, table.rejected(i))) {
        probes[a]! += 1;
        const known = sights.size;
        const k = sights.number(sightKey(address, row.localPort));
        if (k === known || row.firstSeenAt < seen[k]!) seen[k] = row.firstSeenAt;
      }
      if (row.direction === 'inbound' && ports.includes(row.localPort)) {
        row.protocol = table.protocol(i);
        row.lastSeenAt = table.lastSeenAt(i);
        row.inBytes = table.inBytes(i);
        row.outBytes = table.outBytes(i);
        if (isLoginAttempt(row, ports, maxConnectionSeconds, maxConnectionBytes)) attempts.add(i);
      }
      const out = table.acceptedOutBytes(i);
      if (out > 0) sent[a]! += out;
    }
    const closely = new Uint8Array(addresses.size);
    let close = false;
    for (let a = 0; a < addresses.size; a++) {
      if (probes[a]! >= t.portScan.minLocalPorts || sent[a]! >= t.exfiltration.minBytes) {
        closely[a] = 1;
        close = true;
      }
    }
    const conversations: ConversationFacts[] = [];
    if (close || attempts.size > 0) {
      for (let i = 0; i < n; i++) if (attempts.has(i) || closely[addressOf[i]!] === 1) conversations.push(table.facts(i));
    }
    this.perAddress[0]!.push(...detectPortScans(conversations, t));
    this.perAddress[1]!.push(...detectBruteForce(conversations, t));
    this.perAddress[2]!.push(...detectExfiltration(conversations, this.transfers, t));
    countNewRemotes((sight) => {
      // Grouped by port, ports in the order first met, each port's sights in theirs (a stable counting sort).
      const keys = sights.keys;
      const groupOf = new Int32Array(sights.size);
      const portGroups = new Map<number, number>();
      const sizes: number[] = [];
      for (let k = 0; k < sights.size; k++) {
        const localPort = keys[k]! % 65536;
        let g = portGroups.get(localPort);
        if (g === undefined) {
          portGroups.set(localPort, (g = sizes.length));
          sizes.push(0);
        }
        groupOf[k] = g;
        sizes[g]!++;
      }
      const next = new Int32Array(sizes.length);
      for (let g = 1; g < sizes.length; g++) next[g] = next[g - 1]! + sizes[g - 1]!;
      const order = new Int32Array(sights.size);
      for (let k = 0; k < sights.size; k++) order[next[groupOf[k]!]!++] = k;
      for (const k of order) {
        const localPort = keys[k]! % 65536;
        sight(localPort, (keys[k]! - localPort) / 65536, seen[k]!);
      }
    }, (address) => table.addressText(address), this.timeline, this.bucketSeconds, this.newRemotes);
  }

  /**
   * Adds a piece of a split: what each detector needs of its addresses is folded into totals
   * that do not grow with their conversations (distinct local ports, login attempts per port
   * with their first few, first sights per port, transfers), and judged at endPieces().
   */
  addPiece(table: ConversationTable): void {
    (this.pieces ??= new PieceFold(this.thresholds)).add(table);
  }

  endPieces(): void {
    const fold = this.pieces;
    this.pieces = null;
    if (fold === null) return;
    const t = this.thresholds;
    const text = fold.addressText;
    for (const [address, probes] of fold.probes) {
      if (probes.ports.size >= t.portScan.minLocalPorts) {
        this.perAddress[0]!.push(portScanFinding(text(address), probes.ports, probes.rejected, probes.accepted, { from: iso(probes.first), to: iso(probes.last) }, t));
      }
    }
    for (const [address, ports] of fold.attempts) {
      for (const [localPort, a] of ports) {
        if (a.connections < t.bruteForce.minConnections) continue;
        const during = { from: iso(a.first), to: iso(a.last) };
        this.perAddress[1]!.push(bruteForceFinding(text(address), localPort, a.connections, a.bytes, during, a.examples, t));
      }
    }
    for (const [address, sending] of fold.sending) {
      if (sending.sent < t.exfiltration.minBytes) continue;
      this.perAddress[2]!.push(...judgeTransfers(text(address), joinTransfers(sending.transfers, t.exfiltration.gapSeconds), this.transfers, t));
    }
    countNewRemotes((sight) => {
      for (const [localPort, remotes] of fold.firstSeen) for (const [address, seen] of remotes) sight(localPort, address, seen);
    }, text, this.timeline, this.bucketSeconds, this.newRemotes);
  }

  /** The findings, by kind, each kind in one order whatever the partitions: by start, then remote IP and port. */
  findings(): FlowFinding[] {
    const inOrder = (list: FlowFinding[]): FlowFinding[] =>
      list.sort((a, b) => (a.evidence.from < b.evidence.from ? -1 : a.evidence.from > b.evidence.from ? 1 : 0)
        || (a.remoteIp ?? '').localeCompare(b.remoteIp ?? '') || (a.localPort ?? 0) - (b.localPort ?? 0));
    const [portScans, bruteForce, transfers] = this.perAddress.map(inOrder) as [FlowFinding[], FlowFinding[], FlowFinding[]];
    const t = this.thresholds;
    const findings = [
      ...portScans, ...bruteForce, ...ddosFindings(this.newRemotes, this.timeline, this.bucketSeconds, t), ...transfers, ...detectTrafficSpikes(this.timeline, t),
    ];
    const mark = this.mark;
    if (mark === undefined) return findings;
    // A finding about a remote IP is the GuardDuty finding's when that IP is; one about a
    // local port (a DDoS) when that port is.
    for (const finding of findings) {
      const marked = finding.remoteIp !== undefined
        ? mark.ips.includes(finding.remoteIp)
        : finding.localPort !== undefined && mark.ports.includes(finding.localPort);
      if (marked) finding.fromFinding = true;
    }
    return findings;
  }
}

/** Every detector on one set of conversations (all there are). */
export function detectFindings(
  conversations: readonly ConversationFacts[],
  timeline: readonly TimelineBucket[],
  bucketSeconds: number,
  options: FindingOptions = {},
): FlowFinding[] {
  const detector = new FlowFindingDetector(timeline, bucketSeconds, options);
  detector.add(factsTable(conversations));
  return detector.findings();
}

/** Conversation objects as a ConversationTable (addresses numbered by their texts). */
export function factsTable(conversations: readonly ConversationFacts[]): ConversationTable {
  const numbers = new Map<string, number>();
  const texts: string[] = [];
  const addresses = conversations.map((c) => {
    let n = numbers.get(c.remoteIp);
    if (n === undefined) {
      n = texts.length;
      numbers.set(c.remoteIp, n);
      texts.push(c.remoteIp);
    }
    return n;
  });
  const at = (i: number): ConversationFacts => conversations[i]!;
  return {
    length: conversations.length,
    address: (i) => addresses[i]!,
    addressText: (address) => texts[address]!,
    localPort: (i) => at(i).localPort,
    protocol: (i) => at(i).protocol,
    direction: (i) => at(i).direction,
    inBytes: (i) => at(i).inBytes,
    outBytes: (i) => at(i).outBytes,
    acceptedOutBytes: (i) => at(i).acceptedOutBytes,
    accepted: (i) => at(i).accepted,
    rejected: (i) => at(i).rejected,
    firstSeenAt: (i) => at(i).firstSeenAt,
    lastSeenAt: (i) => at(i).lastSeenAt,
    facts: at,
  };
}

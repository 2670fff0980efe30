/**
 * What the conversations and the timeline say happened: port scans, brute force, DDoS,
 * exfiltration and traffic spikes, each with the evidence that decided it. Every
 * threshold is a named constant here; the README lists them.
 */
import type { ConversationFacts } from './flow-conversation-types.js';
import { rollingBaseline, type TimelineBucket } from './flow-timeline.js';

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
/** exfiltration: at least this many accepted bytes sent to one remote IP in the window. */
export const EXFILTRATION_MIN_BYTES = 1024 ** 3;

export const FINDING_KINDS = ['port-scan', 'brute-force', 'ddos', 'exfiltration', 'traffic-spike'] as const;
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


/** The IPs and ports of a GuardDuty finding, to mark what involves them. */
export interface FindingMark {
  ips: readonly string[];
  ports: readonly number[];
}

/**
 * Whether a conversation involves the marked IPs and ports: with both given it needs
 * both (its remote IP, and its local or remote port); with one given, that one.
 */
export function isMarkedConversation(mark: FindingMark | undefined, remoteIp: string, localPort: number, remotePort: number): boolean {
  if (mark === undefined) return false;
  const ipMatch = mark.ips.includes(remoteIp);
  const portMatch = mark.ports.includes(localPort) || mark.ports.includes(remotePort);
  if (mark.ips.length > 0 && mark.ports.length > 0) return ipMatch && portMatch;
  return ipMatch || portMatch;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** Reached from outside: opened by the remote side, or refused before any side spoke. */
function probedFromOutside(c: ConversationFacts): boolean {
  return c.direction === 'inbound' || (c.accepted === 0 && c.rejected > 0);
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

export function detectPortScans(conversations: readonly ConversationFacts[], inbound = conversations.filter(probedFromOutside)): FlowFinding[] {
  // A scan of N ports is at least N conversations: only remotes with that many are grouped.
  const counts = countBy(inbound, (c) => c.remoteIp);
  const candidates = inbound.filter((c) => counts.get(c.remoteIp)! >= PORT_SCAN_MIN_LOCAL_PORTS);
  const findings: FlowFinding[] = [];
  for (const [remoteIp, group] of groupBy(candidates, (c) => c.remoteIp)) {
    const ports = [...new Set(group.map((c) => c.localPort))].sort((a, b) => a - b);
    if (ports.length < PORT_SCAN_MIN_LOCAL_PORTS) continue;
    const rejected = group.reduce((sum, c) => sum + c.rejected, 0);
    const accepted = group.reduce((sum, c) => sum + c.accepted, 0);
    findings.push({
      kind: 'port-scan',
      remoteIp,
      evidence: {
        summary: `${remoteIp} reached ${ports.length} local ports (${rejected} records rejected, ${accepted} accepted).`,
        ...span(group),
        metrics: { localPorts: ports.length, rejected, accepted },
        examples: ports.slice(0, 20).map(String),
      },
    });
  }
  return findings;
}

export function detectBruteForce(conversations: readonly ConversationFacts[]): FlowFinding[] {
  const attempts = conversations.filter(
    (c) =>
      ADMIN_PORTS.includes(c.localPort) && c.protocol === 6 && c.direction === 'inbound' && c.accepted > 0 &&
      c.lastSeenAt - c.firstSeenAt <= BRUTE_FORCE_MAX_CONNECTION_SECONDS && c.inBytes + c.outBytes <= BRUTE_FORCE_MAX_CONNECTION_BYTES,
  );
  const findings: FlowFinding[] = [];
  for (const group of groupBy(attempts, (c) => `${c.remoteIp} ${c.localPort}`).values()) {
    if (group.length < BRUTE_FORCE_MIN_CONNECTIONS) continue;
    const { remoteIp, localPort } = group[0]!;
    const bytes = group.reduce((sum, c) => sum + c.inBytes + c.outBytes, 0);
    findings.push({
      kind: 'brute-force',
      remoteIp,
      localPort,
      evidence: {
        summary: `${remoteIp} opened ${group.length} short connections to admin port ${localPort}.`,
        ...span(group),
        metrics: { connections: group.length, bytes, averageBytes: Math.round(bytes / group.length) },
        examples: group.slice(0, 10).map((c) => `${c.remoteIp}:${c.remotePort}`),
      },
    });
  }
  return findings;
}

/** Per local port: how many remote IPs are new to it in each timeline bucket, and the first few of each bucket. */
type NewRemotes = Map<number, { total: number; perBucket: Map<number, number>; firstOf: Map<number, [seen: number, ip: string][]> }>;

/** Examples kept per port and bucket. */
const DDOS_EXAMPLES = 10;

/**
 * Counts, per local port, the remote IPs new to it per timeline bucket, into `into`. Every
 * conversation of a remote IP must be in one call (partitions are by remote address), so
 * counts of separate calls add up.
 */
function countNewRemotes(inbound: readonly ConversationFacts[], timeline: readonly TimelineBucket[], bucketSeconds: number, into: NewRemotes): void {
  if (timeline.length === 0) return;
  const first = Date.parse(timeline[0]!.start) / 1000;
  for (const [localPort, group] of groupBy(inbound, (c) => c.localPort)) {
    const firstSeen = new Map<string, number>();
    for (const c of group) {
      const seen = firstSeen.get(c.remoteIp);
      if (seen === undefined || c.firstSeenAt < seen) firstSeen.set(c.remoteIp, c.firstSeenAt);
    }
    let port = into.get(localPort);
    if (port === undefined) into.set(localPort, (port = { total: 0, perBucket: new Map(), firstOf: new Map() }));
    for (const [ip, seen] of firstSeen) {
      const b = Math.min(timeline.length - 1, Math.max(0, Math.floor((seen - first) / bucketSeconds)));
      port.total++;
      port.perBucket.set(b, (port.perBucket.get(b) ?? 0) + 1);
      const examples = port.firstOf.get(b) ?? [];
      if (examples.length < DDOS_EXAMPLES || seen < examples[examples.length - 1]![0]) {
        examples.push([seen, ip]);
        examples.sort((x, y) => x[0] - y[0]);
        if (examples.length > DDOS_EXAMPLES) examples.pop();
        port.firstOf.set(b, examples);
      }
    }
  }
}

/**
 * A bucket is a flood on a local port when the count of remote IPs new to the port there is
 * large both absolutely and against the port's own rolling baseline (the first buckets of
 * a window have no baseline and are not judged: every connection looks new there).
 */
function ddosFindings(newRemotes: NewRemotes, timeline: readonly TimelineBucket[], bucketSeconds: number): FlowFinding[] {
  const findings: FlowFinding[] = [];
  for (const [localPort, port] of [...newRemotes].sort(([a], [b]) => a - b)) {
    if (port.total < DDOS_MIN_NEW_REMOTE_IPS) continue;
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
          metrics: { newRemoteIps: run.total, peakPerBucket: run.peak, baselinePerBucket: run.baseline, bucketSeconds, minNewRemoteIps: DDOS_MIN_NEW_REMOTE_IPS, factor: DDOS_FACTOR },
          examples: (port.firstOf.get(run.from) ?? []).map(([, ip]) => ip),
        },
      });
      run = null;
    };
    for (let b = 0; b < counts.length; b++) {
      const baseline = rollingBaseline(counts, b);
      const count = counts[b]!;
      if (baseline !== null && count >= DDOS_MIN_NEW_REMOTE_IPS && count >= DDOS_FACTOR * baseline) {
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
  conversations: readonly ConversationFacts[], timeline: readonly TimelineBucket[], bucketSeconds: number,
  inbound = conversations.filter(probedFromOutside),
): FlowFinding[] {
  const newRemotes: NewRemotes = new Map();
  countNewRemotes(inbound, timeline, bucketSeconds, newRemotes);
  return ddosFindings(newRemotes, timeline, bucketSeconds);
}

export function detectExfiltration(conversations: readonly ConversationFacts[]): FlowFinding[] {
  // Sum what left per remote first: only the few remotes over the line are looked at again.
  const sentTo = new Map<string, number>();
  for (const c of conversations) if (c.acceptedOutBytes > 0) sentTo.set(c.remoteIp, (sentTo.get(c.remoteIp) ?? 0) + c.acceptedOutBytes);
  const flagged = new Set([...sentTo].filter(([, sent]) => sent >= EXFILTRATION_MIN_BYTES).map(([ip]) => ip));
  if (flagged.size === 0) return [];
  const findings: FlowFinding[] = [];
  for (const [remoteIp, group] of groupBy(conversations.filter((c) => flagged.has(c.remoteIp)), (c) => c.remoteIp)) {
    const sent = sentTo.get(remoteIp)!;
    const received = group.reduce((sum, c) => sum + c.inBytes, 0);
    const ports = [...new Set(group.filter((c) => c.acceptedOutBytes > 0).map((c) => `${c.remotePort}/${c.protocol}`))];
    findings.push({
      kind: 'exfiltration',
      remoteIp,
      evidence: {
        summary: `${(sent / 1024 ** 3).toFixed(2)} GiB sent to ${remoteIp} (accepted), ${(received / 1024 ** 2).toFixed(1)} MiB received.`,
        ...span(group),
        metrics: { outBytes: sent, inBytes: received, conversations: group.length },
        examples: ports.slice(0, 10),
      },
    });
  }
  return findings;
}

export function detectTrafficSpikes(timeline: readonly TimelineBucket[]): FlowFinding[] {
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
        metrics: { peakBytes: peak, baselineBytes: baseline, factor: baseline > 0 ? Math.round((peak / baseline) * 10) / 10 : 0, buckets: buckets.length },
        examples: buckets.map((x) => x.start),
      },
    });
    b = end;
  }
  return findings;
}

/**
 * The detectors over conversations handed in partitions (each holding every conversation
 * of its remote addresses, as the analysis's spill partitions do), so no more than one
 * partition's conversations are ever held: per-address findings are found per partition,
 * DDoS counts add up across them, spikes come from the timeline.
 */
export class FlowFindingDetector {
  private readonly perAddress: FlowFinding[][] = [[], [], []];
  private readonly newRemotes: NewRemotes = new Map();

  constructor(
    private readonly timeline: readonly TimelineBucket[],
    private readonly bucketSeconds: number,
    private readonly mark?: FindingMark,
  ) {}

  add(conversations: readonly ConversationFacts[]): void {
    const inbound = conversations.filter(probedFromOutside);
    this.perAddress[0]!.push(...detectPortScans(conversations, inbound));
    this.perAddress[1]!.push(...detectBruteForce(conversations));
    this.perAddress[2]!.push(...detectExfiltration(conversations));
    countNewRemotes(inbound, this.timeline, this.bucketSeconds, this.newRemotes);
  }

  /** The findings, by kind, each kind in one order whatever the partitions: by start, then remote IP and port. */
  findings(): FlowFinding[] {
    const inOrder = (list: FlowFinding[]): FlowFinding[] =>
      list.sort((a, b) => (a.evidence.from < b.evidence.from ? -1 : a.evidence.from > b.evidence.from ? 1 : 0)
        || (a.remoteIp ?? '').localeCompare(b.remoteIp ?? '') || (a.localPort ?? 0) - (b.localPort ?? 0));
    const [portScans, bruteForce, exfiltration] = this.perAddress.map(inOrder) as [FlowFinding[], FlowFinding[], FlowFinding[]];
    const findings = [
      ...portScans, ...bruteForce, ...ddosFindings(this.newRemotes, this.timeline, this.bucketSeconds), ...exfiltration, ...detectTrafficSpikes(this.timeline),
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
  mark?: FindingMark,
): FlowFinding[] {
  const detector = new FlowFindingDetector(timeline, bucketSeconds, mark);
  detector.add(conversations);
  return detector.findings();
}

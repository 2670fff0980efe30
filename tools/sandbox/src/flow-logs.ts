/**
 * Synthetic VPC flow logs for one instance: seeded, deterministic, streamed.
 *
 * Every minute of traffic is a pure function of (seed, absolute minute), so any sub-range
 * of a window yields exactly the records the whole window yields for those minutes: a
 * file, an S3 object or an 8-million-record benchmark can each be generated on its own.
 * The clean background draws every endpoint from bounded pools (web clients that cycle
 * through a few ephemeral ports each, a few services, one resolver asked from a pool of
 * source ports, a few hundred internet scanners with one fixed probe each), so the number of distinct conversations
 * stops growing after the first hours however long the window is.
 *
 * Nothing here imports the rest of the sandbox: the generator is exported on its own as
 * `@orgshield/sandbox/flow-logs` for tests and benchmarks.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** The fields of the default format, in its order (flow log version 2). */
export const DEFAULT_FLOW_LOG_FIELDS = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport',
  'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status',
] as const;

/** A custom format as a user might choose it: fields of versions 2 to 5, in another order. */
export const CUSTOM_FLOW_LOG_FIELDS = [
  'version', 'vpc-id', 'subnet-id', 'instance-id', 'interface-id', 'account-id', 'type',
  'srcaddr', 'dstaddr', 'srcport', 'dstport', 'pkt-srcaddr', 'pkt-dstaddr', 'protocol',
  'bytes', 'packets', 'start', 'end', 'action', 'tcp-flags', 'log-status', 'region', 'az-id',
  'flow-direction', 'traffic-path',
] as const;

export type GeneratedFlowField = (typeof CUSTOM_FLOW_LOG_FIELDS)[number];

export interface FlowLogRecord {
  version: number;
  accountId: string;
  interfaceId: string;
  /** null on NODATA and SKIPDATA records, which carry `-` in every traffic field. */
  srcaddr: string | null;
  dstaddr: string | null;
  srcport: number | null;
  dstport: number | null;
  protocol: number | null;
  packets: number | null;
  bytes: number | null;
  start: number;
  end: number;
  action: 'ACCEPT' | 'REJECT' | null;
  logStatus: 'OK' | 'NODATA' | 'SKIPDATA';
  tcpFlags: number | null;
  type: 'IPv4' | 'IPv6' | null;
  flowDirection: 'ingress' | 'egress' | null;
}

export type PlantedIncident =
  /** One remote IP probing `ports` local ports (1, 2, 3, ...) from one source port. */
  | { kind: 'port-scan'; remoteIp: string; at: Date; ports?: number; durationSeconds?: number }
  /** Many short accepted connections from one IP to an admin port. */
  | { kind: 'brute-force'; remoteIp: string; at: Date; port?: number; attempts?: number; durationSeconds?: number }
  /** Many new remote IPs hitting one local port within a few minutes. */
  | { kind: 'ddos'; at: Date; port?: number; sources?: number; durationSeconds?: number }
  /** A large accepted upload from the instance to one remote. */
  | { kind: 'exfiltration'; remoteIp: string; at: Date; remotePort?: number; bytes?: number; durationSeconds?: number }
  /** The web traffic volume multiplied by `factor` for a while. */
  | { kind: 'spike'; at: Date; factor?: number; durationSeconds?: number };

export interface FlowLogScenario {
  seed: number;
  /** Window of the traffic, [from, to), whole minutes. */
  from: Date;
  to: Date;
  /** Average background records per minute. */
  recordsPerMinute: number;
  localIp: string;
  /** When set, a share of the web clients talk to this address over IPv6. */
  localIpv6?: string;
  accountId?: string;
  region?: string;
  interfaceId?: string;
  /** Distinct web client IPs (default 2,000). */
  webClients?: number;
  incidents?: readonly PlantedIncident[];
}

export interface FlowLogFileOptions {
  dir: string;
  /** How many files the window is split into (by time, like 5-minute deliveries). */
  files: number;
  fields?: readonly GeneratedFlowField[];
  /** Write the header line (S3 delivery always does; default true). */
  header?: boolean;
  gzip?: boolean;
  /** gzip level, default 6 like gzip(1). */
  level?: number;
  /** `flat`: files directly in dir; `aws`: under AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/. */
  layout?: 'flat' | 'aws';
}

export interface WrittenFlowLogFile {
  path: string;
  records: number;
  from: Date;
  to: Date;
}

const WEB_SHARE = 0.8;
const SERVICE_SHARE = 0.12;
const DNS_SHARE = 0.06;
const NOISE_SHARE = 0.02;
const PORTS_PER_WEB_CLIENT = 4;
const PORTS_PER_SERVICE_SLOT = 16;
/** The resolver client reuses this many source ports. */
const DNS_PORTS = 512;
const NOISE_POOL = 300;
const NOISE_PORTS = [22, 23, 80, 445, 1433, 3306, 3389, 5900, 6379, 8080];
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_SPAN = 28232; // Linux: 32768-60999
const SERVICES = [
  { ip: '52.94.133.131', port: 443 },
  { ip: '54.239.28.85', port: 443 },
  { ip: '3.5.140.2', port: 443 },
  { ip: '10.0.3.10', port: 5432 },
];
const RESOLVER = '10.0.0.2';
const TCP = 6;
const UDP = 17;
const SYN = 2;
const FIN = 1;
const SYN_ACK = 18;

/** A 32-bit hash of a few integers (murmur3's finalizer over a running mix). */
export function mix(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
    h ^= Math.floor(v / 4294967296) >>> 0;
    h = (h << 13) | (h >>> 19);
    h = Math.imul(h, 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** sfc32: small, fast, good enough for traffic shapes. Returns floats in [0, 1). */
function random(seed: number): () => number {
  let a = mix(seed, 1), b = mix(seed, 2), c = mix(seed, 3), d = 1;
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function ephemeralPort(...key: number[]): number {
  return EPHEMERAL_LOW + (mix(...key) % EPHEMERAL_SPAN);
}

/** Public-looking IPv4 addresses, away from private and special ranges. */
function clientIpv4(seed: number, index: number): string {
  const h = mix(seed, 6, index);
  const first = [24, 31, 45, 66, 73, 81, 89, 95, 109, 122, 131, 151, 176, 185, 203][h % 15]!;
  return `${first}.${(h >>> 4) & 255}.${(h >>> 12) & 255}.${1 + ((h >>> 20) % 254)}`;
}

function clientIpv6(seed: number, index: number): string {
  const h = mix(seed, 7, index);
  return `2001:db8:${(h & 0xffff).toString(16)}:${(h >>> 16).toString(16)}::${(index & 0xffff).toString(16)}`;
}

function noiseIp(seed: number, index: number): string {
  const h = mix(seed, 9, index);
  return `${[5, 45, 80, 92, 141, 167, 193, 212][h % 8]}.${(h >>> 3) & 255}.${(h >>> 11) & 255}.${1 + ((h >>> 19) % 254)}`;
}

/** DDoS sources come from 198.18.0.0/15 (the benchmarking range), one per index. */
function ddosIp(index: number): string {
  return `198.${18 + ((index >>> 16) & 1)}.${(index >>> 8) & 255}.${index & 255}`;
}

interface Context {
  scenario: FlowLogScenario;
  accountId: string;
  interfaceId: string;
  webClients: number;
  webSlots: number;
  serviceSlots: number;
  dnsQueries: number;
  noiseProbes: number;
}

function context(scenario: FlowLogScenario): Context {
  const rpm = scenario.recordsPerMinute;
  return {
    scenario,
    accountId: scenario.accountId ?? '123456789012',
    interfaceId: scenario.interfaceId ?? 'eni-0a1b2c3d4e5f60718',
    webClients: scenario.webClients ?? 2000,
    webSlots: Math.max(1, Math.round((rpm * WEB_SHARE) / 2)),
    serviceSlots: Math.max(1, Math.round((rpm * SERVICE_SHARE) / 2)),
    dnsQueries: Math.max(1, Math.round((rpm * DNS_SHARE) / 2)),
    noiseProbes: Math.max(1, Math.round(rpm * NOISE_SHARE)),
  };
}

function record(ctx: Context, fields: Partial<FlowLogRecord> & Pick<FlowLogRecord, 'start' | 'end'>): FlowLogRecord {
  const src = fields.srcaddr ?? null;
  return {
    version: 2,
    accountId: ctx.accountId,
    interfaceId: ctx.interfaceId,
    srcaddr: src,
    dstaddr: fields.dstaddr ?? null,
    srcport: fields.srcport ?? null,
    dstport: fields.dstport ?? null,
    protocol: fields.protocol ?? null,
    packets: fields.packets ?? null,
    bytes: fields.bytes ?? null,
    start: fields.start,
    end: fields.end,
    action: fields.action ?? null,
    logStatus: fields.logStatus ?? 'OK',
    tcpFlags: fields.tcpFlags ?? null,
    type: src === null ? null : src.includes(':') ? 'IPv6' : 'IPv4',
    flowDirection: src === null ? null : src === ctx.scenario.localIp || src === ctx.scenario.localIpv6 ? 'egress' : 'ingress',
  };
}

/**
 * One exchange as a flow log sees it on the instance's interface: the client's record and
 * the server's record, each with its own direction, both in the same capture window.
 */
function exchange(
  ctx: Context,
  out: FlowLogRecord[],
  e: {
    client: string; clientPort: number; server: string; serverPort: number; protocol: number;
    up: number; down: number; start: number; opening: boolean; action?: 'ACCEPT' | 'REJECT';
  },
): void {
  const end = e.start + 55 + (e.clientPort % 5);
  const action = e.action ?? 'ACCEPT';
  const tcp = e.protocol === TCP;
  out.push(record(ctx, {
    srcaddr: e.client, dstaddr: e.server, srcport: e.clientPort, dstport: e.serverPort, protocol: e.protocol,
    packets: Math.max(1, Math.ceil(e.up / 1400)), bytes: e.up, start: e.start, end, action,
    tcpFlags: tcp ? (e.opening ? SYN | FIN : 0) : null,
  }));
  if (action === 'REJECT' || e.down === 0) return;
  out.push(record(ctx, {
    srcaddr: e.server, dstaddr: e.client, srcport: e.serverPort, dstport: e.clientPort, protocol: e.protocol,
    packets: Math.max(1, Math.ceil(e.down / 1400)), bytes: e.down, start: e.start, end, action,
    tcpFlags: tcp ? (e.opening ? SYN_ACK | FIN : 0) : null,
  }));
}

function spikeFactor(incidents: readonly PlantedIncident[], second: number): number {
  let factor = 1;
  for (const incident of incidents) {
    if (incident.kind !== 'spike') continue;
    const at = incident.at.getTime() / 1000;
    if (second >= at && second < at + (incident.durationSeconds ?? 600)) factor *= incident.factor ?? 6;
  }
  return factor;
}

function backgroundMinute(ctx: Context, minute: number, out: FlowLogRecord[]): void {
  const { scenario } = ctx;
  const seed = scenario.seed;
  const rnd = random(mix(seed, 100, minute));
  const t0 = minute * 60;
  const diurnal = 1 + 0.25 * Math.sin((2 * Math.PI * (minute % 1440)) / 1440);
  const volume = diurnal * spikeFactor(scenario.incidents ?? [], t0);
  const ipv6Every = scenario.localIpv6 === undefined ? 0 : 10;

  // Web clients on 443: keep-alive connections that live a few minutes, then the slot
  // moves on to another client (or the same client on its next ephemeral port).
  for (let s = 0; s < ctx.webSlots; s++) {
    const life = 2 + (mix(seed, 1, s) % 9);
    const age = minute + (mix(seed, 2, s) % life);
    const epoch = Math.floor(age / life);
    const client = mix(seed, 3, s, epoch) % ctx.webClients;
    const v6 = ipv6Every > 0 && client % ipv6Every === 0;
    exchange(ctx, out, {
      client: v6 ? clientIpv6(seed, client) : clientIpv4(seed, client),
      clientPort: ephemeralPort(seed, 5, client, mix(seed, 4, s, epoch) % PORTS_PER_WEB_CLIENT),
      server: v6 ? scenario.localIpv6! : scenario.localIp, serverPort: 443, protocol: TCP,
      up: 300 + Math.floor(rnd() * 1500), down: Math.floor((2000 + rnd() * 30000) * volume),
      start: t0 + Math.floor(rnd() * 4), opening: age % life === 0,
    });
  }

  // Calls out to a few services: small requests, larger answers.
  for (let s = 0; s < ctx.serviceSlots; s++) {
    const life = 5 + (mix(seed, 11, s) % 26);
    const age = minute + (mix(seed, 12, s) % life);
    const epoch = Math.floor(age / life);
    const service = SERVICES[s % SERVICES.length]!;
    exchange(ctx, out, {
      client: scenario.localIp, clientPort: ephemeralPort(seed, 13, s, epoch % PORTS_PER_SERVICE_SLOT),
      server: service.ip, serverPort: service.port, protocol: TCP,
      up: 100 + Math.floor(rnd() * 600), down: 1000 + Math.floor(rnd() * 40000),
      start: t0 + Math.floor(rnd() * 4), opening: age % life === 0,
    });
  }

  for (let q = 0; q < ctx.dnsQueries; q++) {
    exchange(ctx, out, {
      client: scenario.localIp, clientPort: ephemeralPort(seed, 14, mix(seed, 18, minute, q) % DNS_PORTS), server: RESOLVER, serverPort: 53,
      protocol: UDP, up: 60 + Math.floor(rnd() * 40), down: 100 + Math.floor(rnd() * 300),
      start: t0 + Math.floor(rnd() * 4), opening: true,
    });
  }

  // Internet background noise: each scanner always sends the same refused probe.
  for (let p = 0; p < ctx.noiseProbes; p++) {
    const scanner = Math.floor(rnd() * NOISE_POOL);
    exchange(ctx, out, {
      client: noiseIp(seed, scanner), clientPort: 40000 + (mix(seed, 10, scanner) % 20000),
      server: scenario.localIp, serverPort: NOISE_PORTS[mix(seed, 15, scanner) % NOISE_PORTS.length]!,
      protocol: TCP, up: 40 + Math.floor(rnd() * 40), down: 0, start: t0 + Math.floor(rnd() * 4),
      opening: true, action: 'REJECT',
    });
  }

  // Now and then the interface has nothing to report, or the capture skips a window.
  const quiet = mix(seed, 16, minute) % 2000;
  if (quiet < 4) out.push(record(ctx, { start: t0, end: t0 + 60, logStatus: quiet === 0 ? 'SKIPDATA' : 'NODATA' }));
}

/** Spread `count` events evenly over [at, at + duration): the events of this minute. */
function eventsInMinute(at: number, duration: number, count: number, minute: number): [number, number] {
  const t0 = minute * 60;
  const first = Math.max(0, Math.ceil(((t0 - at) * count) / duration));
  const last = Math.min(count, Math.ceil(((t0 + 60 - at) * count) / duration));
  return [first, Math.max(first, last)];
}

function incidentMinute(ctx: Context, incident: PlantedIncident, minute: number, out: FlowLogRecord[]): void {
  const local = ctx.scenario.localIp;
  const at = Math.floor(incident.at.getTime() / 1000);
  const t0 = minute * 60;
  switch (incident.kind) {
    case 'port-scan': {
      const [a, b] = eventsInMinute(at, incident.durationSeconds ?? 120, incident.ports ?? 300, minute);
      for (let i = a; i < b; i++) {
        const port = i + 1;
        const open = port === 22 || port === 443;
        exchange(ctx, out, {
          client: incident.remoteIp, clientPort: 54321, server: local, serverPort: port, protocol: TCP,
          up: 44, down: open ? 44 : 0, start: t0, opening: true, action: open ? 'ACCEPT' : 'REJECT',
        });
      }
      return;
    }
    case 'brute-force': {
      const [a, b] = eventsInMinute(at, incident.durationSeconds ?? 600, incident.attempts ?? 300, minute);
      for (let i = a; i < b; i++) {
        exchange(ctx, out, {
          client: incident.remoteIp, clientPort: 41000 + i, server: local, serverPort: incident.port ?? 22,
          protocol: TCP, up: 2000 + (mix(i, 1) % 2000), down: 2000 + (mix(i, 2) % 1000), start: t0, opening: true,
        });
      }
      return;
    }
    case 'ddos': {
      const sources = incident.sources ?? 3000;
      const [a, b] = eventsInMinute(at, incident.durationSeconds ?? 300, sources, minute);
      for (let i = a; i < b; i++) {
        exchange(ctx, out, {
          client: ddosIp(i), clientPort: ephemeralPort(i, 17), server: local, serverPort: incident.port ?? 443,
          protocol: TCP, up: 50000 + (mix(i, 3) % 150000), down: 500, start: t0, opening: true,
        });
      }
      return;
    }
    case 'exfiltration': {
      const duration = incident.durationSeconds ?? 1800;
      const minutes = Math.ceil(duration / 60);
      const index = minute - Math.floor(at / 60);
      if (index < 0 || index >= minutes) return;
      exchange(ctx, out, {
        client: local, clientPort: 49152, server: incident.remoteIp, serverPort: incident.remotePort ?? 443,
        protocol: TCP, up: Math.floor((incident.bytes ?? 3 * 2 ** 30) / minutes), down: 20000, start: t0,
        opening: index === 0,
      });
      return;
    }
    case 'spike':
      return; // shapes the background's volume instead
  }
}

function incidentMinutes(incident: PlantedIncident): [number, number] {
  const at = incident.at.getTime() / 1000;
  const duration = incident.durationSeconds ?? { 'port-scan': 120, 'brute-force': 600, ddos: 300, exfiltration: 1800, spike: 600 }[incident.kind];
  return [Math.floor(at / 60), Math.ceil((at + duration) / 60)];
}

/** Every record of the minutes in [from, to) (default: the scenario's window), minute by minute. */
export function* generateFlowRecords(scenario: FlowLogScenario, range?: { from: Date; to: Date }): Generator<FlowLogRecord> {
  const ctx = context(scenario);
  const first = Math.ceil((range ?? scenario).from.getTime() / 60000);
  const end = Math.ceil((range ?? scenario).to.getTime() / 60000);
  const incidents = (scenario.incidents ?? []).map((incident) => ({ incident, minutes: incidentMinutes(incident) }));
  const out: FlowLogRecord[] = [];
  for (let minute = first; minute < end; minute++) {
    out.length = 0;
    backgroundMinute(ctx, minute, out);
    for (const { incident, minutes } of incidents) {
      if (minute >= minutes[0] && minute < minutes[1]) incidentMinute(ctx, incident, minute, out);
    }
    yield* out;
  }
}

function dash(value: string | number | null): string {
  return value === null ? '-' : String(value);
}

export function flowFieldValue(r: FlowLogRecord, field: GeneratedFlowField): string {
  switch (field) {
    case 'version': return r.version === 2 ? '2' : dash(r.version);
    case 'account-id': return r.accountId;
    case 'interface-id': return r.interfaceId;
    case 'srcaddr': case 'pkt-srcaddr': return dash(r.srcaddr);
    case 'dstaddr': case 'pkt-dstaddr': return dash(r.dstaddr);
    case 'srcport': return dash(r.srcport);
    case 'dstport': return dash(r.dstport);
    case 'protocol': return dash(r.protocol);
    case 'packets': return dash(r.packets);
    case 'bytes': return dash(r.bytes);
    case 'start': return String(r.start);
    case 'end': return String(r.end);
    case 'action': return dash(r.action);
    case 'log-status': return r.logStatus;
    case 'tcp-flags': return dash(r.tcpFlags);
    case 'type': return dash(r.type);
    case 'flow-direction': return dash(r.flowDirection);
    case 'vpc-id': return 'vpc-0f1e2d3c4b5a69788';
    case 'subnet-id': return 'subnet-0123456789abcdef0';
    case 'instance-id': return 'i-0abc1234def567890';
    case 'region': return 'us-east-1';
    case 'az-id': return 'use1-az1';
    case 'traffic-path': return r.flowDirection === 'egress' ? '1' : '-';
  }
}

/** One record as a line of the given format (no newline). */
export function formatFlowRecord(r: FlowLogRecord, fields: readonly GeneratedFlowField[] = DEFAULT_FLOW_LOG_FIELDS): string {
  if (fields === DEFAULT_FLOW_LOG_FIELDS) {
    // The benchmark writes millions of these: skip the per-field dispatch.
    return `2 ${r.accountId} ${r.interfaceId} ${dash(r.srcaddr)} ${dash(r.dstaddr)} ${dash(r.srcport)} ${dash(r.dstport)} ${dash(r.protocol)} ${dash(r.packets)} ${dash(r.bytes)} ${r.start} ${r.end} ${dash(r.action)} ${r.logStatus}`;
  }
  return fields.map((field) => flowFieldValue(r, field)).join(' ');
}

/** The text of one flow log file, as chunks of about 256 KiB: header line (optional), then records. */
export function* flowLogText(
  scenario: FlowLogScenario,
  options: { from: Date; to: Date; fields?: readonly GeneratedFlowField[]; header?: boolean },
): Generator<string> {
  const fields = options.fields ?? DEFAULT_FLOW_LOG_FIELDS;
  let chunk = options.header === false ? '' : `${fields.join(' ')}\n`;
  for (const r of generateFlowRecords(scenario, options)) {
    chunk += `${formatFlowRecord(r, fields)}\n`;
    if (chunk.length >= 262144) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

function stamp(date: Date): string {
  return date.toISOString().slice(0, 16).replace(/[-:]/g, '');
}

/** S3's object name for a delivery: {account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmm}Z_{hash}.log.gz */
export function flowLogFileName(accountId: string, region: string, start: Date, index: number, gzip = true): string {
  const hash = mix(index, start.getTime() / 1000).toString(16).padStart(8, '0');
  return `${accountId}_vpcflowlogs_${region}_fl-0123456789abcdef0_${stamp(start)}Z_${hash}.log${gzip ? '.gz' : ''}`;
}

/**
 * Writes the scenario's window as `files` files, each a contiguous slice of whole minutes,
 * streamed through gzip: memory stays flat whatever the record count.
 */
export async function writeFlowLogFiles(scenario: FlowLogScenario, options: FlowLogFileOptions): Promise<WrittenFlowLogFile[]> {
  const gzip = options.gzip ?? true;
  const accountId = scenario.accountId ?? '123456789012';
  const region = scenario.region ?? 'us-east-1';
  const firstMinute = Math.ceil(scenario.from.getTime() / 60000);
  const minutes = Math.ceil(scenario.to.getTime() / 60000) - firstMinute;
  const files = Math.max(1, Math.min(options.files, minutes));
  const written: WrittenFlowLogFile[] = [];
  for (let i = 0; i < files; i++) {
    const from = new Date((firstMinute + Math.floor((i * minutes) / files)) * 60000);
    const to = new Date((firstMinute + Math.floor(((i + 1) * minutes) / files)) * 60000);
    const day = from.toISOString().slice(0, 10).split('-').join('/');
    const dir = options.layout === 'aws' ? join(options.dir, 'AWSLogs', accountId, 'vpcflowlogs', region, day) : options.dir;
    await mkdir(dir, { recursive: true });
    const path = join(dir, flowLogFileName(accountId, region, from, i, gzip));
    let records = 0;
    const counted = function* (): Generator<string> {
      for (const chunk of flowLogText(scenario, { from, to, fields: options.fields, header: options.header })) {
        for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) records++;
        yield chunk;
      }
    };
    const source = Readable.from(counted());
    const sink = createWriteStream(path);
    if (gzip) await pipeline(source, createGzip({ level: options.level ?? 6 }), sink);
    else await pipeline(source, sink);
    if (options.header !== false) records--;
    written.push({ path, records, from, to });
  }
  return written;
}

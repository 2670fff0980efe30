/**
 * The running totals of a flow-log analysis: counters, conversations and a per-minute
 * volume series, fed one record at a time straight from the reader's byte ranges.
 *
 * Records are many (millions) and conversations few (thousands), so the per-record path
 * creates no strings and no objects: remote addresses are interned by their bytes, and
 * conversations live in an open-addressing hash table over typed arrays. Memory grows
 * with distinct conversations, never with records, and both tables have a hard cap.
 * The state can be exported and merged, so worker threads can share the files of a run.
 */
import type { FlowLogField } from './flow-log-format.js';
import { type FlowLogProblems, type FlowRecordSink, MAX_LINE_BYTES } from './flow-log-reader.js';

/** Conversations kept at most (about 100 bytes each); records of new ones beyond are counted as overflow. */
export const MAX_CONVERSATIONS = 1_000_000;
/** Distinct remote addresses kept at most. */
export const MAX_ADDRESSES = 1_000_000;

export type FlowDirection = 'inbound' | 'outbound' | 'unknown';

/** What the accumulator keeps: everything plain data, so it can be sent to a worker. */
export interface AccumulatorConfig {
  /** The instance's addresses, normalized; empty: take the local side from flow-direction. */
  localIps: string[];
  eni: string | null;
  /** [from, to) in epoch seconds on a record's start. */
  from: number | null;
  to: number | null;
  /** Remote addresses and CIDRs (already validated). */
  remote: string[];
  localPorts: number[];
  remotePorts: number[];
  protocols: number[];
  direction: 'inbound' | 'outbound' | null;
  action: 'ACCEPT' | 'REJECT' | null;
}

export interface RecordCounts {
  /** Records read (NODATA and SKIPDATA included), malformed lines not. */
  total: number;
  /** Records that passed the window, the ENI, the local addresses and every filter. */
  matched: number;
  nodata: number;
  skipdata: number;
}

/**
 * Who opened a conversation when nothing better is known: the side with the higher port
 * is the client (its port is the ephemeral one; services listen below it). Equal ports
 * (NTP's 123 to 123, ICMP's 0 to 0) say nothing.
 */
export function directionFromPorts(localPort: number, remotePort: number): FlowDirection {
  return remotePort > localPort ? 'inbound' : remotePort < localPort ? 'outbound' : 'unknown';
}

const OPENED_BY_REMOTE = 1;
const OPENED_BY_LOCAL = 2;
const TCP = 6;
const SYN = 2;
const SYN_ACK = 18;

function sameBytes(buf: Buffer, s: number, e: number, text: Buffer): boolean {
  if (e - s !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[s + i] !== text[i]) return false;
  return true;
}

type NumberArray = Float64Array | Int32Array | Uint16Array | Uint8Array;

function grow<T extends NumberArray>(array: T, size: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(size);
  bigger.set(array);
  return bigger;
}

/** Remote addresses interned by their bytes: one string per distinct address, made once. */
class AddressTable {
  texts: string[] = [];
  private hashes = new Int32Array(1024);
  private slots = new Int32Array(2048);

  get size(): number {
    return this.texts.length;
  }

  /** The id of the address buf[s, e) whose FNV-1a hash is h, or -1 when the table is full and the address is new. */
  intern(buf: Buffer, s: number, e: number, h: number): number {
    const mask = this.slots.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) {
        if (this.texts.length >= MAX_ADDRESSES) return -1;
        return this.insert(slot, h, buf.toString('latin1', s, e));
      }
      const id = entry - 1;
      if (this.hashes[id] === h && this.matches(this.texts[id]!, buf, s, e)) return id;
    }
  }

  internText(text: string): number {
    const buf = Buffer.from(text, 'latin1');
    return this.intern(buf, 0, buf.length, fnv(buf));
  }

  private matches(text: string, buf: Buffer, s: number, e: number): boolean {
    if (text.length !== e - s) return false;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[s + i]) return false;
    return true;
  }

  private insert(slot: number, hash: number, text: string): number {
    const id = this.texts.length;
    this.texts.push(text);
    if (id >= this.hashes.length) this.hashes = grow(this.hashes, this.hashes.length * 2);
    this.hashes[id] = hash;
    this.slots[slot] = id + 1;
    if (this.texts.length * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let id = 0; id < this.texts.length; id++) {
      let slot = this.hashes[id]! & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = id + 1;
    }
  }
}

/**
 * Conversations keyed by (remote address id, protocol, local port, remote port), stored
 * column-wise. Index i of every array is conversation i.
 */
export class ConversationTable {
  size = 0;
  remote = new Int32Array(1024);
  protocol = new Uint8Array(1024);
  localPort = new Uint16Array(1024);
  remotePort = new Uint16Array(1024);
  inBytes = new Float64Array(1024);
  outBytes = new Float64Array(1024);
  inPackets = new Float64Array(1024);
  outPackets = new Float64Array(1024);
  /** Outbound bytes of accepted records: what actually left. */
  acceptedOutBytes = new Float64Array(1024);
  accepted = new Float64Array(1024);
  rejected = new Float64Array(1024);
  firstSeen = new Float64Array(1024);
  lastSeen = new Float64Array(1024);
  /** OPENED_BY_REMOTE | OPENED_BY_LOCAL, from TCP flags. */
  opened = new Uint8Array(1024);
  private slots = new Int32Array(2048);

  /** The conversation's index, created when new; -1 when the table is full. */
  upsert(remote: number, protocol: number, localPort: number, remotePort: number): number {
    const k1 = remote * 256 + protocol;
    const k2 = (localPort << 16) | remotePort;
    let h = Math.imul(k1, -1640531535) ^ Math.imul(k2, -2048144789);
    h ^= h >>> 15;
    const mask = this.slots.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) {
        if (this.size >= MAX_CONVERSATIONS) return -1;
        return this.insert(slot, remote, protocol, localPort, remotePort);
      }
      const i = entry - 1;
      if (this.remote[i] === remote && this.protocol[i] === protocol && this.localPort[i] === localPort && this.remotePort[i] === remotePort) return i;
    }
  }

  /** The direction of conversation i: TCP flags when they agree, else the port rule. */
  direction(i: number): FlowDirection {
    const opened = this.opened[i]!;
    if (opened === OPENED_BY_REMOTE) return 'inbound';
    if (opened === OPENED_BY_LOCAL) return 'outbound';
    return directionFromPorts(this.localPort[i]!, this.remotePort[i]!);
  }

  private insert(slot: number, remote: number, protocol: number, localPort: number, remotePort: number): number {
    const i = this.size++;
    if (i >= this.remote.length) this.resize(this.remote.length * 2);
    this.remote[i] = remote;
    this.protocol[i] = protocol;
    this.localPort[i] = localPort;
    this.remotePort[i] = remotePort;
    this.firstSeen[i] = Infinity;
    this.lastSeen[i] = -Infinity;
    this.slots[slot] = i + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return i;
  }

  private resize(capacity: number): void {
    this.remote = grow(this.remote, capacity);
    this.protocol = grow(this.protocol, capacity);
    this.localPort = grow(this.localPort, capacity);
    this.remotePort = grow(this.remotePort, capacity);
    this.inBytes = grow(this.inBytes, capacity);
    this.outBytes = grow(this.outBytes, capacity);
    this.inPackets = grow(this.inPackets, capacity);
    this.outPackets = grow(this.outPackets, capacity);
    this.acceptedOutBytes = grow(this.acceptedOutBytes, capacity);
    this.accepted = grow(this.accepted, capacity);
    this.rejected = grow(this.rejected, capacity);
    this.firstSeen = grow(this.firstSeen, capacity);
    this.lastSeen = grow(this.lastSeen, capacity);
    this.opened = grow(this.opened, capacity);
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let i = 0; i < this.size; i++) {
      const k1 = this.remote[i]! * 256 + this.protocol[i]!;
      const k2 = (this.localPort[i]! << 16) | this.remotePort[i]!;
      let h = Math.imul(k1, -1640531535) ^ Math.imul(k2, -2048144789);
      h ^= h >>> 15;
      let slot = h & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = i + 1;
    }
  }
}

/** Volume per minute of record start, sparse: only minutes with traffic take room. */
export class MinuteSeries {
  readonly index = new Map<number, number>();
  minutes: number[] = [];
  inBytes: number[] = [];
  outBytes: number[] = [];
  accepted: number[] = [];
  rejected: number[] = [];
  private lastMinute = NaN;
  private lastSlot = -1;

  slot(minute: number): number {
    if (minute === this.lastMinute) return this.lastSlot;
    let slot = this.index.get(minute);
    if (slot === undefined) {
      slot = this.minutes.length;
      this.index.set(minute, slot);
      this.minutes.push(minute);
      this.inBytes.push(0);
      this.outBytes.push(0);
      this.accepted.push(0);
      this.rejected.push(0);
    }
    this.lastMinute = minute;
    this.lastSlot = slot;
    return slot;
  }
}

/** The exportable state of an accumulator (typed arrays cut to size). */
export interface AccumulatorState {
  counts: RecordCounts;
  overflow: number;
  addresses: string[];
  conversations: Pick<ConversationTable, 'size' | 'remote' | 'protocol' | 'localPort' | 'remotePort' | 'inBytes' | 'outBytes' | 'inPackets' | 'outPackets' | 'acceptedOutBytes' | 'accepted' | 'rejected' | 'firstSeen' | 'lastSeen' | 'opened'>;
  minutes: Pick<MinuteSeries, 'minutes' | 'inBytes' | 'outBytes' | 'accepted' | 'rejected'>;
}

/** What the parser does with each column of a file's format. */
const SKIP = 0, SRCADDR = 1, DSTADDR = 2, SRCPORT = 3, DSTPORT = 4, PROTOCOL = 5, PACKETS = 6, BYTES = 7,
  START = 8, END = 9, TCP_FLAGS = 10, ACTION = 11, LOG_STATUS = 12, INTERFACE = 13, FLOW_DIRECTION = 14;
/** The first op whose column is an unsigned number (SRCPORT..TCP_FLAGS). */
const FIRST_NUMBER = SRCPORT, LAST_NUMBER = TCP_FLAGS;

const STATUS_BAD = 0, STATUS_OK = 1, STATUS_NODATA = 2, STATUS_SKIPDATA = 3;
const ACTION_BAD = 0, ACTION_ACCEPT = 1, ACTION_REJECT = 2, ACTION_NONE = 3;
const FNV_OFFSET = -2128831035;
const FNV_PRIME = 16777619;

function fnv(bytes: Buffer): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME);
  return h;
}

export class FlowAccumulator implements FlowRecordSink {
  readonly counts: RecordCounts = { total: 0, matched: 0, nodata: 0, skipdata: 0 };
  /** Matching records of conversations the full table could not take. */
  overflow = 0;
  readonly addresses = new AddressTable();
  readonly conversations = new ConversationTable();
  readonly series = new MinuteSeries();
  /** One op per column of the current file's format. */
  private ops = new Uint8Array(0);
  private columns: readonly (string | null)[] = [];
  private readonly locals: Buffer[];
  private readonly localHashes: number[];
  private readonly eni: Buffer | null;
  private readonly from: number;
  private readonly to: number;
  private readonly filtered: boolean;
  private readonly localPorts: Set<number>;
  private readonly remotePorts: Set<number>;
  private readonly protocols: Set<number>;
  private readonly direction: FlowDirection | null;
  private readonly action: number;
  /** Per remote address id: 0 not yet decided, 1 passes the remote filter, 2 does not. */
  private remotePasses = new Uint8Array(1024);

  constructor(
    private readonly config: AccumulatorConfig,
    private readonly problems: FlowLogProblems,
    /** Decides the remote filter for one address (CIDR matching lives with the caller). */
    private readonly remoteFilter: ((address: string) => boolean) | null,
  ) {
    this.locals = config.localIps.map((ip) => Buffer.from(ip, 'latin1'));
    this.localHashes = this.locals.map(fnv);
    this.eni = config.eni === null ? null : Buffer.from(config.eni, 'latin1');
    this.from = config.from ?? -Infinity;
    this.to = config.to ?? Infinity;
    this.localPorts = new Set(config.localPorts);
    this.remotePorts = new Set(config.remotePorts);
    this.protocols = new Set(config.protocols);
    this.direction = config.direction;
    this.action = config.action === null ? 0 : config.action === 'ACCEPT' ? ACTION_ACCEPT : ACTION_REJECT;
    this.filtered = this.localPorts.size + this.remotePorts.size + this.protocols.size > 0 || this.direction !== null || this.action !== 0;
  }

  beginFile(file: string, columns: readonly (FlowLogField | null)[]): boolean {
    if (this.locals.length === 0 && !columns.includes('flow-direction')) {
      this.problems.add({
        file, code: 'missing-field',
        message: `${file} has no flow-direction field and no local address was given, so its records cannot be told in from out; the file is skipped (give --local-ip).`,
      });
      return false;
    }
    if (this.eni !== null && !columns.includes('interface-id')) {
      this.problems.add({ file, code: 'missing-field', message: `${file} has no interface-id field, so its records cannot be matched to ${this.config.eni}; the file is skipped.` });
      return false;
    }
    const ops: Record<string, number> = {
      srcaddr: SRCADDR, dstaddr: DSTADDR, srcport: SRCPORT, dstport: DSTPORT, protocol: PROTOCOL, packets: PACKETS,
      bytes: BYTES, start: START, end: END, 'tcp-flags': TCP_FLAGS, action: ACTION, 'log-status': LOG_STATUS,
      ...(this.eni === null ? {} : { 'interface-id': INTERFACE }),
      ...(this.locals.length > 0 ? {} : { 'flow-direction': FLOW_DIRECTION }),
    };
    this.ops = Uint8Array.from(columns, (column) => (column === null ? SKIP : ops[column] ?? SKIP));
    this.columns = columns;
    return true;
  }

  private isLocal(buf: Buffer, s: number, e: number, hash: number): boolean {
    const hashes = this.localHashes;
    for (let k = 0; k < hashes.length; k++) if (hashes[k] === hash && sameBytes(buf, s, e, this.locals[k]!)) return true;
    return false;
  }

  /** Reports line `line` (buf[s, e), without its line break) as malformed at column `column`. */
  private malformed(buf: Buffer, s: number, e: number, file: string, line: number, column: number, at: number): void {
    if (!this.problems.listing(file)) {
      this.problems.count(file);
      return;
    }
    const fields = this.ops.length;
    let found = 1;
    for (let i = s; i < e; i++) if (buf[i] === 32) found++;
    let why: string;
    if (found !== fields) {
      why = `has ${found} fields where its format has ${fields}`;
    } else {
      let start = at;
      while (start > s && buf[start - 1] !== 32) start--;
      let end = at;
      while (end < e && buf[end] !== 32) end++;
      why = `has ${this.columns[column] ?? 'a field'} '${buf.toString('latin1', start, Math.min(end, start + 40))}', which is not valid`;
    }
    this.problems.add({ file, line, code: 'malformed-record', message: `${file}:${line} ${why}; the record is skipped.` });
  }

  private tooLong(file: string, line: number): void {
    this.problems.add({ file, line, code: 'line-too-long', message: `${file}:${line} is longer than ${MAX_LINE_BYTES} bytes; skipped to the next line break.` });
  }

  /**
   * Parses and totals whole lines. Each line is read once, column by column, by the op
   * the column was given in beginFile: numbers are accumulated digit by digit, addresses
   * hashed as they pass, everything else skipped. Nothing is allocated per record.
   */
  lines(buf: Buffer, from: number, to: number, file: string, firstLine: number): number {
    const ops = this.ops;
    const fields = ops.length;
    const counts = this.counts;
    const eni = this.eni;
    let line = firstLine - 1;
    let i = from;
    while (i < to) {
      line++;
      const lineStart = i;
      if (buf[i] === 10 || (buf[i] === 13 && buf[i + 1] === 10)) {
        i = buf[i] === 10 ? i + 1 : i + 2; // a blank line says nothing
        continue;
      }
      let srcS = 0, srcE = 0, srcH = 0, dstS = 0, dstE = 0, dstH = 0;
      let srcport = -1, dstport = -1, protocol = -1, packets = -1, bytes = -1, start = -1, end = -1, flags = -1;
      let action = ACTION_NONE, status = STATUS_OK, egress = -1, eniMatches = true;
      let bad = -1;
      let badAt = 0;
      for (let f = 0; f < fields; f++) {
        const op = ops[f]!;
        let c = buf[i]!;
        if (op === SKIP) {
          while (c !== 32 && c !== 10) c = buf[++i]!;
        } else if (op >= FIRST_NUMBER && op <= LAST_NUMBER) {
          let value = 0;
          let d = c - 48;
          const s = i;
          if (d === -3) { // '-': the value is missing
            value = -1;
            i++;
          } else {
            while (d >= 0 && d <= 9) {
              value = value * 10 + d;
              d = buf[++i]! - 48;
            }
            if (i === s || i - s > 15) value = -2;
          }
          if (value === -2) {
            bad = f;
            badAt = s;
            break;
          }
          if (op === SRCPORT) srcport = value;
          else if (op === DSTPORT) dstport = value;
          else if (op === PROTOCOL) protocol = value;
          else if (op === PACKETS) packets = value;
          else if (op === BYTES) bytes = value;
          else if (op === START) start = value;
          else if (op === END) end = value;
          else flags = value;
        } else if (op === SRCADDR || op === DSTADDR) {
          const s = i;
          let h = FNV_OFFSET;
          while (c !== 32 && c !== 10) {
            h = Math.imul(h ^ c, FNV_PRIME);
            c = buf[++i]!;
          }
          let e = i;
          if (c === 10 && e > s && buf[e - 1] === 13) {
            // The last column of a CRLF line: the address ends before the CR.
            e--;
            h = FNV_OFFSET;
            for (let k = s; k < e; k++) h = Math.imul(h ^ buf[k]!, FNV_PRIME);
          }
          if (op === SRCADDR) {
            srcS = s;
            srcE = e;
            srcH = h;
          } else {
            dstS = s;
            dstE = e;
            dstH = h;
          }
        } else {
          const s = i;
          while (c !== 32 && c !== 10) c = buf[++i]!;
          const e = c === 10 && i > s && buf[i - 1] === 13 ? i - 1 : i;
          const length = e - s;
          const first = buf[s];
          if (op === ACTION) {
            action = length === 6 && first === 65 ? ACTION_ACCEPT : length === 6 && first === 82 ? ACTION_REJECT : length === 1 && first === 45 ? ACTION_NONE : ACTION_BAD;
          } else if (op === LOG_STATUS) {
            status = length === 2 && first === 79 ? STATUS_OK : length === 6 && first === 78 ? STATUS_NODATA : length === 8 && first === 83 ? STATUS_SKIPDATA : STATUS_BAD;
          } else if (op === INTERFACE) {
            eniMatches = sameBytes(buf, s, e, eni!);
          } else {
            egress = length === 6 && first === 101 ? 1 : length === 7 && first === 105 ? 0 : -1;
          }
          if ((op === ACTION && action === ACTION_BAD) || (op === LOG_STATUS && status === STATUS_BAD)) {
            bad = f;
            badAt = s;
            break;
          }
        }
        if (f + 1 < fields) {
          if (buf[i] !== 32) {
            bad = f;
            badAt = i;
            break;
          }
          i++;
        }
      }
      if (bad < 0) {
        if (buf[i] === 13) i++;
        if (buf[i] !== 10) {
          bad = fields - 1;
          badAt = i;
        }
      }
      if (bad >= 0) {
        const newline = buf.indexOf(10, i);
        if (newline - lineStart > MAX_LINE_BYTES) this.tooLong(file, line);
        else this.malformed(buf, lineStart, buf[newline - 1] === 13 ? newline - 1 : newline, file, line, bad, badAt);
        i = newline + 1;
        continue;
      }
      i++; // the line break
      if (i - lineStart > MAX_LINE_BYTES + 1) {
        this.tooLong(file, line);
        continue;
      }
      if (status !== STATUS_OK) {
        counts.total++;
        if (status === STATUS_NODATA) counts.nodata++;
        else counts.skipdata++;
        continue;
      }
      // Values every OK record must have right.
      let wrong = -1;
      if (start < 0) wrong = START;
      else if (protocol < 0 || protocol > 255) wrong = PROTOCOL;
      else if (srcport > 65535) wrong = SRCPORT;
      else if (dstport > 65535) wrong = DSTPORT;
      else if (srcE - srcS < 2) wrong = SRCADDR;
      else if (dstE - dstS < 2) wrong = DSTADDR;
      if (wrong >= 0) {
        const column = ops.indexOf(wrong);
        let at = lineStart;
        for (let k = 0; k < column; k++) at = buf.indexOf(32, at) + 1;
        this.malformed(buf, lineStart, buf[i - 2] === 13 ? i - 2 : i - 1, file, line, column, at);
        continue;
      }
      counts.total++;
      if (end < 0) end = start;
      this.take(buf, start, end, srcS, srcE, srcH, dstS, dstE, dstH, srcport, dstport, protocol, packets, bytes, flags, action, egress, eniMatches);
    }
    return line - firstLine + 1;
  }

  /** Totals one well-formed OK record, if it is the instance's and passes the filters. */
  private take(
    buf: Buffer, start: number, end: number, srcS: number, srcE: number, srcH: number, dstS: number, dstE: number, dstH: number,
    srcport: number, dstport: number, protocol: number, packets: number, bytes: number, flags: number, action: number, egress: number,
    eniMatches: boolean,
  ): void {
    if (start < this.from || start >= this.to || !eniMatches) return;
    let outgoing: boolean;
    if (this.locals.length > 0) {
      outgoing = this.isLocal(buf, srcS, srcE, srcH);
      if (outgoing === this.isLocal(buf, dstS, dstE, dstH)) return; // neither side is the instance, or both are
    } else {
      if (egress < 0) return;
      outgoing = egress === 1;
    }
    const lport = outgoing ? (srcport < 0 ? 0 : srcport) : dstport < 0 ? 0 : dstport;
    const rport = outgoing ? (dstport < 0 ? 0 : dstport) : srcport < 0 ? 0 : srcport;
    let opened = 0;
    if (protocol === TCP && flags >= 0) {
      // SYN-ACK comes from the side that was asked; a SYN alone from the side asking.
      if ((flags & SYN_ACK) === SYN_ACK) opened = outgoing ? OPENED_BY_REMOTE : OPENED_BY_LOCAL;
      else if ((flags & SYN) !== 0) opened = outgoing ? OPENED_BY_LOCAL : OPENED_BY_REMOTE;
    }
    if (this.filtered) {
      if (this.localPorts.size > 0 && !this.localPorts.has(lport)) return;
      if (this.remotePorts.size > 0 && !this.remotePorts.has(rport)) return;
      if (this.protocols.size > 0 && !this.protocols.has(protocol)) return;
      if (this.action !== 0 && this.action !== action) return;
      if (this.direction !== null) {
        const direction = opened === OPENED_BY_REMOTE ? 'inbound' : opened === OPENED_BY_LOCAL ? 'outbound' : directionFromPorts(lport, rport);
        if (direction !== this.direction) return;
      }
    }
    const remote = outgoing ? this.addresses.intern(buf, dstS, dstE, dstH) : this.addresses.intern(buf, srcS, srcE, srcH);
    if (this.remoteFilter !== null && remote >= 0 && !this.passesRemote(remote)) return;
    this.counts.matched++;
    const n = bytes < 0 ? 0 : bytes;
    const p = packets < 0 ? 0 : packets;
    const accepted = action === ACTION_ACCEPT;
    const rejected = action === ACTION_REJECT;
    const i = remote < 0 ? -1 : this.conversations.upsert(remote, protocol, lport, rport);
    if (i < 0) {
      this.overflow++;
    } else {
      const t = this.conversations;
      if (outgoing) {
        t.outBytes[i]! += n;
        t.outPackets[i]! += p;
        if (accepted) t.acceptedOutBytes[i]! += n;
      } else {
        t.inBytes[i]! += n;
        t.inPackets[i]! += p;
      }
      if (accepted) t.accepted[i]!++;
      else if (rejected) t.rejected[i]!++;
      if (start < t.firstSeen[i]!) t.firstSeen[i] = start;
      if (end > t.lastSeen[i]!) t.lastSeen[i] = end;
      t.opened[i]! |= opened;
    }
    const series = this.series;
    const slot = series.slot(Math.floor(start / 60));
    if (outgoing) series.outBytes[slot]! += n;
    else series.inBytes[slot]! += n;
    if (accepted) series.accepted[slot]!++;
    else if (rejected) series.rejected[slot]!++;
  }

  private passesRemote(id: number): boolean {
    if (id >= this.remotePasses.length) this.remotePasses = grow(this.remotePasses, Math.max(id + 1, this.remotePasses.length * 2));
    let verdict = this.remotePasses[id]!;
    if (verdict === 0) {
      verdict = this.remoteFilter!(this.addresses.texts[id]!) ? 1 : 2;
      this.remotePasses[id] = verdict;
    }
    return verdict === 1;
  }

  exportState(): AccumulatorState {
    const t = this.conversations;
    const n = t.size;
    return {
      counts: { ...this.counts },
      overflow: this.overflow,
      addresses: this.addresses.texts,
      conversations: {
        size: n,
        remote: t.remote.slice(0, n), protocol: t.protocol.slice(0, n), localPort: t.localPort.slice(0, n), remotePort: t.remotePort.slice(0, n),
        inBytes: t.inBytes.slice(0, n), outBytes: t.outBytes.slice(0, n), inPackets: t.inPackets.slice(0, n), outPackets: t.outPackets.slice(0, n),
        acceptedOutBytes: t.acceptedOutBytes.slice(0, n), accepted: t.accepted.slice(0, n), rejected: t.rejected.slice(0, n),
        firstSeen: t.firstSeen.slice(0, n), lastSeen: t.lastSeen.slice(0, n), opened: t.opened.slice(0, n),
      },
      minutes: this.series,
    };
  }

  /** Adds another accumulator's state (from a worker) to this one. */
  merge(state: AccumulatorState): void {
    for (const key of ['total', 'matched', 'nodata', 'skipdata'] as const) this.counts[key] += state.counts[key];
    this.overflow += state.overflow;
    const ids = state.addresses.map((text) => this.addresses.internText(text));
    const s = state.conversations;
    const t = this.conversations;
    for (let j = 0; j < s.size; j++) {
      const remote = ids[s.remote[j]!]!;
      const i = remote < 0 ? -1 : t.upsert(remote, s.protocol[j]!, s.localPort[j]!, s.remotePort[j]!);
      if (i < 0) {
        this.overflow += s.accepted[j]! + s.rejected[j]!;
        continue;
      }
      t.inBytes[i]! += s.inBytes[j]!;
      t.outBytes[i]! += s.outBytes[j]!;
      t.inPackets[i]! += s.inPackets[j]!;
      t.outPackets[i]! += s.outPackets[j]!;
      t.acceptedOutBytes[i]! += s.acceptedOutBytes[j]!;
      t.accepted[i]! += s.accepted[j]!;
      t.rejected[i]! += s.rejected[j]!;
      t.firstSeen[i] = Math.min(t.firstSeen[i]!, s.firstSeen[j]!);
      t.lastSeen[i] = Math.max(t.lastSeen[i]!, s.lastSeen[j]!);
      t.opened[i]! |= s.opened[j]!;
    }
    const m = state.minutes;
    for (let j = 0; j < m.minutes.length; j++) {
      const slot = this.series.slot(m.minutes[j]!);
      this.series.inBytes[slot]! += m.inBytes[j]!;
      this.series.outBytes[slot]! += m.outBytes[j]!;
      this.series.accepted[slot]! += m.accepted[j]!;
      this.series.rejected[slot]! += m.rejected[j]!;
    }
  }
}

/**
 * The running totals of a flow-log analysis: counters, conversations and a per-minute
 * volume series, fed straight from the scanner's decompressed bytes.
 *
 * Records are many (millions) and conversations few (thousands), so the per-record path
 * creates no strings and no objects and makes one hash-table probe: conversations are
 * keyed by the remote address's bytes (kept once, in a byte arena), the ports and the
 * protocol, and their totals sit side by side in one Float64Array so an update touches
 * one or two cache lines. Memory grows with distinct conversations, never with records,
 * and the table has a hard cap. The state can be exported and merged, so worker threads
 * can share the files of a run.
 */
import type { FlowLogField } from './flow-log-format.js';
import { type FlowLogProblems, type FlowRecordSink, MAX_LINE_BYTES } from './flow-log-scanner.js';

/** Conversations kept at most (about 130 bytes each); records of new ones beyond are counted as overflow. */
export const MAX_CONVERSATIONS = 1_000_000;

export type FlowDirection = 'inbound' | 'outbound' | 'unknown';

/** The record filters of an analysis, normalized (remote addresses and CIDRs already validated). */
export interface FlowFilters {
  remote: string[];
  localPorts: number[];
  remotePorts: number[];
  protocols: number[];
  direction: 'inbound' | 'outbound' | null;
  action: 'ACCEPT' | 'REJECT' | null;
}

/** What the accumulator keeps: everything plain data, so it can be sent to a worker. */
export interface AccumulatorConfig extends FlowFilters {
  /** The instance's addresses, normalized; empty: take the local side from flow-direction. */
  localIps: string[];
  eni: string | null;
  /** [from, to) in epoch seconds on a record's start. */
  from: number | null;
  to: number | null;
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
const FNV_OFFSET = -2128831035;
const FNV_PRIME = 16777619;

/** A DataView of the same bytes, for reading them four at a time. */
function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The hash of bytes[s, e) (an address): FNV-style over little-endian 32-bit words, the last
 * one zero-padded, then mixed so every byte reaches the low bits.
 */
function hashBytes(view: DataView, s: number, e: number): number {
  let h = FNV_OFFSET;
  let i = s;
  for (; i + 4 <= e; i += 4) h = Math.imul(h ^ view.getInt32(i, true), FNV_PRIME);
  let tail = 0;
  for (let shift = 0; i < e; i++, shift += 8) tail |= view.getUint8(i) << shift;
  h = Math.imul(h ^ tail, FNV_PRIME);
  h ^= h >>> 16;
  h = Math.imul(h, -2048144789);
  return h ^ (h >>> 13);
}

/** Whether a[s, e) equals b[at, at + e - s), compared four bytes at a time. */
function sameWords(a: DataView, s: number, e: number, b: DataView, at: number): boolean {
  if (at + e - s > b.byteLength) return false;
  let i = s;
  let j = at;
  for (; i + 4 <= e; i += 4, j += 4) if (a.getInt32(i, true) !== b.getInt32(j, true)) return false;
  for (; i < e; i++, j++) if (a.getUint8(i) !== b.getUint8(j)) return false;
  return true;
}

function sameBytes(a: Uint8Array, s: number, e: number, b: Uint8Array, at = 0): boolean {
  if (at + e - s > b.length) return false;
  for (let i = s, j = at; i < e; i++, j++) if (a[i] !== b[j]) return false;
  return true;
}

/** Totals of a conversation, in this order, STRIDE numbers apart in ConversationTable.data. */
export const IN_BYTES = 0, OUT_BYTES = 1, IN_PACKETS = 2, OUT_PACKETS = 3, ACCEPTED_OUT_BYTES = 4, ACCEPTED = 5, REJECTED = 6,
  FIRST_SEEN = 7, LAST_SEEN = 8, OPENED = 9;
export const CONVERSATION_STRIDE = 10;
const STRIDE = CONVERSATION_STRIDE;
/** Key of a conversation, KEY numbers apart in ConversationTable.keys: hash, ports, protocol and address length, address offset. */
const KEY = 4;

/**
 * Conversations keyed by (remote address bytes, protocol, local port, remote port) in an
 * open-addressing hash table. Index i is conversation i everywhere.
 */
export class ConversationTable {
  size = 0;
  keys = new Int32Array(1024 * KEY);
  data = new Float64Array(1024 * STRIDE);
  /** The remote addresses' bytes, one after another. */
  arena = new Uint8Array(64 * 1024);
  private arenaUsed = 0;
  private arenaView = viewOf(this.arena);
  /** The arena as a Buffer, to read addresses back as text. */
  private arenaText: Buffer | null = null;
  private slots = new Int32Array(2048);
  /** The conversation found last (a flow's two directions are usually logged one after the other). */
  private lastHash = 0;
  private lastPorts = -1;
  private lastProtocolAndLength = -1;
  private lastIndex = -1;

  /** The conversation's index, created when new; -1 when the table is full. `view` views buf. */
  find(buf: Uint8Array, view: DataView, s: number, e: number, addressHash: number, protocol: number, localPort: number, remotePort: number): number {
    const ports = (localPort << 16) | remotePort;
    const protocolAndLength = (protocol << 8) | (e - s);
    let h = addressHash ^ Math.imul(ports, -1640531535) ^ Math.imul(protocol + 1, -2048144789);
    h ^= h >>> 15;
    if (h === this.lastHash && ports === this.lastPorts && protocolAndLength === this.lastProtocolAndLength &&
      sameWords(view, s, e, this.arenaView, this.keys[this.lastIndex * KEY + 3]!)) return this.lastIndex;
    const slots = this.slots;
    const keys = this.keys;
    const mask = slots.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot]!;
      if (entry === 0) {
        if (this.size >= MAX_CONVERSATIONS) return -1;
        return this.remember(h, ports, protocolAndLength, this.insert(slot, h, ports, protocolAndLength, buf, s, e));
      }
      const k = (entry - 1) * KEY;
      if (keys[k] === h && keys[k + 1] === ports && keys[k + 2] === protocolAndLength && sameWords(view, s, e, this.arenaView, keys[k + 3]!)) {
        return this.remember(h, ports, protocolAndLength, entry - 1);
      }
    }
  }

  private remember(h: number, ports: number, protocolAndLength: number, i: number): number {
    this.lastHash = h;
    this.lastPorts = ports;
    this.lastProtocolAndLength = protocolAndLength;
    this.lastIndex = i;
    return i;
  }

  address(i: number): string {
    const offset = this.keys[i * KEY + 3]!;
    if (this.arenaText === null || this.arenaText.buffer !== this.arena.buffer) this.arenaText = Buffer.from(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
    return this.arenaText.toString('latin1', offset, offset + (this.keys[i * KEY + 2]! & 255));
  }

  protocol(i: number): number {
    return this.keys[i * KEY + 2]! >>> 8;
  }

  localPort(i: number): number {
    return this.keys[i * KEY + 1]! >>> 16;
  }

  remotePort(i: number): number {
    return this.keys[i * KEY + 1]! & 0xffff;
  }

  /** The direction of conversation i: TCP flags when they agree, else the port rule. */
  direction(i: number): FlowDirection {
    const opened = this.data[i * STRIDE + OPENED]!;
    if (opened === OPENED_BY_REMOTE) return 'inbound';
    if (opened === OPENED_BY_LOCAL) return 'outbound';
    return directionFromPorts(this.localPort(i), this.remotePort(i));
  }

  private insert(slot: number, h: number, ports: number, protocolAndLength: number, buf: Uint8Array, s: number, e: number): number {
    const i = this.size++;
    if ((i + 1) * KEY > this.keys.length) {
      const keys = new Int32Array(this.keys.length * 2);
      keys.set(this.keys);
      this.keys = keys;
      const data = new Float64Array(this.data.length * 2);
      data.set(this.data);
      this.data = data;
    }
    if (this.arenaUsed + (e - s) > this.arena.length) {
      const arena = new Uint8Array(this.arena.length * 2);
      arena.set(this.arena);
      this.arena = arena;
      this.arenaView = viewOf(arena);
    }
    this.arena.set(buf.subarray(s, e), this.arenaUsed);
    const k = i * KEY;
    this.keys[k] = h;
    this.keys[k + 1] = ports;
    this.keys[k + 2] = protocolAndLength;
    this.keys[k + 3] = this.arenaUsed;
    this.arenaUsed += e - s;
    this.data[i * STRIDE + FIRST_SEEN] = Infinity;
    this.data[i * STRIDE + LAST_SEEN] = -Infinity;
    this.slots[slot] = i + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return i;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let i = 0; i < this.size; i++) {
      let slot = this.keys[i * KEY]! & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = i + 1;
    }
  }

  /** Plain data for another thread: keys, totals and the address bytes, cut to size. */
  export(): ConversationState {
    return { size: this.size, keys: this.keys.slice(0, this.size * KEY), data: this.data.slice(0, this.size * STRIDE), arena: this.arena.slice(0, this.arenaUsed) };
  }
}

export interface ConversationState {
  size: number;
  keys: Int32Array;
  data: Float64Array;
  arena: Uint8Array;
}

/** Volume per minute of record start, sparse: only minutes with traffic take room. */
export class MinuteSeries {
  private readonly index = new Map<number, number>();
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

/** The exportable state of an accumulator. */
export interface AccumulatorState {
  counts: RecordCounts;
  overflow: number;
  conversations: ConversationState;
  /** Per conversation: 2 when the remote filter refused it (its totals are zero). */
  refused: Uint8Array;
  minutes: Pick<MinuteSeries, 'minutes' | 'inBytes' | 'outBytes' | 'accepted' | 'rejected'>;
}

/** What the parser does with each column of a file's format. */
const SKIP = 0, SRCADDR = 1, DSTADDR = 2, SRCPORT = 3, DSTPORT = 4, PROTOCOL = 5, PACKETS = 6, BYTES = 7,
  START = 8, END = 9, TCP_FLAGS = 10, ACTION = 11, LOG_STATUS = 12, INTERFACE = 13, FLOW_DIRECTION = 14;
/** The ops whose column is an unsigned number (SRCPORT..TCP_FLAGS). */
const FIRST_NUMBER = SRCPORT, LAST_NUMBER = TCP_FLAGS;

const STATUS_BAD = 0, STATUS_OK = 1, STATUS_NODATA = 2, STATUS_SKIPDATA = 3;
const ACTION_BAD = 0, ACTION_ACCEPT = 1, ACTION_REJECT = 2, ACTION_NONE = 3;
/** Remote filter verdicts per conversation. */
const UNDECIDED = 0, PASSES = 1, REFUSED = 2;

export class FlowAccumulator implements FlowRecordSink {
  readonly counts: RecordCounts = { total: 0, matched: 0, nodata: 0, skipdata: 0 };
  /** Matching records of conversations the full table could not take. */
  overflow = 0;
  readonly conversations = new ConversationTable();
  readonly series = new MinuteSeries();
  /** Per conversation, the remote filter's verdict (only with a remote filter). */
  private verdicts = new Uint8Array(1024);
  /** One op per column of the current file's format. */
  private ops = new Uint8Array(0);
  private columns: readonly (string | null)[] = [];
  private readonly locals: Buffer[];
  private readonly localHashes: number[];
  private readonly localViews: DataView[];
  private readonly eni: Buffer | null;
  private readonly from: number;
  private readonly to: number;
  private readonly filtered: boolean;
  private readonly localPorts: Set<number>;
  private readonly remotePorts: Set<number>;
  private readonly protocols: Set<number>;
  private readonly direction: FlowDirection | null;
  private readonly action: number;

  constructor(
    private readonly config: AccumulatorConfig,
    private readonly problems: FlowLogProblems,
    /** Decides the remote filter for one address (CIDR matching lives with the caller). */
    private readonly remoteFilter: ((address: string) => boolean) | null,
  ) {
    this.locals = config.localIps.map((ip) => Buffer.from(ip, 'latin1'));
    this.localViews = this.locals.map(viewOf);
    this.localHashes = this.locals.map((ip) => hashBytes(viewOf(ip), 0, ip.length));
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

  /** Whether the remote filter takes conversation i (decided once per conversation). */
  private passesRemote(i: number, buf: Buffer, s: number, e: number): boolean {
    if (i < 0) return this.remoteFilter!(buf.toString('latin1', s, e));
    if (i >= this.verdicts.length) {
      const verdicts = new Uint8Array(Math.max(i + 1, this.verdicts.length * 2));
      verdicts.set(this.verdicts);
      this.verdicts = verdicts;
    }
    if (this.verdicts[i] === UNDECIDED) this.verdicts[i] = this.remoteFilter!(buf.toString('latin1', s, e)) ? PASSES : REFUSED;
    return this.verdicts[i] === PASSES;
  }

  /** Whether conversation i was refused by the remote filter (and so holds nothing). */
  refused(i: number): boolean {
    return this.remoteFilter !== null && this.verdicts[i] === REFUSED;
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
    const locals = this.locals;
    const localHashes = this.localHashes;
    const localViews = this.localViews;
    const byFlowDirection = locals.length === 0;
    const table = this.conversations;
    const series = this.series;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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
          // Four bytes at a time up to the first byte below '!' (space, line break or another control byte).
          while (i + 4 <= to) {
            const w = view.getInt32(i, true);
            const below = (w - 0x21212121) & ~w & 0x80808080;
            if (below !== 0) {
              i += (31 - Math.clz32(below & -below)) >> 3;
              break;
            }
            i += 4;
          }
          c = buf[i]!;
          while (c !== 32 && c !== 10) c = buf[++i]!;
        } else if (op >= FIRST_NUMBER && op <= LAST_NUMBER) {
          let value = 0;
          let d = c - 48;
          const s = i;
          if (d === -3) { // '-': the value is missing
            value = -1;
            i++;
          } else {
            // Four digits at a time while four digits follow, then digit by digit.
            while (i + 4 <= to) {
              const w = view.getInt32(i, true);
              if (((w & 0xf0f0f0f0) | (((w + 0x06060606) & 0xf0f0f0f0) >>> 4)) !== 0x33333333) break;
              const pairs = Math.imul(w & 0x0f0f0f0f, 2561) >>> 8;
              value = value * 10000 + (Math.imul(pairs & 0x00ff00ff, 6553601) >>> 16);
              i += 4;
            }
            d = buf[i]! - 48;
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
          // Four bytes at a time up to the first byte below '!', then byte by byte to the space or line break.
          while (i + 4 <= to) {
            const w = view.getInt32(i, true);
            const below = (w - 0x21212121) & ~w & 0x80808080;
            if (below !== 0) {
              i += (31 - Math.clz32(below & -below)) >> 3;
              break;
            }
            i += 4;
          }
          c = buf[i]!;
          while (c !== 32 && c !== 10) c = buf[++i]!;
          // The last column of a CRLF line: the address ends before the CR.
          const e = c === 10 && i > s && buf[i - 1] === 13 ? i - 1 : i;
          const h = hashBytes(view, s, e);
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
            eniMatches = e - s === eni!.length && sameBytes(buf, s, e, eni!);
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
      else if (srcE - srcS < 2 || srcE - srcS > 255) wrong = SRCADDR;
      else if (dstE - dstS < 2 || dstE - dstS > 255) wrong = DSTADDR;
      if (wrong >= 0) {
        const column = ops.indexOf(wrong);
        let at = lineStart;
        for (let k = 0; k < column; k++) at = buf.indexOf(32, at) + 1;
        this.malformed(buf, lineStart, buf[i - 2] === 13 ? i - 2 : i - 1, file, line, column, at);
        continue;
      }
      counts.total++;
      if (end < 0) end = start;

      // The instance's records, in the window, of the interface asked for.
      if (start < this.from || start >= this.to || !eniMatches) continue;
      let outgoing: boolean;
      if (byFlowDirection) {
        if (egress < 0) continue;
        outgoing = egress === 1;
      } else {
        let srcLocal = false;
        let dstLocal = false;
        for (let k = 0; k < locals.length; k++) {
          if (localHashes[k] === srcH && srcE - srcS === locals[k]!.length && sameWords(view, srcS, srcE, localViews[k]!, 0)) srcLocal = true;
          if (localHashes[k] === dstH && dstE - dstS === locals[k]!.length && sameWords(view, dstS, dstE, localViews[k]!, 0)) dstLocal = true;
        }
        if (srcLocal === dstLocal) continue; // neither side is the instance, or both are
        outgoing = srcLocal;
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
        if (this.localPorts.size > 0 && !this.localPorts.has(lport)) continue;
        if (this.remotePorts.size > 0 && !this.remotePorts.has(rport)) continue;
        if (this.protocols.size > 0 && !this.protocols.has(protocol)) continue;
        if (this.action !== 0 && this.action !== action) continue;
        if (this.direction !== null) {
          const direction = opened === OPENED_BY_REMOTE ? 'inbound' : opened === OPENED_BY_LOCAL ? 'outbound' : directionFromPorts(lport, rport);
          if (direction !== this.direction) continue;
        }
      }
      const rs = outgoing ? dstS : srcS;
      const re = outgoing ? dstE : srcE;
      const c = table.find(buf, view, rs, re, outgoing ? dstH : srcH, protocol, lport, rport);
      if (this.remoteFilter !== null && !this.passesRemote(c, buf, rs, re)) continue;
      counts.matched++;
      const n = bytes < 0 ? 0 : bytes;
      const p = packets < 0 ? 0 : packets;
      const accepted = action === ACTION_ACCEPT;
      const rejected = action === ACTION_REJECT;
      if (c < 0) {
        this.overflow++;
      } else {
        const data = table.data;
        const o = c * STRIDE;
        if (outgoing) {
          data[o + OUT_BYTES]! += n;
          data[o + OUT_PACKETS]! += p;
          if (accepted) data[o + ACCEPTED_OUT_BYTES]! += n;
        } else {
          data[o + IN_BYTES]! += n;
          data[o + IN_PACKETS]! += p;
        }
        if (accepted) data[o + ACCEPTED]!++;
        else if (rejected) data[o + REJECTED]!++;
        if (start < data[o + FIRST_SEEN]!) data[o + FIRST_SEEN] = start;
        if (end > data[o + LAST_SEEN]!) data[o + LAST_SEEN] = end;
        if (opened !== 0) data[o + OPENED] = data[o + OPENED]! | opened;
      }
      const slot = series.slot(Math.floor(start / 60));
      if (outgoing) series.outBytes[slot]! += n;
      else series.inBytes[slot]! += n;
      if (accepted) series.accepted[slot]!++;
      else if (rejected) series.rejected[slot]!++;
    }
    return line - firstLine + 1;
  }

  exportState(): AccumulatorState {
    const conversations = this.conversations.export();
    const refused = new Uint8Array(conversations.size);
    for (let i = 0; i < conversations.size; i++) if (this.refused(i)) refused[i] = REFUSED;
    return { counts: { ...this.counts }, overflow: this.overflow, conversations, refused, minutes: this.series };
  }

  /** Adds another accumulator's state (from a worker) to this one. */
  merge(state: AccumulatorState): void {
    for (const key of ['total', 'matched', 'nodata', 'skipdata'] as const) this.counts[key] += state.counts[key];
    this.overflow += state.overflow;
    const { keys, data, arena, size } = state.conversations;
    const arenaView = viewOf(arena);
    const table = this.conversations;
    for (let j = 0; j < size; j++) {
      if (state.refused[j] === REFUSED) continue;
      const offset = keys[j * KEY + 3]!;
      const length = keys[j * KEY + 2]! & 255;
      const i = table.find(arena, arenaView, offset, offset + length, hashBytes(arenaView, offset, offset + length), keys[j * KEY + 2]! >>> 8, keys[j * KEY + 1]! >>> 16, keys[j * KEY + 1]! & 0xffff);
      const from = j * STRIDE;
      if (i < 0) {
        this.overflow += data[from + ACCEPTED]! + data[from + REJECTED]!;
        continue;
      }
      const into = i * STRIDE;
      const mine = table.data;
      for (const field of [IN_BYTES, OUT_BYTES, IN_PACKETS, OUT_PACKETS, ACCEPTED_OUT_BYTES, ACCEPTED, REJECTED]) mine[into + field]! += data[from + field]!;
      mine[into + FIRST_SEEN] = Math.min(mine[into + FIRST_SEEN]!, data[from + FIRST_SEEN]!);
      mine[into + LAST_SEEN] = Math.max(mine[into + LAST_SEEN]!, data[from + LAST_SEEN]!);
      mine[into + OPENED] = mine[into + OPENED]! | data[from + OPENED]!;
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

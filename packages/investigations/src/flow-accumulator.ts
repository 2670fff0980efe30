/**
 * The running totals of a flow-log analysis: counters, conversations and a per-minute
 * volume series, fed straight from the scanner's decompressed bytes.
 *
 * Records are many (millions) and conversations few (thousands), so the per-record path
 * creates no strings and no objects (IPv4 addresses are read as numbers; only other
 * addresses go through an AddressBook) and makes one hash-table probe into rows that
 * hold each conversation's key and totals side by side. Memory grows with distinct
 * conversations, never with records, and the table has a hard cap.
 */
import type { ConversationFacts } from './flow-findings.js';
import type { FlowLogField } from './flow-log-format.js';
import { normalizeIp } from './flow-ip.js';
import { type FlowLogProblems, type FlowRecordSink, MAX_LINE_BYTES } from './flow-log-scanner.js';

/** Conversations kept at most (about 100 bytes each); records of new ones beyond are counted as overflow. */
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
/** Address ids at and above this are addresses other than IPv4 (IPv6), numbered in an AddressBook. */
const OTHER_ADDRESSES = 2 ** 32;

/** A dotted quad's text for its 32-bit value. */
function ipv4Text(value: number): string {
  return `${Math.floor(value / 16777216)}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * Numbers for addresses: an IPv4 address is its 32-bit value (read straight from the bytes
 * by the parser); any other address (IPv6) is 2^32 plus its index here, by its normalized
 * text, so two spellings of one IPv6 address are one address.
 */
class AddressBook {
  private readonly byText = new Map<string, number>();
  private readonly normalized: string[] = [];
  private readonly byNormalized = new Map<string, number>();
  private readonly ipv4Texts = new Map<number, string>();

  /** The id of an address as written, or -1 when it is not an IP address. */
  id(text: string): number {
    let id = this.byText.get(text);
    if (id === undefined) {
      const ip = normalizeIp(text);
      if (ip === null) id = -1;
      else if (ip.includes('.')) id = ip.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
      else {
        id = this.byNormalized.get(ip);
        if (id === undefined) {
          id = OTHER_ADDRESSES + this.normalized.length;
          this.normalized.push(ip);
          this.byNormalized.set(ip, id);
        }
      }
      // Bounded: a run of garbage addresses must not grow the map without end.
      if (this.byText.size < 65536) this.byText.set(text, id);
    }
    return id;
  }

  /** An address's text: one string per address, however many conversations share it (so maps keyed by it compare by identity). */
  text(id: number): string {
    if (id >= OTHER_ADDRESSES) return this.normalized[id - OTHER_ADDRESSES]!;
    let text = this.ipv4Texts.get(id);
    if (text === undefined) {
      text = ipv4Text(id);
      this.ipv4Texts.set(id, text);
    }
    return text;
  }

  /** The addresses other than IPv4 by index (id - 2^32), normalized: with the ids, all another book needs. */
  others(): string[] {
    return [...this.normalized];
  }
}

/** A conversation's row in ConversationTable.rows: its key, then its totals. */
const ADDRESS = 0, KEY = 1;
export const IN_BYTES = 2, OUT_BYTES = 3, IN_PACKETS = 4, OUT_PACKETS = 5, ACCEPTED_OUT_BYTES = 6, ACCEPTED = 7, REJECTED = 8,
  FIRST_SEEN = 9, LAST_SEEN = 10, OPENED = 11;
const ROW = 12;

/**
 * Conversations keyed by (remote address id, local port, remote port, protocol) in an
 * open-addressing hash table (probed by FlowAccumulator.lines). Each conversation is one
 * row of ROW numbers, key and totals side by side, so a record touches the slot array and
 * one row. Index i is conversation i.
 */
export class ConversationTable {
  size = 0;
  /**
   * Room for every conversation the table may hold, allocated once: memory is only taken
   * as rows are first written, and the table never copies itself to grow.
   */
  readonly rows = new Float64Array(MAX_CONVERSATIONS * ROW);
  /** Per slot, 1 + the index of its conversation, or 0 when empty. */
  slots = new Int32Array(2048);

  constructor(private readonly addresses: AddressBook) {}

  /** The conversation of a key, created when new; -1 when the table is full. Off the hot path: FlowAccumulator.lines probes on its own. */
  find(address: number, key: number): number {
    const ports = Math.floor(key / 256);
    const mask = this.slots.length - 1;
    for (let slot = slotHash(address, ports | 0, key % 256) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return this.insert(slot, address, key);
      const o = (entry - 1) * ROW;
      if (this.rows[o + KEY] === key && this.rows[o + ADDRESS] === address) return entry - 1;
    }
  }

  address(i: number): string {
    return this.addresses.text(this.rows[i * ROW + ADDRESS]!);
  }

  protocol(i: number): number {
    return this.rows[i * ROW + KEY]! % 256;
  }

  localPort(i: number): number {
    return Math.floor(this.rows[i * ROW + KEY]! / 16777216);
  }

  remotePort(i: number): number {
    return Math.floor(this.rows[i * ROW + KEY]! / 256) % 65536;
  }

  /** The direction of conversation i: TCP flags when they agree, else the port rule. */
  direction(i: number): FlowDirection {
    const opened = this.rows[i * ROW + OPENED]!;
    if (opened === OPENED_BY_REMOTE) return 'inbound';
    if (opened === OPENED_BY_LOCAL) return 'outbound';
    return directionFromPorts(this.localPort(i), this.remotePort(i));
  }

  /** Puts a new conversation in an empty slot; -1 when the table is full. */
  insert(slot: number, address: number, key: number): number {
    if (this.size >= MAX_CONVERSATIONS) return -1;
    const i = this.size++;
    const o = i * ROW;
    this.rows[o + ADDRESS] = address;
    this.rows[o + KEY] = key;
    this.rows[o + FIRST_SEEN] = Infinity;
    this.rows[o + LAST_SEEN] = -Infinity;
    this.slots[slot] = i + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return i;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let i = 0; i < this.size; i++) {
      let slot = slotHash(this.rows[i * ROW + ADDRESS]!, (this.localPort(i) << 16) | this.remotePort(i), this.protocol(i)) & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = i + 1;
    }
  }
}

/** A conversation key's hash (murmur3's finalizer over the mixed parts). */
function slotHash(address: number, ports: number, protocol: number): number {
  let h = (address | 0) ^ Math.imul(ports, -1640531535) ^ Math.imul(protocol + (address > 4294967295 ? 257 : 1), 461845907);
  h = Math.imul(h ^ (h >>> 16), -2048144789);
  h = Math.imul(h ^ (h >>> 13), -1028477387);
  return h ^ (h >>> 16);
}

/** A conversation as an analysis reports it. */
export interface Conversation {
  remoteIp: string;
  localPort: number;
  remotePort: number;
  /** IANA protocol number. */
  protocol: number;
  /** Who opened it, from TCP flags where the format has them, else the port rule. */
  direction: FlowDirection;
  inBytes: number;
  outBytes: number;
  inPackets: number;
  outPackets: number;
  /** Records accepted and rejected. */
  accepted: number;
  rejected: number;
  firstSeen: string;
  lastSeen: string;
  fromFinding?: true;
}

/**
 * A conversation's row: what the analysis reports (its JSON is exactly Conversation) and,
 * read from the table's numbers rather than copied, what the detectors decide on. One
 * object per conversation serves both, and holds no boxed numbers of its own.
 */
export class ConversationRow implements Conversation, ConversationFacts {
  declare fromFinding?: true;
  readonly #numbers: Float64Array;
  readonly #at: number;

  constructor(
    readonly remoteIp: string,
    readonly localPort: number,
    readonly remotePort: number,
    readonly protocol: number,
    readonly direction: FlowDirection,
    readonly inBytes: number,
    readonly outBytes: number,
    readonly inPackets: number,
    readonly outPackets: number,
    readonly accepted: number,
    readonly rejected: number,
    readonly firstSeen: string,
    readonly lastSeen: string,
    /** The table's rows, and where this conversation's row starts. */
    numbers: Float64Array,
    at: number,
  ) {
    this.#numbers = numbers;
    this.#at = at;
  }

  get acceptedOutBytes(): number {
    return this.#numbers[this.#at + ACCEPTED_OUT_BYTES]!;
  }

  get firstSeenAt(): number {
    return this.#numbers[this.#at + FIRST_SEEN]!;
  }

  get lastSeenAt(): number {
    return this.#numbers[this.#at + LAST_SEEN]!;
  }
}

/** The largest time a Date holds, in seconds. */
const MAX_DATE_SECONDS = 8.64e12;

/** "00.000Z" to "59.000Z": the end of an ISO time, shared by every time with that second. */
const SECONDS = Array.from({ length: 60 }, (_, second) => `${second < 10 ? '0' : ''}${second}.000Z`);

/**
 * ISO 8601 for epoch seconds, exactly as toISOString gives it, formatting each minute once
 * (conversations' times fall in far fewer minutes than there are conversations) and
 * joining it to a shared second.
 */
function isoSeconds(): (seconds: number) => string {
  const minutes = new Map<number, string>();
  return (seconds) => {
    if (!Number.isInteger(seconds) || Math.abs(seconds) > MAX_DATE_SECONDS) return new Date(seconds * 1000).toISOString();
    const minute = Math.floor(seconds / 60);
    let prefix = minutes.get(minute);
    if (prefix === undefined) {
      prefix = new Date(minute * 60_000).toISOString().slice(0, -7); // up to "HH:MM:"
      minutes.set(minute, prefix);
    }
    return prefix + SECONDS[seconds - minute * 60]!;
  };
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

/** What the parser does with each column of a file's format. */
const SKIP = 0, SRCADDR = 1, DSTADDR = 2, SRCPORT = 3, DSTPORT = 4, PROTOCOL = 5, PACKETS = 6, BYTES = 7,
  START = 8, END = 9, TCP_FLAGS = 10, ACTION = 11, LOG_STATUS = 12, INTERFACE = 13, FLOW_DIRECTION = 14;
/** The ops whose column is an unsigned number (SRCPORT..TCP_FLAGS). */
const FIRST_NUMBER = SRCPORT, LAST_NUMBER = TCP_FLAGS;

const STATUS_BAD = 0, STATUS_OK = 1, STATUS_NODATA = 2, STATUS_SKIPDATA = 3;
const ACTION_BAD = 0, ACTION_ACCEPT = 1, ACTION_REJECT = 2, ACTION_NONE = 3;
/** Remote filter verdicts per conversation. */
const UNDECIDED = 0, PASSES = 1, REFUSED = 2;
/** An address column that is not a dotted quad: its text is looked up once the record is known to count. */
const NOT_IPV4 = -2;

/** The exportable state of an accumulator: plain data, to send from a reader thread. */
export interface AccumulatorState {
  counts: RecordCounts;
  overflow: number;
  /** The conversations' rows (ROW numbers each), cut to size; refused ones left out. */
  rows: Float64Array;
  /** The addresses other than IPv4 that the rows' address ids point to. */
  others: string[];
  minutes: Pick<MinuteSeries, 'minutes' | 'inBytes' | 'outBytes' | 'accepted' | 'rejected'>;
}

export class FlowAccumulator implements FlowRecordSink {
  readonly counts: RecordCounts = { total: 0, matched: 0, nodata: 0, skipdata: 0 };
  /** Matching records of conversations the full table could not take. */
  overflow = 0;
  private readonly addresses = new AddressBook();
  readonly conversations = new ConversationTable(this.addresses);
  readonly series = new MinuteSeries();
  /** Per conversation, the remote filter's verdict (only with a remote filter). */
  private verdicts = new Uint8Array(1024);
  /** One op per column of the current file's format. */
  private ops = new Uint8Array(0);
  private columns: readonly (string | null)[] = [];
  /** The instance's addresses as address ids. */
  private readonly locals: number[];
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
    this.locals = config.localIps.map((ip) => this.addresses.id(ip));
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

  /** Room for conversation i's verdict. */
  private verdictSlot(i: number): void {
    if (i < this.verdicts.length) return;
    const verdicts = new Uint8Array(Math.max(i + 1, this.verdicts.length * 2));
    verdicts.set(this.verdicts);
    this.verdicts = verdicts;
  }

  /** Whether the remote filter takes conversation i (decided once per conversation). */
  private passesRemote(i: number, address: number): boolean {
    if (i < 0) return this.remoteFilter!(this.addresses.text(address));
    this.verdictSlot(i);
    if (this.verdicts[i] === UNDECIDED) this.verdicts[i] = this.remoteFilter!(this.addresses.text(address)) ? PASSES : REFUSED;
    return this.verdicts[i] === PASSES;
  }

  /** Records that conversation i passed the remote filter (decided by the thread that found it). */
  private pass(i: number): void {
    this.verdictSlot(i);
    this.verdicts[i] = PASSES;
  }

  /**
   * Parses and totals whole lines. Each line is read once, column by column, by the op
   * the column was given in beginFile: numbers and dotted quads are read digit by digit,
   * everything else skipped or checked in place. Nothing is allocated per record (but per
   * record with an IPv6 address, whose text is looked up).
   */
  lines(buf: Buffer, from: number, to: number, file: string, firstLine: number): number {
    const ops = this.ops;
    const fields = ops.length;
    const counts = this.counts;
    const eni = this.eni;
    const locals = this.locals;
    const byFlowDirection = locals.length === 0;
    const table = this.conversations;
    const series = this.series;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    // The conversation found last (a flow's two directions are usually logged one after the other).
    let lastAddress = -1, lastKey = -1, lastIndex = -1;
    let line = firstLine - 1;
    let i = from;
    while (i < to) {
      line++;
      const lineStart = i;
      let c = buf[i]!;
      if (c === 10 || (c === 13 && buf[i + 1] === 10)) {
        i += c === 10 ? 1 : 2; // a blank line says nothing
        continue;
      }
      let src = -1, srcS = 0, srcE = 0, dst = -1, dstS = 0, dstE = 0;
      let srcport = -1, dstport = -1, protocol = -1, packets = -1, bytes = -1, start = -1, end = -1, flags = -1;
      let action = ACTION_NONE, status = STATUS_OK, egress = -1, eniMatches = true;
      let bad = -1;
      let badAt = 0;
      for (let f = 0; f < fields; f++) {
        const op = ops[f]!;
        const s = i;
        c = buf[i]!;
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
          if (c === 45) { // '-': the value is missing
            value = -1;
            c = buf[++i]!;
          } else {
            // Four digits at a time while four digits follow, then digit by digit.
            while (i + 4 <= to) {
              const w = view.getInt32(i, true);
              if (((w & 0xf0f0f0f0) | (((w + 0x06060606) & 0xf0f0f0f0) >>> 4)) !== 0x33333333) break;
              const pairs = Math.imul(w & 0x0f0f0f0f, 2561) >>> 8;
              value = value * 10000 + (Math.imul(pairs & 0x00ff00ff, 6553601) >>> 16);
              i += 4;
            }
            c = buf[i]!;
            let d = c - 48;
            while (d >= 0 && d <= 9) {
              value = value * 10 + d;
              c = buf[++i]!;
              d = c - 48;
            }
            if (i === s || i - s > 15) {
              bad = f;
              badAt = s;
              break;
            }
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
          // A dotted quad becomes its 32-bit value as it passes; anything else is kept as a span of text.
          let value = 0;
          let octets = 0;
          for (; octets < 4; octets++) {
            let d = c - 48;
            if (d < 0 || d > 9) break;
            let octet = d;
            c = buf[++i]!;
            d = c - 48;
            if (d >= 0 && d <= 9) {
              octet = octet * 10 + d;
              c = buf[++i]!;
              d = c - 48;
              if (d >= 0 && d <= 9) {
                octet = octet * 10 + d;
                c = buf[++i]!;
              }
            }
            if (octet > 255) break;
            value = value * 256 + octet;
            if (octets < 3) {
              if (c !== 46) break;
              c = buf[++i]!;
            }
          }
          if (octets !== 4 || (c !== 32 && c !== 10 && c !== 13)) {
            value = NOT_IPV4;
            while (c !== 32 && c !== 10) c = buf[++i]!;
          }
          // The last column of a CRLF line: the address ends before the CR.
          const e = c === 10 && i > s && buf[i - 1] === 13 ? i - 1 : i;
          if (op === SRCADDR) {
            src = value;
            srcS = s;
            srcE = e;
          } else {
            dst = value;
            dstS = s;
            dstE = e;
          }
        } else {
          while (c !== 32 && c !== 10) c = buf[++i]!;
          const e = c === 10 && i > s && buf[i - 1] === 13 ? i - 1 : i;
          const length = e - s;
          const first = buf[s];
          if (op === ACTION) {
            action = length === 6 && first === 65 ? ACTION_ACCEPT : length === 6 && first === 82 ? ACTION_REJECT : length === 1 && first === 45 ? ACTION_NONE : ACTION_BAD;
          } else if (op === LOG_STATUS) {
            status = length === 2 && first === 79 ? STATUS_OK : length === 6 && first === 78 ? STATUS_NODATA : length === 8 && first === 83 ? STATUS_SKIPDATA : STATUS_BAD;
          } else if (op === INTERFACE) {
            eniMatches = length === eni!.length && buf.compare(eni!, 0, length, s, e) === 0;
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
          if (c !== 32) {
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
      if (src === NOT_IPV4) src = this.addresses.id(buf.toString('latin1', srcS, srcE));
      if (dst === NOT_IPV4) dst = this.addresses.id(buf.toString('latin1', dstS, dstE));
      let wrong = -1;
      if (start < 0) wrong = START;
      else if (protocol < 0 || protocol > 255) wrong = PROTOCOL;
      else if (srcport > 65535) wrong = SRCPORT;
      else if (dstport > 65535) wrong = DSTPORT;
      else if (src < 0) wrong = SRCADDR;
      else if (dst < 0) wrong = DSTADDR;
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
          if (locals[k] === src) srcLocal = true;
          if (locals[k] === dst) dstLocal = true;
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
      // The conversation's row, looked up here rather than in a method of the table: addresses
      // and keys are past small-integer range, and passing them to a call would box them.
      const remote = outgoing ? dst : src;
      const ports = (lport << 16) | rport;
      const key = (ports >>> 0) * 256 + protocol;
      let k: number;
      if (remote === lastAddress && key === lastKey) {
        k = lastIndex;
      } else {
        const rows = table.rows;
        const slots = table.slots;
        const mask = slots.length - 1;
        for (let slot = slotHash(remote, ports, protocol) & mask; ; slot = (slot + 1) & mask) {
          const entry = slots[slot]!;
          if (entry === 0) {
            k = table.insert(slot, remote, key);
            break;
          }
          const o = (entry - 1) * ROW;
          if (rows[o + KEY] === key && rows[o + ADDRESS] === remote) {
            k = entry - 1;
            break;
          }
        }
        lastAddress = remote;
        lastKey = key;
        lastIndex = k;
      }
      if (this.remoteFilter !== null && !this.passesRemote(k, remote)) continue;
      counts.matched++;
      const n = bytes < 0 ? 0 : bytes;
      const p = packets < 0 ? 0 : packets;
      const accepted = action === ACTION_ACCEPT;
      const rejected = action === ACTION_REJECT;
      if (k < 0) {
        this.overflow++;
      } else {
        const rows = table.rows;
        const o = k * ROW;
        if (outgoing) {
          rows[o + OUT_BYTES]! += n;
          rows[o + OUT_PACKETS]! += p;
          if (accepted) rows[o + ACCEPTED_OUT_BYTES]! += n;
        } else {
          rows[o + IN_BYTES]! += n;
          rows[o + IN_PACKETS]! += p;
        }
        if (accepted) rows[o + ACCEPTED]!++;
        else if (rejected) rows[o + REJECTED]!++;
        if (start < rows[o + FIRST_SEEN]!) rows[o + FIRST_SEEN] = start;
        if (end > rows[o + LAST_SEEN]!) rows[o + LAST_SEEN] = end;
        if (opened !== 0) rows[o + OPENED] = rows[o + OPENED]! | opened;
      }
      const slot = series.slot(Math.floor(start / 60));
      if (outgoing) series.outBytes[slot]! += n;
      else series.inBytes[slot]! += n;
      if (accepted) series.accepted[slot]!++;
      else if (rejected) series.rejected[slot]!++;
    }
    return line - firstLine + 1;
  }

  /**
   * Every conversation kept (those the remote filter refused hold nothing and are left out),
   * largest first (bytes in and out), ties broken by key: one order whatever the threads.
   */
  conversationRows(): ConversationRow[] {
    const t = this.conversations;
    const rows = t.rows;
    const kept: number[] = [];
    const bytes = new Float64Array(t.size);
    for (let i = 0; i < t.size; i++) {
      if (this.remoteFilter !== null && this.verdicts[i] === REFUSED) continue;
      kept.push(i);
      bytes[i] = rows[i * ROW + IN_BYTES]! + rows[i * ROW + OUT_BYTES]!;
    }
    kept.sort((x, y) => {
      if (bytes[x] !== bytes[y]) return bytes[y]! - bytes[x]!;
      const a = t.address(x);
      const b = t.address(y);
      return (a < b ? -1 : a > b ? 1 : 0) || t.localPort(x) - t.localPort(y) || t.remotePort(x) - t.remotePort(y) || t.protocol(x) - t.protocol(y);
    });
    const iso = isoSeconds();
    return kept.map((i) => {
      const o = i * ROW;
      return new ConversationRow(
        t.address(i), t.localPort(i), t.remotePort(i), t.protocol(i), t.direction(i),
        rows[o + IN_BYTES]!, rows[o + OUT_BYTES]!, rows[o + IN_PACKETS]!, rows[o + OUT_PACKETS]!, rows[o + ACCEPTED]!, rows[o + REJECTED]!,
        iso(rows[o + FIRST_SEEN]!), iso(rows[o + LAST_SEEN]!), rows, o,
      );
    });
  }

  exportState(): AccumulatorState {
    const t = this.conversations;
    const kept = new Float64Array(t.size * ROW);
    let n = 0;
    for (let i = 0; i < t.size; i++) {
      if (this.remoteFilter !== null && this.verdicts[i] === REFUSED) continue;
      kept.set(t.rows.subarray(i * ROW, (i + 1) * ROW), n * ROW);
      n++;
    }
    return { counts: { ...this.counts }, overflow: this.overflow, rows: kept.slice(0, n * ROW), others: this.addresses.others(), minutes: this.series };
  }

  /** Adds another accumulator's state (from a reader thread) to this one. */
  merge(state: AccumulatorState): void {
    for (const key of ['total', 'matched', 'nodata', 'skipdata'] as const) this.counts[key] += state.counts[key];
    this.overflow += state.overflow;
    const from = state.rows;
    const table = this.conversations;
    for (let o = 0; o < from.length; o += ROW) {
      let address = from[o + ADDRESS]!;
      if (address >= OTHER_ADDRESSES) address = this.addresses.id(state.others[address - OTHER_ADDRESSES]!);
      const key = from[o + KEY]!;
      const i = table.find(address, key);
      if (i < 0) {
        this.overflow += from[o + ACCEPTED]! + from[o + REJECTED]!;
        continue;
      }
      // The thread exported only conversations its remote filter passed: no need to ask the filter again.
      if (this.remoteFilter !== null) this.pass(i);
      const rows = table.rows;
      const into = i * ROW;
      for (let field = IN_BYTES; field <= REJECTED; field++) rows[into + field]! += from[o + field]!;
      rows[into + FIRST_SEEN] = Math.min(rows[into + FIRST_SEEN]!, from[o + FIRST_SEEN]!);
      rows[into + LAST_SEEN] = Math.max(rows[into + LAST_SEEN]!, from[o + LAST_SEEN]!);
      rows[into + OPENED] = rows[into + OPENED]! | from[o + OPENED]!;
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

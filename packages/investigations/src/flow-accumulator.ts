/**
 * The running totals of a flow-log analysis: counters, conversations and a per-minute
 * volume series, fed straight from the scanner's decompressed bytes.
 *
 * Records are many (millions) and conversations few (thousands). The per-record work runs
 * in WebAssembly (wasm/flow-core.ts, compiled to flow-core.wasm): it parses the lines in
 * its own memory, which zlib inflates into directly, and totals each record into a row of
 * numbers per conversation and per minute. This side configures it, answers its rare calls
 * (addresses other than dotted quads, the remote filter, problems to report) and reads the
 * rows afterwards, through views of its memory. Memory grows with distinct conversations,
 * never with records, and the table has a hard cap.
 */
import { readFileSync } from 'node:fs';
import type { Conversation, ConversationFacts, FlowDirection } from './flow-conversation-types.js';
import type { FlowLogField } from './flow-log-format.js';
import { normalizeIp } from './flow-ip.js';
import { type FlowLogProblems, flowLogProblem, type FlowRecordSink, MAX_LINE_BYTES } from './flow-log-scanner.js';
import type { MinuteTotals } from './flow-timeline.js';

export type { Conversation, FlowDirection } from './flow-conversation-types.js';

/** Conversations kept at most (about 100 bytes each); records of new ones beyond are counted as overflow. */
export const MAX_CONVERSATIONS = 1_000_000;
/** Distinct minutes of the volume series at most (two years of them); records beyond are counted. */
export const MAX_MINUTES = 2 ** 20;
/** The instance's addresses at most (an instance has a few; the core checks each record against them). */
export const MAX_LOCAL_IPS = 64;

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

/** A conversation's row: its key, then its totals (f64 each, in the core's memory). */
const ADDRESS = 0, KEY = 1, IN_BYTES = 2, OUT_BYTES = 3, IN_PACKETS = 4, OUT_PACKETS = 5, ACCEPTED_OUT_BYTES = 6, ACCEPTED = 7,
  REJECTED = 8, FIRST_SEEN = 9, LAST_SEEN = 10, OPENED = 11;
const ROW = 12;
/** A minute's row: the minute, then its totals. */
const MINUTE_ROW = 5;

/** What the parser does with each column of a file's format (the core's op codes). */
const SKIP = 0;
const OPS: Partial<Record<FlowLogField, number>> = {
  srcaddr: 1, dstaddr: 2, srcport: 3, dstport: 4, protocol: 5, packets: 6, bytes: 7, start: 8, end: 9, 'tcp-flags': 10,
  action: 11, 'log-status': 12,
};
const INTERFACE = 13, FLOW_DIRECTION = 14;
/** Remote filter verdicts per conversation. */
const PASSES = 1, REFUSED = 2;

/** The part of the WebAssembly API used here (the project's types are Node's, which leave it out). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Global: abstract new () => { value: unknown };
};
type WasmModule = { readonly wasmModule: unique symbol };

/** The core's exports: its functions, and its layout and limits as globals. */
interface CoreExports {
  memory: { buffer: ArrayBuffer };
  configure(locals: number, eni: number, localPorts: number, remotePorts: number, protocols: number, direction: number, action: number, remote: number, from: number, to: number): void;
  setOps(count: number): void;
  lines(from: number, to: number, firstLine: number): number;
  find(address: number, key: number): number;
  addMinute(minute: number, inBytes: number, outBytes: number, accepted: number, rejected: number): void;
  conversationCount(): number;
  minuteCount(): number;
}
type Layout = Record<
  | 'MAX_LINE_BYTES' | 'MAX_CONVERSATIONS' | 'MAX_MINUTES' | 'MAX_OPS' | 'MAX_LOCALS' | 'ROW' | 'MINUTE_ROW' | 'READ_BYTES' | 'INFLATE_BYTES'
  | 'SCRATCH_BYTES' | 'STATS' | 'STAT_TOTAL' | 'STAT_MATCHED' | 'STAT_NODATA' | 'STAT_SKIPDATA' | 'STAT_OVERFLOW' | 'STAT_MINUTE_OVERFLOW'
  | 'LOCALS' | 'ENI' | 'LOCAL_PORTS' | 'REMOTE_PORTS' | 'PROTOCOLS' | 'OPS' | 'READ' | 'INFLATE' | 'SCRATCH' | 'VERDICTS' | 'ROWS' | 'MINUTES',
  number
>;

let compiled: WasmModule | undefined;

/** The compiled core, compiled once per thread (a few kilobytes: well under a millisecond). */
function coreModule(): WasmModule {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./flow-core.wasm', import.meta.url)));
  return compiled;
}

/** The core's calls out, answered by the accumulator that owns the instance. */
type CoreCalls = {
  addressId(start: number, end: number): number;
  remotePasses(address: number): boolean;
  malformed(start: number, end: number, line: number, column: number, at: number): void;
  tooLong(line: number): void;
};

function instantiate(calls: CoreCalls): { core: CoreExports; layout: Layout } {
  const instance = new WebAssembly.Instance(coreModule(), { flow: calls });
  const exports = instance.exports as unknown as CoreExports;
  const layout = Object.fromEntries(Object.entries(instance.exports).flatMap(([name, value]) => (value instanceof WebAssembly.Global ? [[name, value.value]] : []))) as Layout;
  // The limits are the core's and this side's at once: a core built from other sources fails here, not in a run.
  if (layout.MAX_LINE_BYTES !== MAX_LINE_BYTES || layout.MAX_CONVERSATIONS !== MAX_CONVERSATIONS || layout.MAX_MINUTES !== MAX_MINUTES || layout.MAX_LOCALS !== MAX_LOCAL_IPS
    || layout.ROW !== ROW || layout.MINUTE_ROW !== MINUTE_ROW) {
    throw new Error('flow-core.wasm does not match flow-accumulator.ts: rebuild it with `npm run build:wasm -w @orgshield/investigations`.');
  }
  return { core: exports, layout };
}

/** The exportable state of an accumulator: plain data, to send from a reader thread. */
export interface AccumulatorState {
  counts: RecordCounts;
  overflow: number;
  minuteOverflow: number;
  /** The conversations' rows (ROW numbers each), cut to size; refused ones left out. */
  rows: Float64Array;
  /** The addresses other than IPv4 that the rows' address ids point to. */
  others: string[];
  /** The minutes' rows (MINUTE_ROW numbers each). */
  minutes: Float64Array;
}

export class FlowAccumulator implements FlowRecordSink {
  private readonly addresses = new AddressBook();
  private readonly core: CoreExports;
  private readonly layout: Layout;
  /** The core's memory, as bytes and as numbers (it never grows, so these views stay valid). */
  private readonly heap: Buffer;
  private readonly stats: Float64Array;
  private readonly rows: Float64Array;
  private columns: readonly (string | null)[] = [];
  /** The file being read, for the problems the core reports. */
  private file = '';
  private readonly eni: Buffer | null;
  private readonly localCount: number;

  constructor(
    private readonly config: AccumulatorConfig,
    private readonly problems: FlowLogProblems,
    /** Decides the remote filter for one address (CIDR matching lives with the caller). */
    private readonly remoteFilter: ((address: string) => boolean) | null,
  ) {
    ({ core: this.core, layout: this.layout } = instantiate({
      addressId: (start, end) => this.addresses.id(this.heap.toString('latin1', start, end)),
      remotePasses: (address) => this.remoteFilter!(this.addresses.text(address)),
      malformed: (start, end, line, column, at) => this.malformed(start, end, line, column, at),
      tooLong: (line) => this.tooLong(line),
    }));
    const { layout } = this;
    const buffer = this.core.memory.buffer;
    this.heap = Buffer.from(buffer);
    this.stats = new Float64Array(buffer, layout.STATS, 8);
    this.rows = new Float64Array(buffer, layout.ROWS, MAX_CONVERSATIONS * ROW);

    const locals = config.localIps.map((ip) => this.addresses.id(ip));
    new Float64Array(buffer, layout.LOCALS, locals.length).set(locals);
    this.localCount = locals.length;
    this.eni = config.eni === null ? null : Buffer.from(config.eni, 'latin1');
    if (this.eni !== null) this.heap.set(this.eni.subarray(0, 64), layout.ENI);
    for (const port of config.localPorts) this.heap[layout.LOCAL_PORTS + port] = 1;
    for (const port of config.remotePorts) this.heap[layout.REMOTE_PORTS + port] = 1;
    for (const protocol of config.protocols) this.heap[layout.PROTOCOLS + protocol] = 1;
    this.core.configure(
      locals.length, this.eni === null ? -1 : this.eni.length,
      config.localPorts.length > 0 ? 1 : 0, config.remotePorts.length > 0 ? 1 : 0, config.protocols.length > 0 ? 1 : 0,
      config.direction === null ? 0 : config.direction === 'inbound' ? 1 : 2,
      config.action === null ? 0 : config.action === 'ACCEPT' ? 1 : 2,
      remoteFilter === null ? 0 : 1, config.from ?? -Infinity, config.to ?? Infinity,
    );
  }

  /** Buffers in the core's memory for LocalFlowLogReader to read and inflate into: lines there are parsed where they lie. */
  readerBuffers(): { input: Buffer; output: Buffer } {
    const { layout } = this;
    return {
      input: this.heap.subarray(layout.READ, layout.READ + layout.READ_BYTES),
      output: this.heap.subarray(layout.INFLATE, layout.INFLATE + layout.INFLATE_BYTES),
    };
  }

  get counts(): RecordCounts {
    const { stats, layout } = this;
    return { total: stats[layout.STAT_TOTAL]!, matched: stats[layout.STAT_MATCHED]!, nodata: stats[layout.STAT_NODATA]!, skipdata: stats[layout.STAT_SKIPDATA]! };
  }

  /** Matching records of conversations the full table could not take. */
  get overflow(): number {
    return this.stats[this.layout.STAT_OVERFLOW]!;
  }

  /** Matching records in minutes beyond MAX_MINUTES: counted, not in the series. */
  get minuteOverflow(): number {
    return this.stats[this.layout.STAT_MINUTE_OVERFLOW]!;
  }

  get conversationCount(): number {
    return this.core.conversationCount();
  }

  /** The volume per minute of record start (only minutes with traffic). */
  get series(): MinuteTotals {
    const numbers = this.minuteRows();
    const column = (field: number) => Array.from({ length: numbers.length / MINUTE_ROW }, (_, m) => numbers[m * MINUTE_ROW + field]!);
    return { minutes: column(0), inBytes: column(1), outBytes: column(2), accepted: column(3), rejected: column(4) };
  }

  private minuteRows(): Float64Array {
    return new Float64Array(this.core.memory.buffer, this.layout.MINUTES, this.core.minuteCount() * MINUTE_ROW);
  }

  beginFile(file: string, columns: readonly (FlowLogField | null)[]): boolean {
    if (this.localCount === 0 && !columns.includes('flow-direction')) {
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
    // A header is at most MAX_LINE_BYTES long, so it names fewer columns than the core has room for.
    this.heap.set(columns.map((column) => {
      if (column === null) return SKIP;
      if (column === 'interface-id') return this.eni === null ? SKIP : INTERFACE;
      if (column === 'flow-direction') return this.localCount > 0 ? SKIP : FLOW_DIRECTION;
      return OPS[column] ?? SKIP;
    }), this.layout.OPS);
    this.core.setOps(columns.length);
    this.columns = columns;
    return true;
  }

  /**
   * Parses and totals whole lines. Lines already in the core's memory (inflated there by
   * LocalFlowLogReader) are parsed where they lie; others (streams, lines joined across
   * chunks) are copied in, whole lines at a time.
   */
  lines(buf: Buffer, from: number, to: number, file: string, firstLine: number): number {
    this.file = file;
    if (buf.buffer === this.heap.buffer) return this.core.lines(buf.byteOffset + from, buf.byteOffset + to, firstLine);
    const { SCRATCH, SCRATCH_BYTES } = this.layout;
    let count = 0;
    while (from < to) {
      let end = to;
      if (end - from > SCRATCH_BYTES) {
        end = buf.lastIndexOf(10, from + SCRATCH_BYTES - 1) + 1;
        if (end <= from) { // one line longer than the scratch room, and so than MAX_LINE_BYTES
          this.tooLong(firstLine + count);
          count++;
          from = buf.indexOf(10, from) + 1;
          continue;
        }
      }
      this.heap.set(buf.subarray(from, end), SCRATCH);
      count += this.core.lines(SCRATCH, SCRATCH + end - from, firstLine + count);
      from = end;
    }
    return count;
  }

  /** Reports line `line` (heap[s, e), without its line break) as malformed at column `column`. */
  private malformed(s: number, e: number, line: number, column: number, at: number): void {
    const file = this.file;
    if (!this.problems.listing(file)) {
      this.problems.count(file);
      return;
    }
    const buf = this.heap;
    const fields = this.columns.length;
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

  private tooLong(line: number): void {
    this.problems.add(flowLogProblem.lineTooLong(this.file, line));
  }

  private refused(i: number): boolean {
    return this.remoteFilter !== null && this.heap[this.layout.VERDICTS + i] === REFUSED;
  }

  /**
   * Every conversation kept (those the remote filter refused hold nothing and are left out),
   * largest first (bytes in and out), ties broken by key: one order whatever the threads.
   */
  conversationRows(): ConversationRow[] {
    const rows = this.rows;
    const size = this.conversationCount;
    const kept: number[] = [];
    const bytes = new Float64Array(size);
    const keys = new Float64Array(size);
    const addresses = new Array<string>(size);
    for (let i = 0; i < size; i++) {
      if (this.refused(i)) continue;
      kept.push(i);
      bytes[i] = rows[i * ROW + IN_BYTES]! + rows[i * ROW + OUT_BYTES]!;
      keys[i] = rows[i * ROW + KEY]!;
      addresses[i] = this.addresses.text(rows[i * ROW + ADDRESS]!);
    }
    kept.sort((x, y) => {
      if (bytes[x] !== bytes[y]) return bytes[y]! - bytes[x]!;
      const a = addresses[x]!;
      const b = addresses[y]!;
      // The key is local port, remote port, protocol from the top down: ordering by it orders by each in turn.
      return (a < b ? -1 : a > b ? 1 : 0) || keys[x]! - keys[y]!;
    });
    const iso = isoSeconds();
    return kept.map((i) => {
      const o = i * ROW;
      const key = rows[o + KEY]!;
      const localPort = Math.floor(key / 16777216);
      const remotePort = Math.floor(key / 256) % 65536;
      const opened = rows[o + OPENED]!;
      const direction = opened === OPENED_BY_REMOTE ? 'inbound' : opened === OPENED_BY_LOCAL ? 'outbound' : directionFromPorts(localPort, remotePort);
      return new ConversationRow(
        addresses[i]!, localPort, remotePort, key % 256, direction,
        rows[o + IN_BYTES]!, rows[o + OUT_BYTES]!, rows[o + IN_PACKETS]!, rows[o + OUT_PACKETS]!, rows[o + ACCEPTED]!, rows[o + REJECTED]!,
        iso(rows[o + FIRST_SEEN]!), iso(rows[o + LAST_SEEN]!), rows, o,
      );
    });
  }

  exportState(): AccumulatorState {
    const size = this.conversationCount;
    let rows: Float64Array;
    if (this.remoteFilter === null) {
      rows = this.rows.slice(0, size * ROW);
    } else {
      rows = new Float64Array(size * ROW);
      let n = 0;
      for (let i = 0; i < size; i++) {
        if (this.refused(i)) continue;
        rows.set(this.rows.subarray(i * ROW, (i + 1) * ROW), n * ROW);
        n++;
      }
      rows = rows.slice(0, n * ROW);
    }
    return {
      counts: this.counts, overflow: this.overflow, minuteOverflow: this.minuteOverflow, rows,
      others: this.addresses.others(), minutes: this.minuteRows().slice(),
    };
  }

  /** Adds another accumulator's state (from a reader thread) to this one. */
  merge(state: AccumulatorState): void {
    const { stats, layout } = this;
    stats[layout.STAT_TOTAL]! += state.counts.total;
    stats[layout.STAT_MATCHED]! += state.counts.matched;
    stats[layout.STAT_NODATA]! += state.counts.nodata;
    stats[layout.STAT_SKIPDATA]! += state.counts.skipdata;
    stats[layout.STAT_OVERFLOW]! += state.overflow;
    stats[layout.STAT_MINUTE_OVERFLOW]! += state.minuteOverflow;
    const from = state.rows;
    const rows = this.rows;
    for (let o = 0; o < from.length; o += ROW) {
      let address = from[o + ADDRESS]!;
      if (address >= OTHER_ADDRESSES) address = this.addresses.id(state.others[address - OTHER_ADDRESSES]!);
      const i = this.core.find(address, from[o + KEY]!);
      if (i < 0) {
        stats[layout.STAT_OVERFLOW]! += from[o + ACCEPTED]! + from[o + REJECTED]!;
        continue;
      }
      // The thread exported only conversations its remote filter passed: no need to ask the filter again.
      if (this.remoteFilter !== null) this.heap[layout.VERDICTS + i] = PASSES;
      const into = i * ROW;
      for (let field = IN_BYTES; field <= REJECTED; field++) rows[into + field]! += from[o + field]!;
      rows[into + FIRST_SEEN] = Math.min(rows[into + FIRST_SEEN]!, from[o + FIRST_SEEN]!);
      rows[into + LAST_SEEN] = Math.max(rows[into + LAST_SEEN]!, from[o + LAST_SEEN]!);
      rows[into + OPENED] = rows[into + OPENED]! | from[o + OPENED]!;
    }
    const m = state.minutes;
    for (let o = 0; o < m.length; o += MINUTE_ROW) this.core.addMinute(m[o]!, m[o + 1]!, m[o + 2]!, m[o + 3]!, m[o + 4]!);
  }
}

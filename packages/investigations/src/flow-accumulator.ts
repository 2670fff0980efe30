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
import { closeSync, openSync, rmSync } from 'node:fs';
import { CORE_LAYOUT, type CoreFunctions, type CoreRegions, instantiateCore } from './flow-core.js';
import type { Conversation, ConversationFacts, ConversationTable, FlowDirection, PartitionVisitor } from './flow-conversation-types.js';
import type { FlowLogField } from './flow-log-format.js';
import { mix32, normalizeIp } from './flow-ip.js';
import type { FlowRecordSink } from './flow-log-lines.js';
import { flowLogProblem, type FlowLogProblems } from './flow-log-problems.js';
import { type FindingMark, isMarkedConversation } from './flow-finding-mark.js';
import {
  mergeRuns, PartitionWriter, type PartitionRows, READ_CHUNK_BYTES, readRow, readRows, readRun, rowCount, RunFile, type RunOrder, type RunRange, SPILL_PARTITIONS, type SpilledRows,
} from './flow-spill.js';
import type { MinuteTotals } from './flow-timeline.js';

export type { Conversation, FlowDirection } from './flow-conversation-types.js';

/** Conversations a reader's table holds at most before it spills (the memory budget may set fewer). */
export const MAX_CONVERSATIONS = CORE_LAYOUT.MAX_CONVERSATIONS;
/**
 * Conversations handed to the detectors and listed as objects at once, at most: a table with
 * more is finished through the spill partitions (a few thousand objects each) even if it
 * never filled, so the objects never cost more than the table.
 */
export const IN_MEMORY_CONVERSATIONS = 100_000;
/**
 * Rows merged at once, about, when a spilled partition is finished: a larger partition is
 * merged in batches of its addresses, so the conversation objects the detectors see at once
 * (and the garbage they leave) do not grow with the cardinality.
 */
const MERGE_BATCH_ROWS = 32_768;
/**
 * Conversations the merge's table holds at most (15 MiB of it): four times a batch, so a
 * batch fits whatever the hash's unevenness; more (a remote address with that many) are
 * merged in pieces split by conversation, and the table's pages stay few.
 */
const MERGE_TABLE_ROWS = 4 * MERGE_BATCH_ROWS;
/** What one conversation costs in a reader's table: its row, its share of the slots (up to 4 of 4 bytes) and its verdict. */
export const TABLE_BYTES_PER_CONVERSATION = CORE_LAYOUT.ROW * 8 + 16 + 1;
/** Distinct minutes of the volume series at most (two years of them); records beyond are counted. */
export const MAX_MINUTES = CORE_LAYOUT.MAX_MINUTES;
/** The instance's addresses at most (an instance has a few; the core checks each record against them). */
export const MAX_LOCAL_IPS = CORE_LAYOUT.MAX_LOCALS;

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
  /**
   * The budget's conversations for the merge's one table after a spill (at most
   * MAX_CONVERSATIONS; the table holds at most MERGE_TABLE_ROWS of them): a batch of rows
   * with more (a remote address with that many conversations) is split by conversation into
   * pieces that fit.
   */
  mergeCapacity: number;
  /** Conversations the table holds before it spills into spillDir (at most MAX_CONVERSATIONS). */
  capacity: number;
  spillDir: string;
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

/** Address ids at and above this are addresses other than IPv4 (IPv6), numbered in an AddressBook. */
const OTHER_ADDRESSES = 2 ** 32;

/** A dotted quad's text for its 32-bit value. */
function ipv4Text(value: number): string {
  return `${Math.floor(value / 16777216)}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

const compareTexts = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Each octet's rank among the texts "0" to "255" in string order ("1" < "10" < "100" < "101" < ... < "2"). */
const OCTET_RANK = (() => {
  const texts = Array.from({ length: 256 }, (_, octet) => String(octet)).sort();
  const rank = new Uint8Array(256);
  texts.forEach((text, i) => (rank[Number(text)] = i));
  return rank;
})();

/**
 * A number that orders dotted quads as their texts order: a '.' sorts before every digit,
 * so two texts compare as their first differing octets' texts do, and those as their ranks.
 */
function ipv4TextOrder(value: number): number {
  return OCTET_RANK[Math.floor(value / 16777216)]! * 16777216 + ((OCTET_RANK[(value >>> 16) & 255]! << 16) | (OCTET_RANK[(value >>> 8) & 255]! << 8) | OCTET_RANK[value & 255]!);
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

  /** An address's text, not kept (for reading millions of rows once). */
  plainText(id: number): string {
    return id >= OTHER_ADDRESSES ? this.normalized[id - OTHER_ADDRESSES]! : (this.ipv4Texts.get(id) ?? ipv4Text(id));
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

  /** Orders two address ids as their texts order (IPv4 without making the texts). */
  compare(a: number, b: number): number {
    if (a === b) return 0;
    if (a < OTHER_ADDRESSES && b < OTHER_ADDRESSES) return ipv4TextOrder(a) - ipv4TextOrder(b);
    return compareTexts(this.plainText(a), this.plainText(b));
  }

  /** The spill partition of an address (see hash). */
  partition(id: number): number {
    return this.hash(id) % SPILL_PARTITIONS;
  }

  /**
   * A 32-bit hash of an address: from its value (IPv4) or its normalized text (IPv6), never
   * from a book's own numbering, so every reader thread puts an address in one partition. Its
   * low part picks the spill partition, the rest the batch within it at the merge.
   */
  hash(id: number): number {
    let h: number;
    if (id < OTHER_ADDRESSES) {
      h = id | 0;
    } else {
      const text = this.normalized[id - OTHER_ADDRESSES]!;
      h = 0x811c9dc5;
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    }
    return mix32(h);
  }

  /** Lets go of the IPv4 texts made so far (between spill partitions: a DDoS brings millions). */
  forgetTexts(): void {
    this.ipv4Texts.clear();
  }

  /** A book that numbers the addresses other than IPv4 as `others` (another book's others()). */
  static withOthers(others: readonly string[]): AddressBook {
    const book = new AddressBook();
    for (const ip of others) book.id(ip);
    return book;
  }

  /** The addresses other than IPv4 by index (id - 2^32), normalized: with the ids, all another book needs. */
  others(): string[] {
    return [...this.normalized];
  }
}


/** What a conversation's row reports, as ConversationRow is built from. */
export type ConversationFields = Omit<Conversation, 'fromFinding'>;

/**
 * A conversation's row: what the analysis reports (its JSON is exactly Conversation) and,
 * read from the table's numbers rather than copied, what the detectors decide on. One
 * object per conversation serves both, and holds no boxed numbers of its own.
 */
export class ConversationRow implements Conversation, ConversationFacts {
  declare fromFinding?: true;
  readonly remoteIp: string;
  readonly localPort: number;
  readonly remotePort: number;
  readonly protocol: number;
  readonly direction: FlowDirection;
  readonly inBytes: number;
  readonly outBytes: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly #numbers: Float64Array;
  readonly #at: number;

  /** `row`: the table's rows, and where this conversation's row starts. */
  constructor(fields: ConversationFields, row: { numbers: Float64Array; at: number }) {
    // Assigned one by one, in one order, so every row has one hidden class (and no spread copy).
    this.remoteIp = fields.remoteIp;
    this.localPort = fields.localPort;
    this.remotePort = fields.remotePort;
    this.protocol = fields.protocol;
    this.direction = fields.direction;
    this.inBytes = fields.inBytes;
    this.outBytes = fields.outBytes;
    this.inPackets = fields.inPackets;
    this.outPackets = fields.outPackets;
    this.accepted = fields.accepted;
    this.rejected = fields.rejected;
    this.firstSeen = fields.firstSeen;
    this.lastSeen = fields.lastSeen;
    this.#numbers = row.numbers;
    this.#at = row.at;
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

/** Ordering by key orders by local port, remote port and protocol in turn (the key holds them from the top down). */

/** Who opened the conversation of the row at rows[o]: TCP flags when they said, else the ports. */
export function rowDirection(rows: Float64Array, o: number): FlowDirection {
  const opened = rows[o + OPENED]!;
  if (opened === OPENED_BY_REMOTE) return 'inbound';
  if (opened === OPENED_BY_LOCAL) return 'outbound';
  const key = rows[o + KEY]!;
  return directionFromPorts(keyLocalPort(key), keyRemotePort(key));
}

/** The conversation of the row at rows[o]. */
function conversationRow(rows: Float64Array, o: number, remoteIp: string, iso: (seconds: number) => string): ConversationRow {
  const key = rows[o + KEY]!;
  const localPort = keyLocalPort(key);
  const remotePort = keyRemotePort(key);
  return new ConversationRow({
    remoteIp, localPort, remotePort, protocol: key % 256, direction: rowDirection(rows, o),
    inBytes: rows[o + IN_BYTES]!, outBytes: rows[o + OUT_BYTES]!, inPackets: rows[o + IN_PACKETS]!, outPackets: rows[o + OUT_PACKETS]!,
    accepted: rows[o + ACCEPTED]!, rejected: rows[o + REJECTED]!, firstSeen: iso(rows[o + FIRST_SEEN]!), lastSeen: iso(rows[o + LAST_SEEN]!),
  }, { numbers: rows, at: o });
}

/**
 * Every conversation of an analysis, largest first (bytes in and out; ties by remote
 * address, then local port, remote port and protocol): one order whatever the threads and
 * the spills. Read it in order (for...of, once or many times) or take the first few; it is
 * never held whole in memory when the analysis spilled.
 */
export interface ConversationList extends Iterable<Conversation> {
  readonly length: number;
  /** The first `count` conversations (all, when fewer). */
  top(count: number): Conversation[];
  /** The same conversations in the same order, as the numbers of their rows: for writers that make no object per row. */
  rows(): ConversationRows;
}

/**
 * A list's rows in order, each rows[at, at + ROW) (the array is reused: read a row before
 * taking the next), with what it takes to print one besides its numbers.
 */
export interface ConversationRows extends Iterable<{ rows: Float64Array; at: number }> {
  /** The text of a row's remote address (its ROW_ADDRESS number). */
  addressText(address: number): string;
  /** Whether the row is one of the finding the analysis was marked from (Conversation's fromFinding). */
  fromFinding(rows: Float64Array, at: number): boolean;
}

/** The ROW_KEY number's parts. */
export const keyLocalPort = (key: number): number => Math.floor(key / 16777216);
export const keyRemotePort = (key: number): number => Math.floor(key / 256) % 65536;

/** Rows of a table, in an order, as the detectors read them (see ConversationTable). */
class RowTable implements ConversationTable {
  private readonly iso = isoSeconds();

  constructor(
    private readonly rows: Float64Array,
    /** Where each conversation's row starts in rows, in order. */
    private readonly starts: Int32Array,
    private readonly book: AddressBook,
  ) {}

  get length(): number {
    return this.starts.length;
  }

  private at(i: number, field: number): number {
    return this.rows[this.starts[i]! + field]!;
  }

  address(i: number): number {
    return this.at(i, ADDRESS);
  }

  addressText(address: number): string {
    return this.book.text(address);
  }

  localPort(i: number): number {
    return keyLocalPort(this.at(i, KEY));
  }

  protocol(i: number): number {
    return this.at(i, KEY) % 256;
  }

  direction(i: number): FlowDirection {
    return rowDirection(this.rows, this.starts[i]!);
  }

  inBytes(i: number): number {
    return this.at(i, IN_BYTES);
  }

  outBytes(i: number): number {
    return this.at(i, OUT_BYTES);
  }

  acceptedOutBytes(i: number): number {
    return this.at(i, ACCEPTED_OUT_BYTES);
  }

  accepted(i: number): number {
    return this.at(i, ACCEPTED);
  }

  rejected(i: number): number {
    return this.at(i, REJECTED);
  }

  firstSeenAt(i: number): number {
    return this.at(i, FIRST_SEEN);
  }

  lastSeenAt(i: number): number {
    return this.at(i, LAST_SEEN);
  }

  facts(i: number): ConversationFacts {
    const o = this.starts[i]!;
    return conversationRow(this.rows, o, this.book.text(this.rows[o + ADDRESS]!), this.iso);
  }
}

/** Rows printed with a book's texts and marked by `mark`. */
function conversationRows(book: AddressBook, mark: FindingMark | null, each: () => Iterator<{ rows: Float64Array; at: number }>): ConversationRows {
  return {
    addressText: (address) => book.plainText(address),
    fromFinding: (rows, at) => mark !== null && isMarkedConversation(mark, book.plainText(rows[at + ADDRESS]!), keyLocalPort(rows[at + KEY]!), keyRemotePort(rows[at + KEY]!)),
    [Symbol.iterator]: each,
  };
}

/** The conversations of a table's rows (starting at `starts`, in order), as objects made once. */
function arrayList(numbers: Float64Array, starts: Int32Array, book: AddressBook, mark: FindingMark | null): ConversationList {
  const iso = isoSeconds();
  const rows = Array.from(starts, (o) => conversationRow(numbers, o, book.text(numbers[o + ADDRESS]!), iso));
  if (mark !== null) for (const c of rows) if (isMarkedConversation(mark, c.remoteIp, c.localPort, c.remotePort)) c.fromFinding = true;
  return {
    length: rows.length,
    top: (count) => rows.slice(0, count),
    [Symbol.iterator]: () => rows[Symbol.iterator](),
    rows: () => conversationRows(book, mark, function* () {
      for (const at of starts) yield { rows: numbers, at };
    }),
  };
}

/** Rows per block of copies a merged list hands out (a row kept alive keeps its block: 96 KiB). */
const POOL_ROWS = 1024;

/** A RunList as plain data, to hand to another thread. */
export interface SharedRunList {
  ranges: RunRange[];
  length: number;
  others: string[];
  mark: FindingMark | null;
}

/** The conversations of sorted runs on disk, merged as they are read. */
export class RunList implements ConversationList {
  private readonly before: RunOrder['before'];
  /** The list's order for merging its runs: bytes first (ranked as a number, more first), then before. */
  private readonly order: RunOrder;

  constructor(
    private readonly ranges: readonly RunRange[],
    readonly length: number,
    private readonly context: { book: AddressBook; mark: FindingMark | null },
  ) {
    const book = context.book;
    const bytesOf = (rows: Float64Array, at: number): number => rows[at + IN_BYTES]! + rows[at + OUT_BYTES]!;
    this.before = (a, i, b, j) => {
      const x = bytesOf(a, i);
      const y = bytesOf(b, j);
      if (x !== y) return x > y;
      const order = book.compare(a[i + ADDRESS]!, b[j + ADDRESS]!);
      return order !== 0 ? order < 0 : a[i + KEY]! < b[j + KEY]!;
    };
    this.order = { rank: (rows, at) => -bytesOf(rows, at), before: this.before };
  }

  /** The list again, in another thread (see shared). */
  static fromShared(list: SharedRunList): RunList {
    return new RunList(list.ranges, list.length, { book: AddressBook.withOthers(list.others), mark: list.mark });
  }

  /** What another thread needs to read this list (plain data). */
  shared(): SharedRunList {
    return { ranges: [...this.ranges], length: this.length, others: this.context.book.others(), mark: this.context.mark };
  }

  /**
   * The list cut in two near its middle, the first part's rows all before the second's: a
   * pivot row is chosen among a few rows sampled from every run, and each run is cut where
   * its rows stop coming before it (found by binary search in the file).
   */
  split(): [RunList, RunList] {
    const samples: Float64Array[] = [];
    const fds = this.ranges.map((range) => openSync(range.path, 'r'));
    try {
      this.ranges.forEach((range, r) => {
        const rows = range.to - range.from;
        for (let k = 1; k < 8; k++) if (rows > 0) samples.push(readRow(fds[r]!, ROW, range.from + Math.floor((rows * k) / 8)));
      });
      samples.sort((a, b) => (this.before(a, 0, b, 0) ? -1 : this.before(b, 0, a, 0) ? 1 : 0));
      const pivot = samples[samples.length >> 1] ?? new Float64Array(ROW);
      const cuts = this.ranges.map((range, r) => {
        let low = range.from;
        let high = range.to;
        while (low < high) {
          const middle = (low + high) >>> 1;
          if (this.before(readRow(fds[r]!, ROW, middle), 0, pivot, 0)) low = middle + 1;
          else high = middle;
        }
        return low;
      });
      const first = this.ranges.map((range, r) => ({ path: range.path, from: range.from, to: cuts[r]! }));
      const second = this.ranges.map((range, r) => ({ path: range.path, from: cuts[r]!, to: range.to }));
      const count = first.reduce((sum, range) => sum + range.to - range.from, 0);
      return [new RunList(first, count, this.context), new RunList(second, this.length - count, this.context)];
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  top(count: number): Conversation[] {
    const out: Conversation[] = [];
    if (count <= 0) return out;
    for (const c of this) {
      out.push(c);
      if (out.length >= count) break;
    }
    return out;
  }

  rows(): ConversationRows {
    return conversationRows(this.context.book, this.context.mark, () => mergeRuns(this.ranges, ROW, this.order));
  }

  /**
   * Every row in no particular order, each run's as it lies on disk (no merge): for what does
   * not depend on the order, such as the bytes the rows print to (writeRows).
   */
  eachUnordered(each: (rows: Float64Array, at: number) => void): void {
    // One chunk for every run (a list has a hundred or more runs, most shorter than a chunk).
    const chunk = new Float64Array(Math.floor(READ_CHUNK_BYTES / (ROW * 8)) * ROW);
    const visit = (rows: Float64Array): void => {
      for (let at = 0; at < rows.length; at += ROW) each(rows, at);
    };
    for (const { path, from, to } of this.ranges) if (to > from) readRows({ path, extents: [from, to] }, ROW, visit, chunk);
  }

  *[Symbol.iterator](): Iterator<Conversation> {
    const { book, mark } = this.context;
    const iso = isoSeconds();
    // Each row is copied out of the cursor's chunk (refilled as the merge moves on) into a
    // block of copies shared by the next rows: one allocation per POOL_ROWS rows, not per row.
    let pool = new Float64Array(0);
    let used = 0;
    for (const { rows, at } of mergeRuns(this.ranges, ROW, this.order)) {
      if (used === pool.length) {
        pool = new Float64Array(POOL_ROWS * ROW);
        used = 0;
      }
      for (let i = 0; i < ROW; i++) pool[used + i] = rows[at + i]!;
      const c = conversationRow(pool, used, book.plainText(pool[used + ADDRESS]!), iso);
      used += ROW;
      if (mark !== null && isMarkedConversation(mark, c.remoteIp, c.localPort, c.remotePort)) c.fromFinding = true;
      yield c;
    }
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

/** Row indices packed below bytes (see packedByBytes): the table holds fewer rows. */
const PACKED_ROWS = 2 ** 20;
/** Bytes packed above a row index at most: (PACKED_BYTES - 1) × PACKED_ROWS + index stays an exact integer. */
const PACKED_BYTES = 2 ** 33;

/**
 * The rows `indices` sorted by bytes, largest first, each as one number, (PACKED_BYTES - 1 -
 * bytes) × PACKED_ROWS + index, so that a typed array's own numeric sort orders them with no
 * comparator called per pair (most of a partition's sort time); null when some row has too
 * many bytes to pack exactly.
 */
function packedByBytes(indices: readonly number[], bytes: Float64Array): Float64Array | null {
  const packed = new Float64Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    const b = bytes[i]!;
    if (!(b >= 0 && b < PACKED_BYTES && Number.isInteger(b)) || i >= PACKED_ROWS) return null;
    packed[k] = (PACKED_BYTES - 1 - b) * PACKED_ROWS + i;
  }
  return packed.sort();
}

/** A conversation's row: its key, then its totals (f64 each, in the core's memory; checked against the core at load). */
const {
  ROW_ADDRESS: ADDRESS, ROW_KEY: KEY, ROW_IN_BYTES: IN_BYTES, ROW_OUT_BYTES: OUT_BYTES, ROW_IN_PACKETS: IN_PACKETS, ROW_OUT_PACKETS: OUT_PACKETS,
  ROW_ACCEPTED_OUT_BYTES: ACCEPTED_OUT_BYTES, ROW_ACCEPTED: ACCEPTED, ROW_REJECTED: REJECTED, ROW_FIRST_SEEN: FIRST_SEEN, ROW_LAST_SEEN: LAST_SEEN,
  ROW_OPENED: OPENED, ROW, MINUTE_ROW, OPENED_BY_LOCAL, OPENED_BY_REMOTE,
  STAT_TOTAL, STAT_MATCHED, STAT_NODATA, STAT_SKIPDATA, STAT_MINUTE_OVERFLOW,
} = CORE_LAYOUT;

/** What the parser does with each column of a file's format (the core's op codes). */
const OPS: Partial<Record<FlowLogField, number>> = {
  srcaddr: CORE_LAYOUT.OP_SRCADDR, dstaddr: CORE_LAYOUT.OP_DSTADDR, srcport: CORE_LAYOUT.OP_SRCPORT, dstport: CORE_LAYOUT.OP_DSTPORT,
  protocol: CORE_LAYOUT.OP_PROTOCOL, packets: CORE_LAYOUT.OP_PACKETS, bytes: CORE_LAYOUT.OP_BYTES, start: CORE_LAYOUT.OP_START, end: CORE_LAYOUT.OP_END,
  'tcp-flags': CORE_LAYOUT.OP_TCP_FLAGS, action: CORE_LAYOUT.OP_ACTION, 'log-status': CORE_LAYOUT.OP_LOG_STATUS,
};
/** Remote filter verdicts per conversation. */
const PASSES = 1, REFUSED = 2;

/** The core's configuration, written to its configuration block (CONFIG_*) before configure(). */
interface CoreConfig {
  /** How many of the ids at LOCALS are the instance's (0: flow-direction says). */
  locals: number;
  /** The ENI's length at ENI; -1: any. */
  eniLength: number;
  /** Whether the tables at LOCAL_PORTS, REMOTE_PORTS and PROTOCOLS filter. */
  localPorts: boolean;
  remotePorts: boolean;
  protocols: boolean;
  direction: FlowFilters['direction'];
  action: FlowFilters['action'];
  remote: boolean;
  /** [from, to) in epoch seconds; null: open. */
  from: number | null;
  to: number | null;
  capacity: number;
}

function configureCore(core: CoreFunctions, regions: CoreRegions, config: CoreConfig): void {
  const L = CORE_LAYOUT;
  const block = new Float64Array(core.memory.buffer, regions.CONFIG, L.CONFIG_FIELDS);
  block[L.CONFIG_LOCALS] = config.locals;
  block[L.CONFIG_ENI_LENGTH] = config.eniLength;
  block[L.CONFIG_LOCAL_PORTS] = config.localPorts ? 1 : 0;
  block[L.CONFIG_REMOTE_PORTS] = config.remotePorts ? 1 : 0;
  block[L.CONFIG_PROTOCOLS] = config.protocols ? 1 : 0;
  block[L.CONFIG_DIRECTION] = config.direction === null ? 0 : config.direction === 'inbound' ? L.DIRECTION_INBOUND : L.DIRECTION_OUTBOUND;
  block[L.CONFIG_ACTION] = config.action === null ? 0 : config.action === 'ACCEPT' ? L.ACTION_ACCEPT : L.ACTION_REJECT;
  block[L.CONFIG_REMOTE] = config.remote ? 1 : 0;
  block[L.CONFIG_FROM] = config.from ?? -Infinity;
  block[L.CONFIG_TO] = config.to ?? Infinity;
  block[L.CONFIG_CAPACITY] = config.capacity;
  core.configure();
}

/** The exportable state of an accumulator: plain data, to send from a reader thread. */
export interface AccumulatorState {
  counts: RecordCounts;
  minuteOverflow: number;
  /** The conversations' rows (ROW numbers each), cut to size; refused ones left out. Empty when the reader spilled. */
  rows: Float64Array;
  /** The addresses other than IPv4 that the rows' address ids point to. */
  others: string[];
  /** When the reader's table spilled: every row it had, in its partition files. */
  spilled: SpilledRows | null;
  /** The minutes' rows (MINUTE_ROW numbers each). */
  minutes: Float64Array;
}

export class FlowAccumulator implements FlowRecordSink {
  private readonly addresses = new AddressBook();
  private core!: CoreFunctions;
  private regions!: CoreRegions;
  /** The core's memory, as bytes and as numbers (it never grows, so these views stay valid until the core is replaced). */
  private heap!: Buffer;
  private stats!: Float64Array;
  private rows!: Float64Array;
  private columns: readonly (string | null)[] = [];
  /** The file being read, for the problems the core reports. */
  private file = '';
  private readonly eni: Buffer | null;
  private readonly localCount: number;
  private readonly problems: FlowLogProblems;
  private readonly remoteFilter: ((address: string) => boolean) | null;
  /** This reader's spill files, once its table has spilled. */
  private writer: PartitionWriter | null = null;
  /** Spilled rows of the readers merged into this one (others: null for this reader's own). */
  private readonly spills: SpillSet[] = [];
  /** Set while partitions are merged: the table must not spill then. */
  private merging = false;
  /** Spill files this reader has written so far (names the next). */
  private spillFiles = 0;
  /** Batches split by conversation so far (names their pieces' files). */
  private splits = 0;
  /** Conversations the merge's table holds (see finish). */
  private mergeTableRows = 0;
  /** Where the merge writes its sorted runs (see startMerge). */
  private runs: RunFile | null = null;
  /** A run's rows, gathered or read back (see runRows). */
  private runBuffer = new Float64Array(0);
  /** 0, ROW, 2 × ROW, ...: where each row of a run read back starts. */
  private rowStarts = new Int32Array(0);
  private readonly coreConfig: CoreConfig;
  private readonly spillName: string;

  constructor(
    private readonly config: AccumulatorConfig,
    options: {
      problems: FlowLogProblems;
      /** Decides the remote filter for one address (CIDR matching lives with the caller). */
      remoteFilter: ((address: string) => boolean) | null;
      /** Names this reader's spill files apart from the other readers'. */
      spillName: string;
    },
  ) {
    this.problems = options.problems;
    this.remoteFilter = options.remoteFilter;
    this.spillName = options.spillName;
    this.localCount = config.localIps.length;
    this.eni = config.eni === null ? null : Buffer.from(config.eni, 'latin1');
    this.coreConfig = {
      locals: this.localCount, eniLength: this.eni === null ? -1 : this.eni.length,
      localPorts: config.localPorts.length > 0, remotePorts: config.remotePorts.length > 0, protocols: config.protocols.length > 0,
      direction: config.direction, action: config.action, remote: this.remoteFilter !== null, from: config.from, to: config.to,
      capacity: config.capacity,
    };
    this.startCore(config.capacity);
  }

  /**
   * A new instance of the core, configured, in place of any before (whose memory goes with
   * it: the merge after a spill starts on a fresh one, so the pages the scan's table touched
   * are given back instead of sitting beside the merge's).
   */
  private startCore(capacity: number): void {
    const config = this.config;
    ({ core: this.core, regions: this.regions } = instantiateCore({
      addressId: (start, end) => this.addresses.id(this.heap.toString('latin1', start, end)),
      remotePasses: (address) => this.remoteFilter!(this.addresses.text(address)),
      malformed: (start, end, line, column, at) => this.malformed(start, end, line, column, at),
      tooLong: (line) => this.tooLong(line),
      spill: (count) => this.spill(count),
    }));
    const layout = this.regions;
    const buffer = this.core.memory.buffer;
    this.heap = Buffer.from(buffer);
    this.stats = new Float64Array(buffer, layout.STATS, 8);
    this.rows = new Float64Array(buffer, layout.ROWS, MAX_CONVERSATIONS * ROW);
    const locals = config.localIps.map((ip) => this.addresses.id(ip));
    new Float64Array(buffer, layout.LOCALS, locals.length).set(locals);
    if (this.eni !== null) this.heap.set(this.eni.subarray(0, 64), layout.ENI);
    for (const port of config.localPorts) this.heap[layout.LOCAL_PORTS + port] = 1;
    for (const port of config.remotePorts) this.heap[layout.REMOTE_PORTS + port] = 1;
    for (const protocol of config.protocols) this.heap[layout.PROTOCOLS + protocol] = 1;
    configureCore(this.core, layout, { ...this.coreConfig, capacity });
  }

  /** Buffers in the core's memory for LocalFlowLogReader to read and inflate into: lines there are parsed where they lie. */
  readerBuffers(): { input: Buffer; output: Buffer } {
    const layout = this.regions;
    return {
      input: this.heap.subarray(layout.READ, layout.READ + CORE_LAYOUT.READ_BYTES),
      output: this.heap.subarray(layout.INFLATE, layout.INFLATE + CORE_LAYOUT.INFLATE_BYTES),
    };
  }

  get counts(): RecordCounts {
    const { stats } = this;
    return { total: stats[STAT_TOTAL]!, matched: stats[STAT_MATCHED]!, nodata: stats[STAT_NODATA]!, skipdata: stats[STAT_SKIPDATA]! };
  }

  /** Matching records in minutes beyond MAX_MINUTES: counted, not in the series. */
  get minuteOverflow(): number {
    return this.stats[STAT_MINUTE_OVERFLOW]!;
  }

  get conversationCount(): number {
    return this.core.conversationCount();
  }

  /** The volume per minute of record start (only minutes with traffic). */
  get series(): MinuteTotals {
    const numbers = this.minuteRows();
    const column = (field: number) => Array.from({ length: numbers.length / MINUTE_ROW }, (_, m) => numbers[m * MINUTE_ROW + field]!);
    const L = CORE_LAYOUT;
    return {
      minutes: column(L.MINUTE_AT), inBytes: column(L.MINUTE_IN_BYTES), outBytes: column(L.MINUTE_OUT_BYTES),
      accepted: column(L.MINUTE_ACCEPTED), rejected: column(L.MINUTE_REJECTED),
    };
  }

  private minuteRows(): Float64Array {
    return new Float64Array(this.core.memory.buffer, this.regions.MINUTES, this.core.minuteCount() * MINUTE_ROW);
  }

  beginFile(file: string, columns: readonly (FlowLogField | null)[]): boolean {
    if (this.localCount === 0 && !columns.includes('flow-direction')) {
      this.problems.add(flowLogProblem.noFlowDirection(file));
      return false;
    }
    if (this.eni !== null && !columns.includes('interface-id')) {
      this.problems.add(flowLogProblem.noInterfaceId(file, this.config.eni!));
      return false;
    }
    // A header is at most MAX_LINE_BYTES long, so it names fewer columns than the core has room for.
    this.heap.set(columns.map((column) => {
      const { OP_SKIP, OP_INTERFACE, OP_FLOW_DIRECTION } = CORE_LAYOUT;
      if (column === null) return OP_SKIP;
      if (column === 'interface-id') return this.eni === null ? OP_SKIP : OP_INTERFACE;
      if (column === 'flow-direction') return this.localCount > 0 ? OP_SKIP : OP_FLOW_DIRECTION;
      return OPS[column] ?? OP_SKIP;
    }), this.regions.OPS);
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
    const { SCRATCH } = this.regions;
    const { SCRATCH_BYTES } = CORE_LAYOUT;
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
    this.problems.add(flowLogProblem.malformed(file, line, why));
  }

  private tooLong(line: number): void {
    this.problems.add(flowLogProblem.lineTooLong(this.file, line));
  }

  private refused(i: number): boolean {
    return this.remoteFilter !== null && this.heap[this.regions.VERDICTS + i] === REFUSED;
  }

  /**
   * Where the row of every conversation kept starts (those the remote filter refused hold
   * nothing and are left out), largest first (bytes in and out), ties broken by address and
   * key: one order whatever the threads.
   */
  private sortedStarts(): Int32Array {
    const rows = this.rows;
    const size = this.conversationCount;
    const kept: number[] = [];
    const bytes = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      if (this.refused(i)) continue;
      kept.push(i);
      bytes[i] = rows[i * ROW + IN_BYTES]! + rows[i * ROW + OUT_BYTES]!;
    }
    const book = this.addresses;
    // Ties on bytes are few (the rows are sorted by bytes first, see below): their addresses and keys are read from the rows.
    const before = (x: number, y: number): number => {
      const bx = bytes[x]!;
      const by = bytes[y]!;
      if (bx !== by) return by - bx;
      return book.compare(rows[x * ROW + ADDRESS]!, rows[y * ROW + ADDRESS]!) || rows[x * ROW + KEY]! - rows[y * ROW + KEY]!;
    };
    const packed = packedByBytes(kept, bytes);
    if (packed === null) {
      kept.sort(before);
      return Int32Array.from(kept, (i) => i * ROW);
    }
    // Sorted by bytes: only the rows that tie on bytes (a few at a time) still need the comparator.
    const starts = new Int32Array(packed.length);
    for (let g = 0; g < packed.length;) {
      const group = Math.floor(packed[g]! / PACKED_ROWS);
      // A row's index is its key less the group's part: exact, where % on these numbers (past 2^31) is a slow fmod.
      const base = group * PACKED_ROWS;
      let end = g + 1;
      while (end < packed.length && Math.floor(packed[end]! / PACKED_ROWS) === group) end++;
      if (end - g === 1) {
        starts[g] = (packed[g]! - base) * ROW;
      } else {
        const tied = Array.from(packed.subarray(g, end), (key) => key - base).sort(before);
        for (let k = 0; k < tied.length; k++) starts[g + k] = tied[k]! * ROW;
      }
      g = end;
    }
    return starts;
  }

  /** The table is at capacity: its rows go to their partitions' files (the core empties it on return). */
  private spill(count: number): void {
    // Merging, the table is full: the rows being merged are split by conversation (see finish).
    if (this.merging) throw new TableFull();
    this.writer ??= this.newWriter();
    const rows = this.rows;
    for (let i = 0; i < count; i++) {
      if (this.refused(i)) continue;
      this.writer.add(this.addresses.partition(rows[i * ROW + ADDRESS]!), rows, i * ROW);
    }
  }

  /** Whether the finish goes through the spill partitions (and so can use a helper): spilled, or too many conversations to hand over at once. */
  get partitioned(): boolean {
    return this.spilled || this.conversationCount > IN_MEMORY_CONVERSATIONS;
  }

  /** Whether any rows went to spill files (this reader's or merged readers'). */
  get spilled(): boolean {
    return this.writer !== null || this.spills.length > 0;
  }

  /** A writer of this reader's next spill file (a file is written once: a closed one is never opened again). */
  private newWriter(): PartitionWriter {
    return new PartitionWriter(this.config.spillDir, `${this.spillName}-${this.spillFiles++}`, ROW);
  }

  /** Spills what the table still holds and closes this reader's files. */
  private closeSpill(): (PartitionRows | null)[] {
    this.spill(this.conversationCount);
    this.core.clearConversations();
    const files = this.writer!.close();
    this.writer = null;
    return files;
  }

  /**
   * Done reading: when the finish will go the partitions' way (see partitioned), the table's
   * rows are written to them now, each reader beside the others, rather than totalled into
   * the finishing reader's table and written from there, one thread after the other. This
   * reader's files, or null when the table stays.
   */
  private spillWhenPartitioned(): (PartitionRows | null)[] | null {
    if (this.conversationCount > IN_MEMORY_CONVERSATIONS) this.writer ??= this.newWriter();
    return this.writer === null ? null : this.closeSpill();
  }

  /** The finishing reader, done reading: see spillWhenPartitioned (rows merged in later are spilled by finish). */
  endReading(): void {
    const files = this.spillWhenPartitioned();
    if (files !== null) this.spills.push({ files, others: null });
  }

  exportState(): AccumulatorState {
    const base = { counts: this.counts, minuteOverflow: this.minuteOverflow, others: this.addresses.others(), minutes: this.minuteRows().slice() };
    const files = this.spillWhenPartitioned();
    if (files !== null) {
      return { ...base, rows: new Float64Array(0), others: this.addresses.others(), spilled: { files, others: this.addresses.others() } };
    }
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
    return { ...base, rows, spilled: null };
  }

  /** Adds another accumulator's state (from a reader thread) to this one. */
  merge(state: AccumulatorState): void {
    const { stats } = this;
    stats[STAT_TOTAL]! += state.counts.total;
    stats[STAT_MATCHED]! += state.counts.matched;
    stats[STAT_NODATA]! += state.counts.nodata;
    stats[STAT_SKIPDATA]! += state.counts.skipdata;
    stats[STAT_MINUTE_OVERFLOW]! += state.minuteOverflow;
    if (state.spilled !== null) this.spills.push(state.spilled);
    else this.mergeRows(state.rows, state.others);
    const m = state.minutes;
    for (let o = 0; o < m.length; o += MINUTE_ROW) this.core.addMinute(m[o]!, m[o + 1]!, m[o + 2]!, m[o + 3]!, m[o + 4]!);
  }

  /**
   * Totals rows (ROW numbers each, their IPv6 ids numbered by `others`; null: by this book)
   * into the table; with `keep`, just the rows of the addresses it keeps.
   */
  private mergeRows(from: Float64Array, others: readonly string[] | null, keep: ((address: number) => boolean) | null = null): void {
    if (keep === null && (others === null || others.length === 0)) {
      // No address to renumber and none to leave out: the core totals them a scratch room at a time.
      const { SCRATCH } = this.regions;
      const room = Math.floor(CORE_LAYOUT.SCRATCH_BYTES / (ROW * 8)) * ROW;
      const scratch = new Float64Array(this.core.memory.buffer, SCRATCH, room);
      for (let o = 0; o < from.length; o += room) {
        const part = from.subarray(o, Math.min(from.length, o + room));
        scratch.set(part);
        this.core.mergeRows(SCRATCH, part.length / ROW);
      }
      return;
    }
    const rows = this.rows;
    for (let o = 0; o < from.length; o += ROW) {
      let address = from[o + ADDRESS]!;
      if (others !== null && address >= OTHER_ADDRESSES) address = this.addresses.id(others[address - OTHER_ADDRESSES]!);
      if (keep !== null && !keep(address)) continue;
      const i = this.core.find(address, from[o + KEY]!);
      // The rows passed the remote filter where they were read: no need to ask it again.
      if (this.remoteFilter !== null) this.heap[this.regions.VERDICTS + i] = PASSES;
      const into = i * ROW;
      for (let field = IN_BYTES; field <= REJECTED; field++) rows[into + field]! += from[o + field]!;
      rows[into + FIRST_SEEN] = Math.min(rows[into + FIRST_SEEN]!, from[o + FIRST_SEEN]!);
      rows[into + LAST_SEEN] = Math.max(rows[into + LAST_SEEN]!, from[o + LAST_SEEN]!);
      rows[into + OPENED] = rows[into + OPENED]! | from[o + OPENED]!;
    }
  }

  /**
   * The end of the scan: every conversation, in partitions. Unspilled, the table is one
   * partition and the visitor gets all of it, sorted; the list returned is an array of it.
   * Spilled, each partition's files are merged alone into the table (mergePartition), the
   * visitor gets its rows sorted (every conversation of one remote address is in one
   * partition), and they are written back as sorted runs; the list returned merges the runs
   * as it is read. With a helper (another thread), the two threads take the partitions by
   * one shared counter, each the next one not taken; the visitor still gets them in
   * partition order, this thread's as they are merged when their turn has come, the others
   * read back from their runs. The table handed to the visitor is valid until the call returns.
   */
  async finish(visitor: PartitionVisitor, mark: FindingMark | null, helper: PartitionHelper | null = null): Promise<ConversationList> {
    if (!this.partitioned) {
      const starts = this.sortedStarts();
      visitor.add(new RowTable(this.rows, starts, this.addresses));
      return arrayList(this.rows, starts, this.addresses, mark);
    }
    // Past IN_MEMORY_CONVERSATIONS the table goes the partitions' way even when it never filled.
    if (this.conversationCount > 0) this.writer ??= this.newWriter();
    if (this.writer !== null) this.spills.push({ files: this.closeSpill(), others: null });
    // This book numbers every reader's other addresses (IPv6) first: the helper's, made from its list, numbers them alike.
    for (const spill of this.spills) for (const ip of spill.others ?? []) this.addresses.id(ip);
    this.startMerge(helper === null ? 1 : 2);
    const next = new Int32Array(new SharedArrayBuffer(4));
    const merged: (RunStep[] | undefined)[] = new Array<RunStep[] | undefined>(SPILL_PARTITIONS);
    /** Partitions handed to the visitor so far, in order. */
    let visited = 0;
    const visitMerged = (): void => {
      for (; visited < SPILL_PARTITIONS && merged[visited] !== undefined; visited++) this.visitRuns(merged[visited]!, visitor);
    };
    const helped = helper?.merge({ config: this.config, spills: this.spills, others: this.addresses.others(), next }, (partition, steps) => {
      merged[partition] = steps;
    });
    helped?.catch(() => undefined); // awaited below; a failure while this thread merges must not go unhandled
    try {
      for (let p = Atomics.add(next, 0, 1); p < SPILL_PARTITIONS; p = Atomics.add(next, 0, 1)) {
        const inTurn = p === visited;
        merged[p] = this.mergePartition(p, inTurn ? visitor : null);
        if (inTurn) visited++;
        if (helper !== null) await new Promise((resolve) => setImmediate(resolve)); // takes in what the helper has merged
        visitMerged();
      }
    } finally {
      this.runs!.close();
    }
    await helped;
    visitMerged();
    this.addresses.forgetTexts();
    const ranges = merged.flatMap((steps) => steps!.flatMap((step) => (step.kind === 'end-pieces' ? [] : [step.range])));
    return new RunList(ranges, ranges.reduce((sum, range) => sum + range.to - range.from, 0), { book: this.addresses, mark });
  }

  /** The helper's side of finish: merges the partitions it takes from `job.next` until none are left, handing each one's runs to `done`. */
  helpFinish(job: MergeJob, done: (partition: number, steps: RunStep[]) => void): void {
    for (const ip of job.others) this.addresses.id(ip);
    this.spills.push(...job.spills);
    this.startMerge(2);
    try {
      for (let p = Atomics.add(job.next, 0, 1); p < SPILL_PARTITIONS; p = Atomics.add(job.next, 0, 1)) done(p, this.mergePartition(p, null));
    } finally {
      this.runs!.close();
    }
  }

  /**
   * Starts the merge on a core of its own (the counts and minutes come along, the scan's table
   * pages do not), its table an equal part of the budget's for each of `threads` merging.
   */
  private startMerge(threads: number): void {
    this.merging = true;
    const stats = this.stats.slice();
    const minutes = this.minuteRows().slice();
    this.mergeTableRows = Math.max(1, Math.min(Math.floor(this.config.mergeCapacity / threads), MERGE_TABLE_ROWS));
    this.startCore(this.mergeTableRows);
    this.runs = new RunFile(`${this.config.spillDir}/runs-${this.spillName}.rows`, ROW);
    for (let o = 0; o < minutes.length; o += MINUTE_ROW) this.core.addMinute(minutes[o]!, minutes[o + 1]!, minutes[o + 2]!, minutes[o + 3]!, minutes[o + 4]!);
    this.stats.set(stats);
  }

  /**
   * Merges spill partition `p` and writes its conversations as sorted runs: a large partition
   * in batches of its addresses (its files read once per batch), so the objects handed to the
   * detectors stay few whatever the cardinality; a batch with more conversations than the
   * merge's table holds in pieces split by conversation (mergeSplit). Each run goes to
   * `visitor` too, when given. The runs, in order.
   */
  private mergePartition(p: number, visitor: PartitionVisitor | null): RunStep[] {
    const steps: RunStep[] = [];
    const run = (starts: Int32Array, kind: 'table' | 'piece'): void => {
      if (visitor !== null) {
        const table = new RowTable(this.rows, starts, this.addresses);
        if (kind === 'table') visitor.add(table);
        else visitor.addPiece(table);
      }
      steps.push({ kind, range: this.runs!.append(this.gather(starts)) });
    };
    const files = this.spills.flatMap((spill) => (spill.files[p] ? [{ rows: spill.files[p], others: spill.others }] : []));
    const rowsAtMost = files.reduce((sum, f) => sum + rowCount(f.rows), 0);
    // (A tiny budget makes tiny batches, so the tests' tiny budget runs this path too.)
    const target = Math.min(MERGE_BATCH_ROWS, this.config.capacity);
    let batches = Math.max(1, Math.ceil(rowsAtMost / target));
    let batchOf = (address: number): number => Math.floor(this.addresses.hash(address) / SPILL_PARTITIONS) % batches;
    if (batches > PLANNED_FROM_BATCHES) {
      // Many batches would each read every row: the rows of one address (all in one batch)
      // would be read once per batch. Counted first, the addresses' buckets are grouped into
      // batches of about `target` rows, so a large address's bucket is a batch of its own.
      const plan = this.planBatches(files, target);
      batches = plan.batches;
      batchOf = (address) => plan.batchOf[bucketOf(this.addresses.hash(address))]!;
    }
    for (let batch = 0; batch < batches; batch++) {
      const keep = batches === 1 ? null : (address: number) => batchOf(address) === batch;
      const starts = this.mergeFiles(files, keep);
      if (starts !== null) {
        if (starts.length > 0) run(starts, 'table');
        continue;
      }
      this.mergeSplit(files, keep, 0, (pieceStarts) => run(pieceStarts, 'piece'));
      visitor?.endPieces();
      steps.push({ kind: 'end-pieces' });
    }
    return steps;
  }

  /** The rows starting at `starts`, in that order, copied out of the table. */
  private gather(starts: Int32Array): Float64Array {
    const run = this.runRows(starts.length);
    const rows = this.rows;
    for (let n = 0; n < starts.length; n++) for (let field = 0, o = starts[n]!; field < ROW; field++) run[n * ROW + field] = rows[o + field]!;
    return run;
  }

  /**
   * Room for `count` rows of a run, reused from run to run (a partition's runs are megabytes:
   * a new array each made garbage of every row twice, gathered and read back).
   */
  private runRows(count: number): Float64Array {
    if (this.runBuffer.length < count * ROW) this.runBuffer = new Float64Array(Math.max(count * ROW, this.runBuffer.length * 2));
    return this.runBuffer.subarray(0, count * ROW);
  }

  /** Hands runs written by mergePartition (here or in the helper) to the visitor, read back. */
  private visitRuns(steps: readonly RunStep[], visitor: PartitionVisitor): void {
    for (const step of steps) {
      if (step.kind === 'end-pieces') {
        visitor.endPieces();
        continue;
      }
      const count = step.range.to - step.range.from;
      const rows = this.runRows(count);
      readRun(step.range, rows);
      if (this.rowStarts.length < count) this.rowStarts = Int32Array.from({ length: Math.max(count, this.rowStarts.length * 2) }, (_, n) => n * ROW);
      const table = new RowTable(rows, this.rowStarts.subarray(0, count), this.addresses);
      if (step.kind === 'table') visitor.add(table);
      else visitor.addPiece(table);
    }
  }

  /**
   * The batches of a partition's rows (`files`) from a count of them per bucket of addresses
   * (see bucketOf): consecutive buckets make a batch until it holds about `target` rows; a
   * bucket of more is a batch alone (merged in pieces if its address has too many).
   */
  private planBatches(files: readonly SpillFile[], target: number): { batches: number; batchOf: Int32Array } {
    const counts = new Float64Array(PLAN_BUCKETS);
    for (const f of files) {
      readRows(f.rows, ROW, (rows) => {
        for (let o = 0; o < rows.length; o += ROW) {
          let address = rows[o + ADDRESS]!;
          if (f.others !== null && address >= OTHER_ADDRESSES) address = this.addresses.id(f.others[address - OTHER_ADDRESSES]!);
          counts[bucketOf(this.addresses.hash(address))]! += 1;
        }
      });
    }
    const batchOf = new Int32Array(PLAN_BUCKETS);
    let batch = 0;
    let rows = 0;
    for (let b = 0; b < PLAN_BUCKETS; b++) {
      if (rows > 0 && rows + counts[b]! > target) {
        batch++;
        rows = 0;
      }
      batchOf[b] = batch;
      rows += counts[b]!;
    }
    return { batches: batch + 1, batchOf };
  }

  /**
   * Merges the rows of `files` (those of the addresses `keep` keeps) into the emptied table:
   * where each conversation's row starts, sorted; null when they are more conversations than
   * the table holds (it is emptied again).
   */
  private mergeFiles(files: readonly SpillFile[], keep: ((address: number) => boolean) | null): Int32Array | null {
    this.core.clearConversations();
    this.addresses.forgetTexts();
    try {
      for (const f of files) readRows(f.rows, ROW, (rows) => this.mergeRows(rows, f.others, keep));
    } catch (error) {
      if (!(error instanceof TableFull)) throw error;
      this.core.clearConversations();
      return null;
    }
    return this.sortedStarts();
  }

  /**
   * Merges rows too many for the table (a remote address with more conversations than it
   * holds): they are written again into pieces by a hash of the whole conversation (address
   * and key; `depth` seeds it, so a piece still too large is split differently), so each
   * conversation's rows are in one piece, and each piece is merged alone and handed to `each`
   * sorted. Exact: no conversation is cut, only an address's conversations spread.
   */
  private mergeSplit(files: readonly SpillFile[], keep: ((address: number) => boolean) | null, depth: number, each: (starts: Int32Array) => void): void {
    const rowsAtMost = files.reduce((sum, f) => sum + rowCount(f.rows), 0);
    const pieces = Math.min(SPILL_PARTITIONS, Math.max(2, Math.ceil((2 * rowsAtMost) / this.mergeTableRows)));
    const writer = new PartitionWriter(this.config.spillDir, `split-${this.spillName}-${this.splits++}`, ROW, pieces);
    for (const f of files) {
      readRows(f.rows, ROW, (rows) => {
        for (let o = 0; o < rows.length; o += ROW) {
          let address = rows[o + ADDRESS]!;
          if (f.others !== null && address >= OTHER_ADDRESSES) rows[o + ADDRESS] = address = this.addresses.id(f.others[address - OTHER_ADDRESSES]!);
          if (keep !== null && !keep(address)) continue;
          writer.add(conversationHash(this.addresses.hash(address), rows[o + KEY]!, depth) % pieces, rows, o);
        }
      });
    }
    const written = writer.close();
    for (const rows of written) {
      if (rows === null) continue;
      const piece = [{ rows, others: null }];
      const starts = this.mergeFiles(piece, null);
      if (starts === null) this.mergeSplit(piece, null, depth + 1, each);
      else if (starts.length > 0) each(starts);
    }
    // Every piece is in one file: it goes once all are merged.
    for (const rows of written) if (rows !== null) rmSync(rows.path, { force: true });
  }
}

/** Batches of a partition from which it is counted first (planBatches): up to this many, each reads the partition. */
const PLANNED_FROM_BATCHES = 4;
/** Buckets of addresses a partition is counted in (planBatches). */
const PLAN_BUCKETS = 4096;

/** An address's bucket in its partition (from its hash: the low part picks the partition). */
function bucketOf(hash: number): number {
  return Math.floor(hash / SPILL_PARTITIONS) % PLAN_BUCKETS;
}

/** A run written by mergePartition (a table of whole addresses, or a piece of a split), or the end of a split's pieces. */
export type RunStep = { kind: 'table' | 'piece'; range: RunRange } | { kind: 'end-pieces' };

/** What a helper thread needs to merge partitions beside the finishing reader (plain data). */
export interface MergeJob {
  config: AccumulatorConfig;
  /** Every reader's spilled rows (others null: the finishing reader's own numbering). */
  spills: SpillSet[];
  /** The finishing reader's addresses other than IPv4, in its numbering (see AddressBook.others). */
  others: string[];
  /** The next partition not taken, shared by both threads. */
  next: Int32Array;
}

/** Another thread that merges partitions while the finishing reader does (see finish). */
export interface PartitionHelper {
  /** Starts it on `job`; `done` gets each partition's runs as they come in; resolves when it has taken no more. */
  merge(job: MergeJob, done: (partition: number, steps: RunStep[]) => void): Promise<void>;
}

/** The merge's table is full (thrown through the core from its spill call). */
class TableFull extends Error {
  constructor() {
    super('The merge\'s conversation table is full.');
  }
}

/** A reader's spilled rows by partition and the numbering of their addresses other than IPv4 (null: the merging reader's own). */
interface SpillSet {
  files: (PartitionRows | null)[];
  others: string[] | null;
}

/** A partition's rows in one reader's spill file, and that reader's numbering (see SpillSet). */
interface SpillFile {
  rows: PartitionRows;
  others: string[] | null;
}

/** A 32-bit hash of a conversation (its address's hash and its key), seeded by `seed`. */
function conversationHash(addressHash: number, key: number, seed: number): number {
  let h = Math.imul(addressHash ^ Math.imul(seed + 1, 0x9e3779b1), 0xcc9e2d51);
  h = Math.imul(h ^ (key % 4294967296), 0x1b873593);
  return mix32(Math.imul(h ^ Math.floor(key / 4294967296), 0x85ebca6b));
}

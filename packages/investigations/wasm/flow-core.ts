/**
 * The per-record core of the flow-log analysis, in AssemblyScript compiled to WebAssembly
 * (src/flow-core.wasm, committed; `npm run build:wasm -w @orgshield/investigations` rebuilds
 * it, and a test fails when it is stale). FlowAccumulator (src/flow-accumulator.ts) drives it.
 *
 * It parses whole lines of flow log text in its own memory (zlib inflates straight into it),
 * checks every value, applies the window, the ENI, the local addresses and the filters, and
 * totals each record into its conversation's row and its minute of the volume series. Only
 * the rare things call out to JavaScript: an address that is not a dotted quad, the remote
 * filter (once per conversation), and a problem to report.
 *
 * Memory is laid out once, at fixed offsets the JavaScript side reads from the exports, and
 * never grows afterwards (a grown memory would detach the views the reader inflates into).
 * Pages are only taken as they are first written, so the reserved room costs nothing unused.
 */

// ---- Calls out to JavaScript.
/** The id of the address written at [start, end), or -1 when it is not an IP address. */
@external("flow", "addressId")
declare function addressId(start: i32, end: i32): f64;
/** Whether the remote filter takes an address (by id). */
@external("flow", "remotePasses")
declare function remotePasses(address: f64): bool;
/** Line `line` ([start, end), without its line break) is malformed at column `column`, position `at`. */
@external("flow", "malformed")
declare function malformed(start: i32, end: i32, line: f64, column: i32, at: i32): void;
/** Line `line` is longer than MAX_LINE_BYTES. */
@external("flow", "tooLong")
declare function tooLong(line: f64): void;
/**
 * The table holds its capacity of conversations and a new one comes: the first `count` rows
 * are to be written out (spilled) now; the table is emptied when this returns.
 */
@external("flow", "spill")
declare function spill(count: i32): void;

// ---- Limits, shared with the JavaScript side through the exports.
export const MAX_LINE_BYTES: i32 = 65536;
/** Rows the table has room for; the configured capacity (the memory budget's share) is at most this. */
export const MAX_CONVERSATIONS: i32 = 1000000;
/** Distinct minutes of the volume series at most (two years of them). */
export const MAX_MINUTES: i32 = 1 << 20;
export const MAX_OPS: i32 = 65536;
export const MAX_LOCALS: i32 = 64;
/** Numbers per conversation row: its key, then its totals. */
export const ROW: i32 = 12;
/** Numbers per minute: the minute, then its totals. */
export const MINUTE_ROW: i32 = 5;
/** A local file is read this much at a time... */
export const READ_BYTES: i32 = 1 << 20;
/**
 * ...and inflated this much at a time: small enough that the parser finds the text still in
 * the processor's cache, beside the other thread's (64 KiB ran the benchmark's scan about 9%
 * faster than 256 KiB; 32 KiB no faster).
 */
export const INFLATE_BYTES: i32 = 1 << 16;
/** Room for lines handed in from JavaScript's own buffers (streams, lines joined across chunks). */
export const SCRATCH_BYTES: i32 = 1 << 20;
/** Slots of the conversation table: twice MAX_CONVERSATIONS, so it is never more than half full. */
const SLOTS_COUNT: i32 = 1 << 21;
const MINUTE_SLOTS_COUNT: i32 = 1 << 21;

// ---- Layout (byte offsets). The first page is left to the compiler's own data.
/** Totals: f64 each, at STATS + 8 × one of the stat indices below. */
export const STATS: i32 = 65536;
export const STAT_TOTAL: i32 = 0;
export const STAT_MATCHED: i32 = 1;
export const STAT_NODATA: i32 = 2;
export const STAT_SKIPDATA: i32 = 3;
/** Matching records in minutes beyond MAX_MINUTES (counted, not in the series). */
export const STAT_MINUTE_OVERFLOW: i32 = 4;
/** Records parsed and waiting to be totalled (see total()): BATCH_SIZE of BATCH_RECORD bytes. */
const BATCH_SIZE = 32;
const BATCH_RECORD = 64;
const BATCH: i32 = STATS + 64;
/** The configuration block (CONFIG_FIELDS f64). */
export const CONFIG: i32 = BATCH + BATCH_SIZE * BATCH_RECORD;
/** The instance's address ids (f64 each). */
export const LOCALS: i32 = CONFIG + 8 * 16;
/** The ENI asked for, as bytes. */
export const ENI: i32 = LOCALS + 8 * MAX_LOCALS;
/** 1 per local port, remote port and protocol the filters take (when they filter on it). */
export const LOCAL_PORTS: i32 = ENI + 64;
export const REMOTE_PORTS: i32 = LOCAL_PORTS + 65536;
export const PROTOCOLS: i32 = REMOTE_PORTS + 65536;
/** One op per column of the current file's format. */
export const OPS: i32 = PROTOCOLS + 256;
export const READ: i32 = OPS + MAX_OPS;
export const INFLATE: i32 = READ + READ_BYTES;
export const SCRATCH: i32 = INFLATE + INFLATE_BYTES;
/** Per conversation, the remote filter's verdict: 0 undecided, 1 passes, 2 refused. */
export const VERDICTS: i32 = SCRATCH + SCRATCH_BYTES;
/** Per slot, 1 + the index of its conversation, or 0 when empty. */
const SLOTS: i32 = VERDICTS + MAX_CONVERSATIONS;
/** The conversations' rows (ROW f64 each). */
export const ROWS: i32 = SLOTS + 4 * SLOTS_COUNT;
const MINUTE_SLOTS: i32 = ROWS + 8 * ROW * MAX_CONVERSATIONS;
/** The minutes' rows (MINUTE_ROW f64 each). */
export const MINUTES: i32 = MINUTE_SLOTS + 4 * MINUTE_SLOTS_COUNT;
export const MEMORY_BYTES: i32 = MINUTES + 8 * MINUTE_ROW * MAX_MINUTES;

const pages = (MEMORY_BYTES + 0xffff) >>> 16;
if (memory.size() < pages) memory.grow(pages - memory.size());

// ---- The layout descriptor: every index and code the JavaScript side also uses is exported
// here, and flow-accumulator.ts compares each with its own at load (checkCoreLayout), so a
// reorder on one side fails when the core is loaded instead of silently mixing up totals.

// Row fields (f64 index within a conversation's row).
export const ROW_ADDRESS: i32 = 0;
export const ROW_KEY: i32 = 1;
export const ROW_IN_BYTES: i32 = 2;
export const ROW_OUT_BYTES: i32 = 3;
export const ROW_IN_PACKETS: i32 = 4;
export const ROW_OUT_PACKETS: i32 = 5;
export const ROW_ACCEPTED_OUT_BYTES: i32 = 6;
export const ROW_ACCEPTED: i32 = 7;
export const ROW_REJECTED: i32 = 8;
export const ROW_FIRST_SEEN: i32 = 9;
export const ROW_LAST_SEEN: i32 = 10;
export const ROW_OPENED: i32 = 11;
// Minute fields (f64 index within a minute's row).
export const MINUTE_AT: i32 = 0;
export const MINUTE_IN_BYTES: i32 = 1;
export const MINUTE_OUT_BYTES: i32 = 2;
export const MINUTE_ACCEPTED: i32 = 3;
export const MINUTE_REJECTED: i32 = 4;
// What the parser does with a column (one op per column at OPS).
export const OP_SKIP: i32 = 0;
export const OP_SRCADDR: i32 = 1;
export const OP_DSTADDR: i32 = 2;
export const OP_SRCPORT: i32 = 3;
export const OP_DSTPORT: i32 = 4;
export const OP_PROTOCOL: i32 = 5;
export const OP_PACKETS: i32 = 6;
export const OP_BYTES: i32 = 7;
export const OP_START: i32 = 8;
export const OP_END: i32 = 9;
export const OP_TCP_FLAGS: i32 = 10;
export const OP_ACTION: i32 = 11;
export const OP_LOG_STATUS: i32 = 12;
export const OP_INTERFACE: i32 = 13;
export const OP_FLOW_DIRECTION: i32 = 14;
// A row's OPENED bits.
export const OPENED_BY_REMOTE: i32 = 1;
export const OPENED_BY_LOCAL: i32 = 2;
// The filters' codes for direction and action (0: any).
export const DIRECTION_INBOUND: i32 = 1;
export const DIRECTION_OUTBOUND: i32 = 2;
export const ACTION_ACCEPT: i32 = 1;
export const ACTION_REJECT: i32 = 2;
// The configuration block: f64 each, at CONFIG + 8 × one of these, read by configure().
/** How many of the ids at LOCALS are the instance's (0: flow-direction says which side is local). */
export const CONFIG_LOCALS: i32 = 0;
/** The ENI's length in bytes at ENI; -1: any interface. */
export const CONFIG_ENI_LENGTH: i32 = 1;
/** 1 when the table at LOCAL_PORTS (REMOTE_PORTS, PROTOCOLS) filters, 0 when it does not. */
export const CONFIG_LOCAL_PORTS: i32 = 2;
export const CONFIG_REMOTE_PORTS: i32 = 3;
export const CONFIG_PROTOCOLS: i32 = 4;
/** 0 any, DIRECTION_INBOUND or DIRECTION_OUTBOUND. */
export const CONFIG_DIRECTION: i32 = 5;
/** 0 any, ACTION_ACCEPT or ACTION_REJECT. */
export const CONFIG_ACTION: i32 = 6;
/** 1 when the remote filter applies (remotePasses is asked once per conversation). */
export const CONFIG_REMOTE: i32 = 7;
/** The window [from, to) on a record's start, epoch seconds (±Infinity: open). */
export const CONFIG_FROM: i32 = 8;
export const CONFIG_TO: i32 = 9;
/** Conversations the table holds before it spills (at most MAX_CONVERSATIONS). */
export const CONFIG_CAPACITY: i32 = 10;
export const CONFIG_FIELDS: i32 = 11;

const ADDRESS = ROW_ADDRESS, KEY = ROW_KEY, IN_BYTES = ROW_IN_BYTES, OUT_BYTES = ROW_OUT_BYTES, IN_PACKETS = ROW_IN_PACKETS,
  OUT_PACKETS = ROW_OUT_PACKETS, ACCEPTED_OUT_BYTES = ROW_ACCEPTED_OUT_BYTES, ACCEPTED = ROW_ACCEPTED, REJECTED = ROW_REJECTED,
  FIRST_SEEN = ROW_FIRST_SEEN, LAST_SEEN = ROW_LAST_SEEN, OPENED = ROW_OPENED;
const M_IN = MINUTE_IN_BYTES, M_OUT = MINUTE_OUT_BYTES, M_ACCEPTED = MINUTE_ACCEPTED, M_REJECTED = MINUTE_REJECTED;
const SKIP = OP_SKIP, SRCADDR = OP_SRCADDR, DSTADDR = OP_DSTADDR, SRCPORT = OP_SRCPORT, DSTPORT = OP_DSTPORT, PROTOCOL = OP_PROTOCOL,
  PACKETS = OP_PACKETS, BYTES = OP_BYTES, START = OP_START, END = OP_END, TCP_FLAGS = OP_TCP_FLAGS, ACTION = OP_ACTION,
  LOG_STATUS = OP_LOG_STATUS, INTERFACE = OP_INTERFACE;
const STATUS_BAD = 0, STATUS_OK = 1, STATUS_NODATA = 2, STATUS_SKIPDATA = 3;
/** Internal action codes beside the filter's two. */
const ACTION_BAD = 0, ACTION_NONE = 3;
const INBOUND = DIRECTION_INBOUND, OUTBOUND = DIRECTION_OUTBOUND;
const TCP = 6, SYN = 2, SYN_ACK = 18;
/** An address column that is not a dotted quad: its text is looked up once the record is known to count. */
const NOT_IPV4: i64 = -2;

// ---- Configuration (set by configure and setOps).
let opCount = 0;
let localCount = 0;
let eniLength = -1;
let filterLocalPorts = false;
let filterRemotePorts = false;
let filterProtocols = false;
let directionFilter = 0;
let actionFilter = 0;
let remoteFilter = false;
let windowFrom: f64 = -Infinity;
let windowTo: f64 = Infinity;
let capacity = MAX_CONVERSATIONS;

// ---- State.
/** Records parsed and waiting in BATCH to be totalled. */
let batched = 0;
/** Where total() leaves the numbers it touched, so that touching them is not optimized away. */
let touchedSink: f64 = 0;
let conversations = 0;
let slotMask = 2047;
let minutes = 0;
let minuteMask = 2047;
/** The conversation found last (a flow's two directions are usually logged one after the other). */
let lastAddress: i64 = -1;
let lastKey: i64 = -1;
let lastIndex = -1;
let lastMinute: i64 = -1;
let lastMinuteIndex = -1;

/** Reads the configuration block at CONFIG (see CONFIG_*): what every record is checked against. */
export function configure(): void {
  const at = (field: i32): f64 => load<f64>(CONFIG + (field << 3));
  localCount = <i32>at(CONFIG_LOCALS);
  eniLength = <i32>at(CONFIG_ENI_LENGTH);
  filterLocalPorts = at(CONFIG_LOCAL_PORTS) != 0;
  filterRemotePorts = at(CONFIG_REMOTE_PORTS) != 0;
  filterProtocols = at(CONFIG_PROTOCOLS) != 0;
  directionFilter = <i32>at(CONFIG_DIRECTION);
  actionFilter = <i32>at(CONFIG_ACTION);
  remoteFilter = at(CONFIG_REMOTE) != 0;
  windowFrom = at(CONFIG_FROM);
  windowTo = at(CONFIG_TO);
  capacity = min(MAX_CONVERSATIONS, max(1, <i32>at(CONFIG_CAPACITY)));
}

/** Empties the conversation table (its rows were spilled, or merged into a partition's result). */
export function clearConversations(): void {
  memory.fill(SLOTS, 0, (slotMask + 1) << 2);
  memory.fill(VERDICTS, 0, conversations);
  conversations = 0;
  lastAddress = -1;
  lastKey = -1;
  lastIndex = -1;
}

/** The format of the next lines: `count` ops at OPS. */
export function setOps(count: i32): void {
  opCount = count;
}

export function conversationCount(): i32 {
  return conversations;
}

export function minuteCount(): i32 {
  return minutes;
}

@inline function addStat(index: i32, value: f64): void {
  store<f64>(STATS + (index << 3), load<f64>(STATS + (index << 3)) + value);
}

@inline function row(i: i32): i32 {
  return ROWS + i * (ROW << 3);
}

@inline function add(at: i32, value: f64): void {
  store<f64>(at, load<f64>(at) + value);
}

/** murmur3's finalizer. */
@inline function mix(x: u32): u32 {
  let h = x;
  h = (h ^ (h >>> 16)) * 0x85ebca6b;
  h = (h ^ (h >>> 13)) * 0xc2b2ae35;
  return h ^ (h >>> 16);
}

@inline function slotHash(address: i64, key: i64): u32 {
  return mix(<u32>address ^ (<u32>(address >>> 32) * 0x27d4eb2f) ^ (<u32>(key >>> 8) * 0x9e3779b1) ^ (<u32>(key & 255) * 0x1b873593));
}

/** Puts a new conversation in an empty slot, spilling the table first when it is at capacity. */
function insert(slot: i32, address: i64, key: i64): i32 {
  if (conversations >= capacity) {
    spill(conversations);
    clearConversations();
    slot = <i32>(slotHash(address, key) & <u32>slotMask); // the table is empty: the first slot probed is free
  }
  const i = conversations++;
  const o = row(i);
  // A row is used again after the table spilled: every total starts from zero.
  memory.fill(o, 0, ROW << 3);
  store<f64>(o + (ADDRESS << 3), <f64>address);
  store<f64>(o + (KEY << 3), <f64>key);
  store<f64>(o + (FIRST_SEEN << 3), Infinity);
  store<f64>(o + (LAST_SEEN << 3), -Infinity);
  store<i32>(SLOTS + (slot << 2), i + 1);
  if (conversations * 2 > slotMask + 1) {
    slotMask = (slotMask << 1) | 1;
    rebuildSlots(SLOTS, slotMask, ROWS, ROW << 3, conversations, true);
  }
  return i;
}

/**
 * Refills an open-addressing slot array (`mask` + 1 slots) for the first `used` rows at `rows`,
 * `rowBytes` apart, each hashed by its first number (and its second, with `pair`) as when it
 * was inserted: both tables grow this way, doubling when half full.
 */
function rebuildSlots(slots: i32, mask: i32, rows: i32, rowBytes: i32, used: i32, pair: bool): void {
  memory.fill(slots, 0, (mask + 1) << 2);
  for (let i = 0; i < used; i++) {
    const o = rows + i * rowBytes;
    let slot = <i32>(slotHash(<i64>load<f64>(o), pair ? <i64>load<f64>(o + 8) : 0) & <u32>mask);
    while (load<i32>(slots + (slot << 2)) != 0) slot = (slot + 1) & mask;
    store<i32>(slots + (slot << 2), i + 1);
  }
}

/** The conversation of (address id, key), created when new (the table spills when full). */
@inline function findConversation(address: i64, key: i64): i32 {
  for (let slot = <i32>(slotHash(address, key) & <u32>slotMask); ; slot = (slot + 1) & slotMask) {
    const entry = load<i32>(SLOTS + (slot << 2));
    if (entry == 0) return insert(slot, address, key);
    const o = row(entry - 1);
    if (<i64>load<f64>(o + (KEY << 3)) == key && <i64>load<f64>(o + (ADDRESS << 3)) == address) return entry - 1;
  }
  return unreachable();
}

/** For merging another thread's rows: the conversation of an address id and key (ports × 256 + protocol). */
export function find(address: f64, key: f64): i32 {
  return findConversation(<i64>address, <i64>key);
}

/**
 * For merging spilled or another thread's rows: totals the `count` rows at `from` (laid out
 * as the table's, their addresses already this table's ids) into their conversations, one
 * call for a chunk rather than one per row. They passed the remote filter where they were read.
 */
export function mergeRows(from: i32, count: i32): void {
  for (let n = 0; n < count; n++) {
    const o = from + n * (ROW << 3);
    const k = findConversation(<i64>load<f64>(o + (ADDRESS << 3)), <i64>load<f64>(o + (KEY << 3)));
    if (remoteFilter) store<u8>(VERDICTS + k, 1);
    const r = row(k);
    for (let field = IN_BYTES; field <= REJECTED; field++) add(r + (field << 3), load<f64>(o + (field << 3)));
    store<f64>(r + (FIRST_SEEN << 3), min(load<f64>(r + (FIRST_SEEN << 3)), load<f64>(o + (FIRST_SEEN << 3))));
    store<f64>(r + (LAST_SEEN << 3), max(load<f64>(r + (LAST_SEEN << 3)), load<f64>(o + (LAST_SEEN << 3))));
    store<f64>(r + (OPENED << 3), <f64>(<i32>load<f64>(r + (OPENED << 3)) | <i32>load<f64>(o + (OPENED << 3))));
  }
}

/** The row of a minute, created when new; -1 when MAX_MINUTES are taken. */
function minuteRow(minute: i64): i32 {
  if (minute == lastMinute) return lastMinuteIndex;
  let slot = <i32>(slotHash(minute, 0) & <u32>minuteMask);
  let index = -1;
  for (; ; slot = (slot + 1) & minuteMask) {
    const entry = load<i32>(MINUTE_SLOTS + (slot << 2));
    if (entry == 0) break;
    if (<i64>load<f64>(MINUTES + (entry - 1) * (MINUTE_ROW << 3)) == minute) {
      index = entry - 1;
      break;
    }
  }
  if (index < 0) {
    if (minutes >= MAX_MINUTES) return -1;
    index = minutes++;
    store<f64>(MINUTES + index * (MINUTE_ROW << 3), <f64>minute);
    store<i32>(MINUTE_SLOTS + (slot << 2), index + 1);
    if (minutes * 2 > minuteMask + 1) {
      minuteMask = (minuteMask << 1) | 1;
      rebuildSlots(MINUTE_SLOTS, minuteMask, MINUTES, MINUTE_ROW << 3, minutes, false);
    }
  }
  lastMinute = minute;
  lastMinuteIndex = index;
  return index;
}

/** For merging another thread's series: adds one minute's totals. */
export function addMinute(minute: f64, inBytes: f64, outBytes: f64, accepted: f64, rejected: f64): void {
  const m = minuteRow(<i64>minute);
  if (m < 0) {
    addStat(STAT_MINUTE_OVERFLOW, accepted + rejected);
    return;
  }
  const o = MINUTES + m * (MINUTE_ROW << 3);
  add(o + (M_IN << 3), inBytes);
  add(o + (M_OUT << 3), outBytes);
  add(o + (M_ACCEPTED << 3), accepted);
  add(o + (M_REJECTED << 3), rejected);
}

@inline function isDigit(c: i32): bool {
  return <u32>(c - 48) <= 9;
}

/** What number() gives for a field that is not a number ('-', a missing value, is -1). */
const NOT_A_NUMBER: i64 = -2;

/**
 * The value of the 1 to 8 digits at [s, s + length), eight bytes at a time: the bytes are
 * shifted so that the digits fill the top of a word, '0's the rest, and checked and converted
 * together. NOT_A_NUMBER when one of them is not a digit.
 */
@inline function eightDigits(s: i32, length: i32): i64 {
  const shift = <u64>(64 - (length << 3));
  let w = (load<u64>(s) << shift) | (0x3030303030303030 & ((<u64>1 << shift) - 1));
  if (((w & 0xf0f0f0f0f0f0f0f0) | (((w + 0x0606060606060606) & 0xf0f0f0f0f0f0f0f0) >> 4)) != 0x3333333333333333) return NOT_A_NUMBER;
  w = ((w & 0x0f0f0f0f0f0f0f0f) * 2561) >> 8;
  w = ((w & 0x00ff00ff00ff00ff) * 6553601) >> 16;
  return <i64>(((w & 0x0000ffff0000ffff) * 42949672960001) >> 32);
}

/** A number field [s, e): 1 to 15 digits, or '-' for a missing value (-1); else NOT_A_NUMBER. */
@inline function number(s: i32, e: i32): i64 {
  const length = e - s;
  if (length <= 8) {
    if (length == 1 && load<u8>(s) == 45) return -1;
    return length == 0 ? NOT_A_NUMBER : eightDigits(s, length);
  }
  if (length > 15) return NOT_A_NUMBER;
  const high = eightDigits(s, length - 8);
  const low = eightDigits(e - 8, 8);
  return high < 0 || low < 0 ? NOT_A_NUMBER : high * 100000000 + low;
}

/** A dotted quad [s, e) as its 32-bit value; NOT_IPV4 when the field is anything else. */
@inline function dottedQuad(s: i32, e: i32): i64 {
  let value: i64 = 0;
  let i = s;
  for (let octets = 0; octets < 4; octets++) {
    let c: i32 = load<u8>(i);
    if (!isDigit(c)) return NOT_IPV4;
    let octet = c - 48;
    c = load<u8>(++i);
    if (isDigit(c)) {
      octet = octet * 10 + c - 48;
      c = load<u8>(++i);
      if (isDigit(c)) {
        octet = octet * 10 + c - 48;
        c = load<u8>(++i);
      }
    }
    if (octet > 255) return NOT_IPV4;
    value = (value << 8) | <i64>octet;
    if (octets < 3) {
      if (c != 46) return NOT_IPV4;
      i++;
    }
  }
  return i == e ? value : NOT_IPV4;
}

/** The separators not yet taken while lines() reads: those of the 64 bytes at sepBase, a bit each, up to sepEnd. */
let sepBase = 0;
let sepMask: u64 = 0;
let sepEnd = 0;

/** A bit for every space and line break among the 64 bytes at `base` (before sepEnd), sixteen bytes at a time. */
@inline function separatorMask(base: i32): u64 {
  const spaces = i8x16.splat(32);
  const breaks = i8x16.splat(10);
  let v = v128.load(base);
  let mask = <u64><u32>i8x16.bitmask(v128.or(i8x16.eq(v, spaces), i8x16.eq(v, breaks)));
  v = v128.load(base + 16);
  mask |= <u64><u32>i8x16.bitmask(v128.or(i8x16.eq(v, spaces), i8x16.eq(v, breaks))) << 16;
  v = v128.load(base + 32);
  mask |= <u64><u32>i8x16.bitmask(v128.or(i8x16.eq(v, spaces), i8x16.eq(v, breaks))) << 32;
  v = v128.load(base + 48);
  mask |= <u64><u32>i8x16.bitmask(v128.or(i8x16.eq(v, spaces), i8x16.eq(v, breaks))) << 48;
  if (sepEnd - base < 64) mask &= (<u64>1 << <u64>(sepEnd - base)) - 1;
  return mask;
}

/** Takes the next separator (there always is one: the bytes lines() reads end with a line break). */
@inline function nextSeparator(): i32 {
  let mask = sepMask;
  if (mask == 0) {
    do {
      sepBase += 64;
      mask = separatorMask(sepBase);
    } while (mask == 0);
  }
  sepMask = mask & (mask - 1);
  return sepBase + <i32>ctz(mask);
}

/**
 * Parses and totals the whole lines at [from, to), each ending with a line break, the first
 * of them line number `firstLine`. Returns how many lines there were.
 *
 * Separators are taken from a 64-byte bit mask as the fields are read; each field is read by
 * the op its column was given: numbers eight digits at a time, dotted quads as they are read,
 * everything else compared or skipped whole.
 */
export function lines(from: i32, to: i32, firstLine: f64): i32 {
  sepEnd = to;
  sepBase = from;
  sepMask = separatorMask(from);
  const fields = opCount;
  const last = fields - 1;
  const byFlowDirection = localCount == 0;
  let n = 0;
  let i = from;
  while (i < to) {
    n++;
    const lineStart = i;
    /** The separator last taken. */
    let sep = nextSeparator();
    if (load<u8>(sep) == 10 && (sep == i || (sep == i + 1 && load<u8>(i) == 13))) {
      i = sep + 1; // a blank line says nothing
      continue;
    }
    let src: i64 = -1, dst: i64 = -1;
    let srcS = 0, srcE = 0, dstS = 0, dstE = 0;
    let srcport: i64 = -1, dstport: i64 = -1, protocol: i64 = -1, packets: i64 = -1, bytes: i64 = -1;
    let start: i64 = -1, end: i64 = -1, flags: i64 = -1;
    let action = ACTION_NONE, status = STATUS_OK, egress = -1;
    let eniMatches = true;
    let bad = -1;
    let badAt = 0;
    /** The first field that is not what its column holds. */
    let invalid = -1;
    for (let f = 0; f < fields; f++) {
      const s = i;
      if (f > 0) sep = nextSeparator();
      let e = sep;
      // Every field but the last ends at a space, the last at the line break (after a CR, if any).
      if ((load<u8>(e) == 32) != (f < last)) {
        bad = f;
        badAt = e;
        break;
      }
      if (f == last && e > s && load<u8>(e - 1) == 13) e--;
      const op: i32 = load<u8>(OPS + f);
      let valid = true;
      switch (op) {
        case SKIP: break;
        case SRCADDR: {
          src = dottedQuad(s, e);
          srcS = s;
          srcE = e;
          break;
        }
        case DSTADDR: {
          dst = dottedQuad(s, e);
          dstS = s;
          dstE = e;
          break;
        }
        case SRCPORT: { srcport = number(s, e); valid = srcport != NOT_A_NUMBER; break; }
        case DSTPORT: { dstport = number(s, e); valid = dstport != NOT_A_NUMBER; break; }
        case PROTOCOL: { protocol = number(s, e); valid = protocol != NOT_A_NUMBER; break; }
        case PACKETS: { packets = number(s, e); valid = packets != NOT_A_NUMBER; break; }
        case BYTES: { bytes = number(s, e); valid = bytes != NOT_A_NUMBER; break; }
        case START: { start = number(s, e); valid = start != NOT_A_NUMBER; break; }
        case END: { end = number(s, e); valid = end != NOT_A_NUMBER; break; }
        case TCP_FLAGS: { flags = number(s, e); valid = flags != NOT_A_NUMBER; break; }
        case ACTION: {
          const length = e - s;
          const first: i32 = load<u8>(s);
          action = length == 6 && first == 65 ? ACTION_ACCEPT : length == 6 && first == 82 ? ACTION_REJECT : length == 1 && first == 45 ? ACTION_NONE : ACTION_BAD;
          valid = action != ACTION_BAD;
          break;
        }
        case LOG_STATUS: {
          const length = e - s;
          const first: i32 = load<u8>(s);
          status = length == 2 && first == 79 ? STATUS_OK : length == 6 && first == 78 ? STATUS_NODATA : length == 8 && first == 83 ? STATUS_SKIPDATA : STATUS_BAD;
          valid = status != STATUS_BAD;
          break;
        }
        case INTERFACE: {
          const length = e - s;
          eniMatches = length == eniLength;
          for (let j = 0; eniMatches && j < length; j++) eniMatches = load<u8>(s + j) == load<u8>(ENI + j);
          break;
        }
        default: { // OP_FLOW_DIRECTION
          const length = e - s;
          const first: i32 = load<u8>(s);
          egress = length == 6 && first == 101 ? 1 : length == 7 && first == 105 ? 0 : -1;
        }
      }
      if (!valid && invalid < 0) invalid = f;
      i = sep + 1;
    }
    // A line with the right fields, one of which is not what its column holds.
    if (bad < 0 && invalid >= 0) {
      bad = invalid;
      badAt = fieldStart(lineStart, invalid);
    }
    if (bad >= 0) {
      let newline = sep;
      while (load<u8>(newline) != 10) newline = nextSeparator();
      if (newline - lineStart > MAX_LINE_BYTES) tooLong(firstLine + <f64>(n - 1));
      else malformed(lineStart, load<u8>(newline - 1) == 13 ? newline - 1 : newline, firstLine + <f64>(n - 1), bad, badAt);
      i = newline + 1;
      continue;
    }
    if (i - lineStart > MAX_LINE_BYTES + 1) {
      tooLong(firstLine + <f64>(n - 1));
      continue;
    }
    if (status != STATUS_OK) {
      addStat(STAT_TOTAL, 1);
      addStat(status == STATUS_NODATA ? STAT_NODATA : STAT_SKIPDATA, 1);
      continue;
    }
    // Values every OK record must have right.
    if (src == NOT_IPV4) src = <i64>addressId(srcS, srcE);
    if (dst == NOT_IPV4) dst = <i64>addressId(dstS, dstE);
    let wrong = -1;
    if (start < 0) wrong = START;
    else if (protocol < 0 || protocol > 255) wrong = PROTOCOL;
    else if (srcport > 65535) wrong = SRCPORT;
    else if (dstport > 65535) wrong = DSTPORT;
    else if (src < 0) wrong = SRCADDR;
    else if (dst < 0) wrong = DSTADDR;
    if (wrong >= 0) {
      let column = 0;
      while (<i32>load<u8>(OPS + column) != wrong) column++;
      malformed(lineStart, load<u8>(i - 2) == 13 ? i - 2 : i - 1, firstLine + <f64>(n - 1), column, fieldStart(lineStart, column));
      continue;
    }
    addStat(STAT_TOTAL, 1);
    if (end < 0) end = start;

    // The instance's records, in the window, of the interface asked for.
    const startAt = <f64>start;
    if (startAt < windowFrom || startAt >= windowTo || !eniMatches) continue;
    let outgoing: bool;
    if (byFlowDirection) {
      if (egress < 0) continue;
      outgoing = egress == 1;
    } else {
      let srcLocal = false;
      let dstLocal = false;
      for (let k = 0; k < localCount; k++) {
        const local = <i64>load<f64>(LOCALS + (k << 3));
        if (local == src) srcLocal = true;
        if (local == dst) dstLocal = true;
      }
      if (srcLocal == dstLocal) continue; // neither side is the instance, or both are
      outgoing = srcLocal;
    }
    const lport = <i32>(outgoing ? (srcport < 0 ? 0 : srcport) : dstport < 0 ? 0 : dstport);
    const rport = <i32>(outgoing ? (dstport < 0 ? 0 : dstport) : srcport < 0 ? 0 : srcport);
    let opened = 0;
    if (protocol == TCP && flags >= 0) {
      // SYN-ACK comes from the side that was asked; a SYN alone from the side asking.
      if ((flags & SYN_ACK) == SYN_ACK) opened = outgoing ? OPENED_BY_REMOTE : OPENED_BY_LOCAL;
      else if ((flags & SYN) != 0) opened = outgoing ? OPENED_BY_LOCAL : OPENED_BY_REMOTE;
    }
    if (filterLocalPorts && load<u8>(LOCAL_PORTS + lport) == 0) continue;
    if (filterRemotePorts && load<u8>(REMOTE_PORTS + rport) == 0) continue;
    if (filterProtocols && load<u8>(PROTOCOLS + <i32>protocol) == 0) continue;
    if (actionFilter != 0 && actionFilter != action) continue;
    if (directionFilter != 0) {
      // Who opened it: TCP flags when they say, else the side with the higher port is the client.
      const direction = opened == OPENED_BY_REMOTE ? INBOUND : opened == OPENED_BY_LOCAL ? OUTBOUND : rport > lport ? INBOUND : rport < lport ? OUTBOUND : 0;
      if (direction != directionFilter) continue;
    }
    // Totalled in batches: see total().
    const o = BATCH + batched * BATCH_RECORD;
    store<i64>(o, outgoing ? dst : src);
    store<i64>(o + 8, (<i64>(((<u32>lport) << 16) | <u32>rport) << 8) | protocol);
    store<i64>(o + 16, start);
    store<i64>(o + 24, end);
    store<f64>(o + 32, bytes < 0 ? 0.0 : <f64>bytes);
    store<f64>(o + 40, packets < 0 ? 0.0 : <f64>packets);
    store<i32>(o + 48, <i32>outgoing | (action << 1) | (opened << 4));
    if (++batched == BATCH_SIZE) total();
  }
  total();
  return n;
}

/**
 * Totals the batched records into their conversations and minutes, in order. The table is
 * megabytes and a record's conversation is rarely in the processor's caches, so the slots and
 * rows of the whole batch are first touched together, their cache and TLB misses overlapping,
 * rather than met one record at a time: over the benchmark's 86,605 conversations the scan took
 * about 5% less time on one thread, and about 17% less on two, which share the caches.
 */
function total(): void {
  let touched: f64 = 0;
  for (let j = 0; j < batched; j++) {
    const o = BATCH + j * BATCH_RECORD;
    const entry = load<i32>(SLOTS + (<i32>(slotHash(load<i64>(o), load<i64>(o + 8)) & <u32>slotMask) << 2));
    // A row spans two cache lines: one number from each.
    if (entry != 0) touched += load<f64>(row(entry - 1) + (KEY << 3)) + load<f64>(row(entry - 1) + (LAST_SEEN << 3));
  }
  touchedSink += touched;
  for (let j = 0; j < batched; j++) {
    const o = BATCH + j * BATCH_RECORD;
    const remote = load<i64>(o);
    const key = load<i64>(o + 8);
    const bits = load<i32>(o + 48);
    const outgoing = (bits & 1) != 0;
    const action = (bits >> 1) & 3;
    const opened = bits >> 4;
    let k: i32;
    if (remote == lastAddress && key == lastKey) {
      k = lastIndex;
    } else {
      k = findConversation(remote, key);
      lastAddress = remote;
      lastKey = key;
      lastIndex = k;
    }
    if (remoteFilter) {
      let verdict: i32 = load<u8>(VERDICTS + k);
      if (verdict == 0) {
        verdict = remotePasses(<f64>remote) ? 1 : 2;
        store<u8>(VERDICTS + k, <u8>verdict);
      }
      if (verdict != 1) continue;
    }
    addStat(STAT_MATCHED, 1);
    const start = load<i64>(o + 16);
    const nBytes = load<f64>(o + 32);
    const nPackets = load<f64>(o + 40);
    const accepted = action == ACTION_ACCEPT;
    const rejected = action == ACTION_REJECT;
    const r = row(k);
    if (outgoing) {
      add(r + (OUT_BYTES << 3), nBytes);
      add(r + (OUT_PACKETS << 3), nPackets);
      if (accepted) add(r + (ACCEPTED_OUT_BYTES << 3), nBytes);
    } else {
      add(r + (IN_BYTES << 3), nBytes);
      add(r + (IN_PACKETS << 3), nPackets);
    }
    if (accepted) add(r + (ACCEPTED << 3), 1);
    else if (rejected) add(r + (REJECTED << 3), 1);
    const startAt = <f64>start;
    if (startAt < load<f64>(r + (FIRST_SEEN << 3))) store<f64>(r + (FIRST_SEEN << 3), startAt);
    const endAt = <f64>load<i64>(o + 24);
    if (endAt > load<f64>(r + (LAST_SEEN << 3))) store<f64>(r + (LAST_SEEN << 3), endAt);
    if (opened != 0) store<f64>(r + (OPENED << 3), <f64>(<i32>load<f64>(r + (OPENED << 3)) | opened));
    const m = minuteRow(start / 60);
    if (m < 0) {
      addStat(STAT_MINUTE_OVERFLOW, 1);
    } else {
      const r = MINUTES + m * (MINUTE_ROW << 3);
      add(r + ((outgoing ? M_OUT : M_IN) << 3), nBytes);
      if (accepted) add(r + (M_ACCEPTED << 3), 1);
      else if (rejected) add(r + (M_REJECTED << 3), 1);
    }
  }
  batched = 0;
}

/** Where field `column` of the line at lineStart begins. */
function fieldStart(lineStart: i32, column: i32): i32 {
  let at = lineStart;
  for (let f = 0; f < column; f++) {
    let c: i32 = load<u8>(at);
    while (c != 32 && c != 10) c = load<u8>(++at);
    at++;
  }
  return at;
}

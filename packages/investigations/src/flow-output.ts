/**
 * What `orgshield flows analyze` prints, written as it is produced: the JSON document
 * (conversations one by one, read in order from the analysis, never built whole) and the
 * CSV of the conversations, one row each.
 */
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type ConversationList, type ConversationRows, keyLocalPort, keyRemotePort, rowDirection, RunList } from './flow-accumulator.js';
import { CORE_LAYOUT as L } from './flow-core.js';
import type { FlowAnalysis } from './flow-analysis.js';
import { startThread } from './flow-thread.js';

/**
 * Takes the next piece of output, text or the bytes of ASCII text (the conversations' rows,
 * printed as bytes: making strings of them cost a copy and an encoding per piece); resolves
 * when it may be given the next (a stream's backpressure). A piece is the sink's to keep.
 */
export interface OutputSink {
  (piece: string | Uint8Array): Promise<void>;
  /**
   * A sink on a file (fileSink): its descriptor and the offset the next piece goes to, moved
   * on as each piece is given, so that rows another thread prints can be written in place.
   */
  readonly file?: { readonly fd: number; position: number };
}

/** A sink that writes to a file opened for writing from its start (each piece at its offset). */
export function fileSink(handle: FileHandle): OutputSink {
  const file = { fd: handle.fd, position: 0 };
  const sink = async (piece: string | Uint8Array): Promise<void> => {
    const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
    const at = file.position;
    file.position += bytes.length;
    for (let done = 0; done < bytes.length;) done += (await handle.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
  };
  return Object.assign(sink, { file });
}

/** Text is handed on in pieces of about this size. */
const PIECE_CHARS = 1 << 16;

/**
 * Collects small texts into pieces for the sink: `add` is synchronous and says when a piece
 * is full (then `flush` hands it on), so a million rows are not a million awaited promises.
 * A piece is handed on once the sink has taken the one before (its backpressure), but the
 * caller is not kept waiting for the sink to take it: it prints the next piece meanwhile,
 * where it waited for every write. `end` waits for the last.
 */
function piecewise(sink: OutputSink): { add(text: string): boolean; flush(): Promise<void>; bytes(piece: Uint8Array): Promise<void>; end(): Promise<void>; file: OutputSink['file'] } {
  let piece = '';
  /** The sink taking the last piece handed on. */
  let taking: Promise<void> = Promise.resolve();
  const handOn = async (next: string | Uint8Array): Promise<void> => {
    await taking;
    taking = sink(next);
    taking.catch(() => undefined); // awaited with the next piece or at the end; a failure meanwhile must not go unhandled
  };
  const flush = async (): Promise<void> => {
    if (piece.length === 0) return;
    const full = piece;
    piece = '';
    await handOn(full);
  };
  return {
    file: sink.file,
    add(text) {
      piece += text;
      return piece.length >= PIECE_CHARS;
    },
    flush,
    /** Hands on the text collected so far, then `bytes`. */
    async bytes(bytes) {
      await flush();
      if (bytes.length > 0) await handOn(bytes);
    },
    async end() {
      await flush();
      await taking;
    },
  };
}

/**
 * A list of at least this many conversations read from disk is written by two threads:
 * this one writes its first half while an output thread writes the second, in place when
 * the sink is a file, else to a file of its own handed on after the first half.
 */
const PARALLEL_ROWS = 200_000;

export interface WriteOptions {
  /** Conversations read from disk at least this many are written by two threads (default PARALLEL_ROWS). */
  parallelRows?: number;
}

/** How a conversation is written: a CSV row, or a JSON line (after the first, which has no comma). */
export type RowFormat = 'csv' | 'json';

const latin1 = (text: string): Uint8Array => Buffer.from(text, 'latin1');
/** Each octet's text, for dotted quads. */
const OCTETS = Array.from({ length: 256 }, (_, octet) => latin1(String(octet)));
const DIRECTIONS = { inbound: latin1('inbound'), outbound: latin1('outbound'), unknown: latin1('unknown') };
/** What comes before each of a row's 13 values, in Conversation's order, and what ends it (with fromFinding and without). */
const FRAMES: Record<RowFormat, { before: Uint8Array[]; end: [Uint8Array, Uint8Array] }> = {
  csv: { before: ['', ...Array.from({ length: 12 }, () => ',')].map(latin1), end: [latin1(',false\n'), latin1(',true\n')] },
  json: {
    before: [
      '{"remoteIp":"', '","localPort":', ',"remotePort":', ',"protocol":', ',"direction":"', '","inBytes":', ',"outBytes":', ',"inPackets":',
      ',"outPackets":', ',"accepted":', ',"rejected":', ',"firstSeen":"', '","lastSeen":"',
    ].map(latin1),
    end: [latin1('"}'), latin1('","fromFinding":true}')],
  },
};
/** The row fields printed between direction and firstSeen, in Conversation's order. */
const TOTALS = [L.ROW_IN_BYTES, L.ROW_OUT_BYTES, L.ROW_IN_PACKETS, L.ROW_OUT_PACKETS, L.ROW_ACCEPTED, L.ROW_REJECTED];
const JSON_FIRST = latin1('\n    ');
const JSON_NEXT = latin1(',\n    ');
/** The end of an ISO time, after its seconds. */
const ISO_MILLIS = latin1('.000Z');
/** Seconds before the year 10000: their ISO times have four-digit years. */
const ISO_FOUR_DIGIT_YEARS = 253402300800;
/** A printer's buffer: a piece and room for the longest row after it. */
const PRINTER_BYTES = PIECE_CHARS + 8192;
/** "00" to "99", two bytes each. */
const DIGIT_PAIRS = latin1(Array.from({ length: 100 }, (_, pair) => String(pair).padStart(2, '0')).join(''));

/**
 * Prints conversations' rows straight from their numbers into a buffer of bytes, exactly
 * as JSON.stringify prints a Conversation (JSON) or as its CSV row reads: no object or
 * string per row, which made most of the output's time on a million rows.
 */
export class RowPrinter {
  buf = Buffer.allocUnsafe(PRINTER_BYTES);
  /** Bytes printed so far into buf. */
  n = 0;
  private readonly frame: (typeof FRAMES)[RowFormat];
  /** The day last printed by time(), and its "YYYY-MM-DDT". */
  private day = -1;
  private dayPrefix: Uint8Array = new Uint8Array(0);

  /** The bytes of a row's frame (what comes before its values; JSON's separator from the row before). */
  private readonly frameBytes: number;

  constructor(private readonly format: RowFormat) {
    this.frame = FRAMES[format];
    this.frameBytes = this.frame.before.reduce((sum, fragment) => sum + fragment.length, format === 'json' ? JSON_NEXT.length : 0);
  }

  /** Prints the row at rows[at] of `source`; whether the buffer is full (take its bytes, then go on). */
  row(source: ConversationRows, rows: Float64Array, at: number, first: boolean): boolean {
    const { before, end } = this.frame;
    if (this.format === 'json') this.bytes(first ? JSON_FIRST : JSON_NEXT);
    const address = rows[at + L.ROW_ADDRESS]!;
    const key = rows[at + L.ROW_KEY]!;
    this.bytes(before[0]!);
    if (address < 2 ** 32) {
      this.bytes(OCTETS[Math.floor(address / 16777216)]!);
      this.buf[this.n++] = 46;
      this.bytes(OCTETS[(address >>> 16) & 255]!);
      this.buf[this.n++] = 46;
      this.bytes(OCTETS[(address >>> 8) & 255]!);
      this.buf[this.n++] = 46;
      this.bytes(OCTETS[address & 255]!);
    } else {
      this.n += this.buf.write(source.addressText(address), this.n, 'latin1');
    }
    this.bytes(before[1]!);
    this.number(keyLocalPort(key));
    this.bytes(before[2]!);
    this.number(keyRemotePort(key));
    this.bytes(before[3]!);
    this.number(key % 256);
    this.bytes(before[4]!);
    this.bytes(DIRECTIONS[rowDirection(rows, at)]);
    for (let f = 0; f < TOTALS.length; f++) {
      this.bytes(before[5 + f]!);
      this.number(rows[at + TOTALS[f]!]!);
    }
    this.bytes(before[11]!);
    this.time(rows[at + L.ROW_FIRST_SEEN]!);
    this.bytes(before[12]!);
    this.time(rows[at + L.ROW_LAST_SEEN]!);
    this.bytes(end[source.fromFinding(rows, at) ? 1 : 0]);
    return this.n >= PIECE_CHARS;
  }

  /**
   * The bytes row() prints for the row (not the first: JSON's first row is a byte shorter),
   * counted, not printed: where an output thread writes the rows after these in place.
   */
  length(source: ConversationRows, rows: Float64Array, at: number): number {
    let n = this.frameBytes;
    const address = rows[at + L.ROW_ADDRESS]!;
    const key = rows[at + L.ROW_KEY]!;
    if (address < 2 ** 32) {
      n += 3 + OCTETS[Math.floor(address / 16777216)]!.length + OCTETS[(address >>> 16) & 255]!.length + OCTETS[(address >>> 8) & 255]!.length + OCTETS[address & 255]!.length;
    } else {
      n += source.addressText(address).length;
    }
    n += this.numberLength(keyLocalPort(key)) + this.numberLength(keyRemotePort(key)) + this.numberLength(key % 256);
    n += DIRECTIONS[rowDirection(rows, at)].length;
    for (let f = 0; f < TOTALS.length; f++) n += this.numberLength(rows[at + TOTALS[f]!]!);
    n += timeLength(rows[at + L.ROW_FIRST_SEEN]!) + timeLength(rows[at + L.ROW_LAST_SEEN]!);
    return n + this.frame.end[source.fromFinding(rows, at) ? 1 : 0].length;
  }

  /** What was printed, handed over (the printer goes on in a new buffer). */
  take(): Uint8Array {
    const piece = this.buf.subarray(0, this.n);
    this.buf = Buffer.allocUnsafe(PRINTER_BYTES);
    this.n = 0;
    return piece;
  }

  private bytes(fragment: Uint8Array): void {
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < fragment.length; i++) buf[n++] = fragment[i]!;
    this.n = n;
  }

  /** A number as number() prints it when it is not a whole number in the safe range. */
  private numberText(value: number): string {
    return this.format === 'json' && !Number.isFinite(value) ? 'null' : String(value);
  }

  /** The bytes number() prints for `value`. */
  private numberLength(value: number): number {
    return isDigits(value) ? digitCount(value) : this.numberText(value).length;
  }

  /** A number as JSON.stringify and String print it (the two differ only where JSON has null). */
  private number(value: number): void {
    const buf = this.buf;
    if (!isDigits(value)) {
      this.n += buf.write(this.numberText(value), this.n, 'latin1');
      return;
    }
    const digits = digitCount(value);
    let at = this.n + digits;
    this.n = at;
    if (value >= 2 ** 31) {
      do {
        const next = Math.floor(value / 10);
        buf[--at] = 48 + (value - next * 10); // the digit first: 48 + a value near 2^53 is not exact
        value = next;
      } while (value > 0);
      return;
    }
    // Most totals, ports and counts: two digits at a time, in 32-bit integers.
    let v = value | 0;
    while (v >= 100) {
      const next = (v / 100) | 0;
      const pair = (v - next * 100) << 1;
      buf[--at] = DIGIT_PAIRS[pair + 1]!;
      buf[--at] = DIGIT_PAIRS[pair]!;
      v = next;
    }
    if (v >= 10) {
      buf[--at] = DIGIT_PAIRS[(v << 1) + 1]!;
      buf[--at] = DIGIT_PAIRS[v << 1]!;
    } else {
      buf[--at] = 48 + v;
    }
  }

  /** Epoch seconds as toISOString prints them: each day's "YYYY-MM-DDT" made once, the time of day from digit pairs. */
  private time(seconds: number): void {
    if (!isFourDigitYear(seconds)) {
      this.n += this.buf.write(new Date(seconds * 1000).toISOString(), this.n, 'latin1');
      return;
    }
    const day = Math.floor(seconds / 86400);
    if (day !== this.day) {
      this.day = day;
      this.dayPrefix = latin1(new Date(day * 86_400_000).toISOString().slice(0, 11)); // "YYYY-MM-DDT"
    }
    this.bytes(this.dayPrefix);
    const buf = this.buf;
    let n = this.n;
    const ofDay = seconds - day * 86400;
    const hour = (ofDay / 3600) | 0;
    const minute = ((ofDay - hour * 3600) / 60) | 0;
    const second = ofDay - hour * 3600 - minute * 60;
    buf[n++] = DIGIT_PAIRS[hour << 1]!;
    buf[n++] = DIGIT_PAIRS[(hour << 1) + 1]!;
    buf[n++] = 58;
    buf[n++] = DIGIT_PAIRS[minute << 1]!;
    buf[n++] = DIGIT_PAIRS[(minute << 1) + 1]!;
    buf[n++] = 58;
    buf[n++] = DIGIT_PAIRS[second << 1]!;
    buf[n++] = DIGIT_PAIRS[(second << 1) + 1]!;
    this.n = n;
    this.bytes(ISO_MILLIS);
  }
}

/** Whether number() prints `value` digit by digit: a whole number of the safe range. */
const isDigits = (value: number): boolean => value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value);

/** The digits of a whole number (isDigits). */
function digitCount(value: number): number {
  let digits = 1;
  for (let power = 10; power <= value; power *= 10) digits++;
  return digits;
}

/** Whether time() prints the seconds itself ("YYYY-MM-DDTHH:MM:SS.000Z"), not through toISOString. */
const isFourDigitYear = (seconds: number): boolean => Number.isInteger(seconds) && seconds >= 0 && seconds < ISO_FOUR_DIGIT_YEARS;

/** The bytes time() prints for `seconds`. */
const timeLength = (seconds: number): number => (isFourDigitYear(seconds) ? 24 : new Date(seconds * 1000).toISOString().length);

let outputFiles = 0;

/** The bytes `list`'s rows print to in `format`, the first of the output's rows among them. */
function printedLength(list: RunList, format: RowFormat): number {
  const printer = new RowPrinter(format);
  const source = list.rows();
  let bytes = format === 'json' && list.length > 0 ? JSON_FIRST.length - JSON_NEXT.length : 0;
  list.eachUnordered((rows, at) => (bytes += printer.length(source, rows, at)));
  return bytes;
}

/**
 * Writes every conversation in `format` to the sink, in order: a long list read from disk
 * in two halves at once (see PARALLEL_ROWS), else one by one. Whether any was written.
 */
async function writeRows(conversations: ConversationList, format: RowFormat, out: ReturnType<typeof piecewise>, parallelRows: number): Promise<boolean> {
  const halves = conversations instanceof RunList && conversations.length >= parallelRows ? conversations.split() : null;
  const parallel = halves !== null && halves[0].length > 0 && halves[1].length > 0;
  const writeHead = async (head: ConversationList): Promise<boolean> => {
    const printer = new RowPrinter(format);
    const source = head.rows();
    let first = true;
    for (const { rows, at } of source) {
      if (printer.row(source, rows, at, first)) await out.bytes(printer.take());
      first = false;
    }
    await out.bytes(printer.take());
    return !first;
  };
  if (!parallel) return writeHead(conversations);
  const [head, tail] = halves;
  // Into a file the tail goes in place, where the head's bytes end (counted, not printed, while the thread starts);
  // else beside the runs, in the analysis's temporary folder (removed with it, on exit and on Ctrl-C too).
  const { file } = out;
  const shared = tail.shared();
  const path = file ? null : join(dirname(shared.ranges[0]!.path), `output-${process.pid}-${outputFiles++}.txt`);
  const thread = startThread('flow-output-worker', { list: shared, format, path }, { maxYoungGenerationSizeMb: 16 });
  const written = new Promise<number>((resolve, reject) => {
    thread.on('message', (bytes: number) => resolve(bytes));
    thread.on('error', reject);
    thread.on('exit', (code) => reject(new Error(`The flow output thread stopped (exit code ${code}) before it finished.`)));
  });
  written.catch(() => undefined); // awaited below; a failure while the first half is written must not go unhandled
  try {
    let headFrom = 0;
    let headBytes = 0;
    if (file) {
      await out.flush();
      headFrom = file.position;
      headBytes = printedLength(head, format);
      thread.postMessage({ fd: file.fd, position: headFrom + headBytes });
    }
    await writeHead(head);
    const tailBytes = await written;
    await out.flush();
    if (file) {
      const printed = file.position - headFrom;
      if (printed !== headBytes) throw new Error(`The first ${head.length} conversations took ${printed} bytes where ${headBytes} were counted; the output is not whole.`);
      file.position += tailBytes;
      return true;
    }
    const fd = openSync(path!, 'r');
    try {
      // A new chunk each time: the sink keeps the one it is given.
      for (let chunk = Buffer.allocUnsafe(1 << 20), read = readSync(fd, chunk); read > 0; chunk = Buffer.allocUnsafe(1 << 20), read = readSync(fd, chunk)) {
        await out.bytes(chunk.subarray(0, read));
      }
    } finally {
      closeSync(fd);
    }
    return true;
  } finally {
    await thread.terminate();
    if (path !== null) rmSync(path, { force: true });
  }
}

/**
 * Writes `{records, conversations, timeline, findings, problems}` (flowAnalysisJsonSchema),
 * one conversation per line, the rest indented as JSON.stringify indents it.
 */
export async function writeFlowAnalysisJson(analysis: FlowAnalysis, sink: OutputSink, options: WriteOptions = {}): Promise<void> {
  const out = piecewise(sink);
  const field = (name: string, value: unknown): string => `  ${JSON.stringify(name)}: ${JSON.stringify(value, null, 2).replaceAll('\n', '\n  ')}`;
  out.add(`{\n${field('records', analysis.records)},\n  "conversations": [`);
  const any = await writeRows(analysis.conversations, 'json', out, options.parallelRows ?? PARALLEL_ROWS);
  out.add(`${any ? '\n  ' : ''}],\n${field('timeline', analysis.timeline)},\n${field('findings', analysis.findings)},\n${field('problems', analysis.problems)}\n}\n`);
  await out.end();
}

export const CONVERSATION_CSV_COLUMNS = [
  'remoteIp', 'localPort', 'remotePort', 'protocol', 'direction', 'inBytes', 'outBytes', 'inPackets', 'outPackets', 'accepted', 'rejected',
  'firstSeen', 'lastSeen', 'fromFinding',
] as const;

/** One row per conversation, largest first, under a header of CONVERSATION_CSV_COLUMNS (no value needs quoting). */
export async function writeConversationsCsv(conversations: ConversationList, sink: OutputSink, options: WriteOptions = {}): Promise<void> {
  const out = piecewise(sink);
  out.add(`${CONVERSATION_CSV_COLUMNS.join(',')}\n`);
  await writeRows(conversations, 'csv', out, options.parallelRows ?? PARALLEL_ROWS);
  await out.end();
}

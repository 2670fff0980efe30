/**
 * Turns a stream of flow log text (gzip or plain) into records for a sink, as byte ranges
 * of the decompressed data: no string per record, no line kept longer than
 * MAX_LINE_BYTES, memory flat whatever the input size. Everything wrong with the input
 * becomes a problem with file and line, and the rest is still read.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGunzip, type Gunzip } from 'node:zlib';
import { DEFAULT_FLOW_LOG_FORMAT, type FlowLogField, readFlowLogHeader } from './flow-log-format.js';
import type { FlowLogObjectSource } from './flow-log-reader.js';

/** Longest line kept: a record of every v2-v7 field with long ECS ARNs is under 2 KiB. */
export const MAX_LINE_BYTES = 65536;
/** Problems listed per file; the rest are counted in one closing problem. */
export const MAX_PROBLEMS_PER_FILE = 20;
/** Decompressed chunk size: large chunks keep per-chunk overhead out of the profile. */
const CHUNK_BYTES = 256 * 1024;

export type FlowLogProblemCode =
  | 'malformed-record'
  | 'line-too-long'
  | 'truncated-gzip'
  | 'unknown-field'
  | 'missing-field'
  | 'unsupported-file'
  | 'unreadable'
  | 'more-problems';

export interface FlowLogProblem {
  file: string;
  /** 1-based, counting the header line. */
  line?: number;
  code: FlowLogProblemCode;
  message: string;
}

/** Problems of a run, at most MAX_PROBLEMS_PER_FILE listed per file. */
export class FlowLogProblems {
  readonly listed: FlowLogProblem[] = [];
  /** Every problem found, listed or not. */
  total = 0;
  private readonly unlisted = new Map<string, number>();
  private readonly perFile = new Map<string, number>();

  /** Whether a problem of this file would still be listed (else only counted: skip building it). */
  listing(file: string): boolean {
    return (this.perFile.get(file) ?? 0) < MAX_PROBLEMS_PER_FILE;
  }

  /** Counts a problem that is not listed. */
  count(file: string): void {
    this.total++;
    this.unlisted.set(file, (this.unlisted.get(file) ?? 0) + 1);
  }

  add(problem: FlowLogProblem): void {
    this.total++;
    const listed = this.perFile.get(problem.file) ?? 0;
    if (listed < MAX_PROBLEMS_PER_FILE) {
      this.perFile.set(problem.file, listed + 1);
      this.listed.push(problem);
    } else {
      this.unlisted.set(problem.file, (this.unlisted.get(problem.file) ?? 0) + 1);
    }
  }

  /** Closes a file: what was not listed becomes one problem saying how many. */
  endFile(file: string): void {
    const unlisted = this.unlisted.get(file) ?? 0;
    this.perFile.delete(file);
    this.unlisted.delete(file);
    if (unlisted > 0) {
      this.listed.push({ file, code: 'more-problems', message: `${unlisted} more problems in ${file} were counted but not listed.` });
    }
  }
}

/** Receives a file's records as regions of decompressed bytes. */
export interface FlowRecordSink {
  /** The file's columns are known (null: a column the format does not know); false skips the file (the sink reports why). */
  beginFile(file: string, columns: readonly (FlowLogField | null)[]): boolean;
  /**
   * buf[from, to) holds whole lines, each ending with a line break, the first of them line
   * number `line`. Returns how many lines it held. Lines longer than MAX_LINE_BYTES are the
   * sink's to report.
   */
  lines(buf: Buffer, from: number, to: number, file: string, line: number): number;
}

/** The decompressed bytes of a stream: gzip when it starts with gzip's magic bytes, else as is. */
async function* decoded(raw: Readable): AsyncGenerator<Buffer> {
  const source = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 4) {
    const next = await source.next();
    if (next.done) break;
    head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
  }
  const rest = { [Symbol.asyncIterator]: () => source };
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    if (head.length > 0) yield head;
    yield* rest;
    return;
  }
  const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
  const feeding = pipeline(Readable.from((async function* () {
    yield head;
    yield* rest;
  })()), gunzip);
  feeding.catch(() => undefined); // the same error surfaces from the loop below
  yield* gunzip;
}

/** Thrown inside the scanner to stop reading a file whose problem is already reported. */
class FileSkipped extends Error {}

/**
 * Splits decompressed chunks into records. Lines longer than MAX_LINE_BYTES are reported
 * and skipped to the next line break without being kept; a line cut across two chunks is
 * joined from a carry that never exceeds that bound. The first line decides the format:
 * a header names the fields, anything else is a record of the default format.
 */
class LineScanner {
  private carry: Buffer | null = null;
  private skipping = false;
  private formatKnown = false;
  /** The number of the last line seen. */
  line = 0;

  constructor(
    private readonly file: string,
    private readonly sink: FlowRecordSink,
    private readonly problems: FlowLogProblems,
  ) {}

  push(chunk: Buffer): void {
    let from = 0;
    if (this.carry !== null || this.skipping) {
      const newline = chunk.indexOf(10);
      const upTo = newline === -1 ? chunk.length : newline;
      if (this.skipping) {
        if (newline === -1) return;
        this.skipping = false;
      } else if (this.carry!.length + upTo > MAX_LINE_BYTES) {
        this.carry = null;
        this.tooLong(++this.line);
        if (newline === -1) {
          this.skipping = true;
          return;
        }
      } else if (newline === -1) {
        this.carry = Buffer.concat([this.carry!, chunk]);
        return;
      } else {
        const joined = Buffer.concat([this.carry!, chunk.subarray(0, newline + 1)]);
        this.carry = null;
        this.scan(joined, 0, joined.length);
      }
      from = newline + 1;
    }
    const complete = chunk.lastIndexOf(10) + 1;
    if (complete > from) this.scan(chunk, from, complete);
    const tail = Math.max(from, complete);
    if (tail < chunk.length) {
      if (chunk.length - tail > MAX_LINE_BYTES) {
        this.tooLong(++this.line);
        this.skipping = true;
      } else {
        this.carry = Buffer.from(chunk.subarray(tail)); // a copy: the chunk's memory is not ours to keep
      }
    }
  }

  /** The end of the stream: a last line without a line break is still a line. */
  finish(): void {
    if (this.carry === null) return;
    const last = Buffer.concat([this.carry, Buffer.from('\n')]);
    this.carry = null;
    this.scan(last, 0, last.length);
  }

  /** The end of a stream cut short: the partial last line goes with the cut. */
  abandon(): void {
    this.carry = null;
  }

  private tooLong(line: number): void {
    this.useFormat(DEFAULT_FLOW_LOG_FORMAT);
    this.problems.add(flowLogProblem.lineTooLong(this.file, line));
  }

  private useFormat(columns: readonly (FlowLogField | null)[]): void {
    if (this.formatKnown) return;
    this.formatKnown = true;
    if (!this.sink.beginFile(this.file, columns)) throw new FileSkipped();
  }

  /** A header line sets the format; returns whether the line was one. */
  private header(text: string, line: number): boolean {
    const reading = readFlowLogHeader(text);
    if (reading.kind === 'no-header') return false;
    const at = `${this.file}:${line}`;
    if (reading.unknown.length > 0) {
      const one = reading.unknown.length === 1;
      this.problems.add({
        file: this.file, line, code: 'unknown-field',
        message: `${at} names ${reading.unknown.join(', ')}, not ${one ? 'a field' : 'fields'} of flow log versions 2 to 7; the file is read with its known fields and ${one ? 'that column is' : 'those columns are'} ignored.`,
      });
    }
    if (reading.missing.length > 0) {
      this.problems.add({
        file: this.file, line, code: 'missing-field',
        message: `${at} is a format without ${reading.missing.join(', ')}; the file is skipped because its records cannot be analysed.`,
      });
      throw new FileSkipped();
    }
    this.useFormat(reading.columns);
    return true;
  }

  /** buf[from, to) holds whole lines, each ending with a line break. */
  private scan(buf: Buffer, from: number, to: number): void {
    let lineStart = from;
    if (!this.formatKnown) {
      const newline = buf.indexOf(10, lineStart);
      if (newline - lineStart <= MAX_LINE_BYTES && this.header(buf.toString('latin1', lineStart, newline), this.line + 1)) {
        this.line++;
        lineStart = newline + 1;
      }
      this.useFormat(DEFAULT_FLOW_LOG_FORMAT);
    }
    if (lineStart < to) this.line += this.sink.lines(buf, lineStart, to, this.file, this.line + 1);
  }
}

function isParquet(chunk: Buffer): boolean {
  return chunk.length >= 4 && chunk.readUInt32BE(0) === 0x50415231; // "PAR1"
}

/**
 * What can be wrong with a file or a line, worded once for every way of reading it (local
 * files, streams, S3 objects, the accumulator). `linesRead` is how many lines came before.
 */
export const flowLogProblem = {
  lineTooLong: (file: string, line: number): FlowLogProblem => ({
    file, line, code: 'line-too-long', message: `${file}:${line} is longer than ${MAX_LINE_BYTES} bytes; skipped to the next line break.`,
  }),
  parquet: (file: string): FlowLogProblem => ({
    file, code: 'unsupported-file', message: `${file} is a Parquet file; orgshield reads flow logs in the plain-text format (gzip or not).`,
  }),
  cut: (file: string, linesRead: number, why: string): FlowLogProblem => ({
    file, line: linesRead + 1, code: 'truncated-gzip', message: `${file} is cut short or corrupt after line ${linesRead} (${why}); the lines before were analysed.`,
  }),
  unreadable: (file: string, linesRead: number, why: string): FlowLogProblem => ({
    file, line: linesRead + 1, code: 'unreadable', message: `${file} could not be read past line ${linesRead} (${why}).`,
  }),
  unopenable: (file: string, why: string): FlowLogProblem => ({ file, code: 'unreadable', message: `${file} could not be opened (${why}).` }),
};

/**
 * Reads one stream of flow log text (gzip or plain) into the sink. Never throws for bad
 * content: a cut or corrupt gzip stream, a format without the needed fields, a file that
 * is not text or a stream that fails is a problem, and what was read before it counts.
 */
export async function scanFlowLogStream(file: string, raw: Readable, sink: FlowRecordSink, problems: FlowLogProblems): Promise<void> {
  const scanner = new LineScanner(file, sink, problems);
  let sourceError: unknown;
  raw.on('error', (error) => (sourceError = error));
  let first = true;
  try {
    for await (const chunk of decoded(raw)) {
      if (first && isParquet(chunk)) {
        problems.add(flowLogProblem.parquet(file));
        return;
      }
      first = false;
      scanner.push(chunk);
    }
    scanner.finish();
  } catch (error) {
    if (error instanceof FileSkipped) return;
    if (typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('Z_')) {
      scanner.abandon();
      problems.add(flowLogProblem.cut(file, scanner.line, (error as Error).message));
      return;
    }
    if (error === sourceError || sourceError !== undefined) {
      problems.add(flowLogProblem.unreadable(file, scanner.line, (error as Error).message));
      return;
    }
    throw error;
  } finally {
    raw.destroy();
    problems.endFile(file);
  }
}

/** The zlib call under zlib.Gunzip: inflates input[inOff, +inLen) into out[outOff, +outLen), leaving what is left in the stream's write state. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
}
// reset() is on every zlib stream (the types list it for inflate and deflate only).
type GunzipWithHandle = Gunzip & { reset(): void; _handle?: ZlibHandle; _writeState?: Uint32Array };

/**
 * Reads local flow log files, one after another, through two buffers the sink lends it (the
 * flow-log core's memory, so lines are parsed where zlib leaves them; see its READ_BYTES and
 * INFLATE_BYTES): a file costs no memory of its own, however large. Node's zlib has no public call that inflates into the
 * caller's memory (each returns fresh buffers, and a gigabyte of those per run costs more in
 * page faults and garbage collection than the inflating itself), so this drives the zlib
 * handle that a zlib.Gunzip stream wraps, as the stream itself does; the stream's own
 * checks (CRC, length, several members) apply. Where that handle is missing (another Node),
 * files are read as streams instead. Synchronous: each reader thread has its own.
 */
export class LocalFlowLogReader {
  private readonly input: Buffer;
  private readonly output: Buffer;
  private gunzip: GunzipWithHandle | null = null;

  constructor(
    private readonly sink: FlowRecordSink,
    private readonly problems: FlowLogProblems,
    /** Where to read a file's bytes into, and where to inflate them. */
    buffers: { input: Buffer; output: Buffer },
  ) {
    this.input = buffers.input;
    this.output = buffers.output;
  }

  /** A zlib.Gunzip to inflate the next file with: the last one reset, or a new one after an error. */
  private inflater(): GunzipWithHandle | null {
    if (this.gunzip !== null && this.gunzip.errored === null) {
      this.gunzip.reset();
      return this.gunzip;
    }
    const gunzip = createGunzip() as GunzipWithHandle;
    gunzip.on('error', () => undefined); // read synchronously from `errored` below
    this.gunzip = typeof gunzip._handle?.writeSync === 'function' && gunzip._writeState instanceof Uint32Array ? gunzip : null;
    return this.gunzip;
  }

  /** Reads one file into the sink. Never throws for what is in the file: problems say what was wrong with it. */
  async read(path: string): Promise<void> {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      this.problems.add(flowLogProblem.unopenable(path, (error as Error).message));
      this.problems.endFile(path);
      return;
    }
    const scanner = new LineScanner(path, this.sink, this.problems);
    try {
      const size = fstatSync(fd).size;
      let read = readSync(fd, this.input, 0, Math.min(this.input.length, size), 0);
      const gzip = read >= 2 && this.input[0] === 0x1f && this.input[1] === 0x8b;
      const gunzip = gzip ? this.inflater() : null;
      if (gzip && gunzip === null) {
        await scanFlowLogStream(path, createReadStream(path, { highWaterMark: CHUNK_BYTES }), this.sink, this.problems);
        return;
      }
      let first = true;
      const take = (chunk: Buffer): boolean => {
        if (first && isParquet(chunk)) {
          this.problems.add(flowLogProblem.parquet(path));
          return false;
        }
        first = false;
        if (chunk.length > 0) scanner.push(chunk);
        return true;
      };
      for (let at = read; ; at += read) {
        const last = at >= size;
        if (gunzip === null) {
          if (!take(this.input.subarray(0, read))) return;
        } else if (!this.inflate(gunzip, read, last, take)) {
          scanner.abandon();
          const error = gunzip.errored;
          if (error === null) return; // the sink stopped
          this.problems.add(flowLogProblem.cut(path, scanner.line, error.message));
          return;
        }
        if (last) break;
        read = readSync(fd, this.input, 0, Math.min(this.input.length, size - at), at);
        if (read === 0) break; // the file shrank while it was read
      }
      scanner.finish();
    } catch (error) {
      if (error instanceof FileSkipped) return;
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('E')) { // a system error reading the file
        this.problems.add(flowLogProblem.unreadable(path, scanner.line, (error as Error).message));
        return;
      }
      throw error;
    } finally {
      closeSync(fd);
      this.problems.endFile(path);
    }
  }

  /**
   * Inflates input[0, length) into the output buffer, handing each filled part to `take`;
   * false when zlib found the data cut short or corrupt (gunzip.errored says how) or `take` refused.
   */
  private inflate(gunzip: GunzipWithHandle, length: number, last: boolean, take: (chunk: Buffer) => boolean): boolean {
    const handle = gunzip._handle!;
    const state = gunzip._writeState!;
    const out = this.output;
    // Z_FINISH on the last piece: zlib then says "unexpected end of file" for a cut stream.
    const flush = last ? zlibConstants.Z_FINISH : zlibConstants.Z_NO_FLUSH;
    for (let offset = 0; ;) {
      handle.writeSync(flush, this.input, offset, length - offset, out, 0, out.length);
      if (gunzip.errored !== null) return false;
      const outLeft = state[0]!;
      offset = length - state[1]!;
      if (!take(out.subarray(0, out.length - outLeft))) return false;
      if (outLeft !== 0) return true; // room left over: this piece of input is used up
    }
  }
}

export async function scanFlowLogObject(objects: FlowLogObjectSource, key: string, sink: FlowRecordSink, problems: FlowLogProblems): Promise<void> {
  let stream: Readable;
  try {
    stream = await objects.open(key);
  } catch (error) {
    problems.add(flowLogProblem.unopenable(key, (error as Error).message));
    problems.endFile(key);
    return;
  }
  await scanFlowLogStream(key, stream, sink, problems);
}

/**
 * Reads local flow log files through buffers in the flow-log core's memory, so lines are
 * parsed where zlib leaves them.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { constants as zlibConstants, createGunzip, type Gunzip } from 'node:zlib';
import { CHUNK_BYTES, isGzip, isParquet } from './flow-log-compression.js';
import { FileSkipped, type FlowRecordSink, LineScanner } from './flow-log-lines.js';
import { flowLogProblem, type FlowLogProblems } from './flow-log-problems.js';
import { scanFlowLogStream } from './flow-log-stream.js';

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
      const gzip = isGzip(this.input.subarray(0, read));
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


/**
 * External aggregation for the conversation table: when a reader's table reaches the
 * memory budget, its rows are written out, hash-partitioned by remote address, into a file
 * of a temporary folder (a file per reader, each partition's rows in extents of it: creating
 * a file here costs about a millisecond, and blocked the readers for 150-300 ms when each
 * made one per partition); after the scan each partition is merged on its own (all of one
 * remote address's conversations are in one partition; rows too many for the merge's table
 * are split again by conversation) and written back sorted, and the sorted runs are merged
 * as they are read. The folder is removed when the analysis is
 * disposed, and on exit or Ctrl-C if it is still there.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Partitions of spilled rows: each is merged alone, so the largest partition is what the merge holds at once. */
export const SPILL_PARTITIONS = 128;
/** Rows staged per partition before they are written (about 32 KiB each at 12 numbers a row). */
const STAGE_ROWS = 340;
/** Bytes read from a file at a time while merging. */
export const READ_CHUNK_BYTES = 1 << 20;

const live = new Set<string>();
let hooked = false;

function removeLive(): void {
  // A reader thread may still be adding a file while the folder goes: rmSync retries then.
  for (const dir of live) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  live.clear();
}

/**
 * Ctrl-C or a polite kill (SIGTERM: a job runner's timeout, a container stopping) that ends
 * the process: the folders go, then the signal does what it would have done. A process that
 * handles the signal itself (the worker stops gracefully, letting analyses under way finish)
 * keeps them until they are disposed of or it exits.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  removeLive();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.kill(process.pid, signal);
}

/** A new temporary folder for one analysis's spills, removed on exit, Ctrl-C or SIGTERM if still there. */
export function createSpillFolder(): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', removeLive);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const dir = mkdtempSync(join(tmpdir(), 'orgshield-flows-'));
  live.add(dir);
  return dir;
}

export function removeSpillFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
}

/** A partition's rows in a spill file: the [from, to) row ranges of the file they fill, flat. */
export interface PartitionRows {
  path: string;
  extents: number[];
}

/** Spilled rows of one reader: per partition, where its rows are (null: none). */
export interface SpilledRows {
  files: (PartitionRows | null)[];
  /** The addresses other than IPv4 that ids from 2^32 in these rows stand for (that reader's own numbering). */
  others: string[];
}

/** The rows a partition's extents hold. */
export function rowCount(rows: PartitionRows): number {
  let count = 0;
  for (let e = 0; e < rows.extents.length; e += 2) count += rows.extents[e + 1]! - rows.extents[e]!;
  return count;
}

/** Writes rows by partition into one file (one reader's spills, or a batch split by conversation), a few at a time. */
export class PartitionWriter {
  private readonly stages: Float64Array[];
  private readonly staged: Int32Array;
  private readonly extents: number[][];
  private readonly path: string;
  private fd: number | null = null;
  /** Rows written to the file so far. */
  private written = 0;

  constructor(
    dir: string,
    /** Distinguishes this reader's file from the other readers'. */
    name: string,
    private readonly rowLength: number,
    private readonly partitions: number = SPILL_PARTITIONS,
  ) {
    this.path = join(dir, `${name}.rows`);
    this.stages = Array.from({ length: partitions }, () => new Float64Array(0));
    this.staged = new Int32Array(partitions);
    this.extents = Array.from({ length: partitions }, () => []);
  }

  /** Stages rows[at, at + rowLength) for a partition. */
  add(partition: number, rows: Float64Array, at: number): void {
    let stage = this.stages[partition]!;
    if (stage.length === 0) stage = this.stages[partition] = new Float64Array(STAGE_ROWS * this.rowLength);
    const n = this.staged[partition]!;
    // A loop, not set(subarray()): no view object per row (millions of rows spill).
    for (let i = 0, to = n * this.rowLength; i < this.rowLength; i++) stage[to + i] = rows[at + i]!;
    this.staged[partition] = n + 1;
    if (n + 1 === STAGE_ROWS) this.flush(partition);
  }

  private flush(partition: number): void {
    const n = this.staged[partition]!;
    this.staged[partition] = 0;
    if (n === 0) return;
    this.fd ??= openSync(this.path, 'w');
    const bytes = new Uint8Array(this.stages[partition]!.buffer, 0, n * this.rowLength * 8);
    writeFully(this.fd, bytes);
    this.extents[partition]!.push(this.written, this.written + n);
    this.written += n;
  }

  /** Writes what is staged and closes the file: where each partition's rows are. */
  close(): (PartitionRows | null)[] {
    for (let p = 0; p < this.partitions; p++) this.flush(p);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    return this.extents.map((extents) => (extents.length === 0 ? null : { path: this.path, extents }));
  }
}

/**
 * Reads a partition's rows in chunks: `each` gets rows (a whole number of them) until they
 * end. The chunks are read into `into` when given (a whole number of rows long), else into an array of their own.
 */
export function readRows(rows: PartitionRows, rowLength: number, each: (rows: Float64Array) => void, into?: Float64Array): void {
  const rowBytes = rowLength * 8;
  const fd = openSync(rows.path, 'r');
  try {
    const chunk = into ?? new Float64Array(Math.max(1, Math.min(Math.floor(READ_CHUNK_BYTES / rowBytes), rowCount(rows))) * rowLength);
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let e = 0; e < rows.extents.length; e += 2) {
      const end = rows.extents[e + 1]! * rowBytes;
      for (let position = rows.extents[e]! * rowBytes; position < end;) {
        const want = Math.min(bytes.length, end - position);
        if (readFully(fd, bytes, want, position) < want) throw new Error(`The spill file ${rows.path} ends before its row ${end / rowBytes}.`);
        each(chunk.subarray(0, want / 8));
        position += want;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads rows [from, to) of a file of rows into `into` (room for exactly them). */
export function readRun(range: RunRange, into: Float64Array): void {
  const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
  const rowBytes = into.byteLength / (range.to - range.from);
  const fd = openSync(range.path, 'r');
  try {
    if (readFully(fd, bytes, bytes.length, range.from * rowBytes) < bytes.length) throw new Error(`The run ${range.path} ends before its row ${range.to}.`);
  } finally {
    closeSync(fd);
  }
}

/** Rows [from, to) of a sorted run's file. */
export interface RunRange {
  path: string;
  from: number;
  to: number;
}

/** Reads bytes[0, length) from `position` of `fd`: how many it got (fewer only where the file ends). */
function readFully(fd: number, bytes: Uint8Array, length: number, position: number): number {
  let filled = 0;
  while (filled < length) {
    const read = readSync(fd, bytes, filled, length - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled;
}

/** Writes all of `bytes` at the file's end (at most 16 MiB a call). */
function writeFully(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, Math.min(bytes.length - at, 1 << 24));
}

/** Row `index` of an open file of rows. */
export function readRow(fd: number, rowLength: number, index: number): Float64Array {
  const row = new Float64Array(rowLength);
  readSync(fd, new Uint8Array(row.buffer), 0, rowLength * 8, index * rowLength * 8);
  return row;
}

/** How merged runs are ordered: by rank (lower first), rows of equal rank by `before`. */
export interface RunOrder {
  rank(rows: Float64Array, at: number): number;
  before(a: Float64Array, i: number, b: Float64Array, j: number): boolean;
}

/** A sorted run read a chunk at a time: the current row is rows[at, at + rowLength), its rank `rank`. */
class RunCursor {
  private readonly bytes: Uint8Array;
  rows: Float64Array;
  at = 0;
  rank = 0;
  private position: number;
  private readonly limit: number;
  private end = 0;

  constructor(
    private readonly fd: number,
    private readonly rowLength: number,
    chunkRows: number,
    range: RunRange,
    private readonly rankOf: RunOrder['rank'],
  ) {
    this.rows = new Float64Array(chunkRows * rowLength);
    this.bytes = new Uint8Array(this.rows.buffer);
    this.position = range.from * rowLength * 8;
    this.limit = range.to * rowLength * 8;
    this.fill();
    if (!this.done) this.rank = rankOf(this.rows, 0);
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  next(): void {
    this.at += this.rowLength;
    if (this.at >= this.end) this.fill();
    if (this.at < this.end) this.rank = this.rankOf(this.rows, this.at);
  }

  private fill(): void {
    const filled = readFully(this.fd, this.bytes, Math.min(this.bytes.length, this.limit - this.position), this.position);
    this.position += filled;
    this.at = 0;
    this.end = Math.floor(filled / (this.rowLength * 8)) * this.rowLength;
  }
}

/**
 * Merges ranges of sorted runs of rows (each file sorted in `order`), yielding (rows, at)
 * for every row in order (one object, updated: read it before taking the next). A binary
 * heap of cursors, each with its current row's rank at hand (most comparisons end there):
 * memory is one chunk per run.
 */
export function* mergeRuns(ranges: readonly RunRange[], rowLength: number, order: RunOrder): Generator<{ rows: Float64Array; at: number }> {
  const chunkRows = Math.max(64, Math.floor(READ_CHUNK_BYTES / 4 / Math.max(1, ranges.length) / (rowLength * 8)));
  const fds = ranges.map((range) => openSync(range.path, 'r'));
  try {
    const heap = fds.map((fd, r) => new RunCursor(fd, rowLength, chunkRows, ranges[r]!, order.rank)).filter((c) => !c.done);
    const { before } = order;
    const less = (x: RunCursor, y: RunCursor): boolean => x.rank < y.rank || (x.rank === y.rank && before(x.rows, x.at, y.rows, y.at));
    /** Sinks heap[i] to its place: its smaller child moves up into the hole until neither child comes before it. */
    const down = (i: number): void => {
      const moving = heap[i]!;
      const size = heap.length;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= size) break;
        if (child + 1 < size && less(heap[child + 1]!, heap[child]!)) child++;
        if (!less(heap[child]!, moving)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = moving;
    };
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    const row: { rows: Float64Array; at: number } = { rows: new Float64Array(0), at: 0 };
    while (heap.length > 0) {
      const top = heap[0]!;
      row.rows = top.rows;
      row.at = top.at;
      yield row;
      top.next();
      if (top.done) {
        heap[0] = heap[heap.length - 1]!;
        heap.pop();
      }
      if (heap.length > 0) down(0);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * Sorted runs, one after another in one file: a file costs about a millisecond to create
 * here, far more than writing a run, and a spilled analysis writes hundreds of runs.
 */
export class RunFile {
  private fd: number | null = null;
  private rows = 0;

  constructor(
    private readonly path: string,
    private readonly rowLength: number,
  ) {}

  /** Writes a run (whole rows) after the others: where it is. */
  append(run: Float64Array): RunRange {
    this.fd ??= openSync(this.path, 'w');
    const bytes = new Uint8Array(run.buffer, run.byteOffset, run.byteLength);
    writeFully(this.fd, bytes);
    const from = this.rows;
    this.rows += run.length / this.rowLength;
    return { path: this.path, from, to: this.rows };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

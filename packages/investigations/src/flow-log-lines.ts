/**
 * Splits decompressed flow log text into whole lines for a sink, as byte ranges (no string
 * per record), never keeping a line longer than MAX_LINE_BYTES; the first line decides the
 * file's format.
 */
import { DEFAULT_FLOW_LOG_FORMAT, type FlowLogField, MAX_LINE_BYTES, readFlowLogHeader } from './flow-log-format.js';
import { flowLogProblem, type FlowLogProblems } from './flow-log-problems.js';

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

/** Thrown inside the scanner to stop reading a file whose problem is already reported. */
export class FileSkipped extends Error {}

/**
 * Splits decompressed chunks into records. Lines longer than MAX_LINE_BYTES are reported
 * and skipped to the next line break without being kept; a line cut across two chunks is
 * joined from a carry that never exceeds that bound. The first line decides the format:
 * a header names the fields, anything else is a record of the default format.
 */
export class LineScanner {
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
    if (reading.unknown.length > 0) this.problems.add(flowLogProblem.unknownFields(this.file, line, reading.unknown));
    if (reading.missing.length > 0) {
      this.problems.add(flowLogProblem.missingFields(this.file, line, reading.missing));
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


/**
 * What can be wrong with flow-log input, worded once for every way of reading it (local
 * files, streams, S3 objects, the core's parser), and the list of a run's problems, at most
 * MAX_PROBLEMS_PER_FILE per file.
 */
import { MAX_LINE_BYTES } from './flow-log-format.js';

/** Problems listed per file; the rest are counted in one closing problem. */
export const MAX_PROBLEMS_PER_FILE = 20;

export type FlowLogProblemCode =
  | 'malformed-record'
  | 'line-too-long'
  | 'truncated-gzip'
  | 'unknown-field'
  | 'missing-field'
  | 'unsupported-file'
  | 'unreadable'
  | 'skipped-link'
  | 'link-loop'
  | 'more-problems';

/**
 * Problems that mean input was lost, not a record refused: gzip data cut short or failing its
 * CRC, a file that failed while it was read, a link that leads out of the folder or nowhere. They are never folded into a count: every one is listed, and a run that has one is done
 * on incomplete input (exit code 3).
 */
const INTEGRITY_PROBLEMS: ReadonlySet<FlowLogProblemCode> = new Set(['truncated-gzip', 'unreadable', 'skipped-link']);

export function isIntegrityProblem(problem: { code: FlowLogProblemCode }): boolean {
  return INTEGRITY_PROBLEMS.has(problem.code);
}

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
    if (isIntegrityProblem(problem)) {
      this.listed.push(problem);
      return;
    }
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
      this.listed.push(flowLogProblem.moreProblems(file, unlisted));
    }
  }
}

/**
 * What can be wrong with a file or a line, worded once for every way of reading it (local
 * files, streams, S3 objects, the core's parser). `linesRead` is how many lines came before.
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
  linkOutside: (file: string, target: string, root: string): FlowLogProblem => ({
    file, code: 'skipped-link', message: `${file} is a symbolic link to ${target}, outside ${root}; it was not read.`,
  }),
  linkLoop: (file: string, target: string): FlowLogProblem => ({
    file, code: 'link-loop', message: `${file} is a symbolic link to ${target}, a folder already read (a loop or a second way in); its files are read once.`,
  }),
  linkBroken: (file: string, why: string): FlowLogProblem => ({ file, code: 'skipped-link', message: `${file} is a symbolic link that leads nowhere (${why}); it was not read.` }),
  unknownFields: (file: string, line: number, unknown: readonly string[]): FlowLogProblem => {
    const one = unknown.length === 1;
    return {
      file, line, code: 'unknown-field',
      message: `${file}:${line} names ${unknown.join(', ')}, not ${one ? 'a field' : 'fields'} of flow log versions 2 to 7; the file is read with its known fields and ${one ? 'that column is' : 'those columns are'} ignored.`,
    };
  },
  missingFields: (file: string, line: number, missing: readonly string[]): FlowLogProblem => ({
    file, line, code: 'missing-field', message: `${file}:${line} is a format without ${missing.join(', ')}; the file is skipped because its records cannot be analysed.`,
  }),
  noFlowDirection: (file: string): FlowLogProblem => ({
    file, code: 'missing-field',
    message: `${file} has no flow-direction field and no local address was given, so its records cannot be told in from out; the file is skipped (give --local-ip).`,
  }),
  noInterfaceId: (file: string, eni: string): FlowLogProblem => ({
    file, code: 'missing-field', message: `${file} has no interface-id field, so its records cannot be matched to ${eni}; the file is skipped.`,
  }),
  /** `why`: what is wrong with the line, such as "has protocol 'six', which is not valid". */
  malformed: (file: string, line: number, why: string): FlowLogProblem => ({
    file, line, code: 'malformed-record', message: `${file}:${line} ${why}; the record is skipped.`,
  }),
  moreProblems: (file: string, unlisted: number): FlowLogProblem => ({
    file, code: 'more-problems', message: `${unlisted} more problems in ${file} were counted but not listed.`,
  }),
};


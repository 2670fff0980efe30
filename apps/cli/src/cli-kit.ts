import { InvalidArgumentError } from 'commander';
import { InvalidInputError, printable } from '@orgshield/errors';
import { formatSpecProblem, REGION_NAME, SpecFileError } from '@orgshield/spec-files';

/** Commander option parsers: a bad value is one sentence naming it, and exit code 2. */
export function integerOption(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}".`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}.`);
    return n;
  };
}

export function numberOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}".`);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}.`);
    return n;
  };
}

export function choiceOption<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}".`);
    }
    return value as T;
  };
}

/** A `KEY=VALUE` option value (`shape` names it in the refusal), split at its first `=`. */
export function parsePair(flag: string, shape: string) {
  return (value: string): [string, string] => {
    const at = value.indexOf('=');
    if (at <= 0) throw new InvalidInputError(`${flag} "${value}" is not ${shape}.`);
    return [value.slice(0, at), value.slice(at + 1)];
  };
}

/** For repeatable options: `--tag a=b --tag c=d`. */
export function collect<T>(parse: (value: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
}

export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * A plain aligned text table; columns sized to their widest cell. Cells hold names and text from
 * AWS and from files: each is one line with its control characters shown, never sent to the terminal.
 */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => printable(String(c), { oneLine: true })))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Progress and notes go to stderr so stdout stays machine-readable; a live progress line is
 * cleared first, and control characters in the message are shown, not sent.
 */
export function note(message: string): void {
  process.stderr.write((process.stderr.isTTY ? '\r\x1b[2K' : '') + printable(message) + '\n');
}

/**
 * Runs `work`; when a spec file it reads has problems, lists every one on stderr, then fails in
 * one sentence saying how many and what did not happen (`outcome`).
 */
export async function refusingSpecProblems<T>(what: string, outcome: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof SpecFileError)) throw error;
    for (const problem of error.problems) note(formatSpecProblem(problem));
    const count = error.problems.length;
    throw new InvalidInputError(`${what} has ${count} problem${count === 1 ? '' : 's'} (listed above); ${outcome}.`, { code: error.code, cause: error });
  }
}

/** A `--region` value: a region name like eu-west-1, or one sentence saying it is not. */
export function regionName(value: string): string {
  if (!REGION_NAME.test(value)) throw new InvalidInputError(`--region "${value}" is not a region name like eu-west-1.`);
  return value;
}

/** The regions a command reads: those given with --region, else AWS_REGION, else a refusal. */
export function regionsToRead(given: readonly string[] | undefined): string[] {
  const regions = given ?? (process.env['AWS_REGION'] ? [process.env['AWS_REGION']] : []);
  if (regions.length === 0) throw new InvalidInputError('no region given: pass --region (repeatable) or set AWS_REGION.');
  return [...new Set(regions)];
}

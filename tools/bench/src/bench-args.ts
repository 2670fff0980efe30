/**
 * The benchmarks' command line: options with their defaults and --help, and the checks of
 * their values; anything wrong is one sentence and exit code 2, never a stack trace. Apart
 * from bench-kit.ts, which imports BullMQ and ioredis: flows-analyze's children read their
 * options here, and their peak memory is its figure.
 */
import { parseArgs } from 'node:util';

/** One option of a benchmark: what it sets (for --help) and its value when not given. */
export interface BenchOption {
  description: string;
  default?: string;
}

/** The values of a benchmark's options: those with a default are always there. */
export type BenchArgs<O extends Record<string, BenchOption>> = { [K in keyof O]: O[K] extends { default: string } ? string : string | undefined };

export type ParsedBenchArgs<O extends Record<string, BenchOption>> =
  | { kind: 'values'; values: BenchArgs<O> }
  | { kind: 'help'; text: string }
  | { kind: 'bad'; sentence: string };

/**
 * Reads a benchmark's command line: every option takes a value (`--name value` or
 * `--name=value`). `--help` (or `-h`) wins over anything else on the line; an unknown option,
 * one without its value or a stray argument is one sentence naming it. Pure, so tests call it.
 */
export function parseBenchArgs<const O extends Record<string, BenchOption>>(argv: readonly string[], usage: string, options: O): ParsedBenchArgs<O> {
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...Object.fromEntries(Object.keys(options).map((name) => [name, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  if (tokens.some((token) => token.kind === 'option' && token.name === 'help')) return { kind: 'help', text: benchUsage(usage, options) };
  const values: Record<string, string | undefined> = Object.fromEntries(Object.entries(options).map(([name, option]) => [name, option.default]));
  for (const token of tokens) {
    if (token.kind === 'positional') return { kind: 'bad', sentence: `"${token.value}" is not an option: options are --name value; --help lists them.` };
    if (token.kind !== 'option') continue;
    if (!Object.hasOwn(options, token.name)) return { kind: 'bad', sentence: `${token.rawName} is not an option of this benchmark; --help lists them.` };
    if (token.value === undefined) return { kind: 'bad', sentence: `${token.rawName} needs a value, e.g. ${token.rawName} ${options[token.name]?.default ?? '4'}.` };
    values[token.name] = token.value;
  }
  return { kind: 'values', values: values as BenchArgs<O> };
}

/** The usage line(s), then each option with its default. */
function benchUsage(usage: string, options: Record<string, BenchOption>): string {
  const width = Math.max(...Object.keys(options).map((name) => name.length)) + 2;
  const lines = Object.entries(options).map(([name, option]) => `  --${name.padEnd(width)}${option.description}${option.default === undefined ? '' : ` (default ${option.default})`}`);
  return [usage, '', 'Options:', ...lines, `  --${'help'.padEnd(width)}prints this and exits`].join('\n');
}

/**
 * A benchmark's options from its command line: `--help` prints its usage and exits 0; a bad
 * option is one sentence and exit code 2, never a stack trace.
 */
export function benchArgs<const O extends Record<string, BenchOption>>(usage: string, options: O): BenchArgs<O> {
  const parsed = parseBenchArgs(process.argv.slice(2), usage, options);
  if (parsed.kind === 'bad') badArg(parsed.sentence);
  if (parsed.kind === 'help') {
    console.log(parsed.text);
    process.exit(0);
  }
  return parsed.values;
}

/** A bad option value: one sentence naming it, exit code 2. */
export function badArg(sentence: string): never {
  console.error(sentence);
  process.exit(2);
}

/** A non-negative number option; a bad one is one sentence and exit code 2. */
export function numberArg(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) {
    badArg(`--${name} "${value}" is not a number: give a non-negative number, e.g. --${name} 10.`);
  }
  return parsed;
}

/** A whole number option of at least 1. */
export function countArg(name: string, value: string | undefined): number {
  const parsed = numberArg(name, value);
  if (!Number.isInteger(parsed) || parsed < 1) badArg(`--${name} "${value}" is not a whole number of at least 1: give e.g. --${name} 4.`);
  return parsed;
}

/**
 * What the fuzz suites of every package share (tests only; `@orgshield/spec-files/fuzzing`):
 * hostile variations of a valid input, the run size (`npm test` small and seeded, `npm run fuzz`
 * long), and the property every parser of hostile input keeps: a value or a refusal that names
 * what is wrong (exit 2, or done on incomplete input), never a crash, a hang or a polluted prototype.
 */
import fc from 'fast-check';
import { parse, stringify, type ParseOptions, type SchemaOptions } from 'yaml';

/** `ORGSHIELD_TEST_SIZE=long` (`npm run fuzz`) runs many more cases, for longer, from a seed of the clock unless ORGSHIELD_FUZZ_SEED says. */
export const FUZZ_LONG = process.env['ORGSHIELD_TEST_SIZE'] === 'long';

/**
 * fast-check parameters for one suite: a fixed seed in CI (a failure reproduces), `runs` cases
 * at CI size (bounded by `seconds` too) and 20 times as many at long size (bounded by 4 times
 * the time). The seed is printed by fast-check when a case fails.
 */
export function fuzzParameters(runs: number, seconds = 15): fc.Parameters<unknown> {
  const seed = process.env['ORGSHIELD_FUZZ_SEED'] === undefined ? (FUZZ_LONG ? Date.now() : 20261207) : Number(process.env['ORGSHIELD_FUZZ_SEED']);
  return {
    seed,
    numRuns: FUZZ_LONG ? runs * 20 : runs,
    interruptAfterTimeLimit: (FUZZ_LONG ? seconds * 4 : seconds) * 1000,
    markInterruptAsFailure: false,
  };
}

/** The vitest timeout for a suite with these parameters: its time limit and a margin for the slowest case. */
export function fuzzTimeoutMs(seconds = 15): number {
  return ((FUZZ_LONG ? seconds * 4 : seconds) + 60) * 1000;
}

/** Keys and strings that have broken parsers: prototype names, path tricks, control characters, markup, huge and odd numbers. */
export const HOSTILE_STRINGS: readonly string[] = [
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__',
  '../../../../etc/passwd', '/etc/passwd', 'a\0b', '\x1b[2J\x1b]0;owned\x07', '\r\n', '\u202e', '',
  '<img src=x onerror=alert(1)>', '[x](https://evil.example)', '`', '|', '${toString}', '!Ref constructor',
  '*a', '&a', '!!js/function', '-1', '1e309', 'NaN', '9'.repeat(400), 'x'.repeat(70_000), '\uFEFF', '\uD800',
];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }));

/** Any JSON-like value, with hostile keys and strings, nested up to a few levels. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 2 ** 64)),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** One change to a parsed document: a field set to a hostile value, removed, or a hostile key added, at a path found by walking it. */
type Edit = { walk: number[]; kind: 'set' | 'delete' | 'add-key'; key: string; value: unknown };

const edit: fc.Arbitrary<Edit> = fc.record({
  walk: fc.array(fc.nat(), { maxLength: 5 }),
  kind: fc.constantFrom('set' as const, 'delete' as const, 'add-key' as const),
  key: hostileString,
  value: hostileValue,
});

function applyEdit(document: unknown, { walk, kind, key, value }: Edit): unknown {
  const root = structuredClone(document) as unknown;
  let node = root;
  for (const step of walk) {
    if (node === null || typeof node !== 'object') break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const next = (node as Record<string, unknown>)[keys[step % keys.length]!];
    if (next === null || typeof next !== 'object') {
      if (kind === 'set') (node as Record<string, unknown>)[keys[step % keys.length]!] = value;
      else if (kind === 'delete') delete (node as Record<string, unknown>)[keys[step % keys.length]!];
      else Object.defineProperty(node, key, { value, enumerable: true, configurable: true, writable: true });
      return root;
    }
    node = next;
  }
  if (node !== null && typeof node === 'object') Object.defineProperty(node, key, { value, enumerable: true, configurable: true, writable: true });
  return root;
}

/** Damage to text: a cut, a span repeated, a byte changed, a hostile string spliced in. */
const textDamage = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 200 }), times: fc.integer({ min: 2, max: 200 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), text: fc.oneof(hostileString, fc.constantFrom(': ', '- ', '[', '{', '&a ', '*a', '!Ref ', '\t', '"', "'", '#', '---\n', '? ', '|\n', '%YAML 1.1\n')) }),
);

function damage(text: string, change: { kind: string; at: number; length?: number; times?: number; text?: string }): string {
  const at = Math.floor(change.at * text.length);
  if (change.kind === 'cut') return text.slice(0, at);
  if (change.kind === 'repeat') return text.slice(0, at) + text.slice(at, at + change.length!).repeat(change.times!) + text.slice(at);
  return text.slice(0, at) + change.text! + text.slice(at);
}

/**
 * Variations of a valid YAML or JSON file: the file itself; its value with hostile edits,
 * written back as YAML or JSON; its text damaged (cut, a span repeated, hostile text spliced in);
 * or hostile text alone.
 */
export function hostileVariants(validText: string, yamlOptions: ParseOptions & SchemaOptions = {}): fc.Arbitrary<string> {
  const parsed = parse(validText, yamlOptions) as unknown;
  const edited = fc.tuple(fc.array(edit, { minLength: 1, maxLength: 4 }), fc.boolean()).map(([edits, json]) => {
    const value = edits.reduce(applyEdit, parsed);
    return json ? JSON.stringify(value, null, 1) ?? 'null' : stringify(value, { aliasDuplicateObjects: false });
  });
  return fc.oneof(
    fc.constant(validText),
    edited,
    fc.array(textDamage, { minLength: 1, maxLength: 3 }).map((changes) => changes.reduce((text, change) => damage(text, change), validText)),
    fc.string({ unit: 'binary', maxLength: 300 }),
  );
}

/**
 * Runs a parser on one hostile input and checks the property: it returns, or it throws an error
 * that says what is wrong (`accept(error)`: the package's refusal, exit 2), and Object.prototype
 * gained nothing. Anything else (a TypeError, a RangeError, a stack overflow) fails the case.
 */
export async function expectValueOrRefusal(run: () => unknown, accept: (error: unknown) => boolean): Promise<void> {
  const before = Object.getOwnPropertyNames(Object.prototype).join(',');
  let failure: unknown;
  try {
    await run();
  } catch (error) {
    if (!accept(error)) failure = error;
  }
  const after = Object.getOwnPropertyNames(Object.prototype).join(',');
  if (after !== before || ({} as Record<string, unknown>)['polluted'] !== undefined) throw new Error(`Object.prototype was changed: ${after}`);
  if (failure !== undefined) throw failure;
}

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@orgshield/errors';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readInputFile } from './input-file.js';
import { DEFAULT_INPUT_LIMITS, inputLimits, parseSourceWithinLimits } from './input-limits.js';
import { formatSpecProblem, SpecFileError } from './spec-problem.js';
import { parseYamlWithSchema } from './yaml-schema-parse.js';

const AnySchema = z.unknown();

function problemsOf(text: string, file = 'spec.yaml'): string[] {
  const parsed = parseYamlWithSchema(text, file, AnySchema);
  return parsed.ok ? [] : parsed.problems.map(formatSpecProblem);
}

function nestedYaml(depth: number): string {
  return Array.from({ length: depth }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' leaf\n';
}

describe('input limits', () => {
  it('are 10 MB, 100 aliases, YAML nesting 64 and JSON nesting 256, and ORGSHIELD_INPUT_LIMITS changes them', () => {
    expect(DEFAULT_INPUT_LIMITS).toEqual({ fileBytes: 10 * 1024 * 1024, yamlAliases: 100, yamlDepth: 64, jsonDepth: 256 });
    expect(inputLimits({ ORGSHIELD_INPUT_LIMITS: 'fileMb=50, aliases=500' })).toEqual({ ...DEFAULT_INPUT_LIMITS, fileBytes: 50 * 1024 * 1024, yamlAliases: 500 });
    expect(() => inputLimits({ ORGSHIELD_INPUT_LIMITS: 'fileMb=lots' })).toThrow(InvalidInputError);
    expect(() => inputLimits({ ORGSHIELD_INPUT_LIMITS: 'constructor=5' })).toThrow(/ORGSHIELD_INPUT_LIMITS="constructor=5" is not valid at "constructor=5"/);
  });

  it('refuses YAML nested past 64 in one located problem, and takes 64', () => {
    expect(problemsOf(nestedYaml(64))).toEqual([]);
    expect(problemsOf(nestedYaml(65))).toEqual([
      'spec.yaml:65:129: nests its collections more than 64 deep, the limit for YAML (ORGSHIELD_INPUT_LIMITS raises it)',
    ]);
  });

  it('refuses JSON nested past 256, brackets counted before the parser recurses into them', () => {
    const json = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    expect(problemsOf(json(256), 'spec.json')).toEqual([]);
    expect(problemsOf(json(257), 'spec.json')).toEqual([
      'spec.json:1:257: nests arrays and objects more than 256 deep, the limit for JSON (ORGSHIELD_INPUT_LIMITS raises it)',
    ]);
    // A million brackets: refused from the scan, in well under the time the parser would take.
    const started = Date.now();
    expect(problemsOf(json(1_000_000), 'spec.json')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('survives 20,000 nested "- " on one line (yaml\'s pretty error ran out of memory on it, killing the process)', () => {
    expect(problemsOf(`${'- '.repeat(20_000)}x\n`)).toEqual([
      expect.stringMatching(/^spec\.yaml:1:\d+: nests its collections more than 64 deep, the limit for YAML/),
    ]);
  });

  it('refuses a file with more than 100 aliases, at the first alias past the limit', () => {
    const aliases = (n: number) => `base: &b x\nlist:\n${Array.from({ length: n }, () => '  - *b').join('\n')}\n`;
    expect(problemsOf(aliases(100))).toEqual([]);
    expect(problemsOf(aliases(101))).toEqual(['spec.yaml:103:5: uses more than 100 aliases (*name), the limit for one file (ORGSHIELD_INPUT_LIMITS raises it)']);
  });

  it('refuses an alias bomb under 100 aliases as one problem (9 levels of 9: a billion strings)', () => {
    const letters = 'abcdefghij';
    const bomb = [`a: &a [x, x, x, x, x, x, x, x, x]`, ...Array.from({ length: 8 }, (_, i) => `${letters[i + 1]}: &${letters[i + 1]} [${Array(9).fill(`*${letters[i]}`).join(', ')}]`)].join('\n');
    const [problem, ...rest] = problemsOf(bomb);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^spec\.yaml: expands its aliases \(\*name\) into more than 100000 values, far more than it holds/);
  });

  it('refuses a circular alias as one problem', () => {
    expect(problemsOf('a: &a [*a]\n')).toEqual(['spec.yaml:1:8: has an alias (*name) inside the value it names, a loop with no end']);
  });

  it('refuses text over the size limit before parsing it', () => {
    const big = `a: "${'x'.repeat(DEFAULT_INPUT_LIMITS.fileBytes)}"\n`;
    const parsed = parseSourceWithinLimits(big, 'big.yaml');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map(formatSpecProblem)).toEqual([
      'big.yaml: the file is 10.0 MB, more than the limit of 10.0 MB for an input file (ORGSHIELD_INPUT_LIMITS raises it)',
    ]);
  });
});

describe('readInputFile within the size limit', () => {
  it('refuses a file over 10 MB from its size, as a located spec problem (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spec-limits-'));
    const file = join(dir, 'huge.yaml');
    await writeFile(file, Buffer.alloc(DEFAULT_INPUT_LIMITS.fileBytes + 1, 0x20));
    const error = await readInputFile(file, 'policy spec').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpecFileError);
    expect(error).toMatchObject({ exitCode: 2, code: 'InputFileTooLarge' });
    expect((error as SpecFileError).problems.map(formatSpecProblem)).toEqual([
      `${file}: the policy spec file is 10.0 MB, more than the limit of 10.0 MB for an input file (ORGSHIELD_INPUT_LIMITS raises it)`,
    ]);
  });

  it('stops reading a device that never ends one byte past the limit', async () => {
    const error = await readInputFile('/dev/zero', 'rollout').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'InputFileTooLarge', exitCode: 2 });
  });
});

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@orgshield/errors';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readInputFile } from './input-file.js';
import { formatSpecProblem, SpecFileError } from './spec-problem.js';
import { parseYamlWithSchema, specProblemAt } from './yaml-schema-parse.js';

/** A schema that knows no domain: what a drill or a recording file might look like. */
const StepSchema = z.discriminatedUnion(
  'kind',
  [z.strictObject({ kind: z.literal('wait'), seconds: z.number().int().min(1).max(3600) }), z.strictObject({ kind: z.literal('check'), name: z.string() })],
  { error: (issue) => (issue.code === 'invalid_union' ? 'must be wait or check' : undefined) },
);
const FileSchema = z.strictObject({ name: z.string().min(1), mode: z.enum(['audit', 'enforce']), steps: z.array(StepSchema).min(1) });

function problemsOf(text: string, file = 'plan.yaml'): string[] {
  const parsed = parseYamlWithSchema(text, file, FileSchema);
  return parsed.ok ? [] : parsed.problems.map(formatSpecProblem);
}

describe('parseYamlWithSchema', () => {
  it('gives the value and a locator for a good file', () => {
    const parsed = parseYamlWithSchema('name: x\nmode: audit\nsteps:\n  - kind: wait\n    seconds: 5\n', 'plan.yaml', FileSchema);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.steps).toEqual([{ kind: 'wait', seconds: 5 }]);
    expect(parsed.locate(['steps', 0, 'seconds'])).toEqual({ line: 5, column: 14 });
    expect(parsed.locate(['steps', 0, 'seconds'], true)).toEqual({ line: 5, column: 5 });
  });

  it('lists every problem, each at its line, column and field path', () => {
    const text = 'name: ""\nmode: loud\nsteps:\n  - kind: wait\n    seconds: 0\n  - kind: nap\n  - kind: check\n    nmae: a\n';
    expect(problemsOf(text)).toEqual([
      'plan.yaml:1:7 name: Too small: expected string to have >=1 characters',
      'plan.yaml:2:7 mode: must be "audit" or "enforce", not "loud"',
      'plan.yaml:5:14 steps[0].seconds: must be at least 1, not 0',
      'plan.yaml:6:11 steps[1].kind: must be wait or check',
      'plan.yaml:7:5 steps[2].name: is required',
      'plan.yaml:8:5 steps[2].nmae: unknown field "nmae" (did you mean "name"?)',
    ]);
  });

  it('suggests the field a misspelt one meant, at any depth and through unions, and nothing for an unrelated word', () => {
    const text = 'name: x\nmdoe: audit\nstpes: []\nsteps:\n  - kind: wait\n    secnods: 5\n    seconds: 5\ncolour: blue\n';
    expect(problemsOf(text)).toEqual([
      'plan.yaml:1:1 mode: is required: "audit" or "enforce"',
      'plan.yaml:6:5 steps[0].secnods: unknown field "secnods" (did you mean "seconds"?)',
      'plan.yaml:2:1 mdoe: unknown field "mdoe" (did you mean "mode"?)',
      'plan.yaml:3:1 stpes: unknown field "stpes" (did you mean "steps"?)',
      'plan.yaml:8:1 colour: unknown field "colour"',
    ]);
  });

  it('reads JSON with its positions', () => {
    expect(problemsOf('{\n  "name": "x",\n  "mode": "audit",\n  "steps": 3\n}\n', 'plan.json')).toEqual(['plan.json:4:12 steps: must be an array, not 3']);
  });

  it('points a missing field at where it belongs, and a broken file at the break', () => {
    expect(problemsOf('name: x\nsteps: [{kind: check, name: a}]\n')).toEqual(['plan.yaml:1:1 mode: is required: "audit" or "enforce"']);
    const [broken] = problemsOf('name: x\nmode: [audit\n');
    expect(broken).toMatch(/^plan\.yaml:\d+:\d+: not valid YAML or JSON: /);
  });

  it('survives what an attacker might write: aliases, tags, a bare scalar', () => {
    expect(problemsOf('just text')).toEqual(['plan.yaml:1:1: must be an object, not "just text"']);
    expect(problemsOf('name: !!binary aGVsbG8=\nmode: audit\nsteps: [{kind: check, name: a}]\n')[0]).toMatch(/^plan\.yaml:1:\d+ name: must be a string, not \{"type":"Buffer"/);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    const [problem] = problemsOf(bomb);
    expect(problem).toMatch(/^plan\.yaml: expands its aliases \(\*name\)/);
  });
});

describe('specProblemAt and SpecFileError', () => {
  it('locates a problem found after parsing, and names the first of all problems in the message', () => {
    const parsed = parseYamlWithSchema('name: x\nmode: audit\nsteps: [{kind: check, name: a}]\n', 'plan.yaml', FileSchema);
    if (!parsed.ok) throw new Error('expected the file to parse');
    const problems = [specProblemAt('plan.yaml', ['mode'], 'audit needs two steps', parsed.locate), specProblemAt('plan.yaml', ['name'], 'is taken', parsed.locate)];
    const error = new SpecFileError(problems, { code: 'InvalidPlan', what: 'the plan file' });
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: 'InvalidPlan', exitCode: 2, message: 'plan.yaml:2:7 mode: audit needs two steps (and 1 more problem)' });
    expect(error.problems).toHaveLength(2);
    expect(new SpecFileError([], { code: 'InvalidPlan', what: 'the plan file' }).message).toBe('the plan file is invalid');
  });
});

describe('readInputFile', () => {
  it('reads a file, and refuses a missing one in one sentence naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spec-files-'));
    await writeFile(join(dir, 'plan.yaml'), 'name: x\n');
    expect(await readInputFile(join(dir, 'plan.yaml'), 'plan')).toBe('name: x\n');
    const missing = join(dir, 'nope.yaml');
    await expect(readInputFile(missing, 'plan')).rejects.toThrow(new InvalidInputError(`The plan file ${missing} does not exist; check the path.`));
    await expect(readInputFile(dir, 'plan')).rejects.toThrow(/^The plan file .* cannot be read \(EISDIR/);
  });
});

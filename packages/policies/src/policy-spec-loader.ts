import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '@orgshield/errors';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { PolicySpecSchema, type PolicySpec } from './policy-spec-schema.js';
import { formatFieldPath, locateInDocument, type FieldPath, type SourcePosition } from './yaml-source-map.js';

/** One thing wrong with a spec file, where it is, and which field. */
export interface SpecProblem {
  file: string;
  line?: number;
  column?: number;
  /** Field path in the spec (`rules.firstRuleGroups[0].override`); empty for the whole file. */
  path: string;
  message: string;
}

export function formatSpecProblem(problem: SpecProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  return problem.path ? `${where} ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/** A spec file (or template) that failed to load; `problems` has every error found, not just the first. */
export class PolicySpecError extends InvalidInputError {
  readonly problems: readonly SpecProblem[];

  constructor(problems: readonly SpecProblem[], code = 'InvalidPolicySpec') {
    const [first] = problems;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    super(`${first ? formatSpecProblem(first) : 'the policy spec is invalid'}${more}`, { code });
    this.problems = problems;
  }
}

export interface LoadedPolicySpec {
  file: string;
  spec: PolicySpec;
  /** Where a spec field is in the file, so later checks (validatePolicies) can point at it too. */
  locate(path: FieldPath): SourcePosition | undefined;
}

/** Reads and checks a YAML or JSON policy spec file. */
export async function loadPolicySpec(file: string): Promise<LoadedPolicySpec> {
  return parsePolicySpecText(await readInputFile(file, 'policy spec'), file);
}

/** Reads a file the user named; a missing or unreadable one is bad input, said in one sentence. */
export async function readInputFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new InvalidInputError(`The ${what} file ${file} ${reason}; check the path.`, { cause: error });
  }
}

/** Where a field path is in a source: at its value, or with `atKey` at a map entry's key. */
export type Locate = (path: FieldPath, atKey?: boolean) => SourcePosition | undefined;

/**
 * YAML (or JSON, which YAML reads with its positions intact) checked against a schema: the
 * value and where each field is, or every problem with its line, column and field path.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
): { ok: true; value: z.output<S>; locate: Locate } | { ok: false; problems: SpecProblem[] } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => ({
        file,
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
        path: '',
        message: `not valid YAML or JSON: ${error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`,
      })),
    };
  }
  const locate: Locate = (path, atKey = false) => locateInDocument(document, lineCounter, path, { atKey });
  const result = schema.safeParse(document.toJS(), { reportInput: true });
  if (!result.success) return { ok: false, problems: specProblemsFromIssues(result.error.issues, file, locate) };
  return { ok: true, value: result.data, locate };
}

/** Parses and validates spec text, reporting every problem with its line, column and field path. */
export function parsePolicySpecText(text: string, fileName: string): LoadedPolicySpec {
  const parsed = parseYamlWithSchema(text, fileName, PolicySpecSchema);
  if (!parsed.ok) throw new PolicySpecError(parsed.problems);
  return { file: fileName, spec: parsed.value, locate: (path) => parsed.locate(path) };
}

/** Zod issues as spec problems, each located in the source when a locator is given. */
function specProblemsFromIssues(issues: readonly z.core.$ZodIssue[], file: string, locate: Locate = () => undefined): SpecProblem[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => specProblemAt(file, [...issue.path, key], `unknown field ${JSON.stringify(key)}`, locate, true));
    }
    return [specProblemAt(file, issue.path, describeIssue(issue), locate)];
  });
}

/** A problem with the field at `path`, located in the source. */
export function specProblemAt(file: string, path: FieldPath, message: string, locate: Locate, atKey = false): SpecProblem {
  const position = locate(path, atKey);
  return { file, line: position?.line, column: position?.column, path: formatFieldPath(path), message };
}

/** What is wrong, in words: zod's own message unless it is one of its generic ones. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? 'is required' : `must be ${article(issue.expected)}, not ${JSON.stringify(issue.input)}`;
  }
  if (issue.code === 'invalid_value' && !issue.message.includes('must')) {
    return `must be ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}, not ${JSON.stringify(issue.input)}`;
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'number' && /^Too (small|big)/.test(issue.message)) {
    const bound =
      issue.code === 'too_small'
        ? `${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}`
        : `${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}`;
    return `must be ${bound}, not ${JSON.stringify(issue.input)}`;
  }
  if (issue.code === 'invalid_union') {
    // A bad discriminator is reported at `type`, with the whole object as its input.
    if (issue.path.length === 1 && issue.path[0] === 'type') {
      const type = (issue.input as { type?: unknown } | undefined)?.type;
      return type === undefined ? 'is required: WAFV2 or SHIELD_ADVANCED' : `must be WAFV2 or SHIELD_ADVANCED, not ${JSON.stringify(type)}`;
    }
    // The inner issues of the branch that got furthest say more than "invalid input".
    const deepest = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest) return `${formatFieldPath(deepest.path) ? `${formatFieldPath(deepest.path)}: ` : ''}${describeIssue(deepest)}`;
  }
  return issue.message;
}

function article(expected: string): string {
  return `${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
}

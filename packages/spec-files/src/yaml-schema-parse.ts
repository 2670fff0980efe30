import type { z } from 'zod';
import { closestField, knownFieldsAt } from './field-suggestion.js';
import { documentValue, parseSourceWithinLimits } from './input-limits.js';
import type { SpecProblem } from './spec-problem.js';
import { formatFieldPath, locateInDocument, type FieldPath, type SourcePosition } from './yaml-source-map.js';

/** Where a field path is in a source: at its value, or with `atKey` at a map entry's key. */
export type Locate = (path: FieldPath, atKey?: boolean) => SourcePosition | undefined;

/**
 * YAML (or JSON, which YAML reads with its positions intact) checked against a schema: the
 * value and where each field is, or every problem with its line, column and field path.
 * A schema words its own domain messages (zod's `error` option); generic ones are reworded here.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
): { ok: true; value: z.output<S>; locate: Locate } | { ok: false; problems: SpecProblem[] } {
  const source = parseSourceWithinLimits(text, file);
  if (!source.ok) return source;
  const { document, lineCounter } = source;
  const locate: Locate = (path, atKey = false) => locateInDocument(document, lineCounter, path, { atKey });
  const built = documentValue(source, file);
  if (!built.ok) return built;
  const result = schema.safeParse(built.value, { reportInput: true });
  if (!result.success) return { ok: false, problems: specProblemsFromIssues(result.error.issues, { file, locate, schema }) };
  return { ok: true, value: result.data, locate };
}

/** A problem with the field at `path`, located in the source. */
export function specProblemAt(file: string, path: FieldPath, message: string, locate: Locate, atKey = false): SpecProblem {
  const position = locate(path, atKey);
  return { file, line: position?.line, column: position?.column, path: formatFieldPath(path), message };
}

/** Zod issues as spec problems, each located in the source; a misspelt field gets a suggestion. */
function specProblemsFromIssues(issues: readonly z.core.$ZodIssue[], source: { file: string; locate: Locate; schema: z.ZodType }): SpecProblem[] {
  const { file, locate, schema } = source;
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = knownFieldsAt(schema, issue.path);
      return issue.keys.map((key) => {
        const meant = closestField(key, known);
        const message = `unknown field ${JSON.stringify(key)}${meant ? ` (did you mean ${JSON.stringify(meant)}?)` : ''}`;
        return specProblemAt(file, [...issue.path, key], message, locate, true);
      });
    }
    return [specProblemAt(file, issue.path, describeIssue(issue), locate)];
  });
}

/** What is wrong, in words: zod's own message unless it is one of its generic ones. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? 'is required' : `must be ${article(issue.expected)}, not ${JSON.stringify(issue.input)}`;
  }
  if (issue.code === 'invalid_value' && !issue.message.includes('must')) {
    const allowed = issue.values.map((value) => JSON.stringify(value)).join(' or ');
    return issue.input === undefined ? `is required: ${allowed}` : `must be ${allowed}, not ${JSON.stringify(issue.input)}`;
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && issue.origin === 'number' && /^Too (small|big)/.test(issue.message)) {
    const bound =
      issue.code === 'too_small'
        ? `${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}`
        : `${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}`;
    return `must be ${bound}, not ${JSON.stringify(issue.input)}`;
  }
  if (issue.code === 'invalid_union') {
    // The inner issues of the branch that got furthest say more than "invalid input". A bad
    // discriminator has none: its message is the schema's own.
    const deepest = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)[0];
    if (deepest) return `${formatFieldPath(deepest.path) ? `${formatFieldPath(deepest.path)}: ` : ''}${describeIssue(deepest)}`;
  }
  return issue.message;
}

function article(expected: string): string {
  return `${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
}

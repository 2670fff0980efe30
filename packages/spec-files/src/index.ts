/**
 * Spec files: YAML or JSON that a person wrote, checked against a zod schema, with every
 * problem reported as `file:line:col path: message`. Knows no domain; each domain brings its
 * schema (and words its own messages in it).
 *
 * A loader for a new kind of file is three calls:
 *
 * ```ts
 * const text = await readInputFile(file, 'drill');          // missing file: one sentence, exit 2
 * const parsed = parseYamlWithSchema(text, file, DrillSchema); // every problem, located
 * if (!parsed.ok) throw new SpecFileError(parsed.problems, { code: 'InvalidDrill', what: 'the drill file' });
 * ```
 *
 * - `readInputFile(file, what)`: the file's text, or InvalidInputError naming it (a file over
 *   the size limit is refused before it is read).
 * - `resolveUnderRoot(root, path)` / `pathForWorker(flag, path, root)` / `fileNameSlug(text)`:
 *   paths from input kept under a configured root (no NUL, no absolute path, no `..`, no link
 *   out), and names from input made safe as one file name.
 * - `parseSourceWithinLimits(text, file)`: a YAML/JSON document within the input limits (size,
 *   nesting, aliases; `inputLimits()`, raised by ORGSHIELD_INPUT_LIMITS), or one located problem.
 * - `parseYamlWithSchema(text, file, schema)`: `{ ok, value, locate }` or `{ ok: false, problems }`.
 *   `locate(path)` finds any field later checks want to point at.
 * - `specProblemAt(file, path, message, locate)`: a problem found after parsing, located.
 * - `SpecFileError`: InvalidInputError carrying every problem; its message is the first.
 * - `formatSpecProblem(problem)`: `file:line:col path: message`.
 * - `formatFieldPath(path)` / `locateInDocument(...)`: field paths for people, and where one is
 *   in a parsed `yaml` document (for loaders that parse the document themselves).
 */
export { readInputFile } from './input-file.js';
export { checkRelativePath, fileNameSlug, isInside, pathForWorker, resolveUnderRoot } from './confined-path.js';
export type { PathRoot } from './confined-path.js';
export { DEFAULT_INPUT_LIMITS, documentValue, fileLimitProblem, inputLimits, parseSourceWithinLimits } from './input-limits.js';
export type { InputLimits, ParsedSource } from './input-limits.js';
export { parseYamlWithSchema, specProblemAt } from './yaml-schema-parse.js';
export type { Locate } from './yaml-schema-parse.js';
export { SpecFileError, formatSpecProblem } from './spec-problem.js';
export type { SpecProblem } from './spec-problem.js';
export { formatFieldPath, locateInDocument } from './yaml-source-map.js';
export type { FieldPath, SourcePosition } from './yaml-source-map.js';
export { parseDuration, durationSchema } from './duration.js';
export { REGION_NAME, slugSchema, regionSchema } from './common-fields.js';

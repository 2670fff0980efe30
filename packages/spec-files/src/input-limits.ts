import { isAlias, isCollection, isPair, LineCounter, parseDocument, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import { InvalidInputError } from '@orgshield/errors';
import type { SpecProblem } from './spec-problem.js';

/**
 * What a file a person hands orgshield may cost before it is refused: its size, the aliases
 * (`*name`) a YAML file may use, and how deep a YAML or JSON value may nest. Each is checked
 * before the expensive work (building the value, checking it against a schema) and refused as
 * one located problem saying the limit and how to raise it (ORGSHIELD_INPUT_LIMITS).
 */
export interface InputLimits {
  /** Bytes of one input file. */
  fileBytes: number;
  /** Alias nodes in one YAML file (each can stand for a whole subtree). */
  yamlAliases: number;
  /** Nesting of a YAML file's collections. */
  yamlDepth: number;
  /** Nesting of a JSON file's arrays and objects. */
  jsonDepth: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  fileBytes: 10 * 1024 * 1024,
  yamlAliases: 100,
  yamlDepth: 64,
  jsonDepth: 256,
});

const LIMIT_NAMES: Record<string, keyof InputLimits> = { fileMb: 'fileBytes', aliases: 'yamlAliases', yamlDepth: 'yamlDepth', jsonDepth: 'jsonDepth' };

/**
 * The limits in force: the defaults, raised or lowered by `ORGSHIELD_INPUT_LIMITS`
 * (`fileMb=50,aliases=500,yamlDepth=128,jsonDepth=512`, any of them). A bad setting is named in
 * one sentence (exit 2 where it surfaces) and never silently ignored.
 */
export function inputLimits(env: NodeJS.ProcessEnv = process.env): InputLimits {
  const setting = env['ORGSHIELD_INPUT_LIMITS'];
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS };
  if (setting === undefined || setting.trim() === '') return limits;
  for (const part of setting.split(',')) {
    const [name = '', value = ''] = part.split('=').map((piece) => piece.trim());
    const key = Object.hasOwn(LIMIT_NAMES, name) ? LIMIT_NAMES[name] : undefined;
    if (key === undefined || !/^\d{1,6}$/.test(value) || Number(value) < 1) {
      throw new InvalidInputError(
        `ORGSHIELD_INPUT_LIMITS="${setting}" is not valid at "${part}": use fileMb, aliases, yamlDepth and jsonDepth with whole numbers from 1, such as fileMb=50,aliases=500.`,
      );
    }
    limits[key] = key === 'fileBytes' ? Number(value) * 1024 * 1024 : Number(value);
  }
  return limits;
}

/** A problem with a whole file (its size, its shape), in the words every loader uses. */
export function fileLimitProblem(file: string, message: string, position?: { line?: number; column?: number }): SpecProblem {
  return { file, line: position?.line, column: position?.column, path: '', message: `${message} (ORGSHIELD_INPUT_LIMITS raises it)` };
}

export function oversizeMessage(bytes: number, limits: InputLimits): string {
  return `is ${formatMb(bytes)}, more than the limit of ${formatMb(limits.fileBytes)} for an input file`;
}

function formatMb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes < 1024 * 1024 ? 2 : 1)} MB`;
}

/** JSON text (an object or array at the top), told from YAML by its first character. */
export function looksLikeJson(text: string): boolean {
  return /^\uFEFF?\s*[[{]/.test(text);
}

export type ParsedSource =
  | { ok: true; document: Document.Parsed; lineCounter: LineCounter; limits: InputLimits }
  | { ok: false; problems: SpecProblem[] };

/**
 * Parses YAML or JSON text into a document within the input limits: size first (before any
 * parsing), then the syntax, then nesting depth and alias count over the parsed nodes (before
 * any value is built). Every refusal is one problem with the file, and the line where there is one.
 */
export function parseSourceWithinLimits(
  text: string,
  file: string,
  options: { limits?: InputLimits; yaml?: DocumentOptions & ParseOptions & SchemaOptions } = {},
): ParsedSource {
  const limits = options.limits ?? inputLimits();
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.fileBytes) return { ok: false, problems: [fileLimitProblem(file, `the file ${oversizeMessage(bytes, limits)}`)] };
  const json = looksLikeJson(text);
  const maxDepth = json ? limits.jsonDepth : limits.yamlDepth;
  // A flow collection nests once per bracket: a cheap scan refuses `[[[[...` before the parser recurses into it.
  const bracketDepth = deepestBrackets(text, maxDepth);
  if (bracketDepth !== undefined) {
    const before = text.slice(0, bracketDepth);
    const line = before.split('\n').length;
    const column = bracketDepth - before.lastIndexOf('\n');
    return { ok: false, problems: [fileLimitProblem(file, depthMessage(json, maxDepth), { line, column })] };
  }
  const lineCounter = new LineCounter();
  // prettyErrors is off: yaml's pretty error builds a regular expression from the failing line,
  // which runs out of memory (a crash no catch stops) on a line of 10,000 nested "- ".
  const document = parseDocument(text, { ...options.yaml, lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        const tooDeep = /call stack/i.test(error.message);
        return {
          file,
          line,
          column: col,
          path: '',
          message: tooDeep ? `${depthMessage(json, maxDepth)} (ORGSHIELD_INPUT_LIMITS raises it)` : `not valid YAML or JSON: ${error.message.split('\n')[0]}`,
        };
      }),
    };
  }
  const shape = measure(document, maxDepth, limits.yamlAliases);
  if (shape.tooDeep) return { ok: false, problems: [fileLimitProblem(file, depthMessage(json, maxDepth), position(shape.tooDeep, lineCounter))] };
  if (shape.circular) {
    return { ok: false, problems: [{ file, ...position(shape.circular, lineCounter), path: '', message: 'has an alias (*name) inside the value it names, a loop with no end' }] };
  }
  if (shape.tooManyAliases) {
    return {
      ok: false,
      problems: [fileLimitProblem(file, `uses more than ${limits.yamlAliases} aliases (*name), the limit for one file`, position(shape.tooManyAliases, lineCounter))],
    };
  }
  return { ok: true, document, lineCounter, limits };
}

function depthMessage(json: boolean, maxDepth: number): string {
  return `nests ${json ? 'arrays and objects' : 'its collections'} more than ${maxDepth} deep, the limit for ${json ? 'JSON' : 'YAML'}`;
}

function position(node: { range?: readonly number[] | null }, lineCounter: LineCounter): { line?: number; column?: number } {
  if (!node.range) return {};
  const { line, col } = lineCounter.linePos(node.range[0]!);
  return { line, column: col };
}

/** Offset of the first bracket deeper than maxDepth outside quoted strings and comments, if any. */
function deepestBrackets(text: string, maxDepth: number): number | undefined {
  let depth = 0;
  let quote = '';
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (comment) {
      if (c === 10) comment = false;
    } else if (quote !== '') {
      if (c === 92 && quote === '"') i++; // \ escapes the next character in a double-quoted string
      else if (text[i] === quote) quote = '';
    } else if (c === 34 || c === 39) {
      quote = text[i]!;
    } else if (c === 35 && (i === 0 || /\s/.test(text[i - 1]!))) {
      comment = true;
    } else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return i;
    } else if ((c === 93 || c === 125) && depth > 0) {
      depth--;
    }
  }
  return undefined;
}

type Measured = { range?: readonly number[] | null };

/**
 * Walks the parsed nodes without recursion: the first node past maxDepth, the first alias past
 * maxAliases, the first alias inside the node it names.
 */
function measure(document: Document.Parsed, maxDepth: number, maxAliases: number): { tooDeep?: Measured; tooManyAliases?: Measured; circular?: Measured } {
  const stack: [node: unknown, depth: number][] = [[document.contents, 0]];
  let aliases = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (isAlias(node)) {
      if (++aliases > maxAliases) return { tooManyAliases: node };
      const target = node.resolve(document);
      if (target?.range && node.range && target.range[0] <= node.range[0] && node.range[1] <= target.range[1]) return { circular: node };
      continue;
    }
    if (!isCollection(node)) continue;
    if (depth + 1 > maxDepth) return { tooDeep: node };
    // Pushed last to first, so the nodes are met in the order of the file.
    for (let i = node.items.length - 1; i >= 0; i--) {
      const item = node.items[i];
      if (isPair(item)) stack.push([item.value, depth + 1], [item.key, depth + 1]);
      else stack.push([item, depth + 1]);
    }
  }
  return {};
}

/**
 * The value of a document parsed within the limits. yaml refuses to expand aliases that stand
 * for far more than the document holds (the "billion laughs" file): that is one problem too.
 */
export function documentValue(source: { document: Document.Parsed; limits: InputLimits }, file: string): { ok: true; value: unknown } | { ok: false; problems: SpecProblem[] } {
  try {
    // yaml's count is of nodes an alias stands for: a thousand per alias allowed is ample for a real file.
    return { ok: true, value: source.document.toJS({ maxAliasCount: source.limits.yamlAliases * 1000 }) };
  } catch (error) {
    if (!(error instanceof ReferenceError) && !(error instanceof RangeError) && !/alias/i.test((error as Error).message)) throw error;
    return { ok: false, problems: [fileLimitProblem(file, `expands its aliases (*name) into more than ${source.limits.yamlAliases * 1000} values, far more than it holds`)] };
  }
}

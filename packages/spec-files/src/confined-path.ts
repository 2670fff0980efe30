import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidInputError } from '@orgshield/errors';

/**
 * A folder that paths from input must stay under: the worker's report folder, its local
 * flow-log folder. `setting` is where it is configured, for the sentence that refuses a path.
 */
export interface PathRoot {
  /** The root as configured (relative to the process's working folder, or absolute). */
  path: string;
  /** What a path under it is, for people: "report folder", "flow-log path". */
  what: string;
  /** The setting that chooses the root: "ORGSHIELD_REPORT_DIR". */
  setting: string;
}

/** A path for a sentence: quoted, with control characters and NUL escaped rather than printed. */
function shown(path: string): string {
  return JSON.stringify(path);
}

function rootText(root: PathRoot): string {
  return `${resolve(root.path)} (${root.setting})`;
}

/**
 * The lexical rules for a path that input names under a root: no NUL byte, not absolute, no
 * `..` segment. Each refusal is one sentence naming the value (InvalidInputError, exit 2).
 */
export function checkRelativePath(path: string, root: PathRoot): void {
  if (path.includes('\0')) throw new InvalidInputError(`The ${root.what} ${shown(path)} contains a NUL byte; name a path without one.`);
  if (isAbsolute(path)) {
    throw new InvalidInputError(`The ${root.what} ${shown(path)} is an absolute path; name one relative to ${rootText(root)}.`);
  }
  if (path.split(/[\\/]/).includes('..')) {
    throw new InvalidInputError(`The ${root.what} ${shown(path)} climbs out with ".."; name a path under ${rootText(root)}.`);
  }
}

/**
 * `path` (relative) under the root, as an absolute path whose existing part is real (symbolic
 * links resolved). Refused in one sentence when it breaks a lexical rule or when a link on the
 * way leads out of the root. The root itself must exist.
 */
export async function resolveUnderRoot(root: PathRoot, path: string): Promise<string> {
  checkRelativePath(path, root);
  const realRoot = await realpath(root.path).catch((error: NodeJS.ErrnoException) => {
    throw new InvalidInputError(`The ${root.setting} folder ${shown(resolve(root.path))} cannot be used (${error.code ?? error.message}); create it or set ${root.setting}.`, { cause: error });
  });
  const target = join(realRoot, path);
  // The deepest part of the path that exists, with its links resolved, must still be inside.
  let existing = target;
  let real: string | undefined;
  for (;;) {
    real = await realpath(existing).catch(() => undefined);
    if (real !== undefined || existing === realRoot) break;
    existing = dirname(existing);
  }
  if (real === undefined || !isInside(real, realRoot)) {
    throw new InvalidInputError(
      `The ${root.what} ${shown(path)} leads through a symbolic link to ${shown(real ?? existing)}, outside ${rootText(root)}; name a path under it.`,
    );
  }
  return join(real, relative(existing, target));
}

/**
 * For the CLI: a path the user typed (relative to the working folder, or absolute) as the path
 * relative to the root that a worker, here or elsewhere, resolves under its own root. A path
 * outside the root is refused in one sentence naming the flag, the path and the setting.
 */
export function pathForWorker(flag: string, path: string, root: PathRoot): string {
  if (path.includes('\0')) throw new InvalidInputError(`${flag} ${shown(path)} contains a NUL byte; name a path without one.`);
  const under = relative(resolve(root.path), resolve(path));
  if (under === '..' || under.startsWith(`..${sep}`) || isAbsolute(under)) {
    throw new InvalidInputError(`${flag} ${shown(path)} is outside the ${root.what} root ${rootText(root)}; name a path under it, or set ${root.setting}.`);
  }
  return under === '' ? '.' : under;
}

/** Whether `path` is `folder` or inside it (both absolute, normalized). */
export function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/**
 * A name from input (a finding id, an account or resource name) made safe as one file or folder
 * name: letters, digits, `.`, `_` and `-` only, no leading dot (so never `.` or `..`), at most
 * `max` characters; empty input gives `_`.
 */
export function fileNameSlug(text: string, max = 64): string {
  const slug = text.replace(/[^\w.-]+/g, '-').replace(/^[.-]+/, '').slice(0, max);
  return slug === '' ? '_' : slug;
}

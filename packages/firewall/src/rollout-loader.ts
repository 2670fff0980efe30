import { dirname } from 'node:path';
import { parsePolicySpecText, PolicySpecError, validatePolicies, type LoadedPolicySpec, type PolicySpec } from '@orgshield/policies';
import {
  documentValue,
  formatFieldPath,
  parseSourceWithinLimits,
  parseYamlWithSchema,
  readInputFile,
  resolveUnderRoot,
  SpecFileError,
  specProblemAt,
  type FieldPath,
  type Locate,
  type SpecProblem,
} from '@orgshield/spec-files';
import { RolloutSchema, type Rollout } from './rollout-schema.js';

/**
 * A rollout file with the text of every policy file it names, keyed as the rollout writes the
 * path. This is what a job carries: the worker parses exactly what the operator checked, and
 * needs none of the operator's files.
 */
export interface RolloutSource {
  file: string;
  text: string;
  policyFiles: Record<string, string>;
}

export interface RolloutPolicy {
  spec: PolicySpec;
  /** Where the spec came from: its file, or the rollout file's `policies[i]` for an inline one. */
  origin: string;
}

export interface LoadedRollout {
  source: RolloutSource;
  rollout: Rollout;
  /** The rollout's policies in the order it lists them. */
  policies: RolloutPolicy[];
}

/** A rollout file (or a policy file it names) is not acceptable; `problems` lists every one found. */
export class RolloutFileError extends SpecFileError {
  constructor(problems: readonly SpecProblem[]) {
    super(problems, { code: 'InvalidRollout', what: 'the rollout file' });
  }
}

/** Reads a rollout file and every policy file it names (paths relative to the rollout file). */
export async function readRolloutSource(file: string): Promise<RolloutSource> {
  const text = await readInputFile(file, 'rollout');
  const policyFiles: Record<string, string> = {};
  // A policy file is named relative to the rollout file, and stays in its folder: a rollout from a
  // pull request must not make a CI check read /etc/shadow or another checkout's files.
  const folder = { path: dirname(file), what: 'policy file', setting: "the rollout file's folder" };
  for (const path of policyFilePaths(text, file)) {
    policyFiles[path] = await readInputFile(await resolveUnderRoot(folder, path), 'policy spec');
  }
  return { file, text, policyFiles };
}

/** Reads and checks a rollout file and its policies; nothing is sent anywhere. */
export async function loadRollout(file: string): Promise<LoadedRollout> {
  return parseRolloutSource(await readRolloutSource(file));
}

/**
 * Checks a rollout and its policies, reporting every problem with file, line and field path:
 * the rollout's own fields, each policy spec (inline ones at their line in the rollout file),
 * and what policies must satisfy together (names per region, WCU, document length).
 */
export function parseRolloutSource(source: RolloutSource): LoadedRollout {
  const parsed = parseYamlWithSchema(source.text, source.file, RolloutSchema);
  if (!parsed.ok) throw new RolloutFileError(parsed.problems);
  const { locate } = parsed;
  const rollout = parsed.value;

  const problems: SpecProblem[] = [];
  const loaded: { policy: RolloutPolicy; locate: (path: FieldPath) => { line?: number; column?: number }; file: string; prefix: FieldPath }[] = [];
  rollout.policies.forEach((entry, index) => {
    if (entry.spec) {
      const prefix: FieldPath = ['policies', index, 'spec'];
      loaded.push({
        policy: { spec: entry.spec, origin: `${source.file}:policies[${index}]` },
        locate: (path) => locate([...prefix, ...path]) ?? {},
        file: source.file,
        prefix,
      });
      return;
    }
    const file = entry.file ?? '';
    const text = source.policyFiles[file];
    if (text === undefined) {
      problems.push(specProblemAt(source.file, ['policies', index], `policy file ${file} was not read; check the path`, locate));
      return;
    }
    let spec: LoadedPolicySpec;
    try {
      spec = parsePolicySpecText(text, file);
    } catch (error) {
      if (!(error instanceof PolicySpecError)) throw error;
      problems.push(...error.problems);
      return;
    }
    loaded.push({ policy: { spec: spec.spec, origin: file }, locate: (path) => spec.locate(path) ?? {}, file, prefix: [] });
  });

  for (const problem of validatePolicies(loaded.map(({ policy }) => policy.spec))) {
    const entry = loaded[problem.index];
    if (!entry) continue;
    const position = entry.locate(problem.fieldPath);
    problems.push({
      file: entry.file,
      line: position.line,
      column: position.column,
      path: formatFieldPath([...entry.prefix, ...problem.fieldPath]),
      message: problem.region ? `${problem.message} (region ${problem.region})` : problem.message,
    });
  }
  problems.push(...auditCopyProblems(rollout, loaded, source.file, locate));
  if (problems.length > 0) throw new RolloutFileError(problems);
  return { source, rollout, policies: loaded.map(({ policy }) => policy) };
}

/** The audit copy is a policy of its own: its name must be a valid FMS name and not another's. */
function auditCopyProblems(
  rollout: Rollout,
  loaded: readonly { policy: RolloutPolicy }[],
  file: string,
  locate: Locate,
): SpecProblem[] {
  if (!rollout.waves.some((wave) => wave.mode === 'audit')) return [];
  const names = new Set(loaded.map(({ policy }) => policy.spec.name));
  const problems: SpecProblem[] = [];
  for (const { policy } of loaded) {
    const copy = `${policy.spec.name}${rollout.auditSuffix}`;
    if (copy.length > 128) {
      problems.push(specProblemAt(file, ['auditSuffix'], `the audit copy of ${policy.spec.name} would be named ${copy}, longer than the 128 characters FMS allows; shorten the policy name`, locate));
    } else if (names.has(copy)) {
      problems.push(specProblemAt(file, ['auditSuffix'], `the audit copy of ${policy.spec.name} would take the name of policy ${copy}; choose another auditSuffix`, locate));
    }
  }
  return problems;
}

/** Paths of the policy files a rollout names, read leniently: the schema judges the file later. */
function policyFilePaths(text: string, file: string): string[] {
  const source = parseSourceWithinLimits(text, file);
  const built = source.ok ? documentValue(source, file) : undefined;
  if (!built?.ok) return [];
  const policies = (built.value as { policies?: unknown } | null)?.policies;
  if (!Array.isArray(policies)) return [];
  const paths = policies.map((entry: unknown) =>
    typeof entry === 'string' ? entry : typeof entry === 'object' && entry !== null && typeof (entry as { file?: unknown }).file === 'string' ? (entry as { file: string }).file : undefined,
  );
  return [...new Set(paths.filter((path): path is string => path !== undefined && path !== ''))];
}

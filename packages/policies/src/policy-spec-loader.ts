import { parseYamlWithSchema, readInputFile, SpecFileError, type FieldPath, type SourcePosition, type SpecProblem } from '@orgshield/spec-files';
import { PolicySpecSchema, type PolicySpec } from './policy-spec-schema.js';

/** A spec file (or template) that failed to load; `problems` has every error found, not just the first. */
export class PolicySpecError extends SpecFileError {
  constructor(problems: readonly SpecProblem[], code = 'InvalidPolicySpec') {
    super(problems, { code, what: 'the policy spec' });
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

/** Parses and validates spec text, reporting every problem with its line, column and field path. */
export function parsePolicySpecText(text: string, fileName: string): LoadedPolicySpec {
  const parsed = parseYamlWithSchema(text, fileName, PolicySpecSchema);
  if (!parsed.ok) throw new PolicySpecError(parsed.problems);
  return { file: fileName, spec: parsed.value, locate: (path) => parsed.locate(path) };
}

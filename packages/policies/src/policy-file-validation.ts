import { SpecFileError, type SpecProblem } from '@orgshield/spec-files';
import { loadPolicySpec, type LoadedPolicySpec } from './policy-spec-loader.js';
import { validatePolicies, type ValidationContext } from './policy-validation.js';

export interface PolicyFileReport {
  file: string;
  /** The policy name, when the file loaded. */
  policy?: string;
  problems: SpecProblem[];
}

/**
 * Loads every file and validates the policies together (names and per-region counts span
 * files), pointing each problem at its file, line and field. A file that fails to load
 * reports its own problems and takes no part in the checks across files.
 */
export async function validatePolicyFiles(files: readonly string[], context: ValidationContext = {}): Promise<PolicyFileReport[]> {
  const reports: PolicyFileReport[] = [];
  const loaded: { report: PolicyFileReport; spec: LoadedPolicySpec }[] = [];
  for (const file of files) {
    try {
      const spec = await loadPolicySpec(file);
      const report = { file, policy: spec.spec.name, problems: [] };
      reports.push(report);
      loaded.push({ report, spec });
    } catch (error) {
      // A file's own problems (its schema, or a limit such as its size) leave the other files to be checked.
      if (!(error instanceof SpecFileError)) throw error;
      reports.push({ file, problems: [...error.problems] });
    }
  }
  for (const problem of validatePolicies(loaded.map(({ spec }) => spec.spec), context)) {
    const entry = loaded[problem.index];
    if (!entry) continue;
    const position = entry.spec.locate(problem.fieldPath);
    entry.report.problems.push({
      file: entry.report.file,
      line: position?.line,
      column: position?.column,
      path: problem.path,
      message: problem.region ? `${problem.message} (region ${problem.region})` : problem.message,
    });
  }
  return reports;
}

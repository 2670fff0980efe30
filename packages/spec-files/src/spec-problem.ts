import { InvalidInputError } from '@orgshield/errors';

/** One thing wrong with a spec file, where it is, and which field. */
export interface SpecProblem {
  file: string;
  line?: number;
  column?: number;
  /** Field path in the file (`rules.firstRuleGroups[0].override`); empty for the whole file. */
  path: string;
  message: string;
}

/** `file:line:col path: message`, the way editors and terminals link to a place in a file. */
export function formatSpecProblem(problem: SpecProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  return problem.path ? `${where} ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/**
 * A spec file that failed to load: bad input (exit code 2). `problems` has every problem found,
 * not just the first; the message names the first and counts the rest.
 */
export class SpecFileError extends InvalidInputError {
  readonly problems: readonly SpecProblem[];

  /** `what` names the file for the message when there is no problem to quote ("the rollout file"). */
  constructor(problems: readonly SpecProblem[], options: { code: string; what: string }) {
    const [first] = problems;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    super(`${first ? formatSpecProblem(first) : `${options.what} is invalid`}${more}`, { code: options.code });
    this.problems = problems;
  }
}

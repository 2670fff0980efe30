import { EXIT_CODES, type ErrorExitCode } from './exit-codes.js';

/**
 * Errors for people: every error orgshield raises on purpose carries a stable code, one
 * sentence that names the bad value (and the fix, where there is one), and the exit code
 * the CLI should end with (see EXIT_CODES): bad usage or input, or work that failed.
 */
export class OrgshieldError extends Error {
  readonly code: string;
  readonly exitCode: ErrorExitCode;

  constructor(code: string, message: string, options: { exitCode?: ErrorExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT_CODES.failed;
  }
}

/** Input a user (or a file, or AWS) handed us is not acceptable; nothing was changed. */
export class InvalidInputError extends OrgshieldError {
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'InvalidInput', message, { exitCode: EXIT_CODES.badInput, cause: options.cause });
  }
}

/**
 * True for an error shaped like OrgshieldError (a code and an error exit code) that is not one:
 * the sandbox, a tool that imports no package, shapes its errors this way.
 */
export function isShapedLikeOrgshieldError(error: unknown): error is Error & { code: string; exitCode: ErrorExitCode } {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    'exitCode' in error &&
    (error.exitCode === EXIT_CODES.failed || error.exitCode === EXIT_CODES.badInput)
  );
}

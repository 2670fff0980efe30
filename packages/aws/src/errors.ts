/**
 * Errors for people: every error orgshield raises on purpose carries a stable code, one
 * sentence that names the bad value (and the fix, where there is one), and the exit code
 * the CLI should end with: 2 for bad usage or input, 1 for work that failed.
 */
export class OrgshieldError extends Error {
  readonly code: string;
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, options: { exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Input a user (or a file, or AWS) handed us is not acceptable; nothing was changed. */
export class InvalidInputError extends OrgshieldError {
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'InvalidInput', message, { exitCode: 2, cause: options.cause });
  }
}

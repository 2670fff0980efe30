/**
 * A sandbox option or faults file that cannot be used. Shaped like the repo's OrgshieldError
 * (code, one sentence naming the bad value and the fix, exitCode 2 for bad input) without the
 * sandbox importing a library.
 */
export class SandboxConfigError extends Error {
  readonly code = 'InvalidSandboxConfig';
  readonly exitCode = 2;

  /** Each problem found, when there are several (a faults file): the message lists them too. */
  constructor(
    message: string,
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
    this.name = 'SandboxConfigError';
  }
}

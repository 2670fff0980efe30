/**
 * A sandbox option or faults file that cannot be used. Shaped like the repo's OrgshieldError
 * (code, one sentence naming the bad value and the fix, exitCode 2 for bad input) without the
 * sandbox importing a library.
 */
export class SandboxConfigError extends Error {
  readonly code = 'InvalidSandboxConfig';
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'SandboxConfigError';
  }
}

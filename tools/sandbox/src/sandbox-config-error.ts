import { InvalidInputError } from '@orgshield/aws';

/** A sandbox option or faults file that cannot be used: one sentence naming it, exit code 2. */
export class SandboxConfigError extends InvalidInputError {
  constructor(message: string) {
    super(message, { code: 'InvalidSandboxConfig' });
  }
}

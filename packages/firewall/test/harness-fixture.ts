import type { RunningSandbox, SandboxOptions } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import type { TestAPI } from 'vitest';
import { type Harness, type HarnessOptions, startHarness } from './rollout-harness.js';

/**
 * `sandboxTest` with a `harness`: started on the test's sandbox and Redis prefix before the
 * test, closed after it whatever happens. `harnessOptions` sets it up
 * (`test.override({ harnessOptions: { gatePollMs: 300 } })`).
 */
export const harnessTest: TestAPI<{ sandboxOptions: SandboxOptions; sandbox: RunningSandbox; redisPrefix: string; harnessOptions: HarnessOptions; harness: Harness }> =
  sandboxTest.extend<{ harnessOptions: HarnessOptions; harness: Harness }>({
    harnessOptions: {},
    harness: async ({ sandbox, redisPrefix, harnessOptions }, use) => {
      const harness = await startHarness(sandbox, redisPrefix, harnessOptions);
      try {
        await use(harness);
      } finally {
        await harness.close();
      }
    },
  });

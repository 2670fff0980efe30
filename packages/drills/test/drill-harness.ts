import type { RunningSandbox, SandboxOptions } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import type { TestAPI } from 'vitest';
import { startDrillHarness, type DrillHarness, type DrillHarnessOptions } from './drill-runtime.js';

export * from './drill-runtime.js';

/** `sandboxTest` with a drill harness on the test's sandbox (1000x faster) and Redis prefix. */
export const drillTest: TestAPI<{ sandboxOptions: SandboxOptions; sandbox: RunningSandbox; redisPrefix: string; harnessOptions: DrillHarnessOptions; harness: DrillHarness }> = sandboxTest
  .extend<{ harnessOptions: DrillHarnessOptions; harness: DrillHarness }>({
    harnessOptions: {},
    harness: async ({ sandbox, redisPrefix, harnessOptions }, use) => {
      const harness = await startDrillHarness(sandbox, redisPrefix, harnessOptions);
      try {
        await use(harness);
      } finally {
        await harness.close();
      }
    },
  })
  .override({ sandboxOptions: { accounts: 12, ous: 4, seed: 1, timeScale: 0.001 } });

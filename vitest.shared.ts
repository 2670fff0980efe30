import { defineConfig } from 'vitest/config';

/**
 * One vitest configuration for every project. Workspace packages resolve to their
 * TypeScript sources through the `@orgshield/source` export condition, so unit and
 * integration tests never need a build first (the CLI's end-to-end tests run the built CLI:
 * its test target builds it). The global setup provisions Redis, and Chromium and the AWS CLI for
 * projects that ask (`chromium: true`, `tools: ['aws', ...]`), so `npm test` needs nothing else on the machine. Each project writes a
 * JSON report that .ci/run sums up.
 */
export function projectTestConfig(projectRoot: string, options: { testTimeout?: number; chromium?: boolean; tools?: readonly string[] } = {}) {
  const conditions = ['@orgshield/source', 'node', 'import', 'default'];
  return defineConfig({
    root: projectRoot,
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@orgshield/source'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      pool: 'forks',
      globalSetup: [`${import.meta.dirname}/vitest.global-setup.ts`],
      provide: { needsChromium: options.chromium ?? false, needsTools: options.tools ?? [] },
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    },
  });
}

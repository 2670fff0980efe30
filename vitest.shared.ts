import { defineConfig } from 'vitest/config';

/**
 * One vitest configuration for every project. Workspace packages resolve to their
 * TypeScript sources through the `@orgshield/source` export condition, so tests never
 * need a build first. Each project writes a JSON report that .ci/run sums up.
 */
export function projectTestConfig(projectRoot: string, options: { testTimeout?: number } = {}) {
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
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    },
  });
}

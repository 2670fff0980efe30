import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import noImportCycle from './eslint-rules/no-import-cycle.mjs';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', '**/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx, orgshield: { rules: { 'no-import-cycle': noImportCycle } } },
    rules: {
      'orgshield/no-import-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            // Apps are adapters over packages and never import another app. The one named
            // exception: the CLI starts tools/sandbox for `sandbox start` and `demo`.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'tool:sandbox'] },
            { sourceTag: 'app:worker', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:tool'] },
            // The layers of ARCHITECTURE.md's map: dependencies point down and never back up.
            { sourceTag: 'layer:errors', onlyDependOnLibsWithTags: ['layer:errors'], bannedExternalImports: ['*'] },
            { sourceTag: 'layer:plumbing', onlyDependOnLibsWithTags: ['layer:plumbing', 'layer:errors'] },
            { sourceTag: 'layer:shared-domain', onlyDependOnLibsWithTags: ['layer:shared-domain', 'layer:plumbing', 'layer:errors'] },
            // A domain package uses the shared ones below it, never another domain package.
            { sourceTag: 'layer:domain', onlyDependOnLibsWithTags: ['layer:shared-domain', 'layer:plumbing', 'layer:errors'] },
            { sourceTag: 'layer:runtime', onlyDependOnLibsWithTags: ['layer:domain', 'layer:shared-domain', 'layer:plumbing', 'layer:errors'] },
          ],
        },
      ],
    },
  },
  {
    // Tests, and the helpers beside them, may start the sandbox (a tool) like any server.
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
);

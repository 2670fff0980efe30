import { projectTestConfig } from '../../vitest.shared.js';

const config = projectTestConfig(import.meta.dirname);
// The AWS SDK's "module" export condition points at dist-es, whose extension-less imports Node
// cannot load; without it, the SDK clients the integration tests use resolve to their Node build.
const conditions = ['@orgshield/source', 'node', 'import', 'default'];
config.resolve = { ...config.resolve, conditions };
config.ssr = { ...config.ssr, resolve: { ...config.ssr?.resolve, conditions } };

export default config;

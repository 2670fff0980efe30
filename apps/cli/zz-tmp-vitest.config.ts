import { projectTestConfig } from '../../vitest.shared.js';
const config = projectTestConfig(import.meta.dirname);
const conditions = ['@orgshield/source', 'node', 'import', 'default'];
config.resolve = { ...config.resolve, conditions };
config.ssr = { ...config.ssr, resolve: { ...config.ssr?.resolve, conditions } };
export default config;

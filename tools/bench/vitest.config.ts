import { projectTestConfig } from '../../vitest.shared.js';

// Only the benchmarks' command line is tested here: the benchmarks themselves never run in `npm test`.
export default projectTestConfig(import.meta.dirname);

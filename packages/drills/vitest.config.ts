import { projectTestConfig } from '../../vitest.shared.js';

// chromium: drill-report.test.ts checks the HTML report in Chromium.
export default projectTestConfig(import.meta.dirname, { chromium: true });

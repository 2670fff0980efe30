import { projectTestConfig } from '../../vitest.shared.js';

// report-html.test.ts checks the HTML report in a real Chromium.
export default projectTestConfig(import.meta.dirname, { chromium: true });

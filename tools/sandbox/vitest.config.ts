import { projectTestConfig } from '../../vitest.shared.js';

// awsCli: drs-cli.int.test.ts runs the AWS CLI against the sandbox, as an operator would.
export default projectTestConfig(import.meta.dirname, { awsCli: true });

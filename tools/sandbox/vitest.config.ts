import { projectTestConfig } from '../../vitest.shared.js';

// The AWS CLI: drs-cli, appstream-cli and ec2-vpcs tests run it against the sandbox, as an operator would.
export default projectTestConfig(import.meta.dirname, { tools: ['aws'] });

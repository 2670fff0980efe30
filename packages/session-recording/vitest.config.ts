import { projectTestConfig } from '../../vitest.shared.js';

// The commands the script tests run: shellcheck and unzip on the scripts, and the Linux recorder itself under Xvfb.
export default projectTestConfig(import.meta.dirname, { tools: ['shellcheck', 'unzip', 'zipinfo', 'Xvfb', 'ffmpeg', 'ffprobe', 'aws', 'sha256sum'] });

import { execFileSync } from 'node:child_process';

/** Debian packages that hold the commands the script tests run. */
const DEBIAN_PACKAGES: Record<string, string> = {
  shellcheck: 'shellcheck',
  Xvfb: 'xvfb',
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffmpeg',
  aws: 'awscli',
  unzip: 'unzip',
  sha256sum: 'coreutils',
};

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the commands a test runs are installed: as root it installs the missing ones with
 * apt-get (as CI runs), otherwise it fails with one sentence saying what to install.
 */
export function requireSystemTools(commands: readonly string[]): void {
  const missing = commands.filter((command) => !has(command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((command) => DEBIAN_PACKAGES[command] ?? command))];
  if (process.getuid?.() !== 0) {
    throw new Error(`This test needs ${missing.join(', ')}: run apt-get install ${packages.join(' ')} as root.`);
  }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const still = commands.filter((command) => !has(command));
  if (still.length > 0) throw new Error(`apt-get install ${packages.join(' ')} left ${still.join(', ')} missing.`);
}

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const tsx = `${repoRoot}node_modules/.bin/tsx`;
const main = `${repoRoot}apps/cli/src/main.ts`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI as a user would, in its own process, from the TypeScript sources (tsx), so the
 * tests need no build. The environment is exactly `env` plus PATH and HOME: nothing of the
 * developer's AWS configuration leaks in.
 */
export function runCli(args: string[], env: Record<string, string | undefined>, options: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['--conditions=@orgshield/source', main, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], AWS_EC2_METADATA_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Deletes every Redis key a test's CLI runs made under its queue prefix. */
export async function deleteQueuePrefix(prefix: string, redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}

/**
 * The environment an e2e test runs the CLI with against a sandbox: its endpoint and keys, the
 * test's Redis and queue prefix, and client rate limits well above the sandbox's (it enforces
 * none unless given faults), so tests are not paced like real AWS.
 */
export function sandboxCliEnv(
  sandbox: { env(): Record<string, string> },
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...sandbox.env(),
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    ORGSHIELD_QUEUE_PREFIX: prefix,
    ORGSHIELD_RATE_LIMITS: JSON.stringify({ 'organizations:*': { rate: 500, burst: 500 }, 'fms:*': { rate: 500, burst: 500 } }),
    ...extra,
  };
}

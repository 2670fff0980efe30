import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { runCli, sandboxCliEnv } from '../test/run-cli.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

// Lives with the CLI: it drives the worker through the CLI, as an operator would.
describe('the worker process (end to end)', () => {
  let sandbox: RunningSandbox;
  const prefix = `test-wp-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 30, ous: 4, seed: 3 });
  });
  afterAll(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await sandbox.close();
  });

  it('takes jobs the CLI submits, serves health and metrics, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const env = sandboxCliEnv(sandbox, prefix, { ORGSHIELD_HTTP_PORT: String(port), LOG_LEVEL: 'info' });
    const worker = spawn(`${repoRoot}node_modules/.bin/tsx`, ['--conditions=@orgshield/source', 'apps/worker/src/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    worker.stdout.on('data', (d: Buffer) => (log += d.toString()));
    worker.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => worker.on('close', resolve));
    for (let i = 0; i < 100 && !log.includes('orgshield worker ready'); i++) await new Promise((r) => setTimeout(r, 200));
    expect(log).toContain('orgshield worker ready');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    const sync = await runCli(['org', 'sync', '--wait'], env);
    expect(sync.code).toBe(0);
    // The running worker did the job: the CLI did not fall back to running it in-process.
    expect(sync.stderr).not.toContain('no worker is connected');
    expect(sync.stderr).toContain('organization synced: 30 accounts');
    expect(log).toContain('"job":"org.sync"');

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/orgshield_jobs_finished_total\{name="org.sync",queue="org",outcome="completed"\} 1/);
    // A schedule fires on the worker: org.sync every second (six-field cron, seconds first).
    const scheduled = await runCli(['schedule', 'set', 'every-second', '--cron', '* * * * * *', 'org-sync'], env);
    expect(scheduled.code, scheduled.stderr).toBe(0);
    let completed = 1;
    for (let i = 0; i < 60 && completed < 3; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      completed = Number(/orgshield_jobs_finished_total\{name="org.sync",queue="org",outcome="completed"\} (\d+)/.exec(text)?.[1] ?? 0);
    }
    expect(completed).toBeGreaterThanOrEqual(3);
    expect(log).toContain('"requestedBy":"schedule:every-second"');
    expect((await runCli(['schedule', 'remove', 'every-second'], env)).code).toBe(0);

    // Never a credential in the log.
    expect(log).not.toContain(sandbox.env()['AWS_SECRET_ACCESS_KEY'] ?? 'unset');

    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toContain('stopped');
  }, 90_000);

  it('refuses a bad configuration in one sentence with exit code 2', async () => {
    const worker = spawn(`${repoRoot}node_modules/.bin/tsx`, ['--conditions=@orgshield/source', 'apps/worker/src/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'], ORGSHIELD_CONCURRENCY: 'org=two' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => worker.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('orgshield-worker: ORGSHIELD_CONCURRENCY="org=two" is not valid: use the form org=1,investigations=2.');
  });
});

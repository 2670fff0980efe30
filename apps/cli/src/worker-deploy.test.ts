import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { freePort } from '../../../vitest.global-setup.js';
import { deleteQueuePrefix, runCli, sandboxCliEnv } from '../test/run-cli.js';

const run = promisify(execFile);
const repoRoot = new URL('../../../', import.meta.url).pathname;
/** `nobody`: the worker image runs as a user that owns nothing but its data folder. */
const NOBODY = 65534;

// What the Dockerfile's last stage does, without Docker (not on this machine): the runtime tree
// from deploy/worker-tree.mjs, `npm ci --omit=dev` in it, the worker started from it as a
// non-root user. A runtime dependency declared only as a devDependency, or a file the worker
// reads at run time that its package does not publish, fails here.
describe('the worker from a production install (what the Docker image runs)', () => {
  let sandbox: RunningSandbox;
  let tree: string;
  const prefix = `test-deploy-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 12, ous: 3, seed: 5 });
    tree = await mkdtemp(join(tmpdir(), 'orgshield-worker-tree-'));
    await run(process.execPath, [join(repoRoot, 'deploy/worker-tree.mjs'), tree], { cwd: repoRoot });
    await run('npm', ['ci', '--omit=dev', '--workspace', '@orgshield/worker', '--no-audit', '--no-fund'], { cwd: tree, timeout: 300_000 });
    // mkdtemp makes 0700 folders: the non-root worker must be able to read the tree.
    await run('chmod', ['-R', 'a+rX', tree]);
    await chmod(tree, 0o755);
  }, 360_000);
  afterAll(async () => {
    await deleteQueuePrefix(prefix);
    await sandbox?.close();
    if (tree) await rm(tree, { recursive: true, force: true });
  });

  it('has no development dependency in the tree', () => {
    for (const dev of ['typescript', 'vitest', 'nx', 'tsx', 'eslint', 'playwright-core']) {
      expect(existsSync(join(tree, 'node_modules', dev)), `${dev} is installed`).toBe(false);
    }
    expect(existsSync(join(tree, 'apps/cli')), 'the CLI is not part of the worker image').toBe(false);
  });

  it('holds every file the runtime code reads beside itself (new URL(..., import.meta.url))', async () => {
    const { stdout } = await run('grep', ['-rlE', 'new URL\\(.*import\\.meta\\.url', '--include=*.js', '--exclude-dir=node_modules', 'apps', 'packages'], { cwd: tree });
    const files = stdout.split('\n').filter(Boolean);
    expect(files.length).toBeGreaterThan(0);
    let references = 0;
    for (const file of files) {
      const code = await readFile(join(tree, file), 'utf8');
      for (const match of code.matchAll(/new URL\((['"`])([^'"`]+)\1, import\.meta\.url\)/g)) {
        // A template (`../scripts/${name}`) names a folder: its fixed part must exist.
        const target = match[2]!.split('${')[0]!;
        references++;
        expect(existsSync(new URL(target, `file://${join(tree, file)}`)), `${file} reads ${match[2]}`).toBe(true);
      }
    }
    expect(references).toBeGreaterThanOrEqual(2);
  });

  it('starts as a non-root user, answers /readyz, runs a job, and stops on SIGTERM', async () => {
    const port = await freePort();
    const asRoot = process.getuid?.() === 0;
    const env = sandboxCliEnv(sandbox, prefix, {
      ORGSHIELD_HTTP_PORT: String(port),
      ORGSHIELD_REPORT_DIR: join(tree, 'reports'),
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    });
    const worker = spawn(process.execPath, ['apps/worker/dist/main.js'], {
      cwd: tree,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let log = '';
    worker.stdout.on('data', (d: Buffer) => (log += d.toString()));
    worker.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => worker.on('close', resolve));
    try {
      let ready = '';
      for (let i = 0; i < 300 && ready !== 'ready'; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.text().then((t) => t.trim()), () => '');
        if (ready !== 'ready') await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready, log).toBe('ready');
      if (asRoot) {
        const status = await readFile(`/proc/${worker.pid}/status`, 'utf8');
        expect(status).toMatch(new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'));
      }
      // A job through the production worker: the AWS SDK, Redis and the job code, all from the
      // production install.
      const sync = await runCli(['org', 'sync', '--wait'], env, { timeoutMs: 120_000 });
      expect(sync.code, sync.stderr + log).toBe(0);
      expect(sync.stderr).toContain('organization synced: 12 accounts');
      // The worker ran it (the CLI runs a job in-process only when no worker is connected).
      expect(log).toMatch(/"job":"org\.sync"[^\n]*"msg":"job completed"/);
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      worker.kill('SIGKILL');
    }
  }, 180_000);
});

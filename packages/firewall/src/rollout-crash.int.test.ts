import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { startHarness, writeTree } from '../test/rollout-harness.js';
import { readRolloutSource } from './rollout-loader.js';

/**
 * A worker killed (SIGKILL) mid-rollout: another worker takes the job over once its lock
 * lapses, the rollout continues from its last finished step, and the request log shows every
 * planned PutPolicy exactly once. PutPolicy answers take 150 ms, so the kill, which comes as
 * soon as the log shows the second PutPolicy, lands while the worker records that step.
 */
const test = sandboxTest.override({
  sandboxOptions: { accounts: 40, ous: 8, seed: 3, timeScale: 0.001, faults: { operations: { 'fms:PutPolicy': { latencyMs: [150, 150] } } } },
});

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

const policy = (name: string, type: string, resourceTypes: string) =>
  `name: ${name}\ntype: ${type}\nresourceTypes: ${resourceTypes}\nregions: [eu-west-1, us-east-1]\n${type === 'WAFV2' ? 'webACLSource: RETROFIT_EXISTING\nrules: { defaultAction: ALLOW }\n' : ''}`;

describe('a worker killed mid-rollout', () => {
  test('loses nothing and repeats no PutPolicy', { timeout: 120_000 }, async ({ sandbox, redisPrefix }) => {
    const root = await writeTree({
      'waf.yaml': policy('waf', 'WAFV2', '[alb]'),
      'shield.yaml': policy('shield', 'SHIELD_ADVANCED', '[alb, eip]'),
      'rollout.yaml': `kind: Rollout
name: crash
policies: [waf.yaml, shield.yaml]
waves:
  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }
  - { name: everyone, targets: { all: true }, mode: remediate, gates: { maxNonCompliantAccounts: 0, timeout: 30s } }
`,
    });
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@orgshield/source', 'test/rollout-worker-process.ts'], {
      cwd: packageRoot,
      env: { ...process.env, ...sandbox.env(), SANDBOX_URL: sandbox.url, QUEUE_PREFIX: redisPrefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const harness = await startHarness(sandbox, redisPrefix, { workerOptions: { lockDuration: 1000, stalledInterval: 500 } });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the worker process exited with ${code} before it was ready`)));
      });
      const { rolloutId } = await harness.control.submit(await readRolloutSource(join(root, 'rollout.yaml')));
      const putPolicies = () => sandbox.requests().filter((entry) => entry.operation === 'PutPolicy');
      while (putPolicies().length < 2) await new Promise((resolve) => setTimeout(resolve, 2));
      child.kill('SIGKILL');
      const killedAfter = (await harness.control.view(rolloutId)).steps.map((step) => step.step);

      await harness.startWorker();
      const final = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 90_000 });
      expect(final, JSON.stringify((await harness.control.view(rolloutId)).gates.filter((g) => g.status !== "passed").map((g) => ({ ...g, violators: g.violators.slice(0, 5) })))).toMatchObject({ status: "completed" });
      const view = await harness.control.view(rolloutId);
      const puts = view.record.plan?.steps.filter((step) => step.kind === 'put') ?? [];
      expect(puts.length).toBeGreaterThan(4);
      expect(killedAfter.length).toBeLessThan(view.total);
      expect(putPolicies().map((entry) => entry.status)).toEqual(puts.map(() => 200));
      expect(view.done).toBe(view.total);
    } finally {
      child.kill('SIGKILL');
      await harness.close();
    }
  });
});

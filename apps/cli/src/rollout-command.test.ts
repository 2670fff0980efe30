import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMutatingOperation } from '@orgshield/aws';
import { Redis } from 'ioredis';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import type { RolloutPlan, RolloutRecord } from '@orgshield/firewall';
import { deleteQueuePrefix, runCli, sandboxCliEnv, spawnCli } from '../test/run-cli.js';
import { LARGE_ENFORCEMENT_ACCOUNTS, largeEnforcements } from './rollout-command.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const SHIELD = 'name: edge-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1, us-east-1]\n';
const WAF = `name: edge-waf
type: WAFV2
resourceTypes: [alb]
regions: [eu-west-1, us-east-1]
webACLSource: RETROFIT_EXISTING
rules: { defaultAction: ALLOW }
`;

/**
 * `orgshield rollout` end to end: the CLI in its own process against a 40-account sandbox
 * (FMS 1000x faster than real) and Redis, running the rollout in-process (no worker runs).
 */
describe('orgshield rollout (end to end)', () => {
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  let dir: string;
  const prefix = `test-rollout-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 40, ous: 8, seed: 3, timeScale: 0.001 });
    env = sandboxCliEnv(sandbox, prefix);
    dir = await mkdtemp(join(tmpdir(), 'orgshield-rollout-cli-'));
    await writeFile(join(dir, 'shield.yaml'), SHIELD);
    await writeFile(join(dir, 'waf.yaml'), WAF);
    const rollout = (name: string, waves: string) => `kind: Rollout\nname: ${name}\npolicies: [waf.yaml, shield.yaml]\nregions: { order: [eu-west-1, us-east-1] }\nwaves:\n${waves}`;
    await writeFile(
      join(dir, 'staged.yaml'),
      rollout(
        'staged',
        `  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }
  - { name: everyone, targets: { all: true }, mode: remediate, gates: { maxNonCompliantAccounts: 0, timeout: 30s } }
`,
      ),
    );
    // The interrupted runs have policies of their own: the halted test leaves its policies in FMS.
    await writeFile(join(dir, 'int-shield.yaml'), SHIELD.replace('edge-shield', 'int-shield'));
    await writeFile(join(dir, 'int-waf.yaml'), WAF.replace('edge-waf', 'int-waf'));
    await writeFile(
      join(dir, 'interrupted.yaml'),
      rollout('interrupted', '  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }\n  - { name: everyone, targets: { all: true }, mode: remediate, gates: { maxNonCompliantAccounts: 0, timeout: 30s } }\n').replace(
        '[waf.yaml, shield.yaml]',
        '[int-waf.yaml, int-shield.yaml]',
      ),
    );
    // An enforcing policy on the dev accounts only: part of the organization, a few accounts.
    await writeFile(join(dir, 'team-shield.yaml'), 'name: team-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [eip]\nregions: [eu-west-1]\n');
    await writeFile(
      join(dir, 'team.yaml'),
      'kind: Rollout\nname: team\npolicies: [team-shield.yaml]\nwaves:\n  - { name: dev, targets: { tags: { env: dev } }, mode: remediate, gates: { timeout: 30s } }\n',
    );
    await writeFile(join(dir, 'strict.yaml'), rollout('strict', '  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { maxNonCompliantAccounts: 0 } }\n'));
    await writeFile(join(dir, 'bad.yaml'), rollout('bad', '  - { name: canary, targets: { tags: { env: dev } }, mode: audit, soakTime: 5 minutes }\n'));
  });

  afterAll(async () => {
    await deleteQueuePrefix(prefix, REDIS_URL);
    await sandbox?.close();
  });

  it('plan reads only, needs no Redis, and prints the steps per region, policy and wave', { timeout: 240_000 }, async () => {
    const plan = await runCli(['rollout', 'plan', join(dir, 'staged.yaml'), '--output', 'json'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' }, { timeoutMs: 90_000 });
    expect(plan.stderr).not.toContain('orgshield:');
    expect(plan.code, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { policies: { name: string; action: string }[]; waves: { name: string }[]; steps: { id: string }[] };
    expect(parsed.waves.map((wave) => wave.name)).toEqual(['canary', 'everyone']);
    expect(parsed.policies.filter((change) => change.action === 'create').map((change) => change.name).sort()).toEqual(['edge-shield', 'edge-shield', 'edge-waf', 'edge-waf']);
    expect(parsed.steps[0]?.id).toBe('canary.eu-west-1.0-edge-waf.audit.put');
    expect(sandbox.requests().filter((entry) => isMutatingOperation(entry.operation))).toEqual([]);

    const table = await runCli(['rollout', 'plan', join(dir, 'staged.yaml')], env, { timeoutMs: 90_000 });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/eu-west-1\s+edge-waf\s+enforcing\s+create\s+0 -> 38/);
    expect(table.stdout).toContain('16 steps: 12 policy writes and 4 gates');

    // That plan stored the snapshot it walked; the next one uses it and says how old it is.
    const organizationCalls = () => sandbox.requests().filter((entry) => entry.service === 'organizations').length;
    const walked = organizationCalls();
    const fromSnapshot = await runCli(['rollout', 'plan', join(dir, 'staged.yaml')], env, { timeoutMs: 90_000 });
    expect(fromSnapshot.code, fromSnapshot.stderr).toBe(0);
    expect(fromSnapshot.stderr).toMatch(/using the organization snapshot of \S+ \(\d+s old, 40 accounts\); --refresh walks the organization again/);
    expect(organizationCalls()).toBe(walked);
    expect(fromSnapshot.stdout).toBe(table.stdout);
    const refreshed = await runCli(['rollout', 'plan', join(dir, 'staged.yaml'), '--refresh'], env, { timeoutMs: 90_000 });
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(refreshed.stderr).toContain('walked the organization: 40 accounts (snapshot stored)');
    expect(organizationCalls()).toBeGreaterThan(walked);
  });

  it('start without --wait plans first: a missing OU is refused before anything is queued; the regions note is shown', { timeout: 240_000 }, async () => {
    await writeFile(
      join(dir, 'no-such-ou.yaml'),
      'kind: Rollout\nname: lost\npolicies: [shield.yaml]\nregions: { order: [eu-west-1] }\nwaves:\n  - { name: canary, targets: { ous: [Root/Nowhere] }, mode: audit }\n',
    );
    const redis = new Redis(REDIS_URL);
    try {
      const keysBefore = (await redis.keys(`${prefix}:*`)).sort();
      const refused = await runCli(['rollout', 'start', join(dir, 'no-such-ou.yaml')], env, { timeoutMs: 90_000 });
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(/^orgshield: rollout lost cannot be applied: .*OU "Root\/Nowhere" is not in the organization/m);
      expect(refused.stdout).toBe('');
      // Nothing queued, nothing recorded: only the snapshot may have been stored.
      expect((await redis.keys(`${prefix}:*`)).filter((key) => !keysBefore.includes(key) && !key.includes('snapshot'))).toEqual([]);
    } finally {
      redis.disconnect();
    }

    await writeFile(
      join(dir, 'one-region.yaml'),
      'kind: Rollout\nname: noted\npolicies: [shield.yaml]\nregions: { order: [eu-west-1] }\nwaves:\n  - { name: canary, targets: { tags: { env: dev } }, mode: audit }\n',
    );
    const started = await runCli(['rollout', 'start', join(dir, 'one-region.yaml')], env, { timeoutMs: 90_000 });
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toContain("note: region us-east-1 comes from the policy specs, not the rollout's regions.order; list the regions in regions.only to keep the rollout to them");
    const rolloutId = started.stdout.trim();
    expect(rolloutId).toMatch(/^noted-\w+$/);
    const aborted = await runCli(['rollout', 'abort', rolloutId], env);
    expect(aborted.code, aborted.stderr).toBe(0);
  });

  it('refuses a bad rollout file before any AWS call, with file:line and the field path (exit 2)', { timeout: 240_000 }, async () => {
    const before = sandbox.requests().length;
    const result = await runCli(['rollout', 'start', join(dir, 'bad.yaml'), '--wait'], env);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'bad.yaml')}:6:77 waves[0].soakTime: a duration looks like 30s, 10m or 1h30m`);
    expect(result.stderr).toContain(`orgshield: ${join(dir, 'bad.yaml')} has 1 problem (listed above); nothing was queued.`);
    expect(sandbox.requests().length).toBe(before);
  });

  it('lists every problem of a rollout file, with "did you mean" for a misspelt field (exit 2)', { timeout: 240_000 }, async () => {
    const file = join(dir, 'many-problems.yaml');
    await writeFile(file, 'kind: Rollout\nname: many\npolicies: [waf.yaml]\nregoins: { order: [eu-west-1] }\nwavs:\n  - { name: canary, targets: { all: true }, mode: audit }\n');
    const before = sandbox.requests().length;
    for (const command of ['plan', 'start']) {
      const result = await runCli(['rollout', command, file], env);
      expect(result.code, result.stderr).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          `${file}:4:1 regoins: unknown field "regoins" (did you mean "regions"?)`,
          `${file}:5:1 wavs: unknown field "wavs" (did you mean "waves"?)`,
        ]),
      );
      expect(lines.some((line) => line.includes(' waves: is required'))).toBe(true);
      expect(lines.at(-1)).toBe(`orgshield: ${file} has 3 problems (listed above); nothing was ${command === 'plan' ? 'planned' : 'queued'}.`);
    }
    expect(sandbox.requests().length).toBe(before);
  });

  it('start --wait carries a staged rollout to its end; status, then rollback --wait undoes it', { timeout: 240_000 }, async () => {
    const start = await runCli(['rollout', 'start', join(dir, 'staged.yaml'), '--wait'], env, { timeoutMs: 120_000 });
    expect(start.stderr).toContain('running its jobs in this process');
    expect(start.stderr).toMatch(/rollout completed: all 16 steps done/);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/everyone\s+remediate\s+eu-west-1\s+\d+\s+delete edge-waf-audit: deleted; create edge-waf: created; delete edge-shield-audit: deleted; create edge-shield: created\s+passed: non-compliant 0\/\d+ accounts/);
    const rolloutId = /rollout (staged-\w+) queued/.exec(start.stderr)?.[1] ?? '';

    const status = await runCli(['rollout', 'status', rolloutId, '--output', 'json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: { status: 'completed' }, done: 16, total: 16 });

    // Rolling back enforcing policies is confirmed; a pipe cannot answer, so it needs --yes.
    const writesBefore = sandbox.requests().filter((entry) => isMutatingOperation(entry.operation)).length;
    const unconfirmed = await runCli(['rollout', 'rollback', rolloutId, '--wait'], env, { timeoutMs: 90_000 });
    expect(unconfirmed.code, unconfirmed.stderr).toBe(2);
    expect(unconfirmed.stderr).toMatch(new RegExp(`^orgshield: rolling back ${rolloutId} deletes or puts back 4 enforcing policies \\(.*edge-waf in eu-west-1.*\\) covering up to 38 accounts; pass --yes to confirm \\(stdin is not a terminal, so nobody can be asked\\)\\. Nothing was changed\\.$`, 'm'));
    expect(sandbox.requests().filter((entry) => isMutatingOperation(entry.operation)).length).toBe(writesBefore);
    const rollback = await runCli(['rollout', 'rollback', rolloutId, '--wait', '--yes'], env, { timeoutMs: 90_000 });
    expect(rollback.stderr).toContain('rolled back: 0 restored, 4 deleted, 4 already as before');
    expect(rollback.stderr).not.toContain('planned 16 steps');
    expect(rollback.code, rollback.stderr).toBe(0);
    const list = await runCli(['rollout', 'status'], env);
    expect(list.stdout).toMatch(new RegExp(`${rolloutId}\\s+rolled-back\\s+16/16`));
  });

  it('a halted rollout exits 1 with its violators; it can be aborted, and unknown ids are bad input', { timeout: 240_000 }, async () => {
    const start = await runCli(['rollout', 'start', join(dir, 'strict.yaml'), '--wait'], env, { timeoutMs: 120_000 });
    expect(start.code, start.stderr).toBe(1);
    const rolloutId = /rollout (strict-\w+) queued/.exec(start.stderr)?.[1] ?? '';
    expect(start.stderr).toMatch(new RegExp(`orgshield: rollout ${rolloutId} is halted: wave canary in eu-west-1 failed its gate: \\d+ non-compliant account\\(s\\), more than the gate's 0\\.`));
    expect(start.stdout).toContain('gate canary.eu-west-1.gate failed');
    expect(start.stdout).toMatch(/\d{12}\s+\d+: [A-Z_]+ arn:aws:/);

    const abort = await runCli(['rollout', 'abort', rolloutId], env);
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stderr).toContain(`rollout ${rolloutId}: aborted`);
    const again = await runCli(['rollout', 'pause', rolloutId], env);
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toContain(`orgshield: rollout ${rolloutId} is aborted, so it cannot pause; it can from running.`);
    const unknown = await runCli(['rollout', 'status', 'nope-123'], env);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('orgshield: there is no rollout nope-123');
  });

  /** `rollout start --wait` of the interrupted rollout, in-process, returned once its first policy write is done. */
  async function startUntilFirstWrite() {
    const child = spawnCli(['rollout', 'start', join(dir, 'interrupted.yaml'), '--wait'], env);
    let text = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdout.resume();
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (/canary\/eu-west-1: int-waf/.test(text)) resolve();
      });
      void exited.then((code) => reject(new Error(`rollout start ended (${code}) before its first write: ${text}`)));
    });
    return { child, exited, stderr: () => text };
  }

  it('Ctrl-C during start --wait in-process pauses the rollout at once (exit 130); watch stops; resume --wait finishes it, each PutPolicy once', { timeout: 240_000 }, async () => {
    const putsBefore = sandbox.requests().filter((entry) => entry.operation === 'PutPolicy').length;
    const { child, exited, stderr } = await startUntilFirstWrite();
    child.kill('SIGINT');
    const interruptedAt = Date.now();
    expect(await exited, stderr()).toBe(130);
    expect(Date.now() - interruptedAt).toBeLessThan(10_000);
    const rolloutId = /rollout (interrupted-\w+) queued/.exec(stderr())?.[1] ?? '';
    expect(stderr()).toContain(`orgshield: rollout ${rolloutId} paused (interrupted); continue it with "orgshield rollout resume ${rolloutId} --wait".`);

    const status = await runCli(['rollout', 'status', rolloutId, '--output', 'json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: { status: 'paused' } });
    // Nothing advances a paused rollout: watch says so and ends instead of waiting.
    const watch = await runCli(['rollout', 'watch', rolloutId], env, { timeoutMs: 30_000 });
    expect(watch.code, watch.stderr).toBe(1);
    expect(watch.stderr).toContain(`rollout ${rolloutId} is paused`);

    const resume = await runCli(['rollout', 'resume', rolloutId, '--wait'], env, { timeoutMs: 120_000 });
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stderr).toMatch(/rollout completed: all 16 steps done/);
    // 8 puts in the plan (4 audit copies, 4 enforcing): each made once across the interruption.
    expect(sandbox.requests().filter((entry) => entry.operation === 'PutPolicy').length - putsBefore).toBe(8);
    await runCli(['rollout', 'rollback', rolloutId, '--wait', '--yes'], env, { timeoutMs: 90_000 });
  });

  it('rollback of an enforcing policy on part of the organization goes ahead without a question', { timeout: 180_000 }, async () => {
    const start = await runCli(['rollout', 'start', join(dir, 'team.yaml'), '--wait'], env, { timeoutMs: 120_000 });
    expect(start.code, start.stderr).toBe(0);
    const rolloutId = /rollout (team-\w+) queued/.exec(start.stderr)?.[1] ?? '';
    const status = JSON.parse((await runCli(['rollout', 'status', rolloutId, '--output', 'json'], env)).stdout) as { record: { plan: { scopeAccounts: number; policies: { variant: string; accountsAfter: number }[] } } };
    const enforced = status.record.plan.policies.find((change) => change.variant === 'enforce')?.accountsAfter ?? 0;
    expect(enforced).toBeGreaterThan(0);
    expect(enforced).toBeLessThan(status.record.plan.scopeAccounts);
    // No terminal and no --yes: a large or org-wide one would be refused (exit 2, as above); this one is rolled back.
    const rollback = await runCli(['rollout', 'rollback', rolloutId, '--wait'], env, { timeoutMs: 90_000 });
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stderr).toContain('rolled back: 0 restored, 1 deleted');
  });

  it('resume takes over a rollout left running by a CLI that was killed outright', { timeout: 240_000 }, async () => {
    const { child, exited, stderr } = await startUntilFirstWrite();
    child.kill('SIGKILL');
    await exited;
    const rolloutId = /rollout (interrupted-\w+) queued/.exec(stderr())?.[1] ?? '';
    const status = await runCli(['rollout', 'status', rolloutId, '--output', 'json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: { status: 'running' } });
    // No worker is connected: watch says so instead of hanging.
    const watch = await runCli(['rollout', 'watch', rolloutId], env, { timeoutMs: 30_000 });
    expect(watch.code, watch.stderr).toBe(1);
    expect(watch.stderr).toContain('no worker is connected');

    const resume = await runCli(['rollout', 'resume', rolloutId, '--wait'], env, { timeoutMs: 120_000 });
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stderr).toContain('taken over by the operator');
    expect(resume.stderr).toMatch(/rollout completed: all 16 steps done/);
    await runCli(['rollout', 'rollback', rolloutId, '--wait', '--yes'], env, { timeoutMs: 90_000 });
  });
});

describe('which rollbacks are confirmed', () => {
  const change = (name: string, accountsAfter: number) => ({ region: 'eu-west-1', policy: name, variant: 'enforce' as const, name, action: 'create' as const, differences: [], accountsBefore: 0, accountsAfter });
  const record = (scope: string, policies: ReturnType<typeof change>[], scopeAccounts = 120) =>
    ({
      id: 'r-1',
      name: 'r',
      createdAt: '2026-01-01T00:00:00Z',
      source: { file: 'r.yaml', text: `kind: Rollout\nname: r\n${scope}policies:\n  - spec: { name: p, type: SHIELD_ADVANCED, resourceTypes: [eip], regions: [eu-west-1] }\nwaves:\n  - { name: w, targets: { all: true }, mode: remediate }\n`, policyFiles: {} },
      plan: { scopeAccounts, policies } as unknown as RolloutPlan,
    }) satisfies RolloutRecord;
  const touched = (r: RolloutRecord) => largeEnforcements(r, [{ region: 'eu-west-1', name: 'small' }, { region: 'eu-west-1', name: 'large' }, { region: 'eu-west-1', name: 'whole' }]).map((c) => c.name);

  it(`asks for an enforcing policy over the whole organization or over ${LARGE_ENFORCEMENT_ACCOUNTS} accounts, not for a small one`, () => {
    const policies = [change('small', 10), change('large', LARGE_ENFORCEMENT_ACCOUNTS), change('whole', 120)];
    expect(touched(record('', policies))).toEqual(['large', 'whole']);
    // Scoped to part of the organization: covering all of it is not org-wide; size alone decides.
    expect(touched(record('scope: { ous: [Root/Workloads] }\n', [change('small', 10), change('whole', 30)], 30))).toEqual([]);
    // A whole organization of 10 accounts: the policy over all of them is org-wide.
    expect(touched(record('', [change('small', 10)], 10))).toEqual(['small']);
    // A source that no longer reads is treated as org-wide.
    const broken = record('', [change('small', 10)], 10);
    expect(touched({ ...broken, source: { ...broken.source, text: 'not: [a rollout' } })).toEqual(['small']);
    // Audit copies are never asked about.
    expect(touched(record('', [{ ...change('whole', 120), variant: 'audit' as unknown as 'enforce' }]))).toEqual([]);
  });
});

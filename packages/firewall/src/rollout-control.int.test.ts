import { join } from 'node:path';
import { GetPolicyCommand, PutPolicyCommand } from '@aws-sdk/client-fms';
import { describe, expect } from 'vitest';
import { diffPolicy, parseLivePolicy, PolicySpecSchema, renderPutPolicy } from '@orgshield/policies';
import { harnessTest } from '../test/harness-fixture.js';
import { writeTree, type Harness } from '../test/rollout-harness.js';
import { fmsClient, listPolicies } from './live-policies.js';
import { readRolloutSource, RolloutFileError } from './rollout-loader.js';

/** A 40-account organization (top-level OUs Workloads and Security); FMS 1000x faster than real. */
const test = harnessTest.override({ sandboxOptions: { accounts: 40, ous: 8, seed: 3, timeScale: 0.001 } });
const slowGateTest = test.override({ harnessOptions: { gatePollMs: 300 } });

const WAF = `name: edge-waf
type: WAFV2
resourceTypes: [alb, api-gateway-stage]
regions: [eu-west-1, us-east-1]
webACLSource: RETROFIT_EXISTING
rules:
  defaultAction: ALLOW
  firstRuleGroups:
    - managedRuleGroup: { name: AWSManagedRulesCommonRuleSet }
`;
const SHIELD = `name: edge-shield
type: SHIELD_ADVANCED
resourceTypes: [alb, eip]
regions: [eu-west-1, us-east-1]
`;

async function rolloutFile(waves: string, options: { policies?: string; oneRegion?: boolean } = {}): Promise<string> {
  const regions = (text: string) => (options.oneRegion ? text.replace('regions: [eu-west-1, us-east-1]', 'regions: [eu-west-1]') : text);
  const root = await writeTree({
    'waf.yaml': regions(WAF),
    'shield.yaml': regions(SHIELD),
    'rollout.yaml': `kind: Rollout\nname: edge\npolicies: ${options.policies ?? '[waf.yaml, shield.yaml]'}\nwaves:\n${waves}`,
  });
  return join(root, 'rollout.yaml');
}

async function policyNames(harness: Harness, region: string): Promise<string[]> {
  return (await listPolicies(fmsClient(harness.aws, region))).map((policy) => policy.PolicyName ?? '').sort();
}

describe('rollout control', () => {
  test('a failing gate halts before the next wave with its violators; rollback removes what the rollout created', { timeout: 90_000 }, async ({ sandbox, harness }) => {
    await harness.startWorker();
    const file = await rolloutFile(`  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { maxNonCompliantAccounts: 0, timeout: 30s } }
  - { name: everyone, targets: { all: true }, mode: remediate }
`);
    const { rolloutId } = await harness.control.submit(await readRolloutSource(file));
    const halted = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000 });
    expect(halted.status).toBe('halted');
    expect(halted.message).toMatch(/^wave canary in eu-west-1 failed its gate: \d+ non-compliant account\(s\), more than the gate's 0$/);

    const view = await harness.control.view(rolloutId);
    const gate = view.gates.find((report) => report.step === 'canary.eu-west-1.gate');
    expect(gate?.status).toBe('failed');
    expect(gate?.violators.length).toBeGreaterThan(0);
    expect(gate?.violators[0]).toMatchObject({ account: expect.stringMatching(/^\d{12}$/), reason: expect.any(String), resourceId: expect.any(String) });
    expect(new Set(gate?.violators.map((violator) => violator.account))).toEqual(new Set(gate?.nonCompliantAccounts));
    // Nothing of the next wave, nor of the canary in the second region, was done.
    expect(view.steps.map((step) => step.step)).toEqual(['canary.eu-west-1.0-edge-waf.audit.put', 'canary.eu-west-1.1-edge-shield.audit.put']);
    expect(sandbox.requests().filter((entry) => entry.operation === 'PutPolicy')).toHaveLength(2);
    expect(await policyNames(harness, 'eu-west-1')).toEqual(['edge-shield-audit', 'edge-waf-audit']);

    // A second rollout of the same policies is refused while this one is halted.
    await expect(harness.control.submit(await readRolloutSource(file))).rejects.toThrow(`rollout edge is already in progress as ${rolloutId}`);

    await harness.control.rollback(rolloutId);
    const rolledBack = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 30_000, until: ['rolled-back', 'failed'] });
    expect(rolledBack).toMatchObject({ status: 'rolled-back', message: 'rolled back: 0 restored, 2 deleted, 0 already as before' });
    expect(await policyNames(harness, 'eu-west-1')).toEqual([]);
  });

  test('a gate whose conditions are counts reads ListComplianceStatus only, never GetComplianceDetail', { timeout: 90_000 }, async ({ sandbox, harness }) => {
    await harness.startWorker();
    const file = await rolloutFile(`  - { name: look, targets: { all: true }, mode: audit, gates: { maxNonCompliantAccounts: 1000, timeout: 30s } }
`);
    const { rolloutId } = await harness.control.submit(await readRolloutSource(file));
    const settled = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000 });
    expect(settled.status).toBe('completed');
    const gates = (await harness.control.view(rolloutId)).gates;
    expect(gates.map((gate) => gate.status)).toEqual(['passed', 'passed']);
    // accounts were non-compliant, so a reader that fetched every detail would have called it
    expect(gates.every((gate) => gate.nonCompliantAccounts.length > 0)).toBe(true);
    const fms = sandbox.requests().filter((entry) => entry.service === 'fms');
    expect(fms.filter((entry) => entry.operation === 'ListComplianceStatus').length).toBeGreaterThan(0);
    expect(fms.filter((entry) => entry.operation === 'GetComplianceDetail')).toEqual([]);
  });

  test('rollback restores the version a policy had before the rollout', { timeout: 90_000 }, async ({ sandbox, harness }) => {
    await harness.startWorker();
    // The Shield policy exists already, in audit mode over one account.
    const fms = fmsClient(harness.aws, 'eu-west-1');
    const account = sandbox.world.snapshot().accounts.find((a) => a.status === 'ACTIVE' && a.id !== sandbox.world.org.managementAccountId)?.id ?? '';
    const before = PolicySpecSchema.parse({ ...SHIELD_SPEC, regions: ['eu-west-1'], scope: { include: { accounts: [account] } } });
    const created = await fms.send(new PutPolicyCommand(renderPutPolicy(before, { region: 'eu-west-1' })));

    const file = await rolloutFile(`  - { name: everyone, targets: { all: true }, mode: remediate, gates: { timeout: 30s } }\n`, { policies: '[shield.yaml]' });
    const { rolloutId } = await harness.control.submit(await readRolloutSource(file));
    expect((await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000 })).status).toBe('completed');
    const during = await fms.send(new GetPolicyCommand({ PolicyId: created.Policy?.PolicyId }));
    expect(during.Policy?.RemediationEnabled).toBe(true);

    await harness.control.rollback(rolloutId);
    const rolledBack = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 30_000, until: ['rolled-back', 'failed'] });
    expect(rolledBack).toMatchObject({ status: 'rolled-back', message: 'rolled back: 1 restored, 1 deleted, 0 already as before' });
    const after = await fms.send(new GetPolicyCommand({ PolicyId: created.Policy?.PolicyId }));
    expect(diffPolicy(before, parseLivePolicy(after, { region: 'eu-west-1' }))).toEqual([]);
    expect(await policyNames(harness, 'us-east-1')).toEqual([]);
  });

  slowGateTest('a halted rollout resumes from its gate; a paused one from its next step, without repeating a PutPolicy', { timeout: 90_000 }, async ({ sandbox, harness }) => {
    await harness.startWorker();
    // The remediate gate gives FMS 1 ms to evaluate (it takes ~0.3 s): it halts on its timeout.
    const file = await rolloutFile(`  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }
  - { name: everyone, targets: { all: true }, mode: remediate, gates: { maxNonCompliantAccounts: 0, timeout: 1ms } }
`, { oneRegion: true });
    const { rolloutId } = await harness.control.submit(await readRolloutSource(file));
    await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 30_000, until: ['running'] });
    await harness.control.pause(rolloutId);
    const paused = await harness.control.view(rolloutId);
    expect(paused.state.status).toBe('paused');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Whatever was under way when the pause came finished; nothing started after it.
    const doneWhilePaused = (await harness.control.view(rolloutId)).done;
    expect(doneWhilePaused).toBeLessThanOrEqual(paused.done + 1);

    await harness.control.resume(rolloutId);
    const halted = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000 });
    expect(halted.status).toBe('halted');
    expect(halted.message).toMatch(/^wave everyone in eu-west-1 failed its gate: \d+ account\(s\) were not evaluated after the change within 1ms$/);

    // FMS has evaluated and remediated since: judged again, the gate passes and the rollout ends.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await harness.control.resume(rolloutId);
    expect((await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000 })).status).toBe('completed');
    const view = await harness.control.view(rolloutId);
    const puts = view.record.plan?.steps.filter((step) => step.kind === 'put') ?? [];
    expect(puts).toHaveLength(4);
    expect(sandbox.requests().filter((entry) => entry.operation === 'PutPolicy')).toHaveLength(puts.length);
  });

  test('a bad rollout file is refused before any AWS call or Redis write, with file:line and path', async ({ sandbox, redisPrefix, harness }) => {
    const file = await rolloutFile(`  - { name: canary, targets: { tags: { env: dev } }, mode: audit, soakTime: soon }\n`);
    const error = await harness.control.submit(await readRolloutSource(file)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RolloutFileError);
    expect((error as Error).message).toBe(`${file}:5:77 waves[0].soakTime: a duration looks like 30s, 10m or 1h30m`);
    expect((error as RolloutFileError).exitCode).toBe(2);
    expect(sandbox.requests()).toEqual([]);
    expect(await harness.redis.keys(`${redisPrefix}:*`)).toEqual([]);
  });
});

const SHIELD_SPEC = { name: 'edge-shield', type: 'SHIELD_ADVANCED', resourceTypes: ['alb', 'eip'], regions: ['eu-west-1', 'us-east-1'] };

import { describe, expect } from 'vitest';
import { resolveFmsScope } from '@orgshield/accounts';
import { harnessTest } from '../test/harness-fixture.js';
import { complianceReport } from './compliance-report.js';
import { fmsClient, listPolicies } from './live-policies.js';
import { readRolloutSource } from './rollout-loader.js';
import { DEMO_ROLLOUT_FILE, summarizeWaves } from './rollout-summary.js';

/**
 * A staged rollout end to end on a 300-account sandbox organization: the regional WAF baseline
 * and Shield Advanced, two regions, canary audit -> rest audit -> everyone enforced. Sandbox
 * time runs 1000x faster (FMS evaluates 0.3 s after a change and remediates 0.3 s later).
 */
const test = harnessTest.override({ sandboxOptions: { accounts: 300, ous: 30, seed: 1, timeScale: 0.001 } });

describe('a staged rollout on the sandbox', () => {
  test('ends with every in-scope account compliant, each intended PutPolicy sent once', { timeout: 180_000 }, async ({ sandbox, redisPrefix, harness }) => {
    await harness.startWorker();
    // The demo's rollout (examples/demo-rollout.yaml), as `npm start` runs it.
    const { rolloutId } = await harness.control.submit(await readRolloutSource(DEMO_ROLLOUT_FILE), { requestedBy: 'test' });
    expect(await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 150_000 })).toMatchObject({ status: 'completed' });

    const view = await harness.control.view(rolloutId);
    const waves = summarizeWaves(view);
    const plan = view.record.plan;
    if (!plan) throw new Error('no plan stored');
    // Per region: create 2 audit copies, widen them, then delete them and create the 2 enforcing policies.
    const puts = plan.steps.filter((step) => step.kind === 'put');
    const deletes = plan.steps.filter((step) => step.kind === 'delete');
    expect(puts.map((step) => step.id)).toHaveLength(12);
    expect(deletes).toHaveLength(4);
    expect(view.steps.filter((step) => step.outcome === 'unchanged')).toEqual([]);

    const requests = sandbox.requests().filter((entry) => entry.service === 'fms');
    for (const region of ['eu-west-1', 'us-east-1']) {
      const sent = requests.filter((entry) => entry.region === region && entry.operation === 'PutPolicy');
      expect(sent.filter((entry) => entry.status !== 200)).toEqual([]);
      expect(sent).toHaveLength(puts.filter((step) => step.region === region).length);
      expect(requests.filter((entry) => entry.region === region && entry.operation === 'DeletePolicy')).toHaveLength(2);
    }

    // What the demo prints: each wave's writes and gate per region, and the final compliance.
    expect(waves.map((wave) => `${wave.name}:${wave.regions.map((region) => region.gate?.status).join(',')}`)).toEqual([
      'canary-audit:passed,passed',
      'rest-audit:passed,passed',
      'all-remediate:passed,passed',
    ]);
    const compliance = await Promise.all(['edge-waf-baseline', 'edge-shield'].map((policy) => complianceReport(harness.aws, { policy, regions: plan.regions })));
    // Totals count each account once, whatever the number of regions (issue 15, item 9).
    expect(compliance.map((report) => `${report.policy}:${report.totals.nonCompliant}/${report.totals.accounts}`)).toEqual([
      `edge-waf-baseline:0/${waves[2]?.accounts ?? 0}`,
      `edge-shield:0/${waves[2]?.accounts ?? 0}`,
    ]);

    // Every gate judged fresh evaluations and passed; the audit waves saw what remediation would fix.
    expect(view.gates.map((gate) => `${gate.step}:${gate.status}`)).toEqual(plan.steps.filter((step) => step.kind === 'gate').map((step) => `${step.id}:passed`));
    const restAudit = view.gates.find((gate) => gate.step === 'rest-audit.eu-west-1.gate');
    expect(restAudit?.nonCompliantAccounts.length).toBeGreaterThan(100);
    expect(restAudit?.evaluationLimitExceeded.length).toBeGreaterThan(0);
    expect(Object.keys(restAudit?.violationsByReason ?? {})).toEqual(expect.arrayContaining(['RESOURCE_MISSING_SHIELD_PROTECTION']));

    // Calls only what the decision needs: the all-remediate gates have count conditions only, so
    // from its first write on, compliance is read with ListComplianceStatus and never a detail;
    // the audit gates halt on a reason, so they read details, once per non-compliant account and policy.
    const remediateStart = Math.min(...view.steps.filter((step) => step.step.startsWith('all-remediate.') && step.changedAt !== undefined).map((step) => step.changedAt!));
    const fmsAfter = requests.filter((entry) => entry.t >= remediateStart);
    expect(fmsAfter.filter((entry) => entry.operation === 'ListComplianceStatus').length).toBeGreaterThan(0);
    expect(fmsAfter.filter((entry) => entry.operation === 'GetComplianceDetail')).toEqual([]);
    const auditGates = view.gates.filter((gate) => gate.step.includes('-audit.'));
    const detailCalls = requests.filter((entry) => entry.operation === 'GetComplianceDetail' && entry.status === 200).length;
    expect(detailCalls).toBeGreaterThan(0);
    expect(detailCalls).toBeLessThanOrEqual(2 * auditGates.reduce((sum, gate) => sum + gate.nonCompliantAccounts.length, 0));

    const snapshot = await harness.executor.store.redis.get(`${redisPrefix}:org:snapshot`);
    const inScope = resolveFmsScope(JSON.parse(snapshot ?? '{}'), {});
    expect(inScope.length).toBeGreaterThan(250);
    for (const policy of ['edge-waf-baseline', 'edge-shield']) {
      const report = await complianceReport(harness.aws, { policy, regions: ['eu-west-1', 'us-east-1'] });
      for (const region of ['eu-west-1', 'us-east-1']) {
        const rows = report.rows.filter((row) => row.region === region);
        expect(rows.map((row) => row.account).sort()).toEqual(inScope);
        expect(rows.filter((row) => row.status !== 'COMPLIANT')).toEqual([]);
      }
    }
    // The audit copies are gone once every account graduated.
    for (const region of ['eu-west-1', 'us-east-1']) {
      const names = (await listPolicies(fmsClient(harness.aws, region))).map((policy) => policy.PolicyName).sort();
      expect(names).toEqual(['edge-shield', 'edge-waf-baseline']);
    }
  });
});

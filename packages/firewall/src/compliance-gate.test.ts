import { describe, expect, it } from 'vitest';
import { judgeGate, needsViolators, VIOLATOR_SAMPLE, waitsWhateverTheRest, type AccountCompliance } from './compliance-gate.js';
import type { GateStep } from './rollout-plan.js';

const CHANGE = Date.parse('2026-01-01T10:00:00Z');

function gate(overrides: Partial<GateStep> = {}, gates: Partial<GateStep['gates']> = {}): GateStep {
  return {
    kind: 'gate',
    id: 'w.eu-west-1.gate',
    wave: 'w',
    region: 'eu-west-1',
    mode: 'audit',
    checks: [{ policy: 'waf', variant: 'audit', name: 'waf-audit', accounts: ['111111111111', '222222222222'] }],
    gates: { haltOnViolationReasons: [], timeout: 60_000, ...gates },
    soakTimeMs: 0,
    toleratedFailures: 0,
    ...overrides,
  };
}

function status(account: string, evaluatedAt: number, violators: AccountCompliance['violators'] = [], extra: Partial<AccountCompliance> = {}): AccountCompliance {
  return {
    account,
    policy: 'waf-audit',
    status: violators.length > 0 ? 'NON_COMPLIANT' : 'COMPLIANT',
    evaluatedAt: new Date(evaluatedAt).toISOString(),
    violatorCount: violators.length,
    evaluationLimitExceeded: false,
    violators,
    ...extra,
  };
}

const missing = (id: string) => ({ resourceId: id, resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer', reason: 'RESOURCE_MISSING_WEB_ACL' });
const incorrect = (id: string) => ({ resourceId: id, resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer', reason: 'RESOURCE_INCORRECT_WEB_ACL' });
const timing = (now: number) => ({ now, changedAt: { 'waf-audit': CHANGE }, waitingSince: CHANGE });

describe('judgeGate', () => {
  it('waits while the wave soaks, then while any account is evaluated before the change', () => {
    const fresh = [status('111111111111', CHANGE + 1000), status('222222222222', CHANGE - 1)];
    const soaking = judgeGate(gate({ soakTimeMs: 5000 }), fresh, timing(CHANGE + 2000));
    expect(soaking).toMatchObject({ status: 'waiting', soakEndsAt: new Date(CHANGE + 5000).toISOString() });
    const stale = judgeGate(gate(), fresh, timing(CHANGE + 2000));
    expect(stale).toMatchObject({ status: 'waiting', notEvaluated: ['222222222222'] });
  });

  it('fails on accounts never evaluated once the timeout is over', () => {
    const report = judgeGate(gate(), [status('111111111111', CHANGE + 1000)], timing(CHANGE + 60_000));
    expect(report).toMatchObject({ status: 'failed', notEvaluated: ['222222222222'], reason: '1 account(s) were not evaluated after the change within 1m' });
  });

  it('needs no fresh evaluation for a policy the wave did not change', () => {
    const report = judgeGate(gate(), [status('111111111111', CHANGE - 9000), status('222222222222', CHANGE - 9000)], { now: CHANGE, changedAt: {}, waitingSince: CHANGE });
    expect(report.status).toBe('passed');
  });

  it('in an audit wave, passes within the thresholds and fails at once beyond them, naming every breach', () => {
    const evaluations = [status('111111111111', CHANGE + 1, [missing('a'), incorrect('b')]), status('222222222222', CHANGE + 1, [missing('c')])];
    expect(judgeGate(gate({}, { maxNonCompliantAccounts: 2, maxNonCompliantResources: 3 }), evaluations, timing(CHANGE + 10))).toMatchObject({
      status: 'passed',
      nonCompliantAccounts: ['111111111111', '222222222222'],
      nonCompliantResources: 3,
      violationsByReason: { RESOURCE_MISSING_WEB_ACL: 2, RESOURCE_INCORRECT_WEB_ACL: 1 },
    });
    const failed = judgeGate(gate({}, { maxNonCompliantAccounts: 1, maxNonCompliantResources: 2, haltOnViolationReasons: ['RESOURCE_INCORRECT_WEB_ACL'] }), evaluations, timing(CHANGE + 10));
    expect(failed.status).toBe('failed');
    expect(failed.breaches).toEqual([
      "2 non-compliant account(s), more than the gate's 1",
      "3 non-compliant resource(s), more than the gate's 2",
      '1 resource(s) with violation RESOURCE_INCORRECT_WEB_ACL, on which the gate halts',
    ]);
    expect(failed.violators.map((violator) => `${violator.account}:${violator.resourceId}:${violator.reason}`)).toEqual([
      '111111111111:a:RESOURCE_MISSING_WEB_ACL',
      '111111111111:b:RESOURCE_INCORRECT_WEB_ACL',
      '222222222222:c:RESOURCE_MISSING_WEB_ACL',
    ]);
  });

  it('in a remediate wave, keeps waiting while remediation may still fix things, and fails at the timeout', () => {
    const step = gate({ mode: 'remediate', toleratedFailures: 0, checks: [{ policy: 'waf', variant: 'enforce', name: 'waf-audit', accounts: ['111111111111', '222222222222'] }] });
    const evaluations = [status('111111111111', CHANGE + 1, [missing('a')]), status('222222222222', CHANGE + 1)];
    expect(judgeGate(step, evaluations, timing(CHANGE + 1000))).toMatchObject({ status: 'waiting', reason: expect.stringMatching(/^remediation in progress: 1 account\(s\) still non-compliant after remediation, more than the region's failure tolerance of 0$/) });
    expect(judgeGate(step, evaluations, timing(CHANGE + 60_000)).status).toBe('failed');
    expect(judgeGate({ ...step, toleratedFailures: 1 }, evaluations, timing(CHANGE + 1000)).status).toBe('passed');
  });

  it('counts an account over the FMS violator limit as non-compliant and reports it, never dropping it', () => {
    const big = status('111111111111', CHANGE + 1, [missing('a')], { violatorCount: 130, evaluationLimitExceeded: true });
    const report = judgeGate(gate({}, { maxNonCompliantResources: 100 }), [big, status('222222222222', CHANGE + 1)], timing(CHANGE + 10));
    expect(report).toMatchObject({
      status: 'failed',
      nonCompliantResources: 130,
      evaluationLimitExceeded: [{ account: '111111111111', policy: 'waf-audit' }],
      compliantAccounts: 1,
    });
  });

  it('keeps a bounded sample of violators but counts and judges them all', () => {
    const accounts = Array.from({ length: 150 }, (_, index) => String(100000000000 + index));
    const evaluations = accounts.map((account) => status(account, CHANGE + 1, [missing(`${account}-a`), incorrect(`${account}-b`)]));
    const step = gate({ checks: [{ policy: 'waf', variant: 'audit', name: 'waf-audit', accounts }] }, { haltOnViolationReasons: ['RESOURCE_INCORRECT_WEB_ACL'] });
    const report = judgeGate(step, evaluations, timing(CHANGE + 10));
    expect(report.violators).toHaveLength(VIOLATOR_SAMPLE);
    expect(report.violators[0]).toMatchObject({ account: accounts[0], resourceId: `${accounts[0]}-a` });
    expect(report.violatorsLeftOut).toBe(300 - VIOLATOR_SAMPLE);
    expect(report.violationsByReason).toEqual({ RESOURCE_MISSING_WEB_ACL: 150, RESOURCE_INCORRECT_WEB_ACL: 150 });
    expect(report.breaches).toEqual(['150 resource(s) with violation RESOURCE_INCORRECT_WEB_ACL, on which the gate halts']);
  });

  it('a later resume restarts the timeout', () => {
    const evaluations = [status('111111111111', CHANGE - 1), status('222222222222', CHANGE - 1)];
    expect(judgeGate(gate(), evaluations, { ...timing(CHANGE + 61_000), waitingSince: CHANGE + 30_000 }).status).toBe('waiting');
  });
});

describe('needsViolators', () => {
  const counted = (violators: number) => [
    status('111111111111', CHANGE + 1, [], { status: violators > 0 ? 'NON_COMPLIANT' : 'COMPLIANT', violatorCount: violators }),
    status('222222222222', CHANGE + 1),
  ];

  it('asks for no detail when the conditions are counts and the gate passes on them', () => {
    const step = gate({}, { maxNonCompliantAccounts: 1, maxNonCompliantResources: 5 });
    const report = judgeGate(step, counted(3), timing(CHANGE + 10));
    expect(report.status).toBe('passed');
    expect(needsViolators(step, report)).toBe(false);
  });

  it('asks for details when the gate halts on a reason, but not while it soaks or waits for evaluations', () => {
    const step = gate({}, { haltOnViolationReasons: ['RESOURCE_INCORRECT_WEB_ACL'] });
    expect(needsViolators(step, judgeGate(step, counted(3), timing(CHANGE + 10)))).toBe(true);
    const soaking = gate({ soakTimeMs: 5000 }, { haltOnViolationReasons: ['RESOURCE_INCORRECT_WEB_ACL'] });
    expect(needsViolators(soaking, judgeGate(soaking, counted(3), timing(CHANGE + 10)))).toBe(false);
    const stale = [status('111111111111', CHANGE - 1, [], { status: 'NON_COMPLIANT', violatorCount: 2 })];
    expect(needsViolators(step, judgeGate(step, stale, timing(CHANGE + 10)))).toBe(false);
    // nothing non-compliant: there is nothing to read
    expect(needsViolators(step, judgeGate(step, counted(0), timing(CHANGE + 10)))).toBe(false);
  });

  it('asks for details of a failed gate of counts, so its report can say why', () => {
    const step = gate({}, { maxNonCompliantAccounts: 0 });
    const report = judgeGate(step, counted(3), timing(CHANGE + 10));
    expect(report.status).toBe('failed');
    expect(needsViolators(step, report)).toBe(true);
  });
});

describe('waitsWhateverTheRest', () => {
  it('says the gate waits from an account read that is not evaluated since the change, until the timeout', () => {
    const stale = [status('111111111111', CHANGE + 1000), status('222222222222', CHANGE - 1)];
    expect(waitsWhateverTheRest(gate(), stale, timing(CHANGE + 2000))).toBe('an account FMS has not evaluated since the change');
    expect(waitsWhateverTheRest(gate(), stale.slice(0, 1), timing(CHANGE + 2000))).toBeUndefined();
    // Entries an earlier call checked are not checked again: a page-by-page read costs each page once.
    expect(waitsWhateverTheRest(gate(), [...stale.slice(1), ...stale.slice(0, 1)], timing(CHANGE + 2000), 1)).toBeUndefined();
    // Past the timeout the gate fails on the count of them: every page is read.
    expect(waitsWhateverTheRest(gate(), stale, timing(CHANGE + 60_000))).toBeUndefined();
  });

  it('in a remediate wave, says it waits once those read breach a count; an audit wave is judged on all of them', () => {
    const read = [status('111111111111', CHANGE + 1000, [missing('a')])];
    expect(waitsWhateverTheRest(gate({ mode: 'remediate' }, { maxNonCompliantAccounts: 0 }), read, timing(CHANGE + 2000))).toMatch(/^remediation in progress: 1 non-compliant account/);
    expect(waitsWhateverTheRest(gate({ mode: 'remediate', toleratedFailures: 1 }, { maxNonCompliantAccounts: 1 }), read, timing(CHANGE + 2000))).toBeUndefined();
    expect(waitsWhateverTheRest(gate({}, { maxNonCompliantAccounts: 0 }), read, timing(CHANGE + 2000))).toBeUndefined();
  });
});

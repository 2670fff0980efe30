import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Organization } from '../world/organization.js';
import { protectedResources, RESOURCE_TYPES, type ProtectedResource } from '../world/protected-resources.js';
import { World } from '../world/world.js';
import { complianceEvaluator, DEFAULT_COMPLIANCE_TIMING, inScope, resourceInScope, type AccountEvaluation } from './fms-compliance.js';
import { fmsPolicies, type FmsPolicy, type PolicyInput } from './fms-policy-store.js';

const REGION = 'us-east-1';
const EVALUATION = DEFAULT_COMPLIANCE_TIMING.evaluationDelayMs;
const REMEDIATION = DEFAULT_COMPLIANCE_TIMING.remediationDelayMs;
/** Past every account's evaluation (the delay plus at most 25% jitter). */
const EVALUATED = EVALUATION * 1.25 + 1;
const T0 = Date.UTC(2026, 0, 1);

function world(options: { blockedCustomerWebAclAccounts?: number } = {}): World {
  const w = new World({ accounts: 120, ous: 12, seed: 7, timeScale: 1 });
  protectedResources(w).configure({ blockedCustomerWebAclAccounts: options.blockedCustomerWebAclAccounts ?? 0 });
  return w;
}

function wafPolicy(document: Record<string, unknown> = {}, policy: Partial<PolicyInput> = {}): PolicyInput {
  return {
    PolicyName: 'waf-baseline',
    SecurityServicePolicyData: {
      Type: 'WAFV2',
      ManagedServiceData: JSON.stringify({
        type: 'WAFV2',
        defaultAction: { type: 'ALLOW' },
        preProcessRuleGroups: [{ ruleGroupType: 'ManagedRuleGroup', managedRuleGroupIdentifier: { vendorName: 'AWS', managedRuleGroupName: 'AWSManagedRulesCommonRuleSet' } }],
        ...document,
      }),
    },
    ResourceType: RESOURCE_TYPES.alb,
    ExcludeResourceTags: false,
    RemediationEnabled: true,
    ...policy,
  };
}

/** A member account whose us-east-1 load balancers include one on a team's web ACL and one without. */
function accountWithMixedLoadBalancers(w: World): string {
  const registry = protectedResources(w);
  for (const account of w.org.accounts.values()) {
    if (account.status !== 'ACTIVE' || account.id === w.org.managementAccountId) continue;
    const albs = registry.inRegion(account.id, REGION).resources.filter((r) => r.type === RESOURCE_TYPES.alb);
    if (albs.some((r) => r.customerWebAclArn) && albs.some((r) => !r.customerWebAclArn) && albs.length < 20) return account.id;
  }
  throw new Error('the seeded world has no account with both kinds of load balancer');
}

function evaluate(w: World, policy: FmsPolicy, accountId: string, at: number): AccountEvaluation {
  const evaluation = complianceEvaluator(w).evaluate(policy, accountId, at);
  if (!evaluation) throw new Error(`account ${accountId} has no evaluation at +${at - T0} ms`);
  return evaluation;
}

const reasons = (evaluation: AccountEvaluation) => evaluation.violators.map((v) => v.reason).sort();
const loadBalancers = (w: World, accountId: string) => protectedResources(w).inRegion(accountId, REGION).resources.filter((r) => r.type === RESOURCE_TYPES.alb);

describe('ComplianceEvaluator', () => {
  it('reports nothing before the evaluation delay, the violations after it and the remediation after that', () => {
    const w = world();
    const accountId = accountWithMixedLoadBalancers(w);
    const policy = fmsPolicies(w).put(REGION, wafPolicy(), [], T0);
    const albs = loadBalancers(w, accountId);

    expect(complianceEvaluator(w).evaluate(policy, accountId, T0 + EVALUATION - 1)).toBeUndefined();
    const found = evaluate(w, policy, accountId, T0 + EVALUATED);
    expect(found.violators).toHaveLength(albs.length);
    expect(reasons(found)).toEqual(albs.map((r) => (r.customerWebAclArn ? 'RESOURCE_INCORRECT_WEB_ACL' : 'RESOURCE_MISSING_WEB_ACL')).sort());
    expect(found.lastUpdated).toBe(found.evaluatedAt);

    const fixed = evaluate(w, policy, accountId, T0 + EVALUATED + REMEDIATION);
    // Without overrideCustomerWebACLAssociation the teams' web ACLs stay in place.
    expect(reasons(fixed)).toEqual(albs.filter((r) => r.customerWebAclArn).map(() => 'RESOURCE_INCORRECT_WEB_ACL'));
    expect(fixed.lastUpdated).toBe(found.evaluatedAt + REMEDIATION);
    expect(fixed.remediated.map((r) => r.id).sort()).toEqual(albs.filter((r) => !r.customerWebAclArn).map((r) => r.id).sort());
  });

  it('replaces the teams web ACLs with overrideCustomerWebACLAssociation, except where remediation is blocked', () => {
    const w = world();
    const accountId = accountWithMixedLoadBalancers(w);
    const albs = loadBalancers(w, accountId);
    const blocked = albs.find((r) => r.customerWebAclArn) as ProtectedResource;
    protectedResources(w).blockRemediation(accountId, blocked.id);
    const policy = fmsPolicies(w).put(REGION, wafPolicy({ overrideCustomerWebACLAssociation: true }), [], T0);

    const fixed = evaluate(w, policy, accountId, T0 + EVALUATED + REMEDIATION);
    expect(fixed.violators).toEqual([{ resource: blocked, reason: 'RESOURCE_INCORRECT_WEB_ACL' }]);
  });

  it('retrofits the teams web ACLs when the policy says RETROFIT_EXISTING', () => {
    const w = world();
    const accountId = accountWithMixedLoadBalancers(w);
    const policy = fmsPolicies(w).put(REGION, wafPolicy({ webACLSource: 'RETROFIT_EXISTING' }), [], T0);
    const found = evaluate(w, policy, accountId, T0 + EVALUATED);
    expect(reasons(found)).toContain('WEB_ACL_MISSING_RULE_GROUP');
    expect(evaluate(w, policy, accountId, T0 + EVALUATED + REMEDIATION).violators).toEqual([]);
  });

  it('never changes anything for an audit-only policy', () => {
    const w = world();
    const accountId = accountWithMixedLoadBalancers(w);
    const policy = fmsPolicies(w).put(REGION, wafPolicy({}, { RemediationEnabled: false }), [], T0);
    const found = evaluate(w, policy, accountId, T0 + EVALUATED);
    const later = evaluate(w, policy, accountId, T0 + 100 * (EVALUATION + REMEDIATION));
    expect(later.violators).toEqual(found.violators);
    expect(later.violators).toHaveLength(loadBalancers(w, accountId).length);
    expect(later.lastUpdated).toBe(found.evaluatedAt);
  });

  it('keeps what remediation fixed when the policy is updated, and reports the newer evaluation', () => {
    const w = world();
    const accountId = accountWithMixedLoadBalancers(w);
    const store = fmsPolicies(w);
    const policy = store.put(REGION, wafPolicy({ overrideCustomerWebACLAssociation: true }), [], T0);
    const compliantAt = T0 + EVALUATED + REMEDIATION;
    expect(evaluate(w, policy, accountId, compliantAt).violators).toEqual([]);

    const update = { ...wafPolicy({ overrideCustomerWebACLAssociation: true }, { RemediationEnabled: false }), PolicyId: policy.id, PolicyUpdateToken: policy.token };
    store.put(REGION, update, [], compliantAt);
    // Until the update is evaluated the account shows the previous evaluation.
    expect(evaluate(w, policy, accountId, compliantAt + 1).version.number).toBe(1);
    const reevaluated = evaluate(w, policy, accountId, compliantAt + EVALUATED);
    expect(reevaluated.version.number).toBe(2);
    expect(reevaluated.violators).toEqual([]);
    expect(reevaluated.lastUpdated).toBeGreaterThan(compliantAt);
  });

  it('drops a remediation that an update made before it happened', () => {
    const w = world();
    const accountId = accountWithMixedLoadBalancers(w);
    const store = fmsPolicies(w);
    const policy = store.put(REGION, wafPolicy(), [], T0);
    store.put(REGION, { ...wafPolicy({}, { RemediationEnabled: false }), PolicyId: policy.id, PolicyUpdateToken: policy.token }, [], T0 + 1000);
    const later = evaluate(w, policy, accountId, T0 + 100 * (EVALUATION + REMEDIATION));
    expect(later.violators).toHaveLength(loadBalancers(w, accountId).length);
  });

  it('adds Shield protections where they are missing', () => {
    const w = world();
    const accountId = accountWithMixedLoadBalancers(w);
    const policy = fmsPolicies(w).put(
      REGION,
      { ...wafPolicy(), SecurityServicePolicyData: { Type: 'SHIELD_ADVANCED' }, ResourceType: 'ResourceTypeList', ResourceTypeList: [RESOURCE_TYPES.alb, RESOURCE_TYPES.eip] },
      [],
      T0,
    );
    const unprotected = protectedResources(w)
      .inRegion(accountId, REGION)
      .resources.filter((r) => (r.type === RESOURCE_TYPES.alb || r.type === RESOURCE_TYPES.eip) && !r.shieldProtected);
    const found = evaluate(w, policy, accountId, T0 + EVALUATED);
    expect(found.violators.map((v) => v.resource.id).sort()).toEqual(unprotected.map((r) => r.id).sort());
    expect(new Set(reasons(found))).toEqual(new Set(unprotected.length ? ['RESOURCE_MISSING_SHIELD_PROTECTION'] : []));
    expect(evaluate(w, policy, accountId, T0 + EVALUATED + REMEDIATION).violators).toEqual([]);
  });

  it('leaves the scenario accounts on their blocked web ACLs whatever the policy says', () => {
    const w = world({ blockedCustomerWebAclAccounts: 3 });
    const accounts = [...protectedResources(w).accountsWithBlockedWebAcls()];
    expect(accounts).toHaveLength(3);
    const policy = fmsPolicies(w).put(REGION, wafPolicy({ overrideCustomerWebACLAssociation: true }), [], T0);
    for (const accountId of accounts) {
      const fixed = evaluate(w, policy, accountId, T0 + EVALUATED + REMEDIATION);
      expect(fixed.violators.length).toBeGreaterThan(0);
      expect(new Set(reasons(fixed))).toEqual(new Set(['RESOURCE_INCORRECT_WEB_ACL']));
    }
  });

  it('spreads evaluations over at most a quarter of the delay', () => {
    const w = world();
    const policy = fmsPolicies(w).put(REGION, wafPolicy(), [], T0);
    const times = [...w.org.accounts.values()]
      .map((a) => complianceEvaluator(w).evaluate(policy, a.id, T0 + EVALUATED)?.evaluatedAt)
      .filter((t): t is number => t !== undefined);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(T0 + EVALUATION);
    expect(Math.max(...times)).toBeLessThan(T0 + EVALUATION * 1.25);
    expect(new Set(times).size).toBeGreaterThan(times.length / 2);
  });
});

/** The reference: walk the tree down from each OU the map names, collecting accounts. */
function accountsUnder(org: Organization, parentIds: readonly string[]): Set<string> {
  const found = new Set<string>();
  const visit = (parentId: string) => {
    for (const account of org.childAccounts(parentId)) found.add(account.id);
    for (const ou of org.childOus(parentId)) visit(ou.id);
  };
  for (const id of parentIds) visit(id);
  return found;
}

describe('inScope', () => {
  const w = new World({ accounts: 80, ous: 15, seed: 3, timeScale: 1 });
  const org = w.org;
  const accountIds = [...org.accounts.keys()];
  const parentIds = [org.root.id, ...org.ous.keys()];
  const scopeMap = fc.record(
    { ACCOUNT: fc.subarray(accountIds, { maxLength: 6 }), ORG_UNIT: fc.subarray(parentIds, { maxLength: 4 }) },
    { requiredKeys: [] },
  );

  it('matches a top-down walk of the organization: IncludeMap wins, the management account only when included', () => {
    fc.assert(
      fc.property(fc.option(scopeMap, { nil: undefined }), fc.option(scopeMap, { nil: undefined }), (includeMap, excludeMap) => {
        const named = (map: typeof includeMap) => new Set([...(map?.ACCOUNT ?? []), ...accountsUnder(org, map?.ORG_UNIT ?? [])]);
        const hasInclude = (includeMap?.ACCOUNT?.length ?? 0) + (includeMap?.ORG_UNIT?.length ?? 0) > 0;
        for (const accountId of accountIds) {
          const expected = hasInclude
            ? named(includeMap).has(accountId)
            : accountId !== org.managementAccountId && !named(excludeMap).has(accountId);
          expect(inScope(org, { includeMap, excludeMap }, accountId)).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('resourceInScope', () => {
  const resource = { type: RESOURCE_TYPES.alb, tags: { env: 'prod', shield: 'yes' } } as unknown as ProtectedResource;
  const version = (tags: { Key: string; Value?: string }[], exclude = false, operator: 'AND' | 'OR' = 'AND') => ({
    resourceTypes: [RESOURCE_TYPES.alb],
    resourceTags: tags,
    excludeResourceTags: exclude,
    tagOperator: operator,
  });

  it.each([
    ['no tag filter', version([]), true],
    ['a matching tag', version([{ Key: 'env', Value: 'prod' }]), true],
    ['a tag key with any value', version([{ Key: 'shield' }]), true],
    ['AND with one tag missing', version([{ Key: 'env', Value: 'prod' }, { Key: 'app', Value: 'x' }]), false],
    ['OR with one tag matching', version([{ Key: 'env', Value: 'prod' }, { Key: 'app', Value: 'x' }], false, 'OR'), true],
    ['an excluded matching tag', version([{ Key: 'shield', Value: 'yes' }], true), false],
    ['an excluded tag it lacks', version([{ Key: 'shield', Value: 'no' }], true), true],
  ])('%s', (_what, filter, expected) => {
    expect(resourceInScope(filter, resource)).toBe(expected);
  });

  it('leaves out resource types the policy does not name', () => {
    expect(resourceInScope({ ...version([]), resourceTypes: [RESOURCE_TYPES.eip] }, resource)).toBe(false);
  });
});

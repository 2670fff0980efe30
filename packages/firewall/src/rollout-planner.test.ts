import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveFmsScope, type OrganizationSnapshot } from '@orgshield/accounts';
import { parseLivePolicy, renderPutPolicy, type PolicySpec } from '@orgshield/policies';
import { accountId, buildSnapshot, orgShapeArbitrary, ouId, shieldSpec, wafSpec } from '../test/organizations.js';
import type { PutPolicyStep, RolloutPlan } from './rollout-plan.js';
import { planRollout, toFmsScope, type LiveRegion } from './rollout-planner.js';
import { RolloutSchema, type RolloutInput } from './rollout-schema.js';

/** Applies a plan's steps to a model of FMS (policy scopes by region and name), step by step. */
function replay(plan: RolloutPlan, snapshot: OrganizationSnapshot, onStep: (state: Map<string, Set<string>>, stepIndex: number) => void) {
  const state = new Map<string, Set<string>>();
  plan.steps.forEach((step, index) => {
    if (step.kind === 'put') state.set(`${step.region}|${step.spec.name}`, new Set(resolveFmsScope(snapshot, toFmsScope(step.spec.scope))));
    if (step.kind === 'delete') state.delete(`${step.region}|${step.name}`);
    onStep(state, index);
  });
  return state;
}

/** A 3-level org: Root/canary (3 accounts), Root/workloads/{a,b} (4 each), 2 accounts in the root. */
const org = buildSnapshot({
  ouParents: [-1, -1, 1, 1],
  accounts: [
    ...Array.from({ length: 3 }, () => ({ parent: 0, active: true, env: 'dev' as const })),
    ...Array.from({ length: 4 }, () => ({ parent: 2, active: true, env: 'prod' as const })),
    ...Array.from({ length: 4 }, () => ({ parent: 3, active: true, env: 'prod' as const })),
    { parent: -1, active: true, env: 'prod' as const },
    { parent: -1, active: false, env: 'prod' as const },
  ],
});

const stagedRollout: RolloutInput = {
  kind: 'Rollout',
  name: 'edge',
  policies: ['unused.yaml'],
  waves: [
    { name: 'canary', targets: { ous: ['Root/ou0'] }, mode: 'audit' },
    { name: 'rest', targets: { all: true }, mode: 'audit' },
    { name: 'enforce', targets: { all: true }, mode: 'remediate' },
  ],
};

describe('planRollout', () => {
  it('stages audit copies, then graduates every account to the enforcing policy', () => {
    const plan = planRollout({ rollout: RolloutSchema.parse(stagedRollout), policies: [wafSpec('waf'), shieldSpec('shield')], snapshot: org, live: [] });
    expect(plan.problems).toEqual([]);
    expect(plan.regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(plan.scopeAccounts).toBe(12);
    expect(plan.waves.map((wave) => wave.accounts.length)).toEqual([3, 12, 12]);
    const summary = plan.steps.map((step) => (step.kind === 'gate' ? step.id : `${step.id}:${step.kind === 'put' ? step.action : 'delete'}`));
    expect(summary.filter((id) => id.startsWith('canary.eu-west-1'))).toEqual([
      'canary.eu-west-1.0-waf.audit.put:create',
      'canary.eu-west-1.1-shield.audit.put:create',
      'canary.eu-west-1.gate',
    ]);
    expect(summary.filter((id) => id.startsWith('enforce.us-east-1'))).toEqual([
      'enforce.us-east-1.0-waf.audit.delete:delete',
      'enforce.us-east-1.0-waf.enforce.put:create',
      'enforce.us-east-1.1-shield.audit.delete:delete',
      'enforce.us-east-1.1-shield.enforce.put:create',
      'enforce.us-east-1.gate',
    ]);
    const canary = plan.steps[0] as PutPolicyStep;
    expect(canary.spec).toMatchObject({ name: 'waf-audit', remediation: false, scope: { include: { orgUnits: [ouId(0)], accounts: [] } } });
    const enforce = plan.steps.find((step) => step.id === 'enforce.eu-west-1.0-waf.enforce.put') as PutPolicyStep;
    // Every account of the organization: no IncludeMap or ExcludeMap, FMS's own "everyone".
    expect(enforce.spec).toMatchObject({ name: 'waf', remediation: true, scope: {} });
    expect(renderPutPolicy(enforce.spec, { region: 'eu-west-1' }).Policy).not.toHaveProperty('IncludeMap');
    // The audit copies come and go within the rollout: the summary shows the enforcing policies.
    expect(plan.policies.map((change) => `${change.region} ${change.name} ${change.action} ${change.accountsAfter}`)).toEqual([
      'eu-west-1 waf create 12',
      'us-east-1 waf create 12',
      'eu-west-1 shield create 12',
      'us-east-1 shield create 12',
    ]);
  });

  it('takes OU paths in a policy scope, as rollout files do, and sends FMS their ids; an unknown path is a problem', () => {
    const scoped = (orgUnits: string[]): PolicySpec => ({ ...wafSpec('waf'), scope: { include: { accounts: [], orgUnits } } });
    const rollout = RolloutSchema.parse({ ...stagedRollout, waves: [{ name: 'all', targets: { all: true }, mode: 'remediate' }] });
    const byPath = planRollout({ rollout, policies: [scoped(['Root/ou1'])], snapshot: org, live: [] });
    expect(byPath.problems).toEqual([]);
    const byId = planRollout({ rollout, policies: [scoped([ouId(1)])], snapshot: org, live: [] });
    expect(byPath.steps).toEqual(byId.steps);
    expect((byPath.steps[0] as PutPolicyStep).spec.scope).toEqual({ include: { accounts: [], orgUnits: [ouId(1)] } });
    expect(byPath.policies.map((change) => change.accountsAfter)).toEqual([8, 8]);

    const lost = planRollout({ rollout, policies: [scoped(['Root/Nowhere'])], snapshot: org, live: [] });
    expect(lost.problems).toContainEqual({ policy: 'waf', message: 'policy waf scope.include.orgUnits: OU "Root/Nowhere" is not in the organization; run "orgshield org tree" to see the paths' });
  });

  it('names the regions that come from the policy specs, and keeps to regions.only when it is set', () => {
    const policies = [wafSpec('waf'), shieldSpec('shield')];
    const plan = (regions: RolloutInput['regions']) => planRollout({ rollout: RolloutSchema.parse({ ...stagedRollout, regions }), policies, snapshot: org, live: [] });

    const ordered = plan({ order: ['eu-west-1'] });
    expect(ordered.regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(ordered.notes).toContain("region us-east-1 comes from the policy specs, not the rollout's regions.order; list the regions in regions.only to keep the rollout to them");

    const only = plan({ only: ['eu-west-1'] });
    expect(only.problems).toEqual([]);
    expect(only.regions).toEqual(['eu-west-1']);
    expect(only.steps.filter((step) => step.region !== 'eu-west-1')).toEqual([]);
    expect(only.policies.map((change) => change.region)).toEqual(['eu-west-1', 'eu-west-1']);
    expect(only.notes.filter((text) => text.includes('regions.only'))).toEqual([]);

    expect(plan({ only: ['eu-west-1', 'ap-south-1'], order: ['us-east-1'] }).problems.map((problem) => problem.message)).toEqual([
      "regions.only names ap-south-1, where none of the rollout's policies is deployed",
      'regions.order names us-east-1, which regions.only leaves out',
    ]);
  });

  it('plans nothing but gates when FMS already holds the desired state', () => {
    const rollout = RolloutSchema.parse(stagedRollout);
    const first = planRollout({ rollout, policies: [wafSpec('waf')], snapshot: org, live: [] });
    const final = new Map<string, PolicySpec>();
    for (const step of first.steps) {
      if (step.kind === 'put') final.set(`${step.region}|${step.spec.name}`, step.spec);
      if (step.kind === 'delete') final.delete(`${step.region}|${step.name}`);
    }
    const live: LiveRegion[] = first.regions.map((region) => {
      const policies = [...final].filter(([key]) => key.startsWith(`${region}|`)).map(([, spec]) => parseLivePolicy(renderPutPolicy(spec, { region }), { region }));
      return { region, policyNames: policies.map((policy) => policy.spec.name), policies };
    });
    const again = planRollout({ rollout, policies: [wafSpec('waf')], snapshot: org, live });
    expect(again.steps.every((step) => step.kind === 'gate')).toBe(true);
    expect(again.policies.filter((change) => change.variant === 'enforce').every((change) => change.action === 'unchanged')).toBe(true);
  });

  it('corrects drift at the first remediate wave and never un-enforces an account', () => {
    const rollout = RolloutSchema.parse(stagedRollout);
    const drifted = { ...wafSpec('waf', ['eu-west-1']), remediation: true, scope: { include: { accounts: [accountId(0)], orgUnits: [] } } } as PolicySpec;
    const livePolicy = parseLivePolicy(renderPutPolicy({ ...drifted, rules: { ...(drifted as Extract<PolicySpec, { type: 'WAFV2' }>).rules, defaultAction: 'BLOCK' } } as PolicySpec, { region: 'eu-west-1' }), { region: 'eu-west-1' });
    const plan = planRollout({ rollout, policies: [wafSpec('waf', ['eu-west-1'])], snapshot: org, live: [{ region: 'eu-west-1', policyNames: ['waf'], policies: [livePolicy] }] });
    const canary = plan.steps.find((step) => step.id === 'canary.eu-west-1.0-waf.audit.put') as PutPolicyStep;
    // Account 0 is enforced already: the canary audits only the other two accounts of its OU.
    expect(canary.spec.scope).toEqual({ include: { accounts: [accountId(1), accountId(2)], orgUnits: [] } });
    const enforce = plan.steps.find((step) => step.id === 'enforce.eu-west-1.0-waf.enforce.put') as PutPolicyStep;
    expect(enforce.action).toBe('update');
    expect(enforce.differences.map((difference) => difference.path)).toEqual(expect.arrayContaining(['rules.defaultAction']));
  });

  it('plans an org-wide wave over 5,000 accounts with no include list, and an all-but-one wave with an ExcludeMap', () => {
    // 11 OUs of 402 accounts and 372 in the root (what used to be refused as 11 OUs and 372 accounts), one suspended.
    const big = buildSnapshot({
      ouParents: Array.from({ length: 11 }, () => -1),
      accounts: Array.from({ length: 5000 }, (_, index) => ({ parent: index < 4422 ? Math.floor(index / 402) : -1, active: index !== 4999, env: index < 402 ? ('dev' as const) : ('prod' as const) })),
    });
    const waves = [
      { name: 'dev', targets: { tags: { env: 'dev' } }, mode: 'audit' as const },
      { name: 'everyone', targets: { all: true }, mode: 'remediate' as const },
    ];
    const plan = planRollout({ rollout: RolloutSchema.parse({ ...stagedRollout, waves }), policies: [wafSpec('waf')], snapshot: big, live: [] });
    expect(plan.problems).toEqual([]);
    expect(plan.scopeAccounts).toBe(4999);
    const enforce = plan.steps.find((step) => step.id === 'everyone.eu-west-1.0-waf.enforce.put') as PutPolicyStep;
    expect(enforce.spec.scope).toEqual({});
    expect(renderPutPolicy(enforce.spec, { region: 'eu-west-1' }).Policy).not.toHaveProperty('IncludeMap');
    const final = replay(plan, big, () => undefined);
    expect(final.get('eu-west-1|waf')?.size).toBe(4999);

    // All but one root account: too many for an IncludeMap, so the one left out goes in an ExcludeMap.
    const allButOne = planRollout({
      rollout: RolloutSchema.parse({ ...stagedRollout, scope: { all: true, exclude: { accounts: [accountId(4500)] } }, waves: [{ name: 'everyone', targets: { all: true }, mode: 'remediate' }] }),
      policies: [wafSpec('waf')],
      snapshot: big,
      live: [],
    });
    expect(allButOne.problems).toEqual([]);
    const put = allButOne.steps.find((step) => step.kind === 'put') as PutPolicyStep;
    expect(put.spec.scope).toEqual({ exclude: { accounts: [accountId(4500)], orgUnits: [] } });
  });

  it('refuses a wave whose accounts cannot fit the FMS scope quotas, naming the wave', () => {
    const rollout = RolloutSchema.parse({
      ...stagedRollout,
      waves: [{ name: 'scattered', targets: { tags: { env: 'prod' } }, mode: 'audit' }],
    });
    const plan = planRollout({ rollout, policies: [wafSpec('waf', ['eu-west-1'])], snapshot: org, live: [], quotas: { orgUnits: 0, accounts: 2 } });
    expect(plan.problems[0]?.message).toMatch(/^wave scattered: the audit copy waf-audit in eu-west-1 would cover 9 accounts that take 1 whole OUs and 1 single accounts/);
  });

  it('reports unknown OU paths in a wave as a problem of that wave', () => {
    const rollout = RolloutSchema.parse({ ...stagedRollout, waves: [{ name: 'typo', targets: { ous: ['Root/nope'] }, mode: 'audit' }] });
    const plan = planRollout({ rollout, policies: [wafSpec('waf')], snapshot: org, live: [] });
    expect(plan.problems[0]).toMatchObject({ wave: 'typo' });
    expect(plan.problems[0]?.message).toContain('Root/nope');
  });

  it('counts both forms of each policy against the 20-per-region quota', () => {
    const rollout = RolloutSchema.parse(stagedRollout);
    const others = Array.from({ length: 19 }, (_, index) => `other-${index}`);
    const plan = planRollout({ rollout, policies: [wafSpec('waf', ['eu-west-1'])], snapshot: org, live: [{ region: 'eu-west-1', policyNames: others, policies: [] }] });
    expect(plan.problems.map((problem) => problem.message)).toEqual([
      expect.stringContaining('eu-west-1 would hold 21 Firewall Manager policies (19 there now, 2 new)'),
      expect.stringContaining('eu-west-1 would hold 21 Firewall Manager policies (19 there now, 2 new)'),
    ]);
  });
});

describe('planRollout properties', () => {
  const waveArbitrary = fc.record({
    mode: fc.constantFrom('audit' as const, 'remediate' as const),
    by: fc.constantFrom('ou', 'tag', 'all', 'accounts'),
    pick: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  });

  const scenario = orgShapeArbitrary.chain((shape) => fc.record({ shape: fc.constant(shape), waves: fc.array(waveArbitrary, { minLength: 1, maxLength: 4 }) }));

  function rolloutFor(snapshot: OrganizationSnapshot, waves: { mode: 'audit' | 'remediate'; by: string; pick: number[] }[]) {
    return RolloutSchema.parse({
      kind: 'Rollout',
      name: 'prop',
      policies: ['x.yaml'],
      waves: waves.map((wave, index) => {
        const targets =
          wave.by === 'ou' && snapshot.ous.length > 0
            ? { ous: [...new Set(wave.pick.map((n) => snapshot.ous[n % snapshot.ous.length]?.path ?? 'Root'))] }
            : wave.by === 'tag'
              ? { tags: { env: wave.pick[0]! % 2 === 0 ? 'prod' : 'dev' } }
              : wave.by === 'accounts'
                ? { accounts: [...new Set(wave.pick.map((n) => snapshot.accounts[n % snapshot.accounts.length]!.id))] }
                : { all: true };
        return { name: `w${index}`, targets, mode: wave.mode };
      }),
    });
  }

  it('keeps the audit copy and the enforcing policy disjoint after every step', () => {
    fc.assert(
      fc.property(scenario, ({ shape, waves }) => {
        const snapshot = buildSnapshot(shape);
        const plan = planRollout({ rollout: rolloutFor(snapshot, waves), policies: [wafSpec('waf')], snapshot, live: [] });
        fc.pre(plan.problems.length === 0);
        replay(plan, snapshot, (state) => {
          for (const region of plan.regions) {
            const audited = state.get(`${region}|waf-audit`) ?? new Set();
            const enforced = state.get(`${region}|waf`) ?? new Set();
            for (const id of audited) expect(enforced.has(id)).toBe(false);
          }
        });
      }),
      { numRuns: 200 },
    );
  });

  it('ends with every account of a remediate wave enforced and every other audited account in the audit copy', () => {
    fc.assert(
      fc.property(scenario, ({ shape, waves }) => {
        const snapshot = buildSnapshot(shape);
        const rollout = rolloutFor(snapshot, waves);
        const plan = planRollout({ rollout, policies: [wafSpec('waf')], snapshot, live: [] });
        fc.pre(plan.problems.length === 0);
        const enforced = new Set(plan.waves.filter((wave) => wave.mode === 'remediate').flatMap((wave) => wave.accounts));
        const audited = new Set(plan.waves.filter((wave) => wave.mode === 'audit').flatMap((wave) => wave.accounts).filter((id) => !enforced.has(id)));
        const state = replay(plan, snapshot, () => undefined);
        for (const region of plan.regions) {
          expect([...(state.get(`${region}|waf`) ?? [])].sort()).toEqual([...enforced].sort());
          expect([...(state.get(`${region}|waf-audit`) ?? [])].sort()).toEqual([...audited].sort());
        }
        // Audit waves never touch enforcement.
        const auditWaves = new Set(rollout.waves.filter((wave) => wave.mode === 'audit').map((wave) => wave.name));
        for (const step of plan.steps) if (step.kind !== 'gate' && auditWaves.has(step.wave)) expect(step.variant).toBe('audit');
      }),
      { numRuns: 200 },
    );
  });
});

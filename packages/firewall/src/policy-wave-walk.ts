import { resolveFmsScope, type OrganizationSnapshot } from '@orgshield/accounts';
import { apiRegionOf, diffPolicy, type LivePolicy, type PolicyDifference, type PolicyScope, type PolicySpec, type UnmodeledSetting } from '@orgshield/policies';
import type { GateCheck, PlanProblem, PlanStep, PolicyChange, PolicyVariant, WavePlan } from './rollout-plan.js';
import type { Rollout } from './rollout-schema.js';
import type { ScopeQuotas, ScopeTree } from './target-compression.js';

/** One policy in one region, and what the plan needs to walk it through the rollout's waves. */
export interface PolicyWalkInput {
  rollout: Rollout;
  spec: PolicySpec;
  /** Its place in the rollout's list: part of its step ids. */
  policyIndex: number;
  /** The region as the spec names it (`global` for CloudFront). */
  specRegion: string;
  /** The accounts this policy may cover: the rollout's scope narrowed by the policy's own. */
  inScope: ReadonlySet<string>;
  /** Per wave, the accounts it targets within the rollout's scope. */
  waveAccounts: readonly (readonly string[])[];
  /** The rollout's policies and audit copies FMS holds in this region now. */
  livePolicies: readonly LivePolicy[];
  snapshot: OrganizationSnapshot;
  tree: ScopeTree;
  quotas?: ScopeQuotas | undefined;
}

/** What one wave does to the policy in the region: its writes, what its gate checks, how many accounts move. */
export interface PolicyWaveResult {
  steps: PlanStep[];
  checks: GateCheck[];
  move: WavePlan['moves'][number];
}

export interface PolicyWalk {
  region: string;
  waves: PolicyWaveResult[];
  /** The policy's (and its audit copy's) change from now to the end of the rollout. */
  changes: PolicyChange[];
  problems: PlanProblem[];
  notes: string[];
}

/** The state of one FMS policy as the plan walks through the waves. */
interface PolicyState {
  spec: PolicySpec | undefined;
  accounts: Set<string>;
  /** Its scope names ids the organization no longer has, so it differs from any wanted scope. */
  stale: boolean;
  unmodeled: UnmodeledSetting[];
}

/**
 * Walks one policy in one region through the waves. Each account moves forward only
 * (uncovered -> audit copy -> enforcing policy): an audit wave adds its accounts to the audit
 * copy, a remediate wave moves them to the enforcing policy, and an account never sits in both,
 * because within a wave the audit copy is always written before the enforcing policy. Each
 * write is one step.
 */
export function walkPolicyThroughWaves(input: PolicyWalkInput): PolicyWalk {
  const { rollout, spec, inScope, snapshot, tree } = input;
  const region = apiRegionOf(input.specRegion);
  const problems: PlanProblem[] = [];
  const notes: string[] = [];
  const names = { enforce: spec.name, audit: `${spec.name}${rollout.auditSuffix}` };
  const livePolicy = (variant: PolicyVariant) => input.livePolicies.find((policy) => policy.spec.name === names[variant]);
  const current = {
    enforce: stateOf(livePolicy('enforce'), snapshot, tree),
    audit: stateOf(livePolicy('audit'), snapshot, tree),
  };
  const initial = { enforce: { ...current.enforce }, audit: { ...current.audit } };
  let enforced = new Set([...current.enforce.accounts].filter((id) => inScope.has(id)));
  let audited = new Set([...current.audit.accounts].filter((id) => inScope.has(id) && !enforced.has(id)));

  const waves = rollout.waves.map((wave, waveIndex): PolicyWaveResult => {
    const reached = (input.waveAccounts[waveIndex] ?? []).filter((id) => inScope.has(id));
    const before = { audit: audited.size, enforce: enforced.size };
    if (wave.mode === 'audit') {
      audited = new Set([...audited, ...reached.filter((id) => !enforced.has(id))]);
    } else {
      enforced = new Set([...enforced, ...reached]);
      audited = new Set([...audited].filter((id) => !enforced.has(id)));
    }
    const steps: PlanStep[] = [];
    const move = { region, policy: spec.name, toAudit: Math.max(0, audited.size - before.audit), toEnforce: enforced.size - before.enforce };
    const stepBase = `${wave.name}.${region}.${input.policyIndex}-${slug(spec.name)}`;
    // The audit copy first: in a remediate wave it lets go of accounts before the enforcing policy takes them.
    const variants: { variant: PolicyVariant; accounts: Set<string>; write: boolean }[] = [
      { variant: 'audit', accounts: audited, write: true },
      // The enforcing policy changes only in remediate waves: audit waves never touch enforcement.
      { variant: 'enforce', accounts: enforced, write: wave.mode === 'remediate' },
    ];
    for (const { variant, accounts, write } of variants) {
      if (!write) continue;
      const state = current[variant];
      if (accounts.size === 0) {
        if (variant === 'audit' && state.spec) {
          steps.push({ kind: 'delete', id: `${stepBase}.audit.delete`, wave: wave.name, region, policy: spec.name, variant, name: names.audit });
          current.audit = { spec: undefined, accounts: new Set(), stale: false, unmodeled: [] };
        }
        continue;
      }
      const compressed = tree.compress(accounts, input.quotas);
      if (!compressed.ok) {
        problems.push({
          wave: wave.name,
          policy: names[variant],
          region,
          message: `wave ${wave.name}: the ${variant === 'audit' ? 'audit copy' : 'policy'} ${names[variant]} in ${region} would cover ${accounts.size} accounts that take ${compressed.orgUnits} whole OUs and ${compressed.accounts} single accounts, over the FMS limits of ${input.quotas?.orgUnits ?? 20} OUs and ${input.quotas?.accounts ?? 200} accounts per policy; target whole OUs in this wave`,
        });
        continue;
      }
      const desired = variantSpec(spec, names[variant], variant, compressed.scope);
      const differences = differencesFrom(desired, accounts, state);
      if (differences === 'create' || differences.length > 0) {
        steps.push({
          kind: 'put',
          id: `${stepBase}.${variant}.put`,
          wave: wave.name,
          region,
          policy: spec.name,
          variant,
          spec: desired,
          specRegion: input.specRegion,
          action: differences === 'create' ? 'create' : 'update',
          differences: differences === 'create' ? [] : differences,
          accounts: accounts.size,
        });
        current[variant] = { spec: desired, accounts: new Set(accounts), stale: false, unmodeled: [] };
      }
    }
    const checks: GateCheck[] = [];
    const enforcedReached = reached.filter((id) => enforced.has(id));
    const auditedReached = reached.filter((id) => audited.has(id));
    if (enforcedReached.length > 0) checks.push({ policy: spec.name, variant: 'enforce', name: names.enforce, accounts: enforcedReached });
    if (auditedReached.length > 0) checks.push({ policy: spec.name, variant: 'audit', name: names.audit, accounts: auditedReached });
    return { steps, checks, move };
  });

  const changes = [summarize(spec.name, names.enforce, 'enforce', region, initial.enforce, current.enforce)];
  // An audit copy that lives only during the rollout shows in its waves' steps, not here.
  if (initial.audit.spec || current.audit.spec) changes.push(summarize(spec.name, names.audit, 'audit', region, initial.audit, current.audit));
  const uncovered = [...inScope].filter((id) => !enforced.has(id)).length;
  if (uncovered > 0) {
    notes.push(`${spec.name} in ${region}: ${uncovered} in-scope account(s) are not reached by a remediate wave and stay ${audited.size > 0 ? 'in audit or ' : ''}unenforced`);
  }
  return { region, waves, changes, problems, notes };
}

/** A spec's scope as FMS states it (IncludeMap/ExcludeMap), for resolveFmsScope. */
export function toFmsScope(scope: PolicyScope | undefined) {
  const map = (part: PolicyScope['include']) => (part ? { ACCOUNT: part.accounts, ORG_UNIT: part.orgUnits } : undefined);
  return { IncludeMap: map(scope?.include), ExcludeMap: map(scope?.exclude) };
}

/** A live policy's state; ids its scope names that the organization no longer has make it stale. */
function stateOf(live: LivePolicy | undefined, snapshot: OrganizationSnapshot, tree: ScopeTree): PolicyState {
  if (!live) return { spec: undefined, accounts: new Set(), stale: false, unmodeled: [] };
  const known = new Set([...snapshot.accounts.map((account) => account.id), ...snapshot.ous.map((ou) => ou.id)]);
  const scope = live.spec.scope;
  const ids = [...(scope?.include?.accounts ?? []), ...(scope?.include?.orgUnits ?? []), ...(scope?.exclude?.accounts ?? []), ...(scope?.exclude?.orgUnits ?? [])];
  const stale = ids.some((id) => !known.has(id));
  const keep = (part: PolicyScope['include']) => part && { accounts: part.accounts.filter((id) => known.has(id)), orgUnits: part.orgUnits.filter((id) => known.has(id)) };
  const accounts = scope
    ? resolveFmsScope(snapshot, toFmsScope({ include: keep(scope.include), exclude: keep(scope.exclude) }), { includeManagement: tree.includeManagement })
    : [...tree.targets];
  return { spec: live.spec, accounts: new Set(accounts), stale, unmodeled: live.unmodeled };
}

function variantSpec(spec: PolicySpec, name: string, variant: PolicyVariant, scope: PolicyScope): PolicySpec {
  return { ...spec, name, remediation: variant === 'enforce', scope };
}

/**
 * How the desired policy differs from its current state. Scopes are compared by the accounts
 * they cover, so an equivalent IncludeMap spelled differently is not a change.
 */
function differencesFrom(desired: PolicySpec, accounts: ReadonlySet<string>, state: PolicyState): PolicyDifference[] | 'create' {
  if (!state.spec) return 'create';
  const sameAccounts = !state.stale && state.accounts.size === accounts.size && [...accounts].every((id) => state.accounts.has(id));
  const spec = sameAccounts ? { ...state.spec, scope: desired.scope } : state.spec;
  return diffPolicy(desired, { spec, unmodeled: state.unmodeled });
}

function summarize(policy: string, name: string, variant: PolicyVariant, region: string, first: PolicyState, last: PolicyState): PolicyChange {
  const base = { region, policy, variant, name, accountsBefore: first.accounts.size, accountsAfter: last.accounts.size };
  if (!first.spec && !last.spec) return { ...base, action: 'unchanged', differences: [], accountsBefore: 0, accountsAfter: 0 };
  if (!first.spec && last.spec) return { ...base, action: 'create', differences: [] };
  if (first.spec && !last.spec) return { ...base, action: 'delete', differences: [], accountsAfter: 0 };
  const differences = last.spec ? differencesFrom(last.spec, last.accounts, first) : [];
  if (differences === 'create' || differences.length === 0) return { ...base, action: 'unchanged', differences: [] };
  return { ...base, action: 'update', differences };
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
}

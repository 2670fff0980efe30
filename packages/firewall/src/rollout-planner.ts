import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { resolveFmsScope, resolveSelector, toleratedFailures, type AccountSelector, type OrganizationSnapshot } from '@orgshield/accounts';
import {
  apiRegionOf,
  diffPolicy,
  validatePolicies,
  type LivePolicy,
  type PolicyDifference,
  type PolicyScope,
  type PolicySpec,
  type UnmodeledSetting,
} from '@orgshield/policies';
import type {
  GateCheck,
  PlanProblem,
  PlanStep,
  PolicyChange,
  PolicyVariant,
  RolloutPlan,
  WavePlan,
} from './rollout-plan.js';
import type { Rollout } from './rollout-schema.js';
import { ScopeTree, type ScopeQuotas } from './target-compression.js';

/** What FMS holds in one region, as far as the plan needs it. */
export interface LiveRegion {
  /** API region. */
  region: string;
  /** Names of every policy there, the rollout's or not: they all count against the quota. */
  policyNames: string[];
  /** The rollout's own policies and audit copies, read back from GetPolicy. */
  policies: LivePolicy[];
}

export interface PlanInput {
  rollout: Rollout;
  /** The rollout's policy specs, in the rollout's order. */
  policies: readonly PolicySpec[];
  snapshot: OrganizationSnapshot;
  live: readonly LiveRegion[];
  quotas?: ScopeQuotas;
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
 * Plans a rollout: a pure function of the rollout, its policy specs, the organization and what
 * FMS holds now. Per policy and region, each account moves forward only (uncovered -> audit
 * copy -> enforcing policy): an audit wave adds its accounts to the audit copy, a remediate wave
 * moves them to the enforcing policy, and an account never sits in both, because within a wave
 * the audit copy is always written before the enforcing policy. Each write is one step; each
 * wave ends, per region, with a gate step.
 */
export function planRollout(input: PlanInput): RolloutPlan {
  const { rollout, snapshot } = input;
  const problems: PlanProblem[] = [];
  const notes: string[] = [];
  const includeManagement = rollout.scope.includeManagement === true;
  const tree = new ScopeTree(snapshot, includeManagement);

  const scope = new Set(select(snapshot, rollout.scope, (message) => problems.push({ message: `scope: ${message}` })));
  const waveAccounts = rollout.waves.map((wave) => {
    const targets: AccountSelector = { ...wave.targets, includeManagement: wave.targets.includeManagement ?? includeManagement };
    const picked = select(snapshot, targets, (message) => problems.push({ wave: wave.name, message: `wave ${wave.name} targets: ${message}` }));
    const outside = picked.filter((id) => !scope.has(id));
    if (outside.length > 0) notes.push(`wave ${wave.name}: ${outside.length} targeted account(s) are outside the rollout's scope and are left alone`);
    return picked.filter((id) => scope.has(id));
  });

  const regions = orderRegions(rollout, input.policies, problems);
  const live = new Map(input.live.map((region) => [region.region, region]));
  const policyScopes = input.policies.map((spec) => policyAccounts(spec, snapshot, scope, includeManagement, problems));

  // steps[wave][region]: the writes of that wave in that region, in order, then its gate.
  const steps: PlanStep[][][] = rollout.waves.map(() => regions.map(() => []));
  const gateChecks: GateCheck[][][] = rollout.waves.map(() => regions.map(() => []));
  const moves: WavePlan['moves'][] = rollout.waves.map(() => []);
  const changes: PolicyChange[] = [];

  input.policies.forEach((spec, policyIndex) => {
    const inScope = policyScopes[policyIndex] ?? new Set<string>();
    for (const specRegion of spec.regions) {
      const region = apiRegionOf(specRegion);
      const regionIndex = regions.indexOf(region);
      const names = { enforce: spec.name, audit: `${spec.name}${rollout.auditSuffix}` };
      const livePolicy = (variant: PolicyVariant) => live.get(region)?.policies.find((policy) => policy.spec.name === names[variant]);
      const current = {
        enforce: stateOf(livePolicy('enforce'), snapshot, tree),
        audit: stateOf(livePolicy('audit'), snapshot, tree),
      };
      const initial = { enforce: { ...current.enforce }, audit: { ...current.audit } };
      let enforced = new Set([...current.enforce.accounts].filter((id) => inScope.has(id)));
      let audited = new Set([...current.audit.accounts].filter((id) => inScope.has(id) && !enforced.has(id)));

      rollout.waves.forEach((wave, waveIndex) => {
        const reached = (waveAccounts[waveIndex] ?? []).filter((id) => inScope.has(id));
        const before = { audit: audited.size, enforce: enforced.size };
        if (wave.mode === 'audit') {
          audited = new Set([...audited, ...reached.filter((id) => !enforced.has(id))]);
        } else {
          enforced = new Set([...enforced, ...reached]);
          audited = new Set([...audited].filter((id) => !enforced.has(id)));
        }
        const bucket = steps[waveIndex]?.[regionIndex];
        if (!bucket) return;
        moves[waveIndex]?.push({ region, policy: spec.name, toAudit: Math.max(0, audited.size - before.audit), toEnforce: enforced.size - before.enforce });
        const stepBase = `${wave.name}.${region}.${policyIndex}-${slug(spec.name)}`;
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
              bucket.push({ kind: 'delete', id: `${stepBase}.audit.delete`, wave: wave.name, region, policy: spec.name, variant, name: names.audit });
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
            bucket.push({
              kind: 'put',
              id: `${stepBase}.${variant}.put`,
              wave: wave.name,
              region,
              policy: spec.name,
              variant,
              spec: desired,
              specRegion,
              action: differences === 'create' ? 'create' : 'update',
              differences: differences === 'create' ? [] : differences,
              accounts: accounts.size,
            });
            current[variant] = { spec: desired, accounts: new Set(accounts), stale: false, unmodeled: [] };
          }
        }
        const checks = gateChecks[waveIndex]?.[regionIndex];
        const enforcedReached = reached.filter((id) => enforced.has(id));
        const auditedReached = reached.filter((id) => audited.has(id));
        if (enforcedReached.length > 0) checks?.push({ policy: spec.name, variant: 'enforce', name: names.enforce, accounts: enforcedReached });
        if (auditedReached.length > 0) checks?.push({ policy: spec.name, variant: 'audit', name: names.audit, accounts: auditedReached });
      });

      changes.push(summarize(spec.name, names.enforce, 'enforce', region, initial.enforce, current.enforce));
      // An audit copy that lives only during the rollout shows in its waves' steps, not here.
      if (initial.audit.spec || current.audit.spec) changes.push(summarize(spec.name, names.audit, 'audit', region, initial.audit, current.audit));
      const uncovered = [...inScope].filter((id) => !enforced.has(id)).length;
      if (uncovered > 0) {
        notes.push(`${spec.name} in ${region}: ${uncovered} in-scope account(s) are not reached by a remediate wave and stay ${audited.size > 0 ? 'in audit or ' : ''}unenforced`);
      }
    }
  });

  problems.push(...quotaProblems(rollout, input.policies, input.live));

  const waves: WavePlan[] = rollout.waves.map((wave, index) => ({
    name: wave.name,
    mode: wave.mode,
    accounts: waveAccounts[index] ?? [],
    moves: moves[index] ?? [],
  }));
  const ordered: PlanStep[] = [];
  rollout.waves.forEach((wave, waveIndex) => {
    regions.forEach((region, regionIndex) => {
      ordered.push(...(steps[waveIndex]?.[regionIndex] ?? []));
      const checks = gateChecks[waveIndex]?.[regionIndex] ?? [];
      const reached = new Set(checks.flatMap((check) => check.accounts)).size;
      ordered.push({
        kind: 'gate',
        id: `${wave.name}.${region}.gate`,
        wave: wave.name,
        region,
        mode: wave.mode,
        checks,
        gates: wave.gates,
        soakTimeMs: wave.soakTime,
        toleratedFailures: toleratedFailures(rollout.regions.failureTolerance, reached),
      });
    });
  });

  return {
    rollout: rollout.name,
    regions,
    concurrency: rollout.regions.concurrency,
    failureTolerance: rollout.regions.failureTolerance,
    scopeAccounts: scope.size,
    policies: changes,
    waves,
    steps: ordered,
    problems,
    notes,
  };
}

/** The plan has problems: nothing was changed. */
export class RolloutPlanError extends OrgshieldError {
  readonly problems: readonly PlanProblem[];

  constructor(plan: Pick<RolloutPlan, 'rollout' | 'problems'>) {
    const [first] = plan.problems;
    const more = plan.problems.length > 1 ? ` (and ${plan.problems.length - 1} more)` : '';
    super('InvalidRolloutPlan', `rollout ${plan.rollout} cannot be applied: ${first?.message ?? 'the plan has problems'}${more}.`, { exitCode: EXIT_CODES.badInput });
    this.problems = plan.problems;
  }
}

function select(snapshot: OrganizationSnapshot, selector: AccountSelector, report: (message: string) => void): string[] {
  try {
    return resolveSelector(snapshot, selector);
  } catch (error) {
    if (error instanceof OrgshieldError) {
      report(error.message.replace(/\.$/, ''));
      return [];
    }
    throw error;
  }
}

/** Regions in the rollout's order, then the others in the order the policies name them. */
function orderRegions(rollout: Rollout, policies: readonly PolicySpec[], problems: PlanProblem[]): string[] {
  const used = [...new Set(policies.flatMap((spec) => spec.regions.map(apiRegionOf)))];
  for (const region of rollout.regions.order) {
    if (!used.includes(region)) problems.push({ region, message: `regions.order names ${region}, where none of the rollout's policies is deployed` });
  }
  return [...rollout.regions.order.filter((region) => used.includes(region)), ...used.filter((region) => !rollout.regions.order.includes(region))];
}

/** The rollout's scope narrowed by the policy's own scope, if its spec has one. */
function policyAccounts(
  spec: PolicySpec,
  snapshot: OrganizationSnapshot,
  scope: ReadonlySet<string>,
  includeManagement: boolean,
  problems: PlanProblem[],
): Set<string> {
  if (!spec.scope) return new Set(scope);
  try {
    const own = new Set(resolveFmsScope(snapshot, toFmsScope(spec.scope), { includeManagement }));
    return new Set([...scope].filter((id) => own.has(id)));
  } catch (error) {
    if (!(error instanceof OrgshieldError)) throw error;
    problems.push({ policy: spec.name, message: `policy ${spec.name} scope: ${error.message.replace(/\.$/, '')}` });
    return new Set();
  }
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

/**
 * The per-region policy quota, counting what else FMS holds there and both of each policy's
 * forms (the enforcing policy and, when the rollout audits, its audit copy).
 */
function quotaProblems(rollout: Rollout, policies: readonly PolicySpec[], live: readonly LiveRegion[]): PlanProblem[] {
  const auditUsed = rollout.waves.some((wave) => wave.mode === 'audit');
  const specs = auditUsed ? [...policies, ...policies.map((spec) => ({ ...spec, name: `${spec.name}${rollout.auditSuffix}` }))] : [...policies];
  const livePolicies = live.flatMap((region) => region.policyNames.map((name) => ({ region: region.region, name })));
  return validatePolicies(specs, { livePolicies })
    .filter((problem) => problem.fieldPath[0] === 'regions' || problem.fieldPath[0] === 'name')
    .map((problem) => ({ policy: problem.policy, region: problem.region, message: `policy ${problem.policy}: ${problem.message}` }));
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
}

import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { resolveFmsScope, resolveSelector, toleratedFailures, type AccountSelector, type OrganizationSnapshot } from '@orgshield/accounts';
import { apiRegionOf, validatePolicies, type LivePolicy, type PolicySpec } from '@orgshield/policies';
import { toFmsScope, walkPolicyThroughWaves } from './policy-wave-walk.js';
import { withOuIds } from './scope-paths.js';
import type { GateCheck, PlanProblem, PlanStep, PolicyChange, RolloutPlan, WavePlan } from './rollout-plan.js';
import type { Rollout } from './rollout-schema.js';
import { ScopeTree, type ScopeQuotas } from './target-compression.js';

export { toFmsScope } from './policy-wave-walk.js';

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

/**
 * Plans a rollout: a pure function of the rollout, its policy specs, the organization and what
 * FMS holds now. Each policy in each region is walked through the waves on its own
 * (policy-wave-walk.ts); this puts the walks together per wave and region, each wave ending,
 * per region, with a gate step.
 */
export function planRollout(planInput: PlanInput): RolloutPlan {
  const { rollout, snapshot } = planInput;
  const problems: PlanProblem[] = [];
  const notes: string[] = [];
  // Policy scopes may name OUs by path, as rollout files do: FMS takes ids.
  const input = {
    ...planInput,
    policies: planInput.policies.map((spec) => {
      const resolved = withOuIds(spec, snapshot);
      problems.push(...resolved.problems.map((message) => ({ policy: spec.name, message })));
      return resolved.spec;
    }),
  };
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

  const regions = orderRegions(rollout, input.policies, { problems, notes });
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
      // A region regions.only leaves out: the policy there is not this rollout's to change.
      if (regionIndex === -1) continue;
      const walk = walkPolicyThroughWaves({
        rollout,
        spec,
        policyIndex,
        specRegion,
        inScope,
        waveAccounts,
        livePolicies: live.get(region)?.policies ?? [],
        snapshot,
        tree,
        quotas: input.quotas,
      });
      walk.waves.forEach((wave, waveIndex) => {
        steps[waveIndex]?.[regionIndex]?.push(...wave.steps);
        gateChecks[waveIndex]?.[regionIndex]?.push(...wave.checks);
        moves[waveIndex]?.push(wave.move);
      });
      problems.push(...walk.problems);
      changes.push(...walk.changes);
      notes.push(...walk.notes);
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
      ordered.push(gateStep({ rollout, waveIndex, region, checks: gateChecks[waveIndex]?.[regionIndex] ?? [] }));
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

/** The gate that ends a wave in a region: what it checks, and how many failures it tolerates. */
function gateStep(options: { rollout: Rollout; waveIndex: number; region: string; checks: GateCheck[] }): PlanStep {
  const { rollout, region, checks } = options;
  const wave = rollout.waves[options.waveIndex];
  if (!wave) throw new Error(`no wave ${options.waveIndex}`);
  const reached = new Set(checks.flatMap((check) => check.accounts)).size;
  return {
    kind: 'gate',
    id: `${wave.name}.${region}.gate`,
    wave: wave.name,
    region,
    mode: wave.mode,
    checks,
    gates: wave.gates,
    soakTimeMs: wave.soakTime,
    toleratedFailures: toleratedFailures(rollout.regions.failureTolerance, reached),
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

/**
 * Regions in the rollout's order, then the others in the order the policies name them; with
 * `regions.only`, just those. Regions that come from the policy specs alone are named in a note:
 * a rollout reaching a region its file does not list should never be a surprise.
 */
function orderRegions(rollout: Rollout, policies: readonly PolicySpec[], report: { problems: PlanProblem[]; notes: string[] }): string[] {
  const { order, only } = rollout.regions;
  const deployed = [...new Set(policies.flatMap((spec) => spec.regions.map(apiRegionOf)))];
  for (const region of only ?? []) {
    if (!deployed.includes(region)) report.problems.push({ region, message: `regions.only names ${region}, where none of the rollout's policies is deployed` });
  }
  const used = only ? deployed.filter((region) => only.includes(region)) : deployed;
  for (const region of order) {
    if (only && !only.includes(region)) report.problems.push({ region, message: `regions.order names ${region}, which regions.only leaves out` });
    else if (!deployed.includes(region)) report.problems.push({ region, message: `regions.order names ${region}, where none of the rollout's policies is deployed` });
  }
  const fromSpecs = only ? [] : used.filter((region) => !order.includes(region));
  if (fromSpecs.length > 0) {
    report.notes.push(
      `region${fromSpecs.length === 1 ? '' : 's'} ${fromSpecs.join(', ')} ${fromSpecs.length === 1 ? 'comes' : 'come'} from the policy specs, not the rollout's regions.order; list the regions in regions.only to keep the rollout to them`,
    );
  }
  return [...order.filter((region) => used.includes(region)), ...used.filter((region) => !order.includes(region))];
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

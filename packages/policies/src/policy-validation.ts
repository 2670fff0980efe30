import { AWS_MANAGED_RULE_GROUP_CAPACITIES } from './aws-managed-rule-group-capacities.js';
import { renderManagedServiceData } from './managed-service-data.js';
import {
  apiRegionOf,
  GLOBAL_API_REGION,
  GLOBAL_REGION,
  PolicySpecSchema,
  RULE_GROUP_ARN,
  type PolicySpec,
  type PolicySpecInput,
  type RuleGroupRef,
  type WafPolicySpec,
} from './policy-spec-schema.js';
import { formatFieldPath, type FieldPath } from '@orgshield/spec-files';

/** Account-level FMS and WAF limits the checks use; each can be raised by the caller. */
export const DEFAULT_VALIDATION_LIMITS = {
  /** FMS policies per administrator account and region (global policies count in us-east-1). */
  policiesPerRegion: 20,
  /** WCU of a policy's first and last rule groups together (the web ACL's base price tier). */
  wcuBudget: 1500,
  /** FMS keeps ManagedServiceData under this many characters. */
  managedServiceDataLength: 8192,
} as const;

export interface ValidationContext {
  /** Policies FMS already holds, by API region, so the per-region count includes them. */
  livePolicies?: readonly { region: string; name: string }[];
  limits?: Partial<Record<keyof typeof DEFAULT_VALIDATION_LIMITS, number>>;
  /** WCU of rule groups the table does not know, by capacityKey (see collectRuleGroupCapacities). */
  ruleGroupCapacities?: ReadonlyMap<string, number>;
}

export interface ValidationProblem {
  /** Index of the spec in the list given, and its name when it has one. */
  index: number;
  policy: string;
  /** Field path in the spec; `fieldPath` is the same path unformatted, for locating it in a file. */
  path: string;
  fieldPath: FieldPath;
  /** The region the problem is about, when it is about one. */
  region?: string;
  message: string;
}

/**
 * Everything that would make FMS refuse (or quietly misapply) the given policies, found before
 * any call is made. Pure: the caller passes what it knows of the account (live policies, rule
 * group capacities). Specs are checked against the schema first, so specs built in code get
 * the same per-field checks as spec files.
 */
export function validatePolicies(specs: readonly (PolicySpec | PolicySpecInput)[], context: ValidationContext = {}): ValidationProblem[] {
  const limits = { ...DEFAULT_VALIDATION_LIMITS, ...context.limits };
  const problems: ValidationProblem[] = [];
  const valid: { index: number; spec: PolicySpec }[] = [];
  specs.forEach((input, index) => {
    const parsed = PolicySpecSchema.safeParse(input);
    const policy = typeof (input as { name?: unknown }).name === 'string' ? (input as { name: string }).name : `#${index + 1}`;
    if (parsed.success) valid.push({ index, spec: parsed.data });
    else for (const issue of parsed.error.issues) problems.push(problem(index, policy, issue.path, issue.message));
  });

  for (const { index, spec } of valid) {
    const at = (path: FieldPath, message: string, region?: string) => problems.push(problem(index, spec.name, path, message, region));
    const serviceData = renderManagedServiceData(spec) ?? '';
    if (serviceData.length >= limits.managedServiceDataLength) {
      at([], `its ManagedServiceData would be ${serviceData.length} characters, and FMS takes fewer than ${limits.managedServiceDataLength}; use fewer rule groups, excluded rules or overrides`);
    }
    if (spec.type === 'WAFV2') {
      checkCapacity(spec, limits.wcuBudget, context.ruleGroupCapacities, at);
      checkOwnRuleGroupRegions(spec, at);
    }
  }
  checkRegionQuota(valid, context.livePolicies ?? [], limits.policiesPerRegion, problems);
  return problems;
}

function problem(index: number, policy: string, path: FieldPath, message: string, region?: string): ValidationProblem {
  return { index, policy, path: formatFieldPath(path), fieldPath: path, region, message };
}

type Report = (path: FieldPath, message: string, region?: string) => void;

/** The key a rule group's capacity is known by: its ARN, or vendor:name[:version]. */
export function capacityKey(group: RuleGroupRef): string {
  if (group.ruleGroupArn) return group.ruleGroupArn;
  const managed = group.managedRuleGroup;
  return [managed?.vendor, managed?.name, managed?.version].filter(Boolean).join(':');
}

/** WCU of a rule group: the spec's own figure, then the caller's, then the AWS table. */
export function ruleGroupCapacity(group: RuleGroupRef, known?: ReadonlyMap<string, number>): number | undefined {
  if (group.capacity !== undefined) return group.capacity;
  const fromCaller = known?.get(capacityKey(group));
  if (fromCaller !== undefined) return fromCaller;
  const managed = group.managedRuleGroup;
  return managed?.vendor === 'AWS' ? AWS_MANAGED_RULE_GROUP_CAPACITIES[managed.name] : undefined;
}

function checkCapacity(spec: WafPolicySpec, budget: number, known: ReadonlyMap<string, number> | undefined, at: Report): void {
  let total = 0;
  let unknown = false;
  for (const list of ['firstRuleGroups', 'lastRuleGroups'] as const) {
    spec.rules[list].forEach((group, index) => {
      const capacity = ruleGroupCapacity(group, known);
      if (capacity === undefined) {
        unknown = true;
        at(['rules', list, index], `the WCU of ${capacityKey(group)} is unknown; state its capacity, or look it up with WAFV2 CheckCapacity`);
      } else {
        total += capacity;
      }
    });
  }
  if (!unknown && total > budget) {
    at(['rules'], `the first and last rule groups need ${total} WCU, over the budget of ${budget}; drop a rule group or raise the budget`);
  }
}

/** A rule group of your own lives in one region (or, for CloudFront, is global in us-east-1). */
function checkOwnRuleGroupRegions(spec: WafPolicySpec, at: Report): void {
  for (const list of ['firstRuleGroups', 'lastRuleGroups'] as const) {
    spec.rules[list].forEach((group, index) => {
      const match = group.ruleGroupArn ? RULE_GROUP_ARN.exec(group.ruleGroupArn) : null;
      if (!match) return;
      const [, arnRegion, , scope] = match;
      for (const region of spec.regions) {
        const expected = region === GLOBAL_REGION ? { scope: 'global', region: GLOBAL_API_REGION } : { scope: 'regional', region };
        if (scope !== expected.scope || arnRegion !== expected.region) {
          at(
            ['rules', list, index, 'ruleGroupArn'],
            `the policy in ${region} needs a ${expected.scope} rule group in ${expected.region}, but this one is ${scope} in ${arnRegion}`,
            region,
          );
        }
      }
    });
  }
}

function checkRegionQuota(
  valid: readonly { index: number; spec: PolicySpec }[],
  livePolicies: readonly { region: string; name: string }[],
  maximum: number,
  problems: ValidationProblem[],
): void {
  const byRegion = new Map<string, { live: Set<string>; specs: { index: number; spec: PolicySpec; region: string }[] }>();
  const entry = (region: string) => {
    let value = byRegion.get(region);
    if (!value) byRegion.set(region, (value = { live: new Set(), specs: [] }));
    return value;
  };
  for (const policy of livePolicies) entry(policy.region).live.add(policy.name);
  for (const { index, spec } of valid) for (const region of spec.regions) entry(apiRegionOf(region)).specs.push({ index, spec, region });

  for (const [apiRegion, { live, specs }] of byRegion) {
    const seen = new Map<string, number>();
    for (const { index, spec, region } of specs) {
      const first = seen.get(spec.name);
      if (first !== undefined) {
        problems.push(problem(index, spec.name, ['name'], `policy #${first + 1} has the same name in ${apiRegion}; names identify policies, so each must be unique per region`, region));
      } else {
        seen.set(spec.name, index);
      }
    }
    const added = [...seen.keys()].filter((name) => !live.has(name));
    const total = live.size + added.length;
    if (total <= maximum) continue;
    for (const { index, spec, region } of specs) {
      if (live.has(spec.name) || seen.get(spec.name) !== index) continue;
      problems.push(
        problem(
          index,
          spec.name,
          ['regions'],
          `${apiRegion} would hold ${total} Firewall Manager policies (${live.size} there now, ${added.length} new) but FMS allows ${maximum} per region${apiRegion === GLOBAL_API_REGION ? ', global ones included' : ''}`,
          region,
        ),
      );
    }
  }
}

export interface CapacityCheckRequest {
  group: RuleGroupRef;
  /** WAFV2 scope and region to ask CheckCapacity in. */
  scope: 'REGIONAL' | 'CLOUDFRONT';
  region: string;
}

/**
 * Asks the caller's `checkCapacity` (WAFV2 CheckCapacity with a rule group reference) for the
 * WCU of every rule group neither the spec nor the AWS table knows, once per group, and returns
 * them by capacityKey for validatePolicies.
 */
export async function collectRuleGroupCapacities(
  specs: readonly PolicySpec[],
  checkCapacity: (request: CapacityCheckRequest) => Promise<number>,
): Promise<Map<string, number>> {
  const capacities = new Map<string, number>();
  for (const spec of specs) {
    if (spec.type !== 'WAFV2') continue;
    const [region] = spec.regions;
    if (region === undefined) continue;
    for (const group of [...spec.rules.firstRuleGroups, ...spec.rules.lastRuleGroups]) {
      const key = capacityKey(group);
      if (capacities.has(key) || ruleGroupCapacity(group) !== undefined) continue;
      const scope = region === GLOBAL_REGION ? 'CLOUDFRONT' : 'REGIONAL';
      capacities.set(key, await checkCapacity({ group, scope, region: apiRegionOf(region) }));
    }
  }
  return capacities;
}

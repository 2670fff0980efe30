import type { LivePolicy } from './live-policy-parse.js';
import type { PolicySpec, RuleGroupRef } from './policy-spec-schema.js';
import { formatFieldPath, type FieldPath } from '@orgshield/spec-files';

/** One semantic difference: `from` is what FMS has, `to` what the spec wants (null: not set). */
export interface PolicyDifference {
  path: string;
  from: unknown;
  to: unknown;
}

/**
 * What applying `desired` would change in the live policy, field by field. Both sides are
 * compared in a canonical form: lists that FMS treats as sets (resource types, tags, scope
 * ids, excluded rules, overrides, redacted fields) compare as sets, absent and default compare
 * equal, and the order of rule groups (their priority) counts. Regions are not compared (a
 * live policy is one region's; placing policies in regions is the planner's business), nor is
 * `capacity` (it never reaches FMS). Settings only the live policy has are drift too.
 */
export function diffPolicy(desired: PolicySpec, live: LivePolicy): PolicyDifference[] {
  const differences: PolicyDifference[] = [];
  compare(canonical(live.spec), canonical(desired), [], differences);
  for (const setting of live.unmodeled) differences.push({ path: setting.path, from: setting.value, to: null });
  return differences;
}

/** Fields whose lists compare as a whole, since their order means nothing to FMS. */
const SET_FIELDS = new Set(['resourceTypes', 'tags', 'accounts', 'orgUnits', 'excludedRules', 'ruleActionOverrides', 'redactedFields']);

function compare(from: unknown, to: unknown, path: FieldPath, out: PolicyDifference[]): void {
  const last = path[path.length - 1];
  if (Array.isArray(from) && Array.isArray(to) && !(typeof last === 'string' && SET_FIELDS.has(last))) {
    for (let index = 0; index < Math.max(from.length, to.length); index++) compare(from[index] ?? null, to[index] ?? null, [...path, index], out);
    return;
  }
  if (isRecord(from) && isRecord(to)) {
    for (const key of new Set([...Object.keys(to), ...Object.keys(from)])) compare(from[key] ?? null, to[key] ?? null, [...path, key], out);
    return;
  }
  if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ path: formatFieldPath(path), from, to });
}

function canonical(spec: PolicySpec): Record<string, unknown> {
  const common = {
    name: spec.name,
    description: spec.description ?? null,
    type: spec.type,
    resourceTypes: [...spec.resourceTypes].sort(),
    resourceTags: spec.resourceTags
      ? { match: spec.resourceTags.match, operator: spec.resourceTags.operator, tags: sortedBy(spec.resourceTags.tags, (tag) => `${tag.key}\0${tag.value}`) }
      : null,
    scope: {
      include: canonicalScopeMap(spec.scope?.include),
      exclude: canonicalScopeMap(spec.scope?.exclude),
    },
    remediation: spec.remediation,
  };
  if (spec.type === 'SHIELD_ADVANCED') return { ...common, automaticResponse: spec.automaticResponse };
  return {
    ...common,
    rules: {
      defaultAction: spec.rules.defaultAction,
      firstRuleGroups: spec.rules.firstRuleGroups.map(canonicalRuleGroup),
      lastRuleGroups: spec.rules.lastRuleGroups.map(canonicalRuleGroup),
    },
    logging: spec.logging
      ? { destination: spec.logging.destination, redactedFields: sortedBy(spec.logging.redactedFields, (field) => `${field.type}\0${field.name ?? ''}`) }
      : null,
    overrideCustomerWebACLAssociation: spec.overrideCustomerWebACLAssociation,
    webACLSource: spec.webACLSource ?? null,
  };
}

function canonicalRuleGroup(group: RuleGroupRef): Record<string, unknown> {
  return {
    managedRuleGroup: group.managedRuleGroup
      ? { vendor: group.managedRuleGroup.vendor, name: group.managedRuleGroup.name, version: group.managedRuleGroup.version ?? null }
      : null,
    ruleGroupArn: group.ruleGroupArn ?? null,
    override: group.override,
    excludedRules: [...group.excludedRules].sort(),
    ruleActionOverrides: sortedBy(group.ruleActionOverrides, (override) => override.name),
  };
}

function canonicalScopeMap(map: { accounts: string[]; orgUnits: string[] } | undefined): Record<string, unknown> | null {
  if (!map || (map.accounts.length === 0 && map.orgUnits.length === 0)) return null;
  return { accounts: [...map.accounts].sort(), orgUnits: [...map.orgUnits].sort() };
}

function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

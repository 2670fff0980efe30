import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeLikeFms } from '../test/normalize-like-fms.js';
import { policySpecArbitrary } from '../test/policy-spec-arbitrary.js';
import { parseLivePolicy, type LivePolicy } from './live-policy-parse.js';
import { diffPolicy } from './policy-diff.js';
import { apiRegionOf, PolicySpecSchema, type PolicySpec, type RuleGroupRef, type WafPolicySpec } from './policy-spec-schema.js';
import { renderPutPolicy } from './put-policy-render.js';

/** The spec as FMS would hold it after orgshield applied it in the spec's first region. */
function appliedLive(spec: PolicySpec): LivePolicy {
  const region = spec.regions[0] ?? 'us-east-1';
  const live = normalizeLikeFms(renderPutPolicy(spec, { region }), apiRegionOf(region));
  return parseLivePolicy(live, { region: apiRegionOf(region) });
}

type Mutation = (spec: PolicySpec) => PolicySpec | undefined;

const waf = (change: (spec: WafPolicySpec) => WafPolicySpec | undefined): Mutation => (spec) => (spec.type === 'WAFV2' ? change(spec) : undefined);
const withFirstGroup = (change: (group: RuleGroupRef) => RuleGroupRef | undefined): Mutation =>
  waf((spec) => {
    const [first, ...rest] = spec.rules.firstRuleGroups;
    const changed = first && change(first);
    return changed && { ...spec, rules: { ...spec.rules, firstRuleGroups: [changed, ...rest] } };
  });
const withManagedFirstGroup = (change: (group: RuleGroupRef, managed: NonNullable<RuleGroupRef['managedRuleGroup']>) => RuleGroupRef): Mutation =>
  withFirstGroup((group) => (group.managedRuleGroup ? change(group, group.managedRuleGroup) : undefined));

/** Each changes one semantic field of a spec (or does not apply to it). */
const MUTATIONS: Record<string, Mutation> = {
  name: (spec) => ({ ...spec, name: `${spec.name}x` }),
  description: (spec) => ({ ...spec, description: spec.description === undefined ? 'now described' : undefined }),
  remediation: (spec) => ({ ...spec, remediation: !spec.remediation }),
  'resourceTags added or removed': (spec) =>
    ({ ...spec, resourceTags: spec.resourceTags ? undefined : { match: 'include', operator: 'AND', tags: [{ key: 'team', value: 'web' }] } }),
  'resourceTags.match': (spec) =>
    spec.resourceTags && { ...spec, resourceTags: { ...spec.resourceTags, match: spec.resourceTags.match === 'include' ? 'exclude' : 'include' } },
  'resourceTags.operator': (spec) =>
    spec.resourceTags && { ...spec, resourceTags: { ...spec.resourceTags, operator: spec.resourceTags.operator === 'AND' ? 'OR' : 'AND' } },
  'resourceTags.tags value': (spec) => {
    const [first, ...rest] = spec.resourceTags?.tags ?? [];
    if (!spec.resourceTags || !first || rest.some((tag) => tag.key === first.key && tag.value === `${first.value}z`)) return undefined;
    return { ...spec, resourceTags: { ...spec.resourceTags, tags: [{ ...first, value: `${first.value}z` }, ...rest] } };
  },
  'scope added or removed': (spec) => ({ ...spec, scope: spec.scope ? undefined : { include: { accounts: ['999999999999'], orgUnits: [] } } }),
  'scope include becomes exclude': (spec) => (spec.scope?.include ? { ...spec, scope: { exclude: spec.scope.include } } : undefined),
  'scope account added': (spec) => {
    const map = spec.scope?.include ?? spec.scope?.exclude;
    if (!map || map.accounts.includes('999999999999')) return undefined;
    const grown = { ...map, accounts: [...map.accounts, '999999999999'] };
    return { ...spec, scope: spec.scope?.include ? { include: grown } : { exclude: grown } };
  },
  'resourceTypes changed': (spec) => {
    if (spec.regions.includes('global')) return undefined;
    if (spec.type === 'WAFV2') {
      return { ...spec, resourceTypes: spec.resourceTypes.length === 2 ? ['alb'] : spec.resourceTypes.includes('alb') ? ['alb', 'api-gateway-stage'] : ['alb'] };
    }
    return { ...spec, resourceTypes: spec.resourceTypes.includes('eip') ? (spec.resourceTypes.length > 1 ? spec.resourceTypes.filter((type) => type !== 'eip') : ['alb']) : [...spec.resourceTypes, 'eip'] };
  },
  automaticResponse: (spec) =>
    spec.type === 'SHIELD_ADVANCED' && spec.resourceTypes.includes('cloudfront')
      ? { ...spec, automaticResponse: spec.automaticResponse === 'block' ? 'count' : 'block' }
      : undefined,
  defaultAction: waf((spec) => ({ ...spec, rules: { ...spec.rules, defaultAction: spec.rules.defaultAction === 'ALLOW' ? 'BLOCK' : 'ALLOW' } })),
  overrideCustomerWebACLAssociation: waf((spec) => ({ ...spec, overrideCustomerWebACLAssociation: !spec.overrideCustomerWebACLAssociation })),
  webACLSource: waf((spec) => ({ ...spec, webACLSource: spec.webACLSource ? undefined : 'RETROFIT_EXISTING' })),
  'logging added or removed': waf((spec) => ({
    ...spec,
    logging: spec.logging ? undefined : { destination: 'arn:aws:s3:::aws-waf-logs-new', redactedFields: [] },
  })),
  'logging destination': waf((spec) => spec.logging && { ...spec, logging: { ...spec.logging, destination: `${spec.logging.destination}-2` } }),
  'logging redacted field': waf((spec) =>
    spec.logging && !spec.logging.redactedFields.some((field) => field.type === 'SingleHeader' && field.name === 'x-new')
      ? { ...spec, logging: { ...spec.logging, redactedFields: [...spec.logging.redactedFields, { type: 'SingleHeader', name: 'x-new' }] } }
      : undefined,
  ),
  'first group override': withFirstGroup((group) => ({ ...group, override: group.override === 'NONE' ? 'COUNT' : 'NONE' })),
  'first group version': withManagedFirstGroup((group, managed) => ({
    ...group,
    managedRuleGroup: { ...managed, version: managed.version === undefined ? 'Version_9.9' : undefined },
  })),
  'first group vendor': withManagedFirstGroup((group, managed) => ({ ...group, managedRuleGroup: { ...managed, vendor: `${managed.vendor}x` } })),
  'first group excluded rule': withManagedFirstGroup((group) =>
    group.excludedRules.includes('NewRule_X') ? { ...group, excludedRules: group.excludedRules.filter((rule) => rule !== 'NewRule_X') } : { ...group, excludedRules: [...group.excludedRules, 'NewRule_X'] },
  ),
  'first group rule action override': withManagedFirstGroup((group) => {
    const [first, ...rest] = group.ruleActionOverrides;
    return first
      ? { ...group, ruleActionOverrides: [{ ...first, action: first.action === 'count' ? 'block' : 'count' }, ...rest] }
      : { ...group, ruleActionOverrides: [{ name: 'NoUserAgent_HEADER', action: 'count' }] };
  }),
  'rule group order': waf((spec) => {
    const [a, b, ...rest] = spec.rules.firstRuleGroups;
    return a && b ? { ...spec, rules: { ...spec.rules, firstRuleGroups: [b, a, ...rest] } } : undefined;
  }),
  'rule group moved from first to last': waf((spec) => {
    const [first, ...rest] = spec.rules.firstRuleGroups;
    return first && { ...spec, rules: { ...spec.rules, firstRuleGroups: rest, lastRuleGroups: [first, ...spec.rules.lastRuleGroups] } };
  }),
  'rule group added': waf((spec) => {
    const all = [...spec.rules.firstRuleGroups, ...spec.rules.lastRuleGroups];
    if (all.some((group) => group.managedRuleGroup?.name === 'AWSManagedRulesAnonymousIpList' && group.managedRuleGroup.vendor === 'AWS')) return undefined;
    const added: RuleGroupRef = { managedRuleGroup: { vendor: 'AWS', name: 'AWSManagedRulesAnonymousIpList' }, override: 'NONE', excludedRules: [], ruleActionOverrides: [] };
    return { ...spec, rules: { ...spec.rules, lastRuleGroups: [...spec.rules.lastRuleGroups, added] } };
  }),
};

describe('diffPolicy', () => {
  it('finds nothing between a spec and the policy FMS holds after applying it', () => {
    fc.assert(
      fc.property(policySpecArbitrary, (spec) => {
        expect(diffPolicy(spec, appliedLive(spec))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('detects any single changed field', () => {
    const applied = new Set<string>();
    fc.assert(
      fc.property(policySpecArbitrary, (spec) => {
        const live = appliedLive(spec);
        for (const [name, mutate] of Object.entries(MUTATIONS)) {
          const changed = mutate(spec);
          if (changed === undefined) continue;
          applied.add(name);
          const differences = diffPolicy(PolicySpecSchema.parse(changed), live);
          expect(differences, name).not.toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
    // Every mutation applied to some spec, so no field went untested.
    expect([...applied].sort()).toEqual(Object.keys(MUTATIONS).sort());
  });

  it('says which field changed, from the live value to the desired one', () => {
    const spec = PolicySpecSchema.parse({
      type: 'WAFV2',
      name: 'baseline',
      resourceTypes: ['alb'],
      regions: ['eu-west-1'],
      scope: { include: { accounts: ['111122223333', '222233334444'] } },
      rules: { defaultAction: 'ALLOW', firstRuleGroups: [{ managedRuleGroup: { name: 'AWSManagedRulesCommonRuleSet' }, override: 'COUNT' }] },
    });
    if (spec.type !== 'WAFV2') throw new Error('the example is a WAF policy');
    const live = appliedLive(spec);
    const desired = PolicySpecSchema.parse({
      ...spec,
      scope: { include: { accounts: ['222233334444', '111122223333'] } },
      rules: { ...spec.rules, firstRuleGroups: [{ ...spec.rules.firstRuleGroups[0], override: 'NONE' }] },
    });
    expect(diffPolicy(desired, live)).toEqual([{ path: 'rules.firstRuleGroups[0].override', from: 'COUNT', to: 'NONE' }]);
  });

  it('reports live settings a spec cannot express as drift back to the default', () => {
    const spec = PolicySpecSchema.parse({ type: 'SHIELD_ADVANCED', name: 'edge', resourceTypes: ['cloudfront'], regions: ['global'] });
    const live = appliedLive(spec);
    expect(diffPolicy(spec, { ...live, unmodeled: [{ path: 'DeleteUnusedFMManagedResources', value: true }] })).toEqual([
      { path: 'DeleteUnusedFMManagedResources', from: true, to: null },
    ]);
  });
});

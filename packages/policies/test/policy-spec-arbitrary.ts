import fc from 'fast-check';
import { AWS_MANAGED_RULE_GROUP_CAPACITIES } from '../src/aws-managed-rule-group-capacities.js';
import { PolicySpecSchema, type PolicySpec, type RuleGroupRef } from '../src/policy-spec-schema.js';

/**
 * fast-check arbitraries for valid policy specs (the schema's output form, defaults filled in).
 * Every generated value is run through the schema, so a generator bug fails loudly instead of
 * testing something that is not a spec.
 */

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1'] as const;
const word = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,11}$/);
const text = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _.:=+@-]{0,30}$/);
const accountId = fc.stringMatching(/^\d{12}$/);
const orgUnitId = fc.tuple(fc.stringMatching(/^[a-z0-9]{4}$/), fc.stringMatching(/^[a-z0-9]{8}$/)).map(([a, b]) => `ou-${a}-${b}`);

const resourceTags = fc.record({
  match: fc.constantFrom('include' as const, 'exclude' as const),
  operator: fc.constantFrom('AND' as const, 'OR' as const),
  tags: fc.uniqueArray(fc.record({ key: word, value: fc.oneof(fc.constant(''), word) }), {
    minLength: 1,
    maxLength: 8,
    selector: (tag) => `${tag.key}=${tag.value}`,
  }),
});

const scopeMap = fc
  .record({
    accounts: fc.uniqueArray(accountId, { maxLength: 5 }),
    orgUnits: fc.uniqueArray(orgUnitId, { maxLength: 3 }),
  })
  .filter((map) => map.accounts.length + map.orgUnits.length > 0);

const scope = fc.oneof(scopeMap.map((include) => ({ include })), scopeMap.map((exclude) => ({ exclude })));

const managedName = fc.oneof(fc.constantFrom(...Object.keys(AWS_MANAGED_RULE_GROUP_CAPACITIES)), word);

function ruleGroup(arnScope: { scope: 'regional' | 'global'; region: string }): fc.Arbitrary<RuleGroupRef> {
  const managed = fc.record(
    {
      managedRuleGroup: fc.record(
        {
          vendor: fc.oneof(fc.constant('AWS'), word),
          name: managedName,
          version: fc.stringMatching(/^Version_\d\.\d{1,2}$/),
        },
        { requiredKeys: ['vendor', 'name'] },
      ),
      override: fc.constantFrom('NONE' as const, 'COUNT' as const),
      excludedRules: fc.uniqueArray(word, { maxLength: 3 }),
      ruleActionOverrides: fc.uniqueArray(
        fc.record({ name: word, action: fc.constantFrom('allow' as const, 'block' as const, 'count' as const, 'captcha' as const, 'challenge' as const) }),
        { maxLength: 3, selector: (override) => override.name },
      ),
      capacity: fc.integer({ min: 1, max: 300 }),
    },
    { requiredKeys: ['managedRuleGroup', 'override', 'excludedRules', 'ruleActionOverrides'] },
  );
  const own = fc.record(
    {
      ruleGroupArn: fc
        .tuple(word, fc.stringMatching(/^[a-f0-9]{8}$/))
        .map(([name, id]) => `arn:aws:wafv2:${arnScope.region}:111122223333:${arnScope.scope}/rulegroup/${name}/${id}`),
      override: fc.constantFrom('NONE' as const, 'COUNT' as const),
      excludedRules: fc.constant([] as string[]),
      ruleActionOverrides: fc.constant([] as RuleGroupRef['ruleActionOverrides']),
      capacity: fc.integer({ min: 1, max: 300 }),
    },
    { requiredKeys: ['ruleGroupArn', 'override', 'excludedRules', 'ruleActionOverrides'] },
  );
  return fc.oneof(managed, own);
}

function ruleGroupIdentity(group: RuleGroupRef): string {
  return group.ruleGroupArn ?? `${group.managedRuleGroup?.vendor}/${group.managedRuleGroup?.name}`;
}

const logging = fc.record({
  destination: fc.oneof(
    word.map((name) => `arn:aws:s3:::aws-waf-logs-${name.toLowerCase()}`),
    word.map((name) => `arn:aws:firehose:us-east-1:111122223333:deliverystream/aws-waf-logs-${name}`),
  ),
  redactedFields: fc.uniqueArray(
    fc.oneof(
      fc.constantFrom({ type: 'Method' as const }, { type: 'QueryString' as const }, { type: 'UriPath' as const }),
      word.map((name) => ({ type: 'SingleHeader' as const, name: name.toLowerCase() })),
    ),
    { maxLength: 3, selector: (field) => `${field.type}:${'name' in field ? field.name : ''}` },
  ),
});

/** Where a spec lives: one global (CloudFront) policy, or regional ones. */
const placement = fc.oneof(
  fc.constant({ regions: ['global'], global: true }),
  fc.uniqueArray(fc.constantFrom(...REGIONS), { minLength: 1, maxLength: 3 }).map((regions) => ({ regions, global: false })),
);

const common = {
  name: text,
  description: text,
  resourceTags,
  scope,
  remediation: fc.boolean(),
};

const wafSpec = placement.chain(({ regions, global }) => {
  // A rule group of your own must be in the policy's (single) region.
  const [firstRegion] = regions;
  const ownScope = global ? { scope: 'global' as const, region: 'us-east-1' } : { scope: 'regional' as const, region: firstRegion ?? 'us-east-1' };
  const groups = fc
    .uniqueArray(regions.length > 1 ? ruleGroup(ownScope).filter((group) => !group.ruleGroupArn) : ruleGroup(ownScope), {
      maxLength: 6,
      selector: ruleGroupIdentity,
    })
    .chain((all) => fc.integer({ min: 0, max: all.length }).map((cut) => ({ first: all.slice(0, cut), last: all.slice(cut) })));
  return fc.record(
    {
      type: fc.constant('WAFV2' as const),
      ...common,
      regions: fc.constant(regions),
      resourceTypes: global
        ? fc.constant(['cloudfront' as const])
        : fc.uniqueArray(fc.constantFrom('alb' as const, 'api-gateway-stage' as const), { minLength: 1, maxLength: 2 }),
      rules: fc.record({
        defaultAction: fc.constantFrom('ALLOW' as const, 'BLOCK' as const),
        groups,
      }).map(({ defaultAction, groups: { first, last } }) => ({ defaultAction, firstRuleGroups: first, lastRuleGroups: last })),
      logging,
      overrideCustomerWebACLAssociation: fc.boolean(),
      webACLSource: fc.constant('RETROFIT_EXISTING' as const),
    },
    { requiredKeys: ['type', 'name', 'regions', 'resourceTypes', 'rules', 'remediation', 'overrideCustomerWebACLAssociation'] },
  );
});

const shieldSpec = placement.chain(({ regions, global }) =>
  fc.record(
    {
      type: fc.constant('SHIELD_ADVANCED' as const),
      ...common,
      regions: fc.constant(regions),
      resourceTypes: global
        ? fc.constant(['cloudfront' as const])
        : fc.uniqueArray(fc.constantFrom('alb' as const, 'classic-elb' as const, 'eip' as const), { minLength: 1, maxLength: 3 }),
      automaticResponse: global ? fc.constantFrom('ignored' as const, 'count' as const, 'block' as const) : fc.constant('ignored' as const),
    },
    { requiredKeys: ['type', 'name', 'regions', 'resourceTypes', 'remediation', 'automaticResponse'] },
  ),
);

export const policySpecArbitrary: fc.Arbitrary<PolicySpec> = fc.oneof(wafSpec, shieldSpec).map((candidate) => PolicySpecSchema.parse(candidate));

/** The spec as FMS can hold it: `capacity` is orgshield's own note and never reaches FMS. */
export function withoutCapacities(spec: PolicySpec): PolicySpec {
  if (spec.type !== 'WAFV2') return spec;
  const strip = (groups: RuleGroupRef[]) => groups.map(({ capacity: _capacity, ...group }) => group);
  return { ...spec, rules: { ...spec.rules, firstRuleGroups: strip(spec.rules.firstRuleGroups), lastRuleGroups: strip(spec.rules.lastRuleGroups) } };
}

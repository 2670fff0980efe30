import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePolicyFiles } from './policy-file-validation.js';
import { formatSpecProblem } from '@orgshield/spec-files';
import type { PolicySpecInput } from './policy-spec-schema.js';
import { capacityKey, collectRuleGroupCapacities, validatePolicies, type ValidationProblem } from './policy-validation.js';

const managed = (name: string) => ({ managedRuleGroup: { name } });

function waf(name: string, overrides: Partial<Extract<PolicySpecInput, { type: 'WAFV2' }>> = {}): PolicySpecInput {
  return { type: 'WAFV2', name, resourceTypes: ['alb'], regions: ['eu-west-1'], rules: { defaultAction: 'ALLOW' }, ...overrides };
}

const summary = (problems: ValidationProblem[]) => problems.map((problem) => `${problem.policy} ${problem.path}: ${problem.message}`);

describe('validatePolicies', () => {
  it('accepts policies within every limit', () => {
    expect(
      validatePolicies([
        waf('a', { rules: { defaultAction: 'ALLOW', firstRuleGroups: [managed('AWSManagedRulesCommonRuleSet'), managed('AWSManagedRulesSQLiRuleSet')] } }),
        { type: 'SHIELD_ADVANCED', name: 'b', resourceTypes: ['cloudfront'], regions: ['global'], automaticResponse: 'block' },
      ]),
    ).toEqual([]);
  });

  it('holds the WCU budget of first and last rule groups, from the AWS table and the spec', () => {
    const groups = ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesSQLiRuleSet', 'AWSManagedRulesLinuxRuleSet'];
    const spec = waf('heavy', {
      rules: {
        defaultAction: 'ALLOW',
        firstRuleGroups: groups.map(managed),
        lastRuleGroups: [{ ruleGroupArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/mine/abc', capacity: 201 }],
      },
    });
    expect(summary(validatePolicies([spec]))).toEqual([
      'heavy rules: the first and last rule groups need 1501 WCU, over the budget of 1500; drop a rule group or raise the budget',
    ]);
    expect(validatePolicies([spec], { limits: { wcuBudget: 1600 } })).toEqual([]);
  });

  it('asks for the capacity of rule groups it cannot look up, and takes it from the caller', () => {
    const arn = 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/mine/abc';
    const spec = waf('own', { rules: { defaultAction: 'ALLOW', firstRuleGroups: [{ ruleGroupArn: arn }, { managedRuleGroup: { vendor: 'F5', name: 'OWASP_Rules' } }] } });
    expect(summary(validatePolicies([spec]))).toEqual([
      `own rules.firstRuleGroups[0]: the WCU of ${arn} is unknown; state its capacity, or look it up with WAFV2 CheckCapacity`,
      'own rules.firstRuleGroups[1]: the WCU of F5:OWASP_Rules is unknown; state its capacity, or look it up with WAFV2 CheckCapacity',
    ]);
    const capacities = new Map([
      [arn, 1000],
      ['F5:OWASP_Rules', 600],
    ]);
    expect(summary(validatePolicies([spec], { ruleGroupCapacities: capacities }))).toEqual([
      'own rules: the first and last rule groups need 1600 WCU, over the budget of 1500; drop a rule group or raise the budget',
    ]);
  });

  it('keeps ManagedServiceData under 8,192 characters', () => {
    const excludedRules = Array.from({ length: 100 }, (_, index) => `SomeRuleNameThatIsLong_${index}`);
    const spec = waf('long', {
      rules: { defaultAction: 'ALLOW', firstRuleGroups: ['A', 'B', 'C'].map((suffix) => ({ managedRuleGroup: { name: `Group${suffix}` }, capacity: 10, excludedRules })) },
    });
    const [problem, ...others] = validatePolicies([spec]);
    expect(others).toEqual([]);
    expect(problem?.message).toMatch(/^its ManagedServiceData would be \d{4,5} characters, and FMS takes fewer than 8192; use fewer rule groups/);
  });

  it('counts policies per region against the quota, global ones in us-east-1, live ones included', () => {
    const live = Array.from({ length: 19 }, (_, index) => ({ region: 'us-east-1', name: `live-${index}` }));
    const specs = [
      waf('live-0', { regions: ['us-east-1'] }),
      waf('new-regional', { regions: ['us-east-1', 'eu-west-1'] }),
      { type: 'SHIELD_ADVANCED' as const, name: 'new-global', resourceTypes: ['cloudfront' as const], regions: ['global'] },
    ];
    const problems = validatePolicies(specs, { livePolicies: live });
    expect(problems.map((problem) => [problem.policy, problem.region, problem.message])).toEqual([
      ['new-regional', 'us-east-1', 'us-east-1 would hold 21 Firewall Manager policies (19 there now, 2 new) but FMS allows 20 per region, global ones included'],
      ['new-global', 'global', 'us-east-1 would hold 21 Firewall Manager policies (19 there now, 2 new) but FMS allows 20 per region, global ones included'],
    ]);
    expect(validatePolicies(specs, { livePolicies: live.slice(0, 18) })).toEqual([]);
  });

  it('refuses two policies of the same name in one region', () => {
    expect(summary(validatePolicies([waf('twin'), waf('twin', { resourceTypes: ['api-gateway-stage'] })]))).toEqual([
      'twin name: policy #1 has the same name in eu-west-1; names identify policies, so each must be unique per region',
    ]);
  });

  it('wants your own rule groups in the region (and scope) of each policy', () => {
    const spec = waf('mine', {
      regions: ['eu-west-1', 'us-east-1'],
      rules: { defaultAction: 'ALLOW', lastRuleGroups: [{ ruleGroupArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/mine/abc', capacity: 5 }] },
    });
    expect(validatePolicies([spec]).map((problem) => [problem.path, problem.region, problem.message])).toEqual([
      ['rules.lastRuleGroups[0].ruleGroupArn', 'us-east-1', 'the policy in us-east-1 needs a regional rule group in us-east-1, but this one is regional in eu-west-1'],
    ]);
  });

  it('checks specs built in code against the schema too', () => {
    const problems = validatePolicies([
      waf('logs', { logging: { destination: 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/central-logs' } }),
      waf('edge', { resourceTypes: ['cloudfront'] }),
    ]);
    expect(summary(problems)).toEqual([
      'logs logging.destination: WAF only logs to destinations named aws-waf-logs-*, and "central-logs" is not; rename the bucket or stream',
      'edge regions: CloudFront distributions are protected by a global policy: set regions to [global]',
    ]);
  });
});

describe('collectRuleGroupCapacities', () => {
  it('asks once per rule group that neither the spec nor the AWS table knows, in the right scope', async () => {
    const arn = 'arn:aws:wafv2:us-east-1:111122223333:global/rulegroup/edge/abc';
    const asked: string[] = [];
    const capacities = await collectRuleGroupCapacities(
      [
        { type: 'WAFV2', name: 'a', resourceTypes: ['cloudfront'], regions: ['global'], remediation: false, overrideCustomerWebACLAssociation: false,
          rules: { defaultAction: 'ALLOW', lastRuleGroups: [], firstRuleGroups: [
            { ruleGroupArn: arn, override: 'NONE', excludedRules: [], ruleActionOverrides: [] },
            { managedRuleGroup: { vendor: 'AWS', name: 'AWSManagedRulesCommonRuleSet' }, override: 'NONE', excludedRules: [], ruleActionOverrides: [] },
            { managedRuleGroup: { vendor: 'AWS', name: 'AWSManagedRulesNew', version: 'Version_1.0' }, override: 'NONE', excludedRules: [], ruleActionOverrides: [] },
          ] } },
        { type: 'WAFV2', name: 'b', resourceTypes: ['cloudfront'], regions: ['global'], remediation: false, overrideCustomerWebACLAssociation: false,
          rules: { defaultAction: 'ALLOW', lastRuleGroups: [], firstRuleGroups: [{ ruleGroupArn: arn, override: 'COUNT', excludedRules: [], ruleActionOverrides: [] }] } },
      ],
      async ({ group, scope, region }) => {
        asked.push(`${capacityKey(group)} ${scope} ${region}`);
        return 42;
      },
    );
    expect(asked).toEqual([`${arn} CLOUDFRONT us-east-1`, 'AWS:AWSManagedRulesNew:Version_1.0 CLOUDFRONT us-east-1']);
    expect([...capacities]).toEqual([
      [arn, 42],
      ['AWS:AWSManagedRulesNew:Version_1.0', 42],
    ]);
  });
});

describe('validatePolicyFiles', () => {
  const fixtures = join(import.meta.dirname, '..', 'fixtures', 'specs');

  it('validates files together and points each problem at its file and line', async () => {
    const files = ['waf-regional-baseline.yaml', 'waf-regional-baseline.yaml', 'waf-with-errors.yaml'].map((file) => join(fixtures, file));
    const reports = await validatePolicyFiles(files);
    expect(reports.map((report) => [report.policy, report.problems.length])).toEqual([
      ['org-waf-baseline', 0],
      ['org-waf-baseline', 2],
      [undefined, 5],
    ]);
    expect(reports[1]?.problems.map(formatSpecProblem)).toEqual([
      `${files[1]}:3:7 name: policy #1 has the same name in eu-west-1; names identify policies, so each must be unique per region (region eu-west-1)`,
      `${files[1]}:3:7 name: policy #1 has the same name in us-east-1; names identify policies, so each must be unique per region (region us-east-1)`,
    ]);
  });
});

import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { policySpecArbitrary } from '../test/policy-spec-arbitrary.js';
import { formatSpecProblem } from '@orgshield/spec-files';
import { loadPolicySpec, parsePolicySpecText, PolicySpecError } from './policy-spec-loader.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'specs');

function problemsOf(text: string, file = 'policy.yaml'): string[] {
  try {
    parsePolicySpecText(text, file);
  } catch (error) {
    if (error instanceof PolicySpecError) return error.problems.map(formatSpecProblem);
    throw error;
  }
  throw new Error('expected the spec to be refused');
}

describe('loadPolicySpec', () => {
  it('loads the example specs', async () => {
    const baseline = await loadPolicySpec(join(fixtures, 'waf-regional-baseline.yaml'));
    expect(baseline.spec).toMatchObject({
      type: 'WAFV2',
      name: 'org-waf-baseline',
      resourceTypes: ['alb', 'api-gateway-stage'],
      resourceTags: { match: 'exclude', operator: 'AND', tags: [{ key: 'waf-exempt', value: 'true' }] },
    });
    const edge = await loadPolicySpec(join(fixtures, 'waf-cloudfront.json'));
    expect(edge.spec.resourceTypes).toEqual(['cloudfront']);
    const shield = await loadPolicySpec(join(fixtures, 'shield-regional.yaml'));
    expect(shield.spec).toMatchObject({ type: 'SHIELD_ADVANCED', automaticResponse: 'ignored', remediation: true });
  });

  it('reports every error with file, line, column and field path', async () => {
    const file = join(fixtures, 'waf-with-errors.yaml');
    const error = await loadPolicySpec(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicySpecError);
    expect((error as PolicySpecError).problems.map(formatSpecProblem)).toEqual([
      `${file}:3:22 resourceTypes[1]: resource type "eip" cannot be protected by a WAFV2 policy; use one of alb, api-gateway-stage, cloudfront`,
      `${file}:6:18 rules.defaultAction: must be "ALLOW" or "BLOCK", not "allow"`,
      `${file}:10:18 rules.firstRuleGroups[0].managedRuleGroup.version: must be a string, not 1.4`,
      `${file}:11:7 rules.firstRuleGroups[0].overide: unknown field "overide" (did you mean "override"?)`,
      `${file}:13:16 logging.destination: WAF only logs to destinations named aws-waf-logs-*, and "waf-logs" is not; rename the bucket or stream`,
    ]);
    expect((error as PolicySpecError).message).toMatch(/^.*waf-with-errors.yaml:3:22 resourceTypes\[1\]: .* \(and 4 more problems\)$/);
    expect((error as PolicySpecError).exitCode).toBe(2);
  });

  it('keeps positions in JSON files', () => {
    const json = '{\n  "name": "edge",\n  "type": "SHIELD_ADVANCED",\n  "resourceTypes": ["cloudfront"],\n  "regions": ["eu-west-1"]\n}\n';
    expect(problemsOf(json, 'edge.json')).toEqual([
      'edge.json:5:14 regions: CloudFront distributions are protected by a global policy: set regions to [global]',
    ]);
  });

  it('points a missing field at the object it belongs in', () => {
    expect(problemsOf('name: x\ntype: WAFV2\nresourceTypes: [alb]\nregions: [eu-west-1]\n')).toEqual(['policy.yaml:1:1 rules: is required']);
    expect(problemsOf('name: x\nresourceTypes: [alb]\nregions: [eu-west-1]\n')).toEqual(['policy.yaml:1:1 type: is required: WAFV2 or SHIELD_ADVANCED']);
    expect(problemsOf('type: WAF\n')).toEqual(['policy.yaml:1:7 type: must be WAFV2 or SHIELD_ADVANCED, not "WAF"']);
  });

  it('checks the cross-field rules once the fields are valid', () => {
    const spec = [
      'name: x',
      'type: WAFV2',
      'resourceTypes: [alb]',
      'regions: [eu-west-1]',
      'scope:',
      '  include: {accounts: ["111122223333"]}',
      '  exclude: {orgUnits: [ou-ab12-cdef3456]}',
      'rules:',
      '  defaultAction: BLOCK',
      '  firstRuleGroups:',
      '    - managedRuleGroup: {name: AWSManagedRulesSQLiRuleSet}',
      '      ruleGroupArn: arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/a/b',
      '  lastRuleGroups:',
      '    - managedRuleGroup: {name: AWSManagedRulesCommonRuleSet}',
      '    - managedRuleGroup: {name: AWSManagedRulesCommonRuleSet}',
    ].join('\n');
    expect(problemsOf(spec)).toEqual([
      'policy.yaml:6:3 scope: scope has both include and exclude, but FMS ignores exclude when include is given; keep one',
      'policy.yaml:11:7 rules.firstRuleGroups[0]: a rule group needs exactly one of managedRuleGroup or ruleGroupArn',
      'policy.yaml:15:7 rules.lastRuleGroups[1]: rule group AWS/AWSManagedRulesCommonRuleSet is used twice in the web ACL',
    ]);
  });

  it('holds the per-policy FMS quotas', () => {
    const accounts = Array.from({ length: 201 }, (_, index) => String(100000000000 + index));
    const tags = Array.from({ length: 9 }, (_, index) => ({ key: `k${index}` }));
    const groups = Array.from({ length: 51 }, (_, index) => ({ managedRuleGroup: { name: `Group${index}` } }));
    const spec = {
      name: 'big',
      type: 'WAFV2',
      resourceTypes: ['alb'],
      regions: ['eu-west-1'],
      resourceTags: { match: 'include', tags },
      scope: { include: { accounts, orgUnits: Array.from({ length: 21 }, (_, index) => `ou-ab12-${String(index).padStart(8, '0')}`) } },
      rules: { defaultAction: 'ALLOW', firstRuleGroups: groups },
    };
    const problems = problemsOf(JSON.stringify(spec), 'big.json').map((problem) => problem.replace(/^big.json:\d+:\d+ /, ''));
    expect(problems).toEqual([
      'resourceTags.tags: FMS allows at most 8 resource tags per policy',
      'scope.include.accounts: FMS allows at most 200 explicit accounts in a policy scope',
      'scope.include.orgUnits: FMS allows at most 20 OUs in a policy scope',
      'rules: the policy has 51 rule groups but FMS allows at most 50 first and last rule groups together',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problemsOf('name: x\ntype: [WAFV2\n')).toEqual([
      'policy.yaml:3:1: not valid YAML or JSON: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(problemsOf('name: a\nname: b\n')).toEqual([expect.stringMatching(/^policy.yaml:2:1: not valid YAML or JSON: Map keys must be unique/)]);
  });

  it('says so in one sentence when the file is missing', async () => {
    await expect(loadPolicySpec('/nonexistent/policy.yaml')).rejects.toThrow('The policy spec file /nonexistent/policy.yaml does not exist; check the path.');
  });

  it('reads back any valid spec written as YAML or JSON', () => {
    fc.assert(
      fc.property(policySpecArbitrary, (spec) => {
        expect(parsePolicySpecText(stringify(spec), 'spec.yaml').spec).toEqual(spec);
        expect(parsePolicySpecText(JSON.stringify(spec, null, 2), 'spec.json').spec).toEqual(spec);
      }),
      { numRuns: 200 },
    );
  });
});

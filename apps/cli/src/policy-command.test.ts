import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCfnFile, loadPolicySpec, renderPutPolicy } from '@orgshield/policies';
import { runCli } from '../test/run-cli.js';

// Paths as a user in the repository root would type them.
const fixtures = 'packages/policies/fixtures';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fromRoot = (path: string) => `${repoRoot}${path}`;

describe('orgshield policy (end to end)', () => {
  it('validate: accepts valid specs and exits 0', async () => {
    const result = await runCli(['policy', 'validate', `${fixtures}/specs/waf-regional-baseline.yaml`, `${fixtures}/specs/shield-regional.yaml`, `${fixtures}/specs/waf-cloudfront.json`], {});
    expect(result.stdout).toBe(
      [
        `ok  ${fixtures}/specs/waf-regional-baseline.yaml (org-waf-baseline)`,
        `ok  ${fixtures}/specs/shield-regional.yaml (org-shield-regional)`,
        `ok  ${fixtures}/specs/waf-cloudfront.json (org-waf-edge)`,
        '',
      ].join('\n'),
    );
    expect(result.stderr).toBe('3 policy files valid.\n');
    expect(result.code).toBe(0);
  });

  it('validate: refuses a spec with errors with file:line and field path for each, exit code 2, no stack trace', async () => {
    const bad = `${fixtures}/specs/waf-with-errors.yaml`;
    const result = await runCli(['policy', 'validate', bad, `${fixtures}/specs/shield-regional.yaml`], {});
    expect(result.stdout.split('\n')).toEqual([
      `${bad}:3:22 resourceTypes[1]: resource type "eip" cannot be protected by a WAFV2 policy; use one of alb, api-gateway-stage, cloudfront`,
      `${bad}:6:18 rules.defaultAction: must be "ALLOW" or "BLOCK", not "allow"`,
      `${bad}:10:18 rules.firstRuleGroups[0].managedRuleGroup.version: must be a string, not 1.4`,
      `${bad}:11:7 rules.firstRuleGroups[0].overide: unknown field "overide" (did you mean "override"?)`,
      `${bad}:13:16 logging.destination: WAF only logs to destinations named aws-waf-logs-*, and "waf-logs" is not; rename the bucket or stream`,
      `ok  ${fixtures}/specs/shield-regional.yaml (org-shield-regional)`,
      '',
    ]);
    expect(result.stderr).toBe('orgshield: 1 of 2 policy files have problems.\n');
    expect(result.code).toBe(2);
  });

  it('validate --output json: one entry per file with its problems', async () => {
    const result = await runCli(['policy', 'validate', `${fixtures}/specs/waf-with-errors.yaml`, '--output', 'json'], {});
    const report = JSON.parse(result.stdout) as { files: { file: string; valid: boolean; problems: { line: number; path: string }[] }[] };
    expect(report.files.map((file) => [file.valid, file.problems.map((problem) => `${problem.line} ${problem.path}`)])).toEqual([
      [false, ['3 resourceTypes[1]', '6 rules.defaultAction', '10 rules.firstRuleGroups[0].managedRuleGroup.version', '11 rules.firstRuleGroups[0].overide', '13 logging.destination']],
    ]);
    expect(result.code).toBe(2);
  });

  it('render --region --output json: the exact PutPolicy input the package renders', async () => {
    const file = `${fixtures}/specs/waf-regional-baseline.yaml`;
    const result = await runCli(['policy', 'render', file, '--region', 'eu-west-1', '--output', 'json'], {});
    expect(result.code).toBe(0);
    const { spec } = await loadPolicySpec(fromRoot(file));
    expect(JSON.parse(result.stdout)).toEqual(renderPutPolicy(spec, { region: 'eu-west-1' }));
  });

  it('render --output json: every region, global as CloudFront in us-east-1', async () => {
    const result = await runCli(['policy', 'render', `${fixtures}/specs/waf-cloudfront.json`, '--output', 'json'], {});
    const rendered = JSON.parse(result.stdout) as { region: string; apiRegion: string; putPolicy: { Policy: { ResourceType: string } } }[];
    expect(rendered.map((entry) => [entry.region, entry.apiRegion, entry.putPolicy.Policy.ResourceType])).toEqual([['global', 'us-east-1', 'AWS::CloudFront::Distribution']]);
    expect(result.code).toBe(0);
  });

  it('render: a region the spec does not name is bad input', async () => {
    const result = await runCli(['policy', 'render', `${fixtures}/specs/shield-regional.yaml`, '--region', 'us-west-2'], {});
    expect(result.stderr).toBe('orgshield: Policy org-shield-regional is not deployed to region us-west-2; its regions are eu-west-1, us-east-1.\n');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('import-cfn --output json: {"policies": [{logicalId, spec, putPolicy}]}, warnings on stderr', async () => {
    const template = `${fixtures}/cfn/org-waf-policies.yaml`;
    const params = { 'AWS::Region': 'us-east-1', pIncludeOrgUnits: 'ou-ab12-workload1' };
    const result = await runCli(
      ['policy', 'import-cfn', template, ...Object.entries(params).flatMap(([key, value]) => ['--param', `${key}=${value}`]), '--output', 'json'],
      {},
    );
    expect(result.code).toBe(0);
    const expected = await importCfnFile(fromRoot(template), { params });
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(JSON.stringify({ policies: expected.policies })));
    expect(result.stderr).toBe('warning: rFmsCloudFrontPolicy: DeleteAllPolicyResources is a delete-time option and is not imported.\n');
  });

  it('import-cfn: a value the template needs and nobody gave is named with its line, exit code 2', async () => {
    const template = `${fixtures}/cfn/waf-policy-sub-string.yaml`;
    const result = await runCli(['policy', 'import-cfn', template, '--param', 'AWS::Region=us-west-2', '--output', 'json'], {});
    expect(result.stderr.split('\n')).toEqual([
      `${template}:26:34 Resources.PolicyWAFv2.Properties.SecurityServicePolicyData.ManagedServiceData.Fn::Sub: RuleGroup.Arn is only known once RuleGroup is deployed; pass --resolve RuleGroup.Arn=VALUE`,
      `orgshield: ${template} has 1 problem (listed above); nothing was imported.`,
      '',
    ]);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('import-cfn: the Firewall Manager sample imports in the AWS_REGION region with no --param, sending the template document', async () => {
    const template = `${fixtures}/cfn/fms-sample-waf-policy.yaml`;
    const arn = 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/RuleGroup/a1b2c3d4';
    const result = await runCli(['policy', 'import-cfn', template, '--resolve', `RuleGroup.Arn=${arn}`, '--output', 'json'], { AWS_REGION: 'eu-west-1' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [policy] = (JSON.parse(result.stdout) as { policies: { spec: { regions: string[] }; putPolicy: { Policy: { SecurityServicePolicyData: { ManagedServiceData: string } } } }[] }).policies;
    expect(policy?.spec.regions).toEqual(['eu-west-1']);
    expect(JSON.parse(policy?.putPolicy.Policy.SecurityServicePolicyData.ManagedServiceData ?? '')).toEqual({
      type: 'WAFV2',
      preProcessRuleGroups: [{ ruleGroupArn: arn, overrideAction: { type: 'NONE' }, ruleGroupType: 'RuleGroup', excludeRules: [] }],
      postProcessRuleGroups: [],
      defaultAction: { type: 'BLOCK' },
      overrideCustomerWebACLAssociation: false,
    });
  });

  it('import-cfn: a template building more than --max-expansion-mb is refused in one sentence with the file, exit code 2', async () => {
    const template = `${fixtures}/cfn/fms-sample-waf-policy.yaml`;
    const arn = `arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/RuleGroup/${'a'.repeat(2000)}`;
    const result = await runCli(['policy', 'import-cfn', template, '--resolve', `RuleGroup.Arn=${arn}`, '--max-expansion-mb', '0.001'], { AWS_REGION: 'eu-west-1' });
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${template}:44:34 .*Fn::Sub: Fn::Sub takes the template's expansion past its limit of 1049 bytes of built text; if the template is trusted, raise the limit with --max-expansion-mb$`)),
      `orgshield: ${template} has 1 problem (listed above); nothing was imported.`,
      '',
    ]);
    expect(result.code).toBe(2);
  });
});

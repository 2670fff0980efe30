import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCfn, importCfnFile } from './cfn-policy-import.js';
import { formatSpecProblem } from '@orgshield/spec-files';
import { PolicySpecError } from './policy-spec-loader.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'cfn');

async function problems(run: () => unknown): Promise<string[]> {
  try {
    await run();
  } catch (error) {
    if (error instanceof PolicySpecError) return error.problems.map(formatSpecProblem);
    throw error;
  }
  throw new Error('expected the import to fail');
}

describe('importCfn', () => {
  it('imports a WAF policy whose ManagedServiceData is an object, with !Ref, !Sub and !GetAtt evaluated', async () => {
    const result = await importCfnFile(join(fixtures, 'waf-policy-object-data.yaml'), {
      params: { 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '111122223333', WorkloadOUs: 'ou-ab12-workload1, ou-ab12-workload2' },
      resolve: { 'RateLimitRuleGroup.Arn': 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/rate-limit-prod/a1b2c3' },
    });
    expect(result.warnings).toEqual([]);
    const [policy, ...others] = result.policies;
    expect(others).toEqual([]);
    expect(policy?.logicalId).toBe('RegionalWafPolicy');
    expect(policy?.spec).toEqual({
      type: 'WAFV2',
      name: 'regional-waf-prod',
      description: 'Baseline web ACL for regional resources',
      regions: ['eu-west-1'],
      resourceTypes: ['alb', 'api-gateway-stage'],
      resourceTags: { match: 'include', operator: 'AND', tags: [{ key: 'waf-protected', value: 'yes' }] },
      scope: { include: { accounts: [], orgUnits: ['ou-ab12-workload1', 'ou-ab12-workload2'] } },
      remediation: false,
      rules: {
        defaultAction: 'ALLOW',
        firstRuleGroups: [
          {
            managedRuleGroup: { vendor: 'AWS', name: 'AWSManagedRulesCommonRuleSet', version: 'Version_1.12' },
            override: 'COUNT',
            excludedRules: ['SizeRestrictions_BODY'],
            ruleActionOverrides: [{ name: 'NoUserAgent_HEADER', action: 'count' }],
          },
        ],
        lastRuleGroups: [
          { ruleGroupArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/rate-limit-prod/a1b2c3', override: 'NONE', excludedRules: [], ruleActionOverrides: [] },
        ],
      },
      logging: {
        destination: 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-prod',
        redactedFields: [{ type: 'SingleHeader', name: 'authorization' }],
      },
      overrideCustomerWebACLAssociation: false,
    });
    expect(policy?.putPolicy.Policy).toMatchObject({
      PolicyName: 'regional-waf-prod',
      ResourceType: 'ResourceTypeList',
      ResourceTypeList: ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ApiGateway::Stage'],
      IncludeMap: { ORG_UNIT: ['ou-ab12-workload1', 'ou-ab12-workload2'] },
      SecurityServicePolicyData: { Type: 'WAFV2', ManagedServiceData: expect.any(String) },
    });
    // What the template wrote, evaluated: its own keys and nulls, none of the defaults a rendered spec spells out.
    const sent = JSON.parse(policy?.putPolicy.Policy?.SecurityServicePolicyData?.ManagedServiceData ?? '{}') as Record<string, unknown>;
    expect(sent.preProcessRuleGroups).toEqual([
      {
        ruleGroupArn: null,
        overrideAction: { type: 'COUNT' },
        managedRuleGroupIdentifier: { versionEnabled: true, version: 'Version_1.12', vendorName: 'AWS', managedRuleGroupName: 'AWSManagedRulesCommonRuleSet' },
        ruleGroupType: 'ManagedRuleGroup',
        excludeRules: [{ name: 'SizeRestrictions_BODY' }],
        ruleActionOverrides: [{ name: 'NoUserAgent_HEADER', actionToUse: { count: {} } }],
      },
    ]);
    expect(sent).not.toHaveProperty('sampledRequestsEnabledForDefaultActions');
  });

  it('imports the published Firewall Manager sample in the configured region, sending exactly the template document', async () => {
    const arn = 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/RuleGroup/a1b2c3d4';
    const result = await importCfnFile(join(fixtures, 'fms-sample-waf-policy.yaml'), { region: 'eu-west-1', resolve: { 'RuleGroup.Arn': arn } });
    expect(result.warnings).toEqual([]);
    expect(result.policies.map((policy) => [policy.logicalId, policy.spec.regions])).toEqual([['PolicyWAFv2', ['eu-west-1']]]);
    expect(result.policies[0]?.putPolicy).toEqual({
      Policy: {
        ExcludeResourceTags: false,
        PolicyName: 'Policy',
        RemediationEnabled: false,
        ResourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
        SecurityServicePolicyData: {
          Type: 'WAFV2',
          ManagedServiceData:
            `{"type":"WAFV2","preProcessRuleGroups":[{"ruleGroupArn":"${arn}","overrideAction":{"type":"NONE"},"ruleGroupType":"RuleGroup","excludeRules":[]}],` +
            '"postProcessRuleGroups":[],"defaultAction":{"type":"BLOCK"},"overrideCustomerWebACLAssociation":false}',
        },
      },
    });
    // --param AWS::Region still names another region than the configured one.
    const elsewhere = await importCfnFile(join(fixtures, 'fms-sample-waf-policy.yaml'), { region: 'eu-west-1', params: { 'AWS::Region': 'us-east-2' }, resolve: { 'RuleGroup.Arn': arn } });
    expect(elsewhere.policies[0]?.spec.regions).toEqual(['us-east-2']);
  });

  it('names every value still to supply in one run, each once', async () => {
    const file = join(fixtures, 'waf-policy-object-data.yaml');
    expect(await problems(() => importCfnFile(file))).toEqual([
      expect.stringMatching(/ManagedServiceData\.postProcessRuleGroups\[0\]\.ruleGroupArn\.Fn::GetAtt: RateLimitRuleGroup\.Arn is only known once RateLimitRuleGroup is deployed; pass --resolve RateLimitRuleGroup\.Arn=VALUE$/),
      expect.stringMatching(/:77:22 .*logDestinationConfigs\[0\]\.Fn::Sub: AWS::Region, the stack's region, is not set: set AWS_REGION or pass --param AWS::Region=REGION$/),
      expect.stringMatching(/:77:22 .*logDestinationConfigs\[0\]\.Fn::Sub: AWS::AccountId has no value outside a stack; pass --param AWS::AccountId=VALUE$/),
      expect.stringMatching(/:46:23 .*IncludeMap\.ORGUNIT\.Ref: parameter WorkloadOUs has no Default; pass --param WorkloadOUs=VALUE$/),
    ]);
  });

  it('imports the docs shape: ManagedServiceData as a multi-line !Sub string with ${Resource.Arn}', async () => {
    const file = join(fixtures, 'waf-policy-sub-string.yaml');
    const arn = 'arn:aws:wafv2:us-west-2:111122223333:regional/rulegroup/first-rules/abc';
    const result = await importCfnFile(file, { params: { 'AWS::Region': 'us-west-2' }, resolve: { 'RuleGroup.Arn': arn } });
    expect(result.policies[0]?.spec).toMatchObject({
      name: 'Policy',
      regions: ['us-west-2'],
      resourceTypes: ['alb'],
      rules: { defaultAction: 'BLOCK', firstRuleGroups: [{ ruleGroupArn: arn, override: 'NONE' }], lastRuleGroups: [] },
    });
    expect(await problems(() => importCfnFile(file, { params: { 'AWS::Region': 'us-west-2' } }))).toEqual([
      `${file}:26:34 Resources.PolicyWAFv2.Properties.SecurityServicePolicyData.ManagedServiceData.Fn::Sub: RuleGroup.Arn is only known once RuleGroup is deployed; pass --resolve RuleGroup.Arn=VALUE`,
    ]);
  });

  it('imports the same policy written in JSON with Fn::Sub, and names JSON that does not parse', async () => {
    const template = (data: string) =>
      JSON.stringify({
        Resources: {
          RuleGroup: { Type: 'AWS::WAFv2::RuleGroup', Properties: {} },
          PolicyWAFv2: {
            Type: 'AWS::FMS::Policy',
            Properties: {
              ExcludeResourceTags: false,
              PolicyName: 'Policy',
              RemediationEnabled: false,
              ResourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
              SecurityServicePolicyData: { Type: 'WAFV2', ManagedServiceData: { 'Fn::Sub': data } },
            },
          },
        },
      }, null, 2);
    const options = { params: { 'AWS::Region': 'us-west-2' }, resolve: { 'RuleGroup.Arn': 'arn:aws:wafv2:us-west-2:111122223333:regional/rulegroup/r/1' } };
    const good = '{"type":"WAFV2","preProcessRuleGroups":[{"ruleGroupType":"RuleGroup","ruleGroupArn":"${RuleGroup.Arn}","overrideAction":{"type":"NONE"}}],"postProcessRuleGroups":[],"defaultAction":{"type":"BLOCK"}}';
    expect(importCfn(template(good), options).policies[0]?.spec.name).toBe('Policy');
    // A quote missing after RuleGroup, as a hand-written document can have.
    const broken = good.replace('"RuleGroup",', '"RuleGroup,');
    expect(await problems(() => importCfn(template(broken), { ...options, fileName: 'policy.json' }))).toEqual([
      // The parser's own words vary with the Node version.
      expect.stringMatching(/^policy.json:14:38 Resources.PolicyWAFv2.Properties.SecurityServicePolicyData: ManagedServiceData is not valid JSON \(.+\)$/),
    ]);
  });

  it('imports a Shield Advanced policy limited by account and resource tags', async () => {
    const file = join(fixtures, 'shield-policy.yaml');
    const result = await importCfnFile(file, { params: { 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '111122223333' } });
    expect(result.policies[0]?.spec).toEqual({
      type: 'SHIELD_ADVANCED',
      name: 'TaggedShieldPolicy',
      regions: ['eu-west-1'],
      resourceTypes: ['alb', 'eip'],
      resourceTags: { match: 'exclude', operator: 'AND', tags: [{ key: 'shield-exempt', value: 'true' }, { key: 'environment', value: 'sandbox' }] },
      scope: { include: { accounts: ['111122223333'], orgUnits: [] } },
      remediation: false,
      automaticResponse: 'ignored',
    });
    expect(result.policies[0]?.putPolicy.Policy).toEqual({
      PolicyName: 'TaggedShieldPolicy',
      SecurityServicePolicyData: { Type: 'SHIELD_ADVANCED' },
      ResourceType: 'ResourceTypeList',
      ResourceTypeList: ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::EC2::EIP'],
      ResourceTags: [{ Key: 'shield-exempt', Value: 'true' }, { Key: 'environment', Value: 'sandbox' }],
      ResourceTagLogicalOperator: 'AND',
      ExcludeResourceTags: true,
      RemediationEnabled: false,
      IncludeMap: { ACCOUNT: ['111122223333'] },
    });
    expect(result.warnings).toEqual([
      'Policy: DeleteAllPolicyResources is a delete-time option and is not imported.',
      "Policy: the policy's own Tags are not imported.",
    ]);
    expect(await problems(() => importCfnFile(file, { params: { 'AWS::Region': 'eu-west-1' } }))).toEqual([
      `${file}:16:18 Resources.Policy.Properties.IncludeMap.ACCOUNT[0].Ref: AWS::AccountId has no value outside a stack; pass --param AWS::AccountId=VALUE`,
    ]);
  });

  it('imports JSON templates with the long forms: Join, Select, Split, two-argument Sub, a global CloudFront policy', async () => {
    const result = await importCfnFile(join(fixtures, 'shield-policy.json'), { params: { 'AWS::Region': 'eu-west-1', ResponseAction: 'BLOCK' } });
    expect(result.policies.map((policy) => [policy.logicalId, policy.spec.name, policy.spec.regions, policy.putPolicy.Policy?.IncludeMap])).toEqual([
      ['RegionalShieldPolicy', 'shield-eu-west-1', ['eu-west-1'], { ORG_UNIT: ['ou-ab12-prod0001'] }],
      ['CloudFrontShieldPolicy', 'shield-cloudfront', ['global'], { ORG_UNIT: ['ou-ab12-prod0001', 'ou-ab12-prod0002'] }],
    ]);
    expect(result.policies[0]?.spec.remediation).toBe(true);
    expect(result.policies[1]?.spec).toMatchObject({ type: 'SHIELD_ADVANCED', automaticResponse: 'block', resourceTypes: ['cloudfront'] });
    expect(result.policies[1]?.putPolicy.Policy?.SecurityServicePolicyData?.ManagedServiceData).toBe(
      '{"type":"SHIELD_ADVANCED","automaticResponseConfiguration":{"automaticResponseStatus":"ENABLED","automaticResponseAction":"BLOCK"}}',
    );
  });

  it('follows Conditions, Fn::If with AWS::NoValue, mappings, and empty Split entries', async () => {
    const file = join(fixtures, 'org-waf-policies.yaml');
    const east = await importCfnFile(file, { params: { 'AWS::Region': 'us-east-1', pIncludeOrgUnits: 'ou-ab12-workload1', pEnableRemediation: 'true' } });
    expect(east.policies.map((policy) => [policy.logicalId, policy.spec.name, policy.spec.regions, policy.spec.remediation, policy.putPolicy.Policy?.IncludeMap])).toEqual([
      ['rFmsCloudFrontPolicy', 'fms-cloudfront-default-policy', ['global'], true, undefined],
      ['rFmsRegionalPolicy', 'fms-regional-us', ['us-east-1'], true, { ORG_UNIT: ['ou-ab12-workload1'] }],
    ]);
    expect(east.policies[0]?.spec).toMatchObject({
      overrideCustomerWebACLAssociation: true,
      rules: { defaultAction: 'ALLOW', firstRuleGroups: [{ managedRuleGroup: { vendor: 'AWS', name: 'AWSManagedRulesCommonRuleSet' }, override: 'NONE' }] },
    });
    expect(east.policies[1]?.spec).toMatchObject({
      description: 'Regional WAF for us-east-1',
      rules: { firstRuleGroups: [{ managedRuleGroup: { name: 'AWSManagedRulesAmazonIpReputationList' }, override: 'COUNT' }] },
    });
    expect(east.warnings).toEqual(['rFmsCloudFrontPolicy: DeleteAllPolicyResources is a delete-time option and is not imported.']);

    const frankfurt = await importCfnFile(file, { params: { 'AWS::Region': 'eu-central-1' } });
    expect(frankfurt.policies.map((policy) => [policy.logicalId, policy.spec.name, policy.spec.scope])).toEqual([['rFmsRegionalPolicy', 'fms-regional-eu', undefined]]);
    expect(frankfurt.warnings).toEqual(['rFmsCloudFrontPolicy is not imported: its condition cIsUsEast1 is false for these parameters.']);
  });

  it('reports every problem of a template together, each at its line', async () => {
    const template = [
      'Resources:', // 1
      '  Classic:', // 2
      '    Type: AWS::FMS::Policy', // 3
      '    Properties:', // 4
      '      PolicyName: classic', // 5
      '      ResourceType: AWS::ElasticLoadBalancingV2::LoadBalancer', // 6
      '      SecurityServicePolicyData:', // 7
      '        Type: WAF', // 8
      '  Cleanup:', // 9
      '    Type: AWS::FMS::Policy', // 10
      '    Properties:', // 11
      '      PolicyName: cleanup', // 12
      '      ResourceType: AWS::EC2::EIP', // 13
      '      ResourcesCleanUp: true', // 14
      '      SecurityServicePolicyData:', // 15
      '        Type: SHIELD_ADVANCED', // 16
      '  Captcha:', // 17
      '    Type: AWS::FMS::Policy', // 18
      '    Properties:', // 19
      '      PolicyName: captcha', // 20
      '      ResourceType: AWS::ApiGateway::Stage', // 21
      '      SecurityServicePolicyData:', // 22
      '        Type: WAFV2', // 23
      '        ManagedServiceData: \'{"type":"WAFV2","defaultAction":{"type":"ALLOW"},"captchaConfig":{"immunityTimeProperty":{"immunityTime":500}}}\'', // 24
      '  Typo:', // 25
      '    Type: AWS::FMS::Policy', // 26
      '    Properties:', // 27
      '      PolicyNmae: typo', // 28
      '  BadName:', // 29
      '    Type: AWS::FMS::Policy', // 30
      '    Properties:', // 31
      '      PolicyName: "bad;name"', // 32
      '      ResourceType: AWS::EC2::EIP', // 33
      '      SecurityServicePolicyData: {Type: SHIELD_ADVANCED}', // 34
    ].join('\n');
    expect(await problems(() => importCfn(template, { fileName: 't.yaml', params: { 'AWS::Region': 'eu-west-1' } }))).toEqual([
      't.yaml:8:9 Resources.Classic.Properties.SecurityServicePolicyData: has type "WAF"; orgshield imports WAFV2 and SHIELD_ADVANCED policies',
      't.yaml:14:25 Resources.Cleanup.Properties.ResourcesCleanUp: is true, which an orgshield spec cannot hold (FMS would remove protections from resources leaving scope); set it to false',
      't.yaml:23:9 Resources.Captcha.Properties.SecurityServicePolicyData: ManagedServiceData.captchaConfig is set to {"immunityTimeProperty":{"immunityTime":500}}, which an orgshield spec cannot hold; remove it',
      't.yaml:28:7 Resources.Typo.Properties.PolicyNmae: is not a property of AWS::FMS::Policy',
      't.yaml:32:19 Resources.BadName.Properties.PolicyName: as spec field name: a policy name has only letters, digits, spaces and _.:/=+-@',
    ]);
  });

  it('refuses misspelled inputs, a template without policies, and invalid YAML', async () => {
    const file = join(fixtures, 'shield-policy.yaml');
    await expect(importCfnFile(file, { params: { Environment: 'prod' } })).rejects.toThrow('--param Environment is not a parameter of the template; its parameters are none.');
    await expect(importCfnFile(file, { resolve: { 'Polciy.Arn': 'x' } })).rejects.toThrow('--resolve Polciy.Arn names Polciy, which is not a resource of the template.');
    expect(() => importCfn('Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n', { fileName: 's3.yaml' })).toThrow('The template s3.yaml has no AWS::FMS::Policy resource to import.');
    expect(await problems(() => importCfn('Resources:\n  P: !Ref [\n', { fileName: 'bad.yaml' }))).toEqual([expect.stringMatching(/^bad.yaml:\d+:\d+: not a valid YAML or JSON template: /)]);
    await expect(importCfnFile('/nonexistent/template.yaml')).rejects.toThrow('The CloudFormation template file /nonexistent/template.yaml does not exist; check the path.');
  });
});

/** A Shield policy whose name is the expression under test, after `head` (Parameters, Mappings...). */
function policyNamed(name: string, head = ''): string {
  return [
    head,
    'Resources:',
    '  P:',
    '    Type: AWS::FMS::Policy',
    '    Properties:',
    `      PolicyName: ${name}`,
    '      ResourceType: AWS::EC2::EIP',
    '      SecurityServicePolicyData: {Type: SHIELD_ADVANCED}',
  ].join('\n');
}

describe('importCfn on hostile templates', () => {
  const options = { fileName: 'evil.yaml', region: 'eu-west-1' };

  it('runs AllowedPattern in linear time: catastrophic patterns answer at once', async () => {
    for (const [pattern, value] of [['(a|aa)+', `${'a'.repeat(61)}!`], ['(a+)+', `${'a'.repeat(40)}!`], ['(a|a?)+', `${'a'.repeat(5000)}!`]] as const) {
      const head = `Parameters:\n  Name:\n    Type: String\n    AllowedPattern: '${pattern}'\n    Default: '${value}'`;
      const started = performance.now();
      expect(await problems(() => importCfn(policyNamed('!Ref Name', head), options))).toEqual([
        `evil.yaml:10:24 Resources.P.Properties.PolicyName.Ref: parameter Name is ${JSON.stringify(value)}, which does not match its AllowedPattern`,
      ]);
      expect(performance.now() - started).toBeLessThan(1000);
    }
    const head = "Parameters:\n  Name:\n    Type: String\n    AllowedPattern: '[a-z]+(-[a-z]+)*'\n    Default: web-acl";
    expect(importCfn(policyNamed('!Ref Name', head), options).policies[0]?.spec.name).toBe('web-acl');
  });

  it('names an AllowedPattern that is no regular expression, with the parameter, as bad input (exit 2)', async () => {
    const head = "Parameters:\n  Name:\n    Type: String\n    AllowedPattern: '(a'\n  Other:\n    Type: String\n    AllowedPattern: '(?=x)'";
    const failure = (() => {
      try {
        importCfn(policyNamed('fixed', head), options);
      } catch (error) {
        return error as PolicySpecError;
      }
      throw new Error('expected the import to fail');
    })();
    expect(failure).toBeInstanceOf(PolicySpecError);
    expect(failure.exitCode).toBe(2);
    expect(failure.problems.map(formatSpecProblem)).toEqual([
      'evil.yaml:4:21 Parameters.Name.AllowedPattern: parameter Name has an AllowedPattern that is not a valid regular expression (error parsing regexp: missing closing ): `(a`)',
      'evil.yaml:7:21 Parameters.Other.AllowedPattern: parameter Other has an AllowedPattern that is not a valid regular expression (error parsing regexp: invalid or unsupported Perl syntax: `(?=`)',
    ]);
  });

  it('refuses a parameter Default or AllowedValues that is a map or a list, at its place (a map with a toString key threw a TypeError; found by the long fuzz run)', async () => {
    const head = 'Parameters:\n  Name:\n    Type: String\n    Default: [{toString: {}}]';
    expect(await problems(() => importCfn(policyNamed('!Ref Name', head), options))).toEqual([
      'evil.yaml:4:14 Parameters.Name.Default: parameter Name\'s Default must be a string (a list is written "a,b"), not [{"toString":{}}]',
    ]);
    const allowed = 'Parameters:\n  Name:\n    Type: String\n    Default: web\n    AllowedValues: [web, {toString: {}}]';
    expect(await problems(() => importCfn(policyNamed('!Ref Name', allowed), options))).toEqual([
      'evil.yaml:5:20 Parameters.Name.AllowedValues: parameter Name\'s AllowedValues must be strings, not ["web",{"toString":{}}]',
    ]);
  });

  it("finds only the template's own names: constructor, toString and __proto__ are not there", async () => {
    const mappings = 'Mappings:\n  M:\n    prod: {name: web}';
    expect(await problems(() => importCfn(policyNamed('!FindInMap [M, constructor, name]', mappings), options))).toEqual([
      'evil.yaml:8:30 Resources.P.Properties.PolicyName.Fn::FindInMap: Mappings has no M.constructor.name',
    ]);
    expect(await problems(() => importCfn(policyNamed('!FindInMap [__proto__, prod, name]', mappings), options))).toEqual([
      'evil.yaml:8:30 Resources.P.Properties.PolicyName.Fn::FindInMap: Mappings has no __proto__.prod.name',
    ]);
    expect(await problems(() => importCfn(policyNamed('!Ref constructor'), options))).toEqual([
      'evil.yaml:6:24 Resources.P.Properties.PolicyName.Ref: Ref constructor is not a parameter, resource or pseudo parameter of the template',
    ]);
    expect(await problems(() => importCfn(policyNamed("!Sub '${toString}'"), options))).toEqual([
      'evil.yaml:6:24 Resources.P.Properties.PolicyName.Fn::Sub: Ref toString is not a parameter, resource or pseudo parameter of the template',
    ]);
    expect(await problems(() => importCfn(policyNamed("!Sub ['${hasOwnProperty}', {}]"), options))).toEqual([
      'evil.yaml:6:24 Resources.P.Properties.PolicyName.Fn::Sub: Ref hasOwnProperty is not a parameter, resource or pseudo parameter of the template',
    ]);
    expect(() => importCfn(policyNamed('x'), { ...options, params: { constructor: 'x' } })).toThrow('--param constructor is not a parameter of the template');
    expect(() => importCfn(policyNamed('x'), { ...options, resolve: { 'toString.Arn': 'x' } })).toThrow('--resolve toString.Arn names toString, which is not a resource of the template.');
  });

  it('stops a template that builds more than its expansion limit, in one sentence, and takes a raised limit', async () => {
    // A 64 KB default referenced 200 times: 12.8 MB of text from a 66 KB template.
    const head = `Parameters:\n  Big:\n    Type: String\n    Default: ${'x'.repeat(64 * 1024)}`;
    const sub = policyNamed(`!Sub '${'${Big}'.repeat(200)}'`, head);
    const refused = await problems(() => importCfn(sub, options));
    expect(refused).toEqual([
      "evil.yaml:9:24 Resources.P.Properties.PolicyName.Fn::Sub: Fn::Sub takes the template's expansion past its limit of 5 MB of built text; if the template is trusted, raise the limit with --max-expansion-mb",
    ]);
    // Join of a list that Split made from the same big value, nested: each level multiplies.
    const join = policyNamed(`!Join ['', [${Array.from({ length: 100 }, () => "!Join ['-', !Split ['x', !Ref Big]]").join(', ')}]]`, head);
    expect(await problems(() => importCfn(join, options))).toEqual([expect.stringMatching(/Fn::(Join|Split) takes the template's expansion past its limit of 5 MB/)]);
    // Raised, the same template evaluates (and then fails only on the policy name it built).
    expect(await problems(() => importCfn(sub, { ...options, maxExpansionBytes: 20 * 1024 * 1024 }))).toEqual([
      expect.stringContaining('as spec field name:'),
    ]);
  });

  it('says where a malformed intrinsic is: Select on AWS::NoValue, wrong argument shapes', async () => {
    const cases: [string, string][] = [
      ['!Select [0, !Ref AWS::NoValue]', 'Resources.P.Properties.PolicyName.Fn::Select[1]: Fn::Select needs a list here, not AWS::NoValue'],
      ['!Select [!Ref AWS::NoValue, [a]]', 'Resources.P.Properties.PolicyName.Fn::Select: Fn::Select index AWS::NoValue is outside a list of 1'],
      ['!Select [[0], [a]]', 'Resources.P.Properties.PolicyName.Fn::Select: Fn::Select index [0] is outside a list of 1'],
      ['!Join [!Ref AWS::NoValue, [a]]', 'Resources.P.Properties.PolicyName.Fn::Join: Fn::Join needs a string here, not AWS::NoValue'],
      ['!ToJsonString {"Ref": "AWS::NoValue"}', 'Resources.P.Properties.PolicyName.Fn::ToJsonString: Fn::ToJsonString needs a value here, not AWS::NoValue'],
      ['!Split [",", {a: 1}]', 'Resources.P.Properties.PolicyName.Fn::Split[1]: Fn::Split needs a string here, not {"a":1}'],
      ['!GetAtt [P]', 'Resources.P.Properties.PolicyName.Fn::GetAtt: Fn::GetAtt takes a resource and an attribute'],
      ['!If [constructor, a, b]', "Resources.P.Properties.PolicyName.Fn::If[0]: condition constructor is not defined in the template's Conditions"],
    ];
    for (const [expression, message] of cases) {
      expect(await problems(() => importCfn(policyNamed(expression), options))).toEqual([expect.stringMatching(new RegExp(`^evil\\.yaml:6:\\d+ ${escapeRegExp(message)}$`))]);
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { describe, expect, it } from 'vitest';
import { PolicySpecSchema, type PolicySpecInput } from './policy-spec-schema.js';
import { renderPutPolicies, renderPutPolicy } from './put-policy-render.js';

const spec = (input: PolicySpecInput) => PolicySpecSchema.parse(input);

describe('renderPutPolicy', () => {
  it('renders a regional WAF policy with the documented ManagedServiceData, key order included', () => {
    const input = renderPutPolicy(
      spec({
        type: 'WAFV2',
        name: 'org-waf-baseline',
        description: 'Baseline WAF',
        resourceTypes: ['alb', 'api-gateway-stage'],
        regions: ['eu-west-1'],
        resourceTags: { match: 'exclude', tags: [{ key: 'waf', value: 'off' }] },
        scope: { include: { orgUnits: ['ou-ab12-cdef3456'], accounts: ['111122223333'] } },
        rules: {
          defaultAction: 'ALLOW',
          firstRuleGroups: [
            {
              managedRuleGroup: { name: 'AWSManagedRulesCommonRuleSet', version: 'Version_1.4' },
              override: 'COUNT',
              excludedRules: ['SizeRestrictions_BODY'],
              ruleActionOverrides: [{ name: 'NoUserAgent_HEADER', action: 'count' }],
            },
          ],
          lastRuleGroups: [{ ruleGroupArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/mine/abc123' }],
        },
        logging: {
          destination: 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-central',
          redactedFields: [{ type: 'SingleHeader', name: 'authorization' }, { type: 'Method' }],
        },
        webACLSource: 'RETROFIT_EXISTING',
      }),
      { region: 'eu-west-1', policyId: '0f2d3c4b-5a69-4788-99aa-bbccddeeff00', policyUpdateToken: 'token-1' },
    );
    expect(input).toEqual({
      Policy: {
        PolicyId: '0f2d3c4b-5a69-4788-99aa-bbccddeeff00',
        PolicyUpdateToken: 'token-1',
        PolicyName: 'org-waf-baseline',
        PolicyDescription: 'Baseline WAF',
        SecurityServicePolicyData: { Type: 'WAFV2', ManagedServiceData: expect.any(String) },
        ResourceType: 'ResourceTypeList',
        ResourceTypeList: ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ApiGateway::Stage'],
        ResourceTags: [{ Key: 'waf', Value: 'off' }],
        ResourceTagLogicalOperator: 'AND',
        ExcludeResourceTags: true,
        RemediationEnabled: false,
        IncludeMap: { ACCOUNT: ['111122223333'], ORG_UNIT: ['ou-ab12-cdef3456'] },
      },
    });
    expect(input.Policy?.SecurityServicePolicyData?.ManagedServiceData).toBe(
      '{"type":"WAFV2",' +
        '"preProcessRuleGroups":[{"overrideAction":{"type":"COUNT"},' +
        '"managedRuleGroupIdentifier":{"versionEnabled":true,"version":"Version_1.4","vendorName":"AWS","managedRuleGroupName":"AWSManagedRulesCommonRuleSet"},' +
        '"ruleGroupType":"ManagedRuleGroup","excludeRules":[{"name":"SizeRestrictions_BODY"}],"sampledRequestsEnabled":true,' +
        '"ruleActionOverrides":[{"name":"NoUserAgent_HEADER","actionToUse":{"count":{}}}]}],' +
        '"postProcessRuleGroups":[{"ruleGroupArn":"arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/mine/abc123",' +
        '"overrideAction":{"type":"NONE"},"ruleGroupType":"RuleGroup","sampledRequestsEnabled":true}],' +
        '"defaultAction":{"type":"ALLOW"},"overrideCustomerWebACLAssociation":false,' +
        '"loggingConfiguration":{"logDestinationConfigs":["arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-central"],' +
        '"redactedFields":[{"redactedFieldType":"SingleHeader","redactedFieldValue":"authorization"},{"redactedFieldType":"Method"}]},' +
        '"sampledRequestsEnabledForDefaultActions":true,"webACLSource":"RETROFIT_EXISTING"}',
    );
  });

  it('renders a global policy as CloudFront in us-east-1 with a single ResourceType', () => {
    const global = spec({
      type: 'WAFV2',
      name: 'edge',
      resourceTypes: ['cloudfront'],
      regions: ['global'],
      rules: { defaultAction: 'BLOCK', firstRuleGroups: [{ managedRuleGroup: { name: 'AWSManagedRulesAmazonIpReputationList' } }] },
    });
    const [rendered, ...others] = renderPutPolicies(global);
    expect(others).toEqual([]);
    expect(rendered?.region).toBe('global');
    expect(rendered?.apiRegion).toBe('us-east-1');
    const policy = rendered?.input.Policy;
    expect(policy?.ResourceType).toBe('AWS::CloudFront::Distribution');
    expect(policy).not.toHaveProperty('ResourceTypeList');
    expect(policy).not.toHaveProperty('IncludeMap');
    expect(policy?.ExcludeResourceTags).toBe(false);
    expect(policy?.SecurityServicePolicyData?.ManagedServiceData).toBe(
      '{"type":"WAFV2","preProcessRuleGroups":[{"overrideAction":{"type":"NONE"},' +
        '"managedRuleGroupIdentifier":{"vendorName":"AWS","managedRuleGroupName":"AWSManagedRulesAmazonIpReputationList"},' +
        '"ruleGroupType":"ManagedRuleGroup","excludeRules":[],"sampledRequestsEnabled":true}],"postProcessRuleGroups":[],' +
        '"defaultAction":{"type":"BLOCK"},"overrideCustomerWebACLAssociation":false,"sampledRequestsEnabledForDefaultActions":true}',
    );
  });

  it('renders Shield Advanced: automatic response for CloudFront, no document for regional types', () => {
    const edge = renderPutPolicy(
      spec({ type: 'SHIELD_ADVANCED', name: 'shield-edge', resourceTypes: ['cloudfront'], regions: ['global'], automaticResponse: 'count', remediation: true }),
      { region: 'global' },
    );
    expect(edge.Policy?.SecurityServicePolicyData).toEqual({
      Type: 'SHIELD_ADVANCED',
      ManagedServiceData: '{"type":"SHIELD_ADVANCED","automaticResponseConfiguration":{"automaticResponseStatus":"ENABLED","automaticResponseAction":"COUNT"}}',
    });
    expect(edge.Policy?.RemediationEnabled).toBe(true);

    const regional = renderPutPolicy(
      spec({ type: 'SHIELD_ADVANCED', name: 'shield', resourceTypes: ['AWS::EC2::EIP', 'classic-elb'], regions: ['eu-west-1', 'us-east-1'], scope: { exclude: { orgUnits: ['ou-ab12-cdef3456'] } } }),
      { region: 'us-east-1' },
    );
    expect(regional.Policy?.SecurityServicePolicyData).toEqual({ Type: 'SHIELD_ADVANCED' });
    expect(regional.Policy?.ResourceTypeList).toEqual(['AWS::EC2::EIP', 'AWS::ElasticLoadBalancing::LoadBalancer']);
    expect(regional.Policy?.ExcludeMap).toEqual({ ORG_UNIT: ['ou-ab12-cdef3456'] });
  });

  it('refuses a region the spec does not name', () => {
    const shield = spec({ type: 'SHIELD_ADVANCED', name: 'shield', resourceTypes: ['eip'], regions: ['eu-west-1'] });
    expect(() => renderPutPolicy(shield, { region: 'us-west-2' })).toThrow(/not deployed to region us-west-2; its regions are eu-west-1/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeLikeFms } from '../test/normalize-like-fms.js';
import { policySpecArbitrary, withoutCapacities } from '../test/policy-spec-arbitrary.js';
import { parseLivePolicy } from './live-policy-parse.js';
import { apiRegionOf } from './policy-spec-schema.js';
import { renderPutPolicy } from './put-policy-render.js';

describe('parseLivePolicy', () => {
  it('is the inverse of render for every valid spec and region', () => {
    fc.assert(
      fc.property(policySpecArbitrary, (spec) => {
        for (const region of spec.regions) {
          const input = renderPutPolicy(spec, { region });
          const parsed = parseLivePolicy({ Policy: input.Policy }, { region: apiRegionOf(region) });
          expect(parsed.spec).toEqual({ ...withoutCapacities(spec), regions: [region] });
          expect(parsed.unmodeled).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads what FMS fills in (nulls, empty lists, defaults, its key order) as the spec defaults', () => {
    fc.assert(
      fc.property(policySpecArbitrary, (spec) => {
        for (const region of spec.regions) {
          const live = parseLivePolicy(normalizeLikeFms(renderPutPolicy(spec, { region }), apiRegionOf(region)), { region: apiRegionOf(region) });
          expect(live.spec).toEqual({ ...withoutCapacities(spec), regions: [region] });
          expect(live.unmodeled).toEqual([]);
          expect(live.policyId).toBe('0f2d3c4b-5a69-4788-99aa-bbccddeeff00');
          expect(live.policyUpdateToken).toBe('token-2');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads the FMS API reference versioning example and reports what a spec cannot hold', () => {
    // The API reference's "Firewall Manager support for WAF managed rule group versioning" document,
    // with a CAPTCHA config added (which orgshield does not model).
    const managedServiceData =
      '{"preProcessRuleGroups":[{"ruleGroupType":"ManagedRuleGroup","overrideAction":{"type":"NONE"},"sampledRequestsEnabled":true,' +
      '"managedRuleGroupIdentifier":{"managedRuleGroupName":"AWSManagedRulesAdminProtectionRuleSet","vendorName":"AWS","managedRuleGroupConfigs":null}}],' +
      '"postProcessRuleGroups":[],"defaultAction":{"type":"ALLOW"},"customRequestHandling":null,"tokenDomains":null,"customResponse":null,' +
      '"type":"WAFV2","overrideCustomerWebACLAssociation":false,"sampledRequestsEnabledForDefaultActions":true,"optimizeUnassociatedWebACL":true,' +
      '"webACLSource":"RETROFIT_EXISTING","captchaConfig":{"immunityTimeProperty":{"immunityTime":500}}}';
    const live = parseLivePolicy(
      {
        Policy: {
          PolicyName: 'admin-protection',
          PolicyId: '11111111-2222-3333-4444-555555555555',
          SecurityServicePolicyData: { Type: 'WAFV2', ManagedServiceData: managedServiceData },
          ResourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
          ResourceTypeList: [],
          ExcludeResourceTags: false,
          RemediationEnabled: true,
          IncludeMap: { ORG_UNIT: ['ou-ab12-cdef3456'] },
          DeleteUnusedFMManagedResources: true,
        },
      },
      { region: 'eu-west-1' },
    );
    expect(live.spec).toMatchObject({
      type: 'WAFV2',
      name: 'admin-protection',
      regions: ['eu-west-1'],
      resourceTypes: ['alb'],
      remediation: true,
      scope: { include: { accounts: [], orgUnits: ['ou-ab12-cdef3456'] } },
      rules: {
        defaultAction: 'ALLOW',
        firstRuleGroups: [{ managedRuleGroup: { vendor: 'AWS', name: 'AWSManagedRulesAdminProtectionRuleSet' }, override: 'NONE', excludedRules: [] }],
        lastRuleGroups: [],
      },
      webACLSource: 'RETROFIT_EXISTING',
    });
    expect(live.unmodeled).toEqual([
      { path: 'DeleteUnusedFMManagedResources', value: true },
      { path: 'ManagedServiceData.optimizeUnassociatedWebACL', value: true },
      { path: 'ManagedServiceData.captchaConfig', value: { immunityTimeProperty: { immunityTime: 500 } } },
    ]);
  });

  it('pins a managed rule group version only when versionEnabled is true, as FMS does', () => {
    const withVersion = (versionEnabled: boolean | null) =>
      parseLivePolicy(
        {
          Policy: {
            PolicyName: 'p',
            SecurityServicePolicyData: {
              Type: 'WAFV2',
              ManagedServiceData: JSON.stringify({
                type: 'WAFV2',
                defaultAction: { type: 'ALLOW' },
                preProcessRuleGroups: [
                  { ruleGroupType: 'ManagedRuleGroup', managedRuleGroupIdentifier: { vendorName: 'AWS', managedRuleGroupName: 'AWSManagedRulesSQLiRuleSet', version: 'Version_1.1', versionEnabled } },
                ],
              }),
            },
            ResourceType: 'AWS::ApiGateway::Stage',
            ExcludeResourceTags: false,
            RemediationEnabled: false,
          },
        },
        { region: 'us-west-2' },
      ).spec;
    const pinned = withVersion(true);
    const unpinned = withVersion(null);
    expect(pinned.type === 'WAFV2' && pinned.rules.firstRuleGroups[0]?.managedRuleGroup?.version).toBe('Version_1.1');
    expect(unpinned.type === 'WAFV2' && unpinned.rules.firstRuleGroups[0]?.managedRuleGroup?.version).toBeUndefined();
  });

  it('refuses policy types and resource types orgshield does not model', () => {
    const base = { PolicyName: 'x', ResourceType: 'AWS::EC2::VPC', ExcludeResourceTags: false, RemediationEnabled: false };
    expect(() => parseLivePolicy({ Policy: { ...base, SecurityServicePolicyData: { Type: 'DNS_FIREWALL' } } }, { region: 'eu-west-1' })).toThrow(
      /Policy x in eu-west-1 has type DNS_FIREWALL; orgshield reads WAFV2 and SHIELD_ADVANCED policies only/,
    );
    expect(() => parseLivePolicy({ Policy: { ...base, SecurityServicePolicyData: { Type: 'SHIELD_ADVANCED' } } }, { region: 'eu-west-1' })).toThrow(
      /protects AWS::EC2::VPC, a resource type orgshield does not model/,
    );
    expect(() => parseLivePolicy({}, { region: 'eu-west-1' })).toThrow(/returned no policy/);
  });

  it('names the bad member of an unreadable ManagedServiceData', () => {
    const policy = (managedServiceData: string) => ({
      Policy: {
        PolicyName: 'x',
        SecurityServicePolicyData: { Type: 'WAFV2' as const, ManagedServiceData: managedServiceData },
        ResourceType: 'AWS::ApiGateway::Stage',
        ExcludeResourceTags: false,
        RemediationEnabled: false,
      },
    });
    expect(() => parseLivePolicy(policy('{"type":"WAFV2"'), { region: 'eu-west-1' })).toThrow(/ManagedServiceData is not valid JSON/);
    expect(() => parseLivePolicy(policy('{"type":"WAFV2","preProcessRuleGroups":[]}'), { region: 'eu-west-1' })).toThrow(
      /ManagedServiceData.defaultAction needs a type, ALLOW or BLOCK/,
    );
    expect(() =>
      parseLivePolicy(policy('{"type":"WAFV2","defaultAction":{"type":"ALLOW"},"postProcessRuleGroups":[{"ruleGroupType":"RuleGroup"}]}'), { region: 'eu-west-1' }),
    ).toThrow(/ManagedServiceData.postProcessRuleGroups\[0\].ruleGroupArn is required for a RuleGroup/);
  });
});

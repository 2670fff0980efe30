import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../service-error.js';
import { MANAGED_SERVICE_DATA_MAX_LENGTH, readManagedServiceData } from './fms-service-data.js';

const commonRuleSet = {
  ruleGroupType: 'ManagedRuleGroup',
  managedRuleGroupIdentifier: { vendorName: 'AWS', managedRuleGroupName: 'AWSManagedRulesCommonRuleSet' },
  overrideAction: { type: 'NONE' },
};

function refusal(type: string, document: string | undefined): string {
  try {
    readManagedServiceData(type, document);
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('InvalidInputException');
    return (error as ServiceError).message;
  }
  throw new Error('the document was accepted');
}

describe('readManagedServiceData (WAFV2)', () => {
  it('returns the document as FMS does: its key order, nulls, empty lists and defaults filled in', () => {
    const { normalized, data } = readManagedServiceData(
      'WAFV2',
      JSON.stringify({ defaultAction: { type: 'BLOCK' }, type: 'WAFV2', preProcessRuleGroups: [commonRuleSet] }),
    );
    expect(normalized).toBe(
      '{"type":"WAFV2","preProcessRuleGroups":[{"ruleGroupArn":null,"overrideAction":{"type":"NONE"},' +
        '"managedRuleGroupIdentifier":{"versionEnabled":null,"version":null,"vendorName":"AWS","managedRuleGroupName":"AWSManagedRulesCommonRuleSet"},' +
        '"ruleGroupType":"ManagedRuleGroup","excludeRules":[],"sampledRequestsEnabled":true,"ruleActionOverrides":null}],' +
        '"postProcessRuleGroups":[],"defaultAction":{"type":"BLOCK"},"customRequestHandling":null,"customResponse":null,' +
        '"overrideCustomerWebACLAssociation":false,"loggingConfiguration":null,"sampledRequestsEnabledForDefaultActions":true,' +
        '"optimizeUnassociatedWebACL":false}',
    );
    expect(data).toMatchObject({ type: 'WAFV2', defaultAction: 'BLOCK', overrideCustomerWebACLAssociation: false, retrofitExistingWebAcls: false });
  });

  it('pins a managed group version only when versionEnabled is true', () => {
    const pinned = (identifier: object) =>
      readManagedServiceData(
        'WAFV2',
        JSON.stringify({ type: 'WAFV2', defaultAction: { type: 'ALLOW' }, preProcessRuleGroups: [{ ...commonRuleSet, managedRuleGroupIdentifier: { ...commonRuleSet.managedRuleGroupIdentifier, ...identifier } }] }),
      ).data;
    expect(pinned({ versionEnabled: true, version: 'Version_1.4' })).toMatchObject({ preProcessRuleGroups: [{ version: 'Version_1.4' }] });
    expect(pinned({ version: 'Version_1.4' })).toMatchObject({ preProcessRuleGroups: [{ version: undefined }] });
  });

  it('keeps own rule groups by ARN, the retrofit setting and a logging destination', () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/geo-block/1a2b3c4d-1111-2222-3333-444455556666';
    const { normalized, data } = readManagedServiceData(
      'WAFV2',
      JSON.stringify({
        type: 'WAFV2',
        defaultAction: { type: 'ALLOW' },
        postProcessRuleGroups: [{ ruleGroupType: 'RuleGroup', ruleGroupArn: arn, overrideAction: { type: 'COUNT' } }],
        loggingConfiguration: { logDestinationConfigs: ['arn:aws:s3:::aws-waf-logs-central'] },
        webACLSource: 'RETROFIT_EXISTING',
      }),
    );
    expect(data).toMatchObject({ retrofitExistingWebAcls: true, postProcessRuleGroups: [{ kind: 'RuleGroup', ruleGroupArn: arn, overrideAction: 'COUNT' }] });
    const document = JSON.parse(normalized as string) as Record<string, unknown>;
    expect(document.loggingConfiguration).toEqual({ logDestinationConfigs: ['arn:aws:s3:::aws-waf-logs-central'], redactedFields: [] });
    expect(document.webACLSource).toBe('RETROFIT_EXISTING');
    expect(Object.keys(document).at(-1)).toBe('webACLSource');
  });

  it.each([
    ['not JSON', '{"type":"WAFV2",', /not valid JSON/],
    ['of another type', JSON.stringify({ type: 'SHIELD_ADVANCED' }), /has type "SHIELD_ADVANCED" but .* is WAFV2/],
    ['without a default action', JSON.stringify({ type: 'WAFV2', preProcessRuleGroups: [] }), /defaultAction is null/],
    ['with a rule group missing its ARN', JSON.stringify({ type: 'WAFV2', defaultAction: { type: 'ALLOW' }, preProcessRuleGroups: [{ ruleGroupType: 'RuleGroup' }] }), /preProcessRuleGroups\[0\]\.ruleGroupArn is null/],
    ['with an unknown override action', JSON.stringify({ type: 'WAFV2', defaultAction: { type: 'ALLOW' }, preProcessRuleGroups: [{ ...commonRuleSet, overrideAction: { type: 'BLOCK' } }] }), /overrideAction is \{"type":"BLOCK"\}/],
    ['pinning no version', JSON.stringify({ type: 'WAFV2', defaultAction: { type: 'ALLOW' }, preProcessRuleGroups: [{ ...commonRuleSet, managedRuleGroupIdentifier: { ...commonRuleSet.managedRuleGroupIdentifier, versionEnabled: true } }] }), /versionEnabled true but no version/],
    ['logging to a bucket without the aws-waf-logs- prefix', JSON.stringify({ type: 'WAFV2', defaultAction: { type: 'ALLOW' }, loggingConfiguration: { logDestinationConfigs: ['arn:aws:s3:::central-logs'] } }), /starts with aws-waf-logs-/],
  ])('refuses a document %s', (_what, document, message) => {
    expect(refusal('WAFV2', document)).toMatch(message);
  });

  it(`refuses a document longer than ${MANAGED_SERVICE_DATA_MAX_LENGTH} characters`, () => {
    const document = JSON.stringify({ type: 'WAFV2', defaultAction: { type: 'ALLOW' }, padding: 'x'.repeat(MANAGED_SERVICE_DATA_MAX_LENGTH) });
    expect(refusal('WAFV2', document)).toMatch(new RegExp(`is ${document.length} characters, more than the ${MANAGED_SERVICE_DATA_MAX_LENGTH}`));
  });

  it('refuses a WAFV2 policy without a document and a policy type the sandbox does not evaluate', () => {
    expect(refusal('WAFV2', undefined)).toMatch(/needs ManagedServiceData/);
    expect(refusal('NETWORK_FIREWALL', '{}')).toMatch(/WAFV2 and SHIELD_ADVANCED policies only, not NETWORK_FIREWALL/);
  });

  it('reads its own output back unchanged (normalizing twice changes nothing)', () => {
    const ruleGroup = fc.record({
      ruleGroupType: fc.constant('ManagedRuleGroup'),
      managedRuleGroupIdentifier: fc.record({
        vendorName: fc.constant('AWS'),
        managedRuleGroupName: fc.constantFrom('AWSManagedRulesCommonRuleSet', 'AWSManagedRulesSQLiRuleSet'),
        versionEnabled: fc.constantFrom(null, true),
        version: fc.constant('Version_1.2'),
      }),
      overrideAction: fc.record({ type: fc.constantFrom('NONE', 'COUNT') }),
      excludeRules: fc.array(fc.record({ name: fc.constantFrom('SizeRestrictions_BODY', 'NoUserAgent_HEADER') }), { maxLength: 2 }),
      ruleActionOverrides: fc.option(fc.array(fc.record({ name: fc.constant('CrossSiteScripting_BODY'), actionToUse: fc.constantFrom({ count: {} }, { block: {} }) }), { maxLength: 2 })),
    });
    const document = fc.record(
      {
        type: fc.constant('WAFV2'),
        defaultAction: fc.record({ type: fc.constantFrom('ALLOW', 'BLOCK') }),
        preProcessRuleGroups: fc.array(ruleGroup, { maxLength: 3 }),
        postProcessRuleGroups: fc.array(ruleGroup, { maxLength: 2 }),
        overrideCustomerWebACLAssociation: fc.boolean(),
        optimizeUnassociatedWebACL: fc.boolean(),
        webACLSource: fc.constantFrom(null, 'RETROFIT_EXISTING'),
      },
      { requiredKeys: ['type', 'defaultAction'] },
    );
    fc.assert(
      fc.property(document, (doc) => {
        const once = readManagedServiceData('WAFV2', JSON.stringify(doc));
        const twice = readManagedServiceData('WAFV2', once.normalized);
        expect(twice.normalized).toBe(once.normalized);
        expect(twice.data).toEqual(once.data);
      }),
    );
  });
});

describe('readManagedServiceData (SHIELD_ADVANCED)', () => {
  it('accepts no document, as FMS documents for resources other than CloudFront', () => {
    expect(readManagedServiceData('SHIELD_ADVANCED', undefined)).toEqual({ data: { type: 'SHIELD_ADVANCED', automaticResponseStatus: 'IGNORED' }, normalized: undefined });
  });

  it('fills in the automatic response defaults', () => {
    const { normalized } = readManagedServiceData('SHIELD_ADVANCED', JSON.stringify({ type: 'SHIELD_ADVANCED', automaticResponseConfiguration: { automaticResponseStatus: 'ENABLED', automaticResponseAction: 'COUNT' } }));
    expect(normalized).toBe(
      '{"type":"SHIELD_ADVANCED","automaticResponseConfiguration":{"automaticResponseStatus":"ENABLED","automaticResponseAction":"COUNT"},"overrideCustomerWebaclClassic":false,"optimizeUnassociatedWebACL":false}',
    );
  });

  it('refuses an enabled automatic response without its action', () => {
    const document = JSON.stringify({ type: 'SHIELD_ADVANCED', automaticResponseConfiguration: { automaticResponseStatus: 'ENABLED' } });
    expect(refusal('SHIELD_ADVANCED', document)).toMatch(/needs BLOCK or COUNT/);
  });
});

import type { GetPolicyCommandOutput, Policy, PutPolicyCommandInput } from '@aws-sdk/client-fms';

/**
 * What GetPolicy returns after a PutPolicy, as the FMS API reference shows its documents: the
 * ManagedServiceData re-serialized in FMS's own key order with every unset member written as
 * null, [] or its default (the reference's "managed rule group versioning" example), and the
 * policy with its id, token, ARN, status and empty members filled in. Diffing a spec against
 * this must find nothing.
 */
export function normalizeLikeFms(input: PutPolicyCommandInput, region: string): Pick<GetPolicyCommandOutput, 'Policy' | 'PolicyArn'> {
  const sent = input.Policy;
  if (!sent) throw new Error('PutPolicy input without a Policy');
  const policyId = sent.PolicyId ?? '0f2d3c4b-5a69-4788-99aa-bbccddeeff00';
  const data = sent.SecurityServicePolicyData;
  const type = data?.Type;
  const document = data?.ManagedServiceData ? (JSON.parse(data.ManagedServiceData) as Record<string, unknown>) : undefined;
  const managedServiceData =
    type === 'WAFV2' && document ? wafDocument(document) : type === 'SHIELD_ADVANCED' ? shieldDocument(document) : data?.ManagedServiceData;
  const single = sent.ResourceType !== 'ResourceTypeList';
  const policy: Policy = {
    // Alphabetical: FMS does not keep the order a caller sent.
    DeleteUnusedFMManagedResources: false,
    ExcludeMap: sent.ExcludeMap ?? {},
    ExcludeResourceTags: sent.ExcludeResourceTags,
    IncludeMap: sent.IncludeMap ?? {},
    PolicyDescription: sent.PolicyDescription ?? '',
    PolicyId: policyId,
    PolicyName: sent.PolicyName,
    PolicyStatus: 'ACTIVE',
    PolicyUpdateToken: 'token-2',
    RemediationEnabled: sent.RemediationEnabled,
    ResourceSetIds: [],
    ResourceTagLogicalOperator: sent.ResourceTagLogicalOperator ?? 'AND',
    ResourceTags: sent.ResourceTags ?? [],
    ResourceType: sent.ResourceType,
    // A single type comes back echoed in the list too.
    ResourceTypeList: single ? [sent.ResourceType ?? ''] : sent.ResourceTypeList,
    SecurityServicePolicyData: { ManagedServiceData: managedServiceData, Type: type },
  };
  return { Policy: policy, PolicyArn: `arn:aws:fms:${region}:111122223333:policy/${policyId}` };
}

function wafDocument(sent: Record<string, unknown>): string {
  const groups = (key: string) => ((sent[key] as Record<string, unknown>[] | undefined) ?? []).map(ruleGroup);
  const logging = sent.loggingConfiguration as Record<string, unknown> | undefined;
  return JSON.stringify({
    preProcessRuleGroups: groups('preProcessRuleGroups'),
    postProcessRuleGroups: groups('postProcessRuleGroups'),
    defaultAction: sent.defaultAction,
    customRequestHandling: null,
    tokenDomains: null,
    customResponse: null,
    type: sent.type,
    overrideCustomerWebACLAssociation: sent.overrideCustomerWebACLAssociation ?? false,
    loggingConfiguration: logging
      ? { logDestinationConfigs: logging.logDestinationConfigs, redactedFields: logging.redactedFields ?? [], loggingFilterConfigs: null }
      : null,
    sampledRequestsEnabledForDefaultActions: sent.sampledRequestsEnabledForDefaultActions ?? true,
    optimizeUnassociatedWebACL: false,
    ...(sent.webACLSource ? { webACLSource: sent.webACLSource } : {}),
  });
}

function ruleGroup(group: Record<string, unknown>): Record<string, unknown> {
  const identifier = group.managedRuleGroupIdentifier as Record<string, unknown> | undefined;
  return {
    ruleGroupType: group.ruleGroupType,
    overrideAction: group.overrideAction,
    sampledRequestsEnabled: group.sampledRequestsEnabled ?? true,
    ruleGroupArn: group.ruleGroupArn ?? null,
    managedRuleGroupIdentifier: identifier
      ? {
          managedRuleGroupName: identifier.managedRuleGroupName,
          vendorName: identifier.vendorName,
          versionEnabled: identifier.versionEnabled ?? null,
          version: identifier.version ?? null,
          managedRuleGroupConfigs: null,
        }
      : null,
    excludeRules: group.excludeRules ?? [],
    ruleActionOverrides: group.ruleActionOverrides ?? null,
  };
}

function shieldDocument(sent: Record<string, unknown> | undefined): string {
  return JSON.stringify({
    type: 'SHIELD_ADVANCED',
    automaticResponseConfiguration: sent?.automaticResponseConfiguration ?? null,
    overrideCustomerWebaclClassic: false,
    optimizeUnassociatedWebACL: false,
  });
}

import type { GetPolicyCommandOutput, Policy } from '@aws-sdk/client-fms';
import { InvalidInputError } from '@orgshield/errors';
import { readManagedServiceData, type UnmodeledSetting } from './managed-service-data.js';
import {
  GLOBAL_API_REGION,
  GLOBAL_REGION,
  PolicySpecSchema,
  resourceTypeFromApiName,
  type PolicySpec,
} from './policy-spec-schema.js';
import { formatFieldPath } from '@orgshield/spec-files';

/** A policy as FMS holds it, read back into a spec. */
export interface LivePolicy {
  spec: PolicySpec;
  policyId?: string;
  policyUpdateToken?: string;
  policyArn?: string;
  /** Settings the live policy has that a spec cannot express (a diff shows them as drift). */
  unmodeled: UnmodeledSetting[];
}

/**
 * GetPolicy output -> spec: the inverse of renderPutPolicy. `region` is where GetPolicy was
 * called; a CloudFront policy in us-east-1 reads back as region `global`. What FMS fills in
 * (nulls, empty lists, defaults, its key order) reads as the spec default, so a policy that
 * orgshield rendered parses back to the spec it came from.
 */
export function parseLivePolicy(output: Pick<GetPolicyCommandOutput, 'Policy' | 'PolicyArn'>, options: { region: string }): LivePolicy {
  const policy = output.Policy;
  if (!policy) throw new InvalidInputError(`GetPolicy in ${options.region} returned no policy to read.`);
  const name = policy.PolicyName ?? policy.PolicyId ?? 'unnamed';
  const type = policy.SecurityServicePolicyData?.Type;
  if (type !== 'WAFV2' && type !== 'SHIELD_ADVANCED') {
    throw new InvalidInputError(`Policy ${name} in ${options.region} has type ${String(type)}; orgshield reads WAFV2 and SHIELD_ADVANCED policies only.`, {
      code: 'UnsupportedPolicyType',
    });
  }
  const unmodeled: UnmodeledSetting[] = [];
  const note = (path: string, value: unknown) => unmodeled.push({ path, value });
  const resourceTypes = apiResourceTypes(policy).map((apiName) => {
    const type = resourceTypeFromApiName(apiName);
    if (!type) throw new InvalidInputError(`Policy ${name} in ${options.region} protects ${apiName}, a resource type orgshield does not model.`);
    return type;
  });
  const include = scopeMap(policy.IncludeMap);
  const exclude = scopeMap(policy.ExcludeMap);
  // FMS ignores ExcludeMap when IncludeMap is set; a spec cannot hold both.
  if (include && exclude) note('ExcludeMap', policy.ExcludeMap);
  if (policy.DeleteUnusedFMManagedResources === true) note('DeleteUnusedFMManagedResources', true);
  if ((policy.ResourceSetIds ?? []).length > 0) note('ResourceSetIds', policy.ResourceSetIds);
  const option = policy.SecurityServicePolicyData?.PolicyOption;
  if (option && Object.values(option).some((value) => value !== undefined && value !== null)) note('SecurityServicePolicyData.PolicyOption', option);

  const serviceData = readManagedServiceData(type, policy.SecurityServicePolicyData?.ManagedServiceData);
  unmodeled.push(...serviceData.unmodeled);
  const tags = policy.ResourceTags ?? [];
  const global = options.region === GLOBAL_API_REGION && resourceTypes.includes('cloudfront');
  const candidate = {
    type,
    name: policy.PolicyName,
    description: policy.PolicyDescription || undefined,
    resourceTypes,
    regions: [global ? GLOBAL_REGION : options.region],
    resourceTags:
      tags.length === 0
        ? undefined
        : {
            match: policy.ExcludeResourceTags ? 'exclude' : 'include',
            operator: policy.ResourceTagLogicalOperator ?? 'AND',
            tags: tags.map((tag) => ({ key: tag.Key, value: tag.Value ?? '' })),
          },
    scope: include || exclude ? { include, exclude: include ? undefined : exclude } : undefined,
    remediation: policy.RemediationEnabled ?? false,
    ...serviceData.fields,
  };
  const parsed = PolicySpecSchema.safeParse(candidate);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${formatFieldPath(issue.path) || 'policy'}: ${issue.message}`);
    throw new InvalidInputError(`Policy ${name} in ${options.region} does not read as an orgshield spec: ${problems.join('; ')}.`, {
      code: 'UnreadablePolicy',
    });
  }
  return {
    spec: parsed.data,
    policyId: policy.PolicyId,
    policyUpdateToken: policy.PolicyUpdateToken,
    policyArn: output.PolicyArn,
    unmodeled,
  };
}

/** ResourceType, or the ResourceTypeList it stands for; FMS may echo a single type in both. */
function apiResourceTypes(policy: Policy): string[] {
  const list = policy.ResourceTypeList ?? [];
  const types = policy.ResourceType && policy.ResourceType !== 'ResourceTypeList' ? [policy.ResourceType, ...list] : list;
  return [...new Set(types)];
}

function scopeMap(map: Policy['IncludeMap']): { accounts: string[]; orgUnits: string[] } | undefined {
  const accounts = map?.ACCOUNT ?? [];
  const orgUnits = map?.ORG_UNIT ?? [];
  return accounts.length === 0 && orgUnits.length === 0 ? undefined : { accounts, orgUnits };
}

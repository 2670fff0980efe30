import type { GetPolicyCommandOutput, Policy } from '@aws-sdk/client-fms';
import { mapLimit, type AwsClientFactory } from '@orgshield/aws';
import type { OrganizationSnapshot } from '@orgshield/accounts';
import { InvalidInputError } from '@orgshield/errors';
import { apiRegionOf, diffPolicy, hasOuPaths, parseLivePolicy, resourceTypeFromApiName, type PolicyDifference, type PolicySpec } from '@orgshield/policies';
import { fmsClient, getPolicy, listPolicies } from './live-policies.js';
import { withOuIds } from './scope-paths.js';

/** One live policy as GetPolicy returned it, and the region it was read in. */
export interface LivePolicyRecord {
  region: string;
  output: GetPolicyCommandOutput;
}

/** A row of `policy list`. */
export interface PolicyOverview {
  region: string;
  name: string;
  id: string;
  type: string;
  remediation: boolean;
  resourceTypes: string[];
  scope: string;
}

/** GetPolicy calls in flight at once per region; the client's rate limit paces them further. */
const GET_POLICY_CONCURRENCY = 4;

/**
 * Every policy of the administrator account in each region (ListPolicies to its last page),
 * each read in full with GetPolicy, a few at once, in ListPolicies' order; `select` keeps only
 * the summaries wanted before they are read.
 */
export async function readPolicies(
  aws: AwsClientFactory,
  regions: readonly string[],
  select: (summary: { PolicyName?: string; PolicyId?: string }) => boolean = () => true,
): Promise<LivePolicyRecord[]> {
  const perRegion = await Promise.all(
    regions.map(async (region) => {
      const fms = fmsClient(aws, region);
      const ids = (await listPolicies(fms)).flatMap((summary) => (summary.PolicyId && select(summary) ? [summary.PolicyId] : []));
      return mapLimit(ids, GET_POLICY_CONCURRENCY, async (id): Promise<LivePolicyRecord> => ({ region, output: await getPolicy(fms, id) }));
    }),
  );
  return perRegion.flat();
}

/** A policy's row: resource types by their spec names where orgshield has one, scope in words. */
export function policyOverview({ region, output }: LivePolicyRecord): PolicyOverview {
  const policy: Partial<Policy> = output.Policy ?? {};
  const apiTypes = [...new Set([...(policy.ResourceType && policy.ResourceType !== 'ResourceTypeList' ? [policy.ResourceType] : []), ...(policy.ResourceTypeList ?? [])])];
  return {
    region,
    name: policy.PolicyName ?? '',
    id: policy.PolicyId ?? '',
    type: policy.SecurityServicePolicyData?.Type ?? '',
    remediation: policy.RemediationEnabled === true,
    resourceTypes: apiTypes.map((apiName) => resourceTypeFromApiName(apiName) ?? apiName),
    scope: scopeSummary(policy),
  };
}

/** "all accounts", "3 accounts, 1 OU", "all but 2 accounts", and the resource tags that narrow it. */
export function scopeSummary(policy: Partial<Pick<Policy, 'IncludeMap' | 'ExcludeMap' | 'ResourceTags' | 'ExcludeResourceTags'>>): string {
  const count = (map: Policy['IncludeMap']) => {
    const parts = [
      [map?.ACCOUNT?.length ?? 0, 'account'],
      [map?.ORG_UNIT?.length ?? 0, 'OU'],
    ] as const;
    return parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}${n === 1 ? '' : 's'}`).join(', ');
  };
  const include = count(policy.IncludeMap);
  const exclude = count(policy.ExcludeMap);
  // FMS ignores ExcludeMap when IncludeMap is set.
  const accounts = include ? include : exclude ? `all but ${exclude}` : 'all accounts';
  const tags = policy.ResourceTags ?? [];
  if (tags.length === 0) return accounts;
  return `${accounts}; resources ${policy.ExcludeResourceTags ? 'without' : 'with'} ${tags.map((tag) => (tag.Value ? `${tag.Key}=${tag.Value}` : tag.Key)).join(', ')}`;
}

/**
 * The policy as GetPolicy returned it, with its ManagedServiceData parsed (it is a JSON
 * document in a string); a string that is not JSON stays as it is and `serviceDataError` says why.
 */
export function policyDocument({ region, output }: LivePolicyRecord): Record<string, unknown> {
  const policy: Partial<Policy> = output.Policy ?? {};
  const data = policy.SecurityServicePolicyData;
  let parsed: unknown = data?.ManagedServiceData;
  let serviceDataError: string | undefined;
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed);
    } catch (error) {
      serviceDataError = `ManagedServiceData is not JSON: ${(error as Error).message}`;
    }
  }
  return {
    region,
    policyArn: output.PolicyArn,
    policy: { ...policy, ...(data ? { SecurityServicePolicyData: { ...data, ManagedServiceData: parsed } } : {}) },
    ...(serviceDataError ? { serviceDataError } : {}),
  };
}

/** How one region of a spec compares with the live policy of its name there. */
export interface PolicyDrift {
  region: string;
  apiRegion: string;
  /** The live policy compared: undefined when none has the name (the spec is not live). */
  policyId?: string;
  differences: PolicyDifference[];
}

/**
 * The semantic difference between a spec and the live policy named `liveName` (default the
 * spec's name) in each of `regions` (default the spec's): remediation, scope, resource types,
 * tags and the ManagedServiceData fields, compared as values (sets as sets, key order and FMS's
 * defaults ignored), as a rollout would compare them before writing. OU paths in the spec's
 * scope are looked up in `organization`, called only when the spec has some.
 */
export async function policyDrift(
  aws: AwsClientFactory,
  spec: PolicySpec,
  options: { regions?: readonly string[]; liveName?: string; organization: () => Promise<OrganizationSnapshot> },
): Promise<PolicyDrift[]> {
  let desired = spec;
  if (hasOuPaths(spec)) {
    const resolved = withOuIds(spec, await options.organization());
    if (resolved.problems.length > 0) throw new InvalidInputError(`${resolved.problems.join('; ')}.`);
    desired = resolved.spec;
  }
  const name = options.liveName ?? spec.name;
  const regions = options.regions ?? spec.regions;
  return Promise.all(
    regions.map(async (region): Promise<PolicyDrift> => {
      const apiRegion = apiRegionOf(region);
      const fms = fmsClient(aws, apiRegion);
      const summary = (await listPolicies(fms)).find((policy) => policy.PolicyName === name);
      if (!summary?.PolicyId) return { region, apiRegion, differences: [] };
      const live = parseLivePolicy(await getPolicy(fms, summary.PolicyId), { region: apiRegion });
      // The live policy's name is compared only when it is the spec's own.
      return { region, apiRegion, policyId: summary.PolicyId, differences: diffPolicy({ ...desired, name }, live) };
    }),
  );
}

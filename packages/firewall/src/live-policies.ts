import { FMSClient, GetPolicyCommand, ListPoliciesCommand, type GetPolicyCommandOutput, type PolicySummary } from '@aws-sdk/client-fms';
import type { AwsClientFactory } from '@orgshield/aws';
import { parseLivePolicy, type LivePolicy } from '@orgshield/policies';
import type { LiveRegion } from './rollout-planner.js';

/** The FMS client of the administrator account (the caller) in a region. */
export function fmsClient(aws: AwsClientFactory, region: string): FMSClient {
  return aws.client(FMSClient, { region });
}

/** Every policy summary in a region, following NextToken to the end. */
export async function listPolicies(fms: FMSClient): Promise<PolicySummary[]> {
  const summaries: PolicySummary[] = [];
  let token: string | undefined;
  do {
    const page = await fms.send(new ListPoliciesCommand({ MaxResults: 100, NextToken: token }));
    summaries.push(...(page.PolicyList ?? []));
    token = page.NextToken || undefined;
  } while (token);
  return summaries;
}

/** GetPolicy, kept raw: rollback restores exactly this, and the update token comes from it. */
export async function getPolicy(fms: FMSClient, policyId: string): Promise<GetPolicyCommandOutput> {
  return fms.send(new GetPolicyCommand({ PolicyId: policyId }));
}

/** Finds a policy by name in a region; FMS names are unique per administrator and region. */
export async function findPolicy(fms: FMSClient, name: string): Promise<{ summary: PolicySummary; output: GetPolicyCommandOutput } | undefined> {
  const summary = (await listPolicies(fms)).find((policy) => policy.PolicyName === name);
  if (!summary?.PolicyId) return undefined;
  return { summary, output: await getPolicy(fms, summary.PolicyId) };
}

/**
 * What FMS holds in each region, for the planner: every policy's name (they all count against
 * the quota) and the named ones read back into specs.
 */
export async function readLiveState(aws: AwsClientFactory, regions: readonly string[], names: ReadonlySet<string>): Promise<LiveRegion[]> {
  return Promise.all(
    regions.map(async (region) => {
      const fms = fmsClient(aws, region);
      const summaries = await listPolicies(fms);
      const policies: LivePolicy[] = [];
      for (const summary of summaries) {
        if (!summary.PolicyId || !summary.PolicyName || !names.has(summary.PolicyName)) continue;
        policies.push(parseLivePolicy(await getPolicy(fms, summary.PolicyId), { region }));
      }
      return { region, policyNames: summaries.flatMap((summary) => (summary.PolicyName ? [summary.PolicyName] : [])), policies };
    }),
  );
}

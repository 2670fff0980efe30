import {
  GetComplianceDetailCommand,
  ListComplianceStatusCommand,
  type FMSClient,
  type PolicyComplianceStatus,
} from '@aws-sdk/client-fms';
import type { AccountCompliance, Violator } from './compliance-gate.js';

/** GetComplianceDetail calls in flight at once; the client's rate limit paces them further. */
const DETAIL_CONCURRENCY = 8;

/** A compliant account's detail has no violators; a non-compliant (or over-the-limit) one's says which and why. */
export function needsDetail(entry: AccountCompliance): boolean {
  return entry.status === 'NON_COMPLIANT' || entry.evaluationLimitExceeded;
}

/**
 * Every member account's standing against one policy from ListComplianceStatus alone, to the
 * last page: status, evaluation time and violator count, which is all a gate of counts needs.
 * `accounts` limits the result to those accounts; accounts FMS has not evaluated come back
 * NOT_EVALUATED. Violators stay empty until `readViolators` fills them. `onPage` sees each
 * page's entries (of `accounts`) as the page arrives, so detail reads can start before the last;
 * when it answers false the read stops there, and the accounts of the pages not read come back
 * NOT_EVALUATED.
 */
export async function readComplianceStatus(
  fms: FMSClient,
  policy: { id: string; name: string },
  options: { accounts?: readonly string[]; onPage?: (entries: AccountCompliance[]) => Promise<boolean> } = {},
): Promise<AccountCompliance[]> {
  const statuses = new Map<string, PolicyComplianceStatus>();
  const wanted = options.accounts ? new Set(options.accounts) : undefined;
  let token: string | undefined;
  do {
    const page = await fms.send(new ListComplianceStatusCommand({ PolicyId: policy.id, MaxResults: 100, NextToken: token }));
    const arrived: AccountCompliance[] = [];
    for (const status of page.PolicyComplianceStatusList ?? []) {
      if (!status.MemberAccount) continue;
      statuses.set(status.MemberAccount, status);
      if (options.onPage && (!wanted || wanted.has(status.MemberAccount))) arrived.push(fromStatus(status.MemberAccount, policy.name, status));
    }
    if (options.onPage && !(await options.onPage(arrived))) break;
    token = page.NextToken || undefined;
  } while (token);
  return (options.accounts ?? [...statuses.keys()].sort()).map((account) => fromStatus(account, policy.name, statuses.get(account)));
}

/** GetComplianceDetail for each entry (one call per account), filling its violators in place. */
export async function readViolators(fms: FMSClient, policyId: string, entries: readonly AccountCompliance[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let item = entries[next++]; item !== undefined; item = entries[next++]) {
      const { PolicyComplianceDetail: detail } = await fms.send(new GetComplianceDetailCommand({ PolicyId: policyId, MemberAccount: item.account }));
      item.violators = (detail?.Violators ?? []).map(
        (violator): Violator => ({
          resourceId: violator.ResourceId ?? 'unknown',
          resourceType: violator.ResourceType ?? 'unknown',
          reason: violator.ViolationReason ?? 'UNKNOWN',
        }),
      );
      item.evaluationLimitExceeded ||= detail?.EvaluationLimitExceeded === true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(DETAIL_CONCURRENCY, entries.length) }, worker));
}

function fromStatus(account: string, policy: string, status: PolicyComplianceStatus | undefined): AccountCompliance {
  const results = status?.EvaluationResults ?? [];
  // Evaluated with no results: the account has nothing the policy protects.
  if (!status || (results.length === 0 && !status.LastUpdated)) {
    return { account, policy, status: 'NOT_EVALUATED', violatorCount: 0, evaluationLimitExceeded: false, violators: [] };
  }
  const nonCompliant = results.some((result) => result.ComplianceStatus === 'NON_COMPLIANT');
  return {
    account,
    policy,
    status: nonCompliant ? 'NON_COMPLIANT' : 'COMPLIANT',
    ...(status.LastUpdated ? { evaluatedAt: status.LastUpdated.toISOString() } : {}),
    violatorCount: results.reduce((sum, result) => sum + (result.ViolatorCount ?? 0), 0),
    evaluationLimitExceeded: results.some((result) => result.EvaluationLimitExceeded === true),
    violators: [],
  };
}

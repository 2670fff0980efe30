import { runFanOut, type FailureTolerance, type FanOutResult } from '@orgshield/accounts';
import { type AwsClientFactory } from '@orgshield/aws';
import { InvalidInputError } from '@orgshield/errors';
import type { AccountCompliance } from './compliance-gate.js';
import { needsDetail, readComplianceStatus, readViolators } from './compliance-reader.js';
import { fmsClient, listPolicies } from './live-policies.js';

/** GetComplianceDetail calls in flight at once over all regions; the rate limits pace them further. */
const DETAIL_WINDOW = 16;

export interface ComplianceReportRow extends AccountCompliance {
  region: string;
}

export interface ComplianceReport {
  policy: string;
  /** Regions asked, and the policy's id where it exists. */
  regions: { region: string; policyId?: string }[];
  rows: ComplianceReportRow[];
  totals: {
    accounts: number;
    compliant: number;
    nonCompliant: number;
    notEvaluated: number;
    nonCompliantResources: number;
    evaluationLimitExceeded: number;
    byReason: Record<string, number>;
  };
  /**
   * Accounts whose violators were not read: failed (with the reason), or not started once a
   * region passed its failure tolerance. Their rows keep FMS's counts.
   */
  unread: Pick<FanOutResult<unknown>, 'failed' | 'notStarted' | 'stoppedRegions'>;
}

export interface ComplianceReportOptions {
  policy: string;
  regions: readonly string[];
  /**
   * Per region, how many accounts' violator reads may fail before the report stops reading
   * violators there; default { percentage: 100 }: a read-only report reads on and lists them.
   */
  tolerance?: FailureTolerance;
}

/**
 * A policy's compliance in every region asked: each member account FMS reports (all pages),
 * with its violators and their reasons. Accounts over FMS's 100-violator limit are flagged,
 * and their count stays a floor, never silently dropped. The violators are read per account in
 * one sliding window over every region (runFanOut); an account whose read fails is listed in
 * `unread` and the others go on, within the tolerance.
 */
export async function complianceReport(aws: AwsClientFactory, options: ComplianceReportOptions): Promise<ComplianceReport> {
  const regions: ComplianceReport['regions'] = [];
  const rows: ComplianceReportRow[] = [];
  for (const region of options.regions) {
    const fms = fmsClient(aws, region);
    const policyId = (await listPolicies(fms)).find((policy) => policy.PolicyName === options.policy)?.PolicyId;
    regions.push(policyId ? { region, policyId } : { region });
    if (!policyId) continue;
    for (const entry of await readComplianceStatus(fms, { id: policyId, name: options.policy })) rows.push({ region, ...entry });
  }
  if (!regions.some((region) => region.policyId)) {
    throw new InvalidInputError(`there is no Firewall Manager policy named "${options.policy}" in ${options.regions.join(', ')}; check the name, or add --region.`);
  }
  const rowOf = new Map(rows.map((row) => [`${row.region}|${row.account}`, row]));
  const policyIdOf = new Map(regions.flatMap((entry) => (entry.policyId ? [[entry.region, entry.policyId] as const] : [])));
  const reads = await runFanOut({
    tasks: rows.filter(needsDetail).map((row) => ({ accountId: row.account, region: row.region })),
    concurrency: DETAIL_WINDOW,
    tolerance: options.tolerance ?? { percentage: 100 },
    run: ({ accountId, region }) => readViolators(fmsClient(aws, region), policyIdOf.get(region)!, [rowOf.get(`${region}|${accountId}`)!]),
  });
  const byReason: Record<string, number> = {};
  for (const row of rows) for (const violator of row.violators) byReason[violator.reason] = (byReason[violator.reason] ?? 0) + 1;
  return {
    policy: options.policy,
    regions,
    rows,
    totals: {
      ...accountTotals(rows),
      nonCompliantResources: rows.reduce((sum, row) => sum + Math.max(row.violatorCount, row.violators.length), 0),
      evaluationLimitExceeded: rows.filter((row) => row.evaluationLimitExceeded).length,
      byReason,
    },
    unread: { failed: reads.failed, notStarted: reads.notStarted, stoppedRegions: reads.stoppedRegions },
  };
}

/** One policy in one region: how many member accounts stand where, from ListComplianceStatus alone. */
export interface PolicyComplianceCounts {
  policy: string;
  policyId: string;
  region: string;
  remediation: boolean;
  accounts: number;
  compliant: number;
  nonCompliant: number;
  notEvaluated: number;
  /** Violators FMS counts in the non-compliant accounts (a floor where it stopped evaluating). */
  nonCompliantResources: number;
}

export interface ComplianceSummary {
  regions: string[];
  policies: PolicyComplianceCounts[];
  /** Every account's standing against every policy, each region's own (violators not read). */
  rows: (ComplianceReportRow & { policyId: string })[];
  /** Accounts counted once over every policy and region: non-compliant if they are anywhere. */
  totals: ReturnType<typeof accountTotals>;
}

/**
 * Every policy of the administrator in every region asked, with its accounts counted per
 * compliance status: ListPolicies and ListComplianceStatus (every page) only, no
 * GetComplianceDetail, so it costs a few calls per policy whatever the organization's size.
 */
export async function complianceSummary(aws: AwsClientFactory, options: { regions: readonly string[] }): Promise<ComplianceSummary> {
  const perRegion = await Promise.all(
    options.regions.map(async (region) => {
      const fms = fmsClient(aws, region);
      const found: { counts: PolicyComplianceCounts; rows: ComplianceSummary['rows'] }[] = [];
      for (const summary of await listPolicies(fms)) {
        if (!summary.PolicyId || !summary.PolicyName) continue;
        const policy = { id: summary.PolicyId, name: summary.PolicyName };
        const rows = (await readComplianceStatus(fms, policy)).map((entry) => ({ region, policyId: policy.id, ...entry }));
        const counts: PolicyComplianceCounts = {
          policy: policy.name,
          policyId: policy.id,
          region,
          remediation: summary.RemediationEnabled === true,
          ...accountTotals(rows),
          nonCompliantResources: rows.reduce((sum, row) => sum + (row.status === 'NON_COMPLIANT' ? row.violatorCount : 0), 0),
        };
        found.push({ counts, rows });
      }
      return found;
    }),
  );
  const found = perRegion.flat().sort((a, b) => a.counts.policy.localeCompare(b.counts.policy) || a.counts.region.localeCompare(b.counts.region));
  const rows = found.flatMap((entry) => entry.rows);
  return { regions: [...options.regions], policies: found.map((entry) => entry.counts), rows, totals: accountTotals(rows) };
}

/**
 * Accounts counted once however many regions the policy is in: an account is non-compliant if
 * it is in any region, not evaluated if it is nowhere non-compliant but somewhere not evaluated,
 * compliant otherwise. (Resources and violators stay summed: each region's are its own.)
 */
export function accountTotals(rows: readonly { account: string; status: string }[]): { accounts: number; compliant: number; nonCompliant: number; notEvaluated: number } {
  const rank = (status: string) => (status === 'NON_COMPLIANT' ? 2 : status === 'COMPLIANT' ? 0 : 1);
  const worst = new Map<string, number>();
  for (const row of rows) worst.set(row.account, Math.max(worst.get(row.account) ?? 0, rank(row.status)));
  const count = (wanted: number) => [...worst.values()].filter((value) => value === wanted).length;
  return { accounts: worst.size, compliant: count(0), nonCompliant: count(2), notEvaluated: count(1) };
}

/** CSV with one line per violator (and one per account without any), quoted as RFC 4180 says. */
export function complianceReportCsv(report: ComplianceReport): string {
  const header = ['region', 'account', 'status', 'violator_count', 'evaluation_limit_exceeded', 'evaluated_at', 'resource_id', 'resource_type', 'violation_reason'];
  const lines = [header.join(',')];
  for (const row of report.rows) {
    const base = [row.region, row.account, row.status, String(row.violatorCount), String(row.evaluationLimitExceeded), row.evaluatedAt ?? ''];
    const violators = row.violators.length > 0 ? row.violators : [undefined];
    for (const violator of violators) lines.push([...base, violator?.resourceId ?? '', violator?.resourceType ?? '', violator?.reason ?? ''].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

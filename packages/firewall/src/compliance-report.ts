import { type AwsClientFactory } from '@orgshield/aws';
import { InvalidInputError } from '@orgshield/errors';
import type { AccountCompliance } from './compliance-gate.js';
import { readCompliance } from './compliance-reader.js';
import { fmsClient, listPolicies } from './live-policies.js';

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
}

/**
 * A policy's compliance in every region asked: each member account FMS reports (all pages),
 * with its violators and their reasons. Accounts over FMS's 100-violator limit are flagged,
 * and their count stays a floor, never silently dropped.
 */
export async function complianceReport(aws: AwsClientFactory, options: { policy: string; regions: readonly string[] }): Promise<ComplianceReport> {
  const regions: ComplianceReport['regions'] = [];
  const rows: ComplianceReportRow[] = [];
  for (const region of options.regions) {
    const fms = fmsClient(aws, region);
    const policyId = (await listPolicies(fms)).find((policy) => policy.PolicyName === options.policy)?.PolicyId;
    regions.push(policyId ? { region, policyId } : { region });
    if (!policyId) continue;
    for (const entry of await readCompliance(fms, { id: policyId, name: options.policy })) rows.push({ region, ...entry });
  }
  if (!regions.some((region) => region.policyId)) {
    throw new InvalidInputError(`there is no Firewall Manager policy named "${options.policy}" in ${options.regions.join(', ')}; check the name, or add --region.`);
  }
  const byReason: Record<string, number> = {};
  for (const row of rows) for (const violator of row.violators) byReason[violator.reason] = (byReason[violator.reason] ?? 0) + 1;
  return {
    policy: options.policy,
    regions,
    rows,
    totals: {
      accounts: rows.length,
      compliant: rows.filter((row) => row.status === 'COMPLIANT').length,
      nonCompliant: rows.filter((row) => row.status === 'NON_COMPLIANT').length,
      notEvaluated: rows.filter((row) => row.status === 'NOT_EVALUATED').length,
      nonCompliantResources: rows.reduce((sum, row) => sum + Math.max(row.violatorCount, row.violators.length), 0),
      evaluationLimitExceeded: rows.filter((row) => row.evaluationLimitExceeded).length,
      byReason,
    },
  };
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

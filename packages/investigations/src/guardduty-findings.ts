import { GetFindingsCommand, GuardDutyClient, ListDetectorsCommand, ListFindingsCommand, type Condition, type Finding } from '@aws-sdk/client-guardduty';
import type { AwsClientFactory } from '@orgshield/aws';
import { OrgshieldError } from '@orgshield/errors';

/** GuardDuty's most per ListFindings page and per GetFindings call. */
export const GUARDDUTY_BATCH = 50;

/** What `findings list` filters on; everything here is checked by the caller. */
export interface FindingFilters {
  /** Findings of this severity or more (GuardDuty's 1.0 to 10.0). */
  minSeverity?: number;
  /** Types equal to one of these, or starting with one given as a prefix (`Recon:*`). */
  types?: { exact: string[]; prefixes: string[] };
  /** Member accounts (at most 50, GuardDuty's limit for one condition). */
  accounts?: string[];
  /** Last seen (updatedAt) in [since, until]. */
  since?: Date;
  until?: Date;
}

/** The findings one administrator detector shows, newest first, and whether more matched than were read. */
export interface RegionFindings {
  region: string;
  detectorId: string;
  findings: Finding[];
  more: boolean;
}

/** The caller's detector in a region: the delegated administrator's, whose findings cover the organization's members. */
export async function administratorDetector(guardduty: GuardDutyClient, region: string): Promise<string> {
  const detectorId = (await guardduty.send(new ListDetectorsCommand({}))).DetectorIds?.[0];
  if (!detectorId) {
    throw new OrgshieldError('NoGuardDutyDetector', `the caller has no GuardDuty detector in ${region}: run orgshield as the organization's GuardDuty delegated administrator, in a region where GuardDuty is on.`);
  }
  return detectorId;
}

/** The FindingCriteria GuardDuty can apply itself; type prefixes and fractional severities are applied to what it returns. */
export function findingCriteria(filters: FindingFilters): Record<string, Condition> {
  const criterion: Record<string, Condition> = { 'service.archived': { Equals: ['false'] } };
  // GreaterThanOrEqual is a whole number in GuardDuty's model: the floor here, the exact bound after.
  if (filters.minSeverity !== undefined) criterion['severity'] = { GreaterThanOrEqual: Math.floor(filters.minSeverity) };
  if (filters.types && filters.types.exact.length > 0 && filters.types.prefixes.length === 0) criterion['type'] = { Equals: filters.types.exact };
  if (filters.accounts && filters.accounts.length > 0) criterion['accountId'] = { Equals: filters.accounts };
  if (filters.since || filters.until) {
    criterion['updatedAt'] = {
      ...(filters.since ? { GreaterThanOrEqual: filters.since.getTime() } : {}),
      ...(filters.until ? { LessThanOrEqual: filters.until.getTime() } : {}),
    };
  }
  return criterion;
}

/** Whether a finding GuardDuty returned passes the filters it could not apply itself. */
function passes(finding: Finding, filters: FindingFilters): boolean {
  if (filters.minSeverity !== undefined && (finding.Severity ?? 0) < filters.minSeverity) return false;
  const types = filters.types;
  if (types && (types.exact.length > 0 || types.prefixes.length > 0)) {
    const type = finding.Type ?? '';
    if (!types.exact.includes(type) && !types.prefixes.some((prefix) => type.startsWith(prefix))) return false;
  }
  return true;
}

/**
 * The organization's GuardDuty findings in a region through the caller's detector (the
 * delegated administrator's sees every member's): ListFindings with FindingCriteria, newest
 * first, page by page, each page's findings read with GetFindings in batches of 50, until
 * `limit` findings pass the filters or the pages end.
 */
export async function listOrganizationFindings(
  aws: AwsClientFactory,
  options: { region: string; filters: FindingFilters; limit: number; pageSize?: number },
): Promise<RegionFindings> {
  const guardduty = aws.client(GuardDutyClient, { region: options.region });
  const detectorId = await administratorDetector(guardduty, options.region);
  const findings: Finding[] = [];
  const criteria = { Criterion: findingCriteria(options.filters) };
  let token: string | undefined;
  do {
    const page = await guardduty.send(
      new ListFindingsCommand({
        DetectorId: detectorId,
        FindingCriteria: criteria,
        SortCriteria: { AttributeName: 'updatedAt', OrderBy: 'DESC' },
        MaxResults: options.pageSize ?? GUARDDUTY_BATCH,
        NextToken: token,
      }),
    );
    token = page.NextToken || undefined;
    const ids = page.FindingIds ?? [];
    for (let at = 0; at < ids.length; at += GUARDDUTY_BATCH) {
      const batch = ids.slice(at, at + GUARDDUTY_BATCH);
      const { Findings: read = [] } = await guardduty.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: batch }));
      // GetFindings answers in any order: keep ListFindings' (newest first).
      const byId = new Map(read.map((finding) => [finding.Id, finding]));
      for (const id of batch) {
        const finding = byId.get(id);
        if (!finding || !passes(finding, options.filters)) continue;
        if (findings.length === options.limit) return { region: options.region, detectorId, findings, more: true };
        findings.push(finding);
      }
    }
  } while (token);
  return { region: options.region, detectorId, findings, more: false };
}

/** One finding by id through the caller's detector in `region` (for `investigate --finding-id`). */
export async function getOrganizationFinding(aws: AwsClientFactory, region: string, findingId: string): Promise<Finding | undefined> {
  const guardduty = aws.client(GuardDutyClient, { region });
  const detectorId = await administratorDetector(guardduty, region);
  const { Findings = [] } = await guardduty.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: [findingId] }));
  return Findings.find((finding) => finding.Id === findingId);
}

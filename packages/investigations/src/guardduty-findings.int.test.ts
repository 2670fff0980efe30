import { AwsClientFactory } from '@orgshield/aws';
import { configureGuardDuty, incidentPlan, plantGuardDutyFindings } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { describe, expect } from 'vitest';
import { getOrganizationFinding, listOrganizationFindings } from './guardduty-findings.js';

const test = sandboxTest.override({ sandboxOptions: { accounts: 20, ous: 4, seed: 6, timeScale: 0.001 } });
const region = 'us-east-1';

describe("the organization's GuardDuty findings through the administrator's detector", () => {
  test('pages through ListFindings, reads each page with GetFindings, stops at the limit, filters types by prefix', async ({ sandbox }) => {
    const incidents = incidentPlan(sandbox.world).incidents;
    const aws = new AwsClientFactory({ ...sandbox.clientConfig(), maxAttempts: 1 });
    const calls = (operation: string) => sandbox.requests().filter((entry) => entry.operation === operation).length;
    try {
      const all = await listOrganizationFindings(aws, { region, filters: {}, limit: 100, pageSize: 1 });
      expect(all.findings.map((finding) => finding.Id).sort()).toEqual(incidents.map((incident) => incident.findingId).sort());
      expect(all.more).toBe(false);
      // One finding a page: a ListFindings and a GetFindings for each, and the last page's empty token ends it.
      expect(calls('ListFindings')).toBe(incidents.length);
      expect(calls('GetFindings')).toBe(incidents.length);

      const cut = await listOrganizationFindings(aws, { region, filters: {}, limit: 2, pageSize: 1 });
      expect(cut.findings).toEqual(all.findings.slice(0, 2));
      expect(cut.more).toBe(true);

      // A prefix is applied to what GuardDuty returns, across pages, until the limit of matches.
      const ec2 = await listOrganizationFindings(aws, { region, filters: { types: { exact: [], prefixes: ['UnauthorizedAccess:EC2/'] } }, limit: 100, pageSize: 1 });
      expect(ec2.findings.map((finding) => finding.Type).sort()).toEqual(incidents.filter((i) => i.findingType.startsWith('UnauthorizedAccess:EC2/')).map((i) => i.findingType).sort());

      const [tor] = incidents;
      expect((await getOrganizationFinding(aws, region, tor!.findingId))?.AccountId).toBe(tor!.instance.accountId);
      expect(await getOrganizationFinding(aws, region, 'f'.repeat(32))).toBeUndefined();

      // Delegated elsewhere, the management account's detector shows nothing of the members.
      const delegate = sandbox.world.snapshot().accounts.find((a) => a.status === 'ACTIVE' && !incidents.some((i) => i.instance.accountId === a.id) && a.id !== sandbox.world.org.managementAccountId);
      configureGuardDuty(sandbox.world, { administratorAccountId: delegate!.id });
      expect((await listOrganizationFindings(aws, { region, filters: {}, limit: 100 })).findings).toEqual([]);
    } finally {
      aws.destroy();
    }
  });

  test('lists a few thousand findings across pages: each once, newest first, filters applied, 50 ids a call', { timeout: 120_000 }, async ({ sandbox }) => {
    const planted = plantGuardDutyFindings(sandbox.world, { count: 3000, region });
    const incidents = incidentPlan(sandbox.world).incidents.filter((incident) => incident.instance.region === region);
    const aws = new AwsClientFactory({ ...sandbox.clientConfig(), maxAttempts: 1, rateLimits: { 'guardduty:*': { rate: 10_000, burst: 10_000 } } });
    const calls = (operation: string) => sandbox.requests().filter((entry) => entry.operation === operation);
    const pages = (matches: number) => Math.ceil(matches / 50);
    try {
      const shown = planted.filter((finding) => finding.Service?.Archived !== true);
      expect(shown.length).toBeLessThan(planted.length);
      const all = await listOrganizationFindings(aws, { region, filters: {}, limit: 100_000 });
      const ids = all.findings.map((finding) => finding.Id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set([...shown.map((finding) => finding.Id), ...incidents.map((incident) => incident.findingId)]));
      const updated = all.findings.map((finding) => Date.parse(finding.UpdatedAt ?? ''));
      expect(updated.every((at, i) => i === 0 || at <= (updated[i - 1] as number))).toBe(true);
      expect(all.more).toBe(false);
      // A page of 50 ids, each page read with one GetFindings of at most 50.
      expect(calls('ListFindings')).toHaveLength(pages(ids.length));
      expect(calls('GetFindings')).toHaveLength(pages(ids.length));

      // Accounts that hold no incident, so the planted findings are all there is to match.
      const accounts = [...new Set(planted.map((finding) => finding.AccountId as string))].filter((id) => !incidents.some((incident) => incident.instance.accountId === id)).slice(0, 3);
      const since = new Date(Date.parse(planted[0]?.UpdatedAt ?? '') - 30 * 3_600_000);
      const before = { list: calls('ListFindings').length, get: calls('GetFindings').length };
      const filters = { minSeverity: 5.5, types: { exact: [], prefixes: ['Recon:'] }, accounts, since };
      const filtered = await listOrganizationFindings(aws, { region, filters, limit: 100_000 });
      // GuardDuty applies the accounts, the time and the whole-number severity; orgshield the 5.5 and the type prefix.
      const fromGuardDuty = shown.filter((finding) => accounts.includes(finding.AccountId as string) && (finding.Severity ?? 0) >= 5 && Date.parse(finding.UpdatedAt ?? '') >= since.getTime());
      const expected = fromGuardDuty.filter((finding) => (finding.Severity ?? 0) >= 5.5 && finding.Type?.startsWith('Recon:'));
      expect(expected.length).toBeGreaterThan(0);
      expect(filtered.findings.map((finding) => finding.Id)).toEqual(expected.map((finding) => finding.Id));
      expect(calls('ListFindings').length - before.list).toBe(pages(fromGuardDuty.length));
      expect(calls('GetFindings').length - before.get).toBe(pages(fromGuardDuty.length));
      expect(calls('GetFindings').every((entry) => entry.status === 200)).toBe(true);
    } finally {
      aws.destroy();
    }
  });
});

import { AwsClientFactory } from '@orgshield/aws';
import { configureGuardDuty, incidentPlan } from '@orgshield/sandbox';
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
});

import { FMSClient, PutPolicyCommand } from '@aws-sdk/client-fms';
import { fanOutExitCode } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { PolicySpecSchema, renderPutPolicy } from '@orgshield/policies';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { describe, expect } from 'vitest';
import { complianceReport } from './compliance-report.js';

const REGIONS = ['eu-west-1', 'us-east-1'];

/** A quarter of GetComplianceDetail calls fail with a 5xx, and nothing retries them (maxAttempts 1). */
const test = sandboxTest.override({
  sandboxOptions: { accounts: 80, ous: 4, seed: 5, timeScale: 0.001, faults: { operations: { 'fms:GetComplianceDetail': { errorRate: 0.25 } } } },
});

describe('compliance report over the organization', () => {
  test('lists the accounts whose violators failed to be read, reads on within the tolerance, stops a region past it', async ({ sandbox }) => {
    const env = sandbox.env();
    const spec = PolicySpecSchema.parse({ type: 'SHIELD_ADVANCED', name: 'edge-shield', resourceTypes: ['eip'], regions: REGIONS, remediation: false });
    for (const region of REGIONS) {
      const raw = new FMSClient({ endpoint: sandbox.url, region, credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' } });
      await raw.send(new PutPolicyCommand(renderPutPolicy(spec, { region })));
      raw.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // FMS evaluates 0.3 s after the change at this time scale
    const aws = new AwsClientFactory({ ...sandbox.clientConfig(), maxAttempts: 1 });
    const detailCalls = () => sandbox.requests().filter((entry) => entry.operation === 'GetComplianceDetail').length;
    try {
      const report = await complianceReport(aws, { policy: 'edge-shield', regions: REGIONS });
      const nonCompliant = report.rows.filter((row) => row.status === 'NON_COMPLIANT');
      expect(nonCompliant.length).toBeGreaterThan(20);
      const { failed, notStarted, stoppedRegions } = report.unread;
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((entry) => REGIONS.includes(entry.region) && entry.reason.length > 0)).toBe(true);
      expect(stoppedRegions).toEqual([]);
      expect(notStarted).toEqual([]);
      // every non-compliant account asked once, and the ones that answered have their violators
      expect(detailCalls()).toBe(nonCompliant.length);
      const failedKeys = new Set(failed.map((entry) => `${entry.region}|${entry.accountId}`));
      for (const row of nonCompliant) expect(row.violators.length > 0).toBe(!failedKeys.has(`${row.region}|${row.account}`));
      expect(fanOutExitCode(report.unread)).toBe(1);
      // Totals count each account once, not once per region.
      const accounts = new Set(report.rows.map((row) => row.account));
      expect(report.rows.length).toBe(accounts.size * REGIONS.length);
      expect(report.totals.accounts).toBe(accounts.size);
      expect(report.totals.nonCompliant).toBe(new Set(nonCompliant.map((row) => row.account)).size);
      expect(report.totals.compliant + report.totals.nonCompliant + report.totals.notEvaluated).toBe(accounts.size);

      const before = detailCalls();
      const strict = await complianceReport(aws, { policy: 'edge-shield', regions: REGIONS, tolerance: { count: 0 } });
      expect(strict.unread.stoppedRegions.length).toBeGreaterThan(0);
      expect(strict.unread.stoppedRegions[0]?.reason).toMatch(/^stopped in (eu-west-1|us-east-1) after \d+ failed account\(s\), more than its tolerance of 0$/);
      expect(strict.unread.notStarted.length).toBeGreaterThan(0);
      const read = strict.rows.filter((row) => row.violators.length > 0).length;
      // nothing asked for the accounts not started
      expect(detailCalls() - before).toBe(read + strict.unread.failed.length);
      expect(read + strict.unread.failed.length + strict.unread.notStarted.length).toBe(nonCompliant.length);
    } finally {
      aws.destroy();
    }
  });
});

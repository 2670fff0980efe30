import { FMSClient, PutPolicyCommand } from '@aws-sdk/client-fms';
import { describe, expect } from 'vitest';
import { AwsClientFactory } from '@orgshield/aws';
import { PolicySpecSchema, renderPutPolicy } from '@orgshield/policies';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { listPolicies } from './live-policies.js';
import { readPolicies } from './policy-inventory.js';

const LATENCY_MS = 150;
const test = sandboxTest.override({ sandboxOptions: { accounts: 4, ous: 1, seed: 1, faults: { operations: { 'fms:GetPolicy': { latencyMs: [LATENCY_MS, LATENCY_MS] } } } } });

describe('readPolicies', () => {
  test('reads GetPolicy a few at once (the request log shows them overlapping), in ListPolicies order', async ({ sandbox }) => {
    const region = 'eu-west-1';
    const fms = new FMSClient({ ...sandbox.clientConfig(), region });
    const names = Array.from({ length: 9 }, (_, i) => `shield-${i}`);
    for (const name of names) {
      await fms.send(new PutPolicyCommand(renderPutPolicy(PolicySpecSchema.parse({ type: 'SHIELD_ADVANCED', name, resourceTypes: ['eip'], regions: [region] }), { region })));
    }
    // Limits far above what the test sends: what orders the calls here is readPolicies alone.
    const aws = new AwsClientFactory({ ...sandbox.clientConfig(), rateLimits: { 'fms:*': { rate: 1000, burst: 1000 } } });
    try {
      const listed = (await listPolicies(fms)).map((summary) => summary.PolicyName);
      const records = await readPolicies(aws, [region], (summary) => summary.PolicyName !== 'shield-4');
      expect(records.map((record) => [record.region, record.output.Policy?.PolicyName])).toEqual(listed.filter((name) => name !== 'shield-4').map((name) => [region, name]));

      const gets = sandbox.requests().filter((entry) => entry.operation === 'GetPolicy');
      expect(gets).toHaveLength(8);
      // The most GetPolicy calls under way at one moment: a call starts at t and is answered LATENCY_MS later.
      const inFlight = Math.max(...gets.map((call) => gets.filter((other) => other.t <= call.t && call.t < other.t + other.latencyMs).length));
      // Serial reads never overlap; at most 4 are sent at once (a loaded machine may start fewer together).
      expect(inFlight).toBeGreaterThanOrEqual(2);
      expect(inFlight).toBeLessThanOrEqual(4);
    } finally {
      aws.destroy();
      fms.destroy();
    }
  });
});

/**
 * Fuzz suite (fast-check) over GuardDuty findings as a user hands them in (GetFindings output,
 * PascalCase): hostile edits, damage, deep nesting, garbage. Property: a normalized finding, or
 * one InvalidInputError (exit 2) naming the problem; never another error, a hang or a polluted
 * prototype. CI size: 300 cases, seeded, within 15 s; `npm run fuzz` (ORGSHIELD_TEST_SIZE=long): 20x the cases within 4x the time.
 */
import { InvalidInputError } from '@orgshield/errors';
import { expectValueOrRefusal, fuzzParameters, fuzzTimeoutMs, hostileVariants } from '@orgshield/spec-files/fuzzing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFindingJson } from './finding-normalize.js';

const finding = {
  Findings: [{
    SchemaVersion: '2.0', AccountId: '123456789012', Region: 'us-east-1', Partition: 'aws', Id: 'a1b2c3', Type: 'Recon:EC2/PortProbeUnprotectedPort',
    Resource: { ResourceType: 'Instance', InstanceDetails: { InstanceId: 'i-0123456789abcdef0', NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0a1b', PrivateIpAddress: '10.0.1.25', VpcId: 'vpc-1', SubnetId: 'subnet-1' }] } },
    Service: {
      Action: { ActionType: 'PORT_PROBE', PortProbeAction: { Blocked: false, PortProbeDetails: [{ LocalPortDetails: { Port: 22 }, RemoteIpDetails: { IpAddressV4: '198.51.100.7', Country: { CountryName: 'X' } } }] } },
      EventFirstSeen: '2026-11-29T10:00:00.000Z', EventLastSeen: '2026-11-29T10:30:00.000Z', Count: 3,
    },
    Severity: 5, CreatedAt: '2026-11-29T10:01:00.000Z', UpdatedAt: '2026-11-29T10:31:00.000Z', Title: 'Unprotected port on EC2 instance is being probed.',
  }],
};

describe('fuzz: GuardDuty findings', () => {
  it('a normalized finding or one InvalidInputError naming the problem, for any variation', async () => {
    const text = JSON.stringify(finding, null, 1);
    expect(parseFindingJson(text, 'finding.json').id).toBe('a1b2c3');
    const deep = fc.integer({ min: 200, max: 5000 }).map((depth) => `{"Findings":[${'['.repeat(depth)}${']'.repeat(depth)}]}`);
    await fc.assert(fc.asyncProperty(fc.oneof({ weight: 9, arbitrary: hostileVariants(text) }, { weight: 1, arbitrary: deep }), async (variant) => {
      await expectValueOrRefusal(() => parseFindingJson(variant, 'finding.json'), (error) => error instanceof InvalidInputError);
    }), fuzzParameters(300));
  }, fuzzTimeoutMs());
});

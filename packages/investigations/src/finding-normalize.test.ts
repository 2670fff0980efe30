import { InvalidInputError } from '@orgshield/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeFinding, parseFindingJson, severityLabel } from './finding-normalize.js';

// Hand-written in the shapes GuardDuty documents: EventBridge delivers the finding's wire form
// (camelCase) in `detail`; GetFindings through the SDK or the AWS CLI returns PascalCase.
const torClientEvent = {
  version: '0',
  id: '3f1c0a52-7a8e-4c1b-9d4e-1c2b3a4d5e6f',
  'detail-type': 'GuardDuty Finding',
  source: 'aws.guardduty',
  account: '210987654321',
  time: '2026-11-29T10:20:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: {
    schemaVersion: '2.0',
    accountId: '210987654321',
    region: 'eu-west-1',
    partition: 'aws',
    id: '7ac4b1f2e9d84f0c8a6b5e4d3c2b1a09',
    arn: 'arn:aws:guardduty:eu-west-1:210987654321:detector/4eb2f0c1d9a8/finding/7ac4b1f2e9d84f0c8a6b5e4d3c2b1a09',
    type: 'UnauthorizedAccess:EC2/TorClient',
    resource: {
      resourceType: 'Instance',
      instanceDetails: {
        instanceId: 'i-0a1b2c3d4e5f60718',
        instanceType: 't3.medium',
        iamInstanceProfile: { arn: 'arn:aws:iam::210987654321:instance-profile/web-app', id: 'AIPAEXAMPLEPROFILE01' },
        networkInterfaces: [
          {
            networkInterfaceId: 'eni-0f1e2d3c4b5a69788',
            privateIpAddress: '10.20.1.15',
            privateIpAddresses: [{ privateDnsName: 'ip-10-20-1-15', privateIpAddress: '10.20.1.15' }, { privateIpAddress: '10.20.1.16' }],
            ipv6Addresses: [],
            publicIp: '203.0.113.10',
            subnetId: 'subnet-0aa11bb22cc33dd44',
            vpcId: 'vpc-0123abcd4567ef890',
            securityGroups: [{ groupId: 'sg-0a1b2c3d', groupName: 'web' }],
          },
        ],
      },
    },
    service: {
      serviceName: 'guardduty',
      detectorId: '4eb2f0c1d9a8',
      action: {
        actionType: 'NETWORK_CONNECTION',
        networkConnectionAction: {
          connectionDirection: 'OUTBOUND',
          protocol: 'TCP',
          blocked: false,
          localPortDetails: { port: 49152, portName: 'Unknown' },
          remotePortDetails: { port: 9001, portName: 'Unknown' },
          localIpDetails: { ipAddressV4: '10.20.1.15' },
          remoteIpDetails: {
            ipAddressV4: '198.51.100.77',
            country: { countryName: 'Netherlands' },
            organization: { asn: '64500', asnOrg: 'Example Hosting', isp: 'Example ISP', org: 'Example Org' },
          },
        },
      },
      resourceRole: 'ACTOR',
      eventFirstSeen: '2026-11-29T09:55:12Z',
      eventLastSeen: '2026-11-29T10:14:40Z',
      archived: false,
      count: 14,
    },
    severity: 8,
    createdAt: '2026-11-29T10:00:01.512Z',
    updatedAt: '2026-11-29T10:19:58.100Z',
    title: 'The EC2 instance i-0a1b2c3d4e5f60718 is communicating with a Tor entry node.',
    description: 'The EC2 instance i-0a1b2c3d4e5f60718 is communicating with IP address 198.51.100.77 on the Tor network.',
  },
};

const portProbeGetFindings = {
  Findings: [
    {
      AccountId: '123456789012',
      Arn: 'arn:aws:guardduty:us-east-1:123456789012:detector/abc/finding/pp01',
      CreatedAt: '2026-11-28T12:00:00.000Z',
      Id: 'pp01',
      Partition: 'aws',
      Region: 'us-east-1',
      Resource: {
        InstanceDetails: {
          InstanceId: 'i-00000000000000001',
          NetworkInterfaces: [{ NetworkInterfaceId: 'eni-1', PrivateIpAddress: '172.31.5.9', PrivateIpAddresses: [{ PrivateIpAddress: '172.31.5.9' }] }],
        },
        ResourceType: 'Instance',
      },
      SchemaVersion: '2.0',
      Service: {
        Action: {
          ActionType: 'PORT_PROBE',
          PortProbeAction: {
            Blocked: false,
            PortProbeDetails: [
              { LocalPortDetails: { Port: 3389, PortName: 'RDP' }, RemoteIpDetails: { IpAddressV4: '192.0.2.50', Country: { CountryName: 'Example' } } },
              { LocalPortDetails: { Port: 22, PortName: 'SSH' }, RemoteIpDetails: { IpAddressV4: '192.0.2.51' } },
            ],
          },
        },
        Count: 3,
        EventFirstSeen: '2026-11-28T11:40:00.000Z',
        EventLastSeen: '2026-11-28T11:58:00.000Z',
        ServiceName: 'guardduty',
      },
      Severity: 5,
      Title: 'Unprotected port on EC2 instance i-00000000000000001 is being probed.',
      Type: 'Recon:EC2/PortProbeUnprotectedPort',
      UpdatedAt: '2026-11-28T12:01:00.000Z',
    },
  ],
};

const credentialFinding = {
  schemaVersion: '2.0',
  accountId: '123456789012',
  region: 'us-east-1',
  id: 'iam01',
  type: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
  severity: 8,
  createdAt: '2026-11-28T12:00:00Z',
  updatedAt: '2026-11-28T12:00:00Z',
  resource: {
    resourceType: 'AccessKey',
    accessKeyDetails: { accessKeyId: 'ASIAEXAMPLE', principalId: 'AROAEXAMPLE:i-0a1b', userName: 'web-app', userType: 'AssumedRole' },
  },
  service: {
    action: {
      actionType: 'AWS_API_CALL',
      awsApiCallAction: { api: 'ListBuckets', serviceName: 's3.amazonaws.com', callerType: 'Remote IP', remoteIpDetails: { ipAddressV6: '2001:db8::5' } },
    },
  },
};

describe('normalizeFinding', () => {
  it('reads an EventBridge event (camelCase detail)', () => {
    const finding = normalizeFinding(torClientEvent);
    expect(finding).toMatchObject({
      id: '7ac4b1f2e9d84f0c8a6b5e4d3c2b1a09',
      type: 'UnauthorizedAccess:EC2/TorClient',
      severity: 8,
      severityLabel: 'HIGH',
      accountId: '210987654321',
      region: 'eu-west-1',
      firstSeen: '2026-11-29T09:55:12.000Z',
      lastSeen: '2026-11-29T10:14:40.000Z',
      count: 14,
      resource: {
        type: 'Instance',
        instanceId: 'i-0a1b2c3d4e5f60718',
        instanceProfileArn: 'arn:aws:iam::210987654321:instance-profile/web-app',
        networkInterfaces: [{ id: 'eni-0f1e2d3c4b5a69788', privateIps: ['10.20.1.15', '10.20.1.16'], publicIp: '203.0.113.10' }],
      },
      action: { type: 'NETWORK_CONNECTION', direction: 'OUTBOUND', protocol: 'TCP', blocked: false },
    });
    expect(finding.remotes).toEqual([
      { ip: '198.51.100.77', remotePort: 9001, localPort: 49152, localIp: '10.20.1.15', country: 'Netherlands', organization: 'Example Hosting' },
    ]);
    expect(finding.localIps).toEqual(['10.20.1.15', '10.20.1.16', '203.0.113.10']);
  });

  it('reads the detail alone the same way as the envelope', () => {
    expect(normalizeFinding(torClientEvent.detail)).toEqual(normalizeFinding(torClientEvent));
  });

  it('reads a GetFindings answer (PascalCase) with every probing remote', () => {
    const finding = normalizeFinding(portProbeGetFindings);
    expect(finding.type).toBe('Recon:EC2/PortProbeUnprotectedPort');
    expect(finding.severityLabel).toBe('MEDIUM');
    expect(finding.firstSeen).toBe('2026-11-28T11:40:00.000Z');
    expect(finding.action.type).toBe('PORT_PROBE');
    expect(finding.remotes.map((r) => [r.ip, r.localPort])).toEqual([
      ['192.0.2.50', 3389],
      ['192.0.2.51', 22],
    ]);
    expect(finding.resource.networkInterfaces[0]?.privateIps).toEqual(['172.31.5.9']);
  });

  it('derives the principal ARN of an assumed role and falls back to created/updated times', () => {
    const finding = normalizeFinding(credentialFinding);
    expect(finding.resource.principal).toMatchObject({ arn: 'arn:aws:iam::123456789012:role/web-app', userType: 'AssumedRole' });
    expect(finding.remotes).toEqual([{ ip: '2001:db8::5' }]);
    expect(finding.action).toMatchObject({ api: 'ListBuckets', serviceName: 's3.amazonaws.com' });
    expect([finding.firstSeen, finding.lastSeen]).toEqual(['2026-11-28T12:00:00.000Z', '2026-11-28T12:00:00.000Z']);
  });

  it('names the bad field in the caller’s spelling', () => {
    const pascal = structuredClone(portProbeGetFindings);
    (pascal.Findings[0]!.Service.Action.PortProbeAction.PortProbeDetails[1]!.LocalPortDetails as { Port: unknown }).Port = 'ssh';
    expect(() => normalizeFinding(pascal, 'finding.json')).toThrow(
      /finding\.json: field Service\.Action\.PortProbeAction\.PortProbeDetails\[1\]\.LocalPortDetails\.Port/,
    );

    const { id: _id, ...noId } = credentialFinding;
    expect(() => normalizeFinding(noId)).toThrow(/field id is missing/);
    expect(() => normalizeFinding({ ...credentialFinding, accountId: '12' })).toThrow(/field accountId must be a 12-digit account id/);
    expect(() => normalizeFinding({ ...credentialFinding, createdAt: 'yesterday' })).toThrow(/field createdAt must be an ISO 8601 timestamp/);
  });

  it('refuses what is not exactly one GuardDuty finding', () => {
    expect(() => normalizeFinding({ Findings: [] })).toThrow(/holds 0 findings/);
    expect(() => normalizeFinding([credentialFinding, credentialFinding])).toThrow(/holds 2 findings/);
    expect(() => normalizeFinding({ ...torClientEvent, 'detail-type': 'EC2 Instance State-change Notification' })).toThrow(
      /not "GuardDuty Finding"/,
    );
    expect(() => normalizeFinding('text')).toThrow(InvalidInputError);
    expect(() => parseFindingJson('{"id":', 'f.json')).toThrow(/f\.json is not valid JSON/);
  });

  it('refuses a 100,000-deep finding in one sentence naming the limit, exit 2 (it overflowed the stack, exit 1)', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const text = `{"Findings":[${'['.repeat(100_000)}1${']'.repeat(100_000)}]}`;
    for (const attempt of [() => normalizeFinding({ ...credentialFinding, resource: { extra: deep } }, 'deep.json'), () => parseFindingJson(text, 'deep.json')]) {
      expect(attempt).toThrow(InvalidInputError);
      expect(attempt).toThrow('deep.json nests arrays and objects more than 256 deep, the limit for JSON; a GuardDuty finding nests fewer than 20.');
    }
  });

  it('refuses a bad finding window: first seen after last seen, a span over a year, a time that is not ISO 8601', () => {
    const seen = (first: string, last: string) => ({ ...credentialFinding, service: { ...credentialFinding.service, eventFirstSeen: first, eventLastSeen: last } });
    expect(() => normalizeFinding(seen('2026-11-29T12:00:00Z', '2026-11-28T12:00:00Z'), 'f.json')).toThrow(
      'f.json was first seen at 2026-11-29T12:00:00.000Z, after it was last seen at 2026-11-28T12:00:00.000Z (service.eventFirstSeen and service.eventLastSeen); pass --from and --to for the window.',
    );
    expect(() => normalizeFinding(seen('1990-01-01T00:00:00Z', '2026-11-28T12:00:00Z'), 'f.json')).toThrow(/f\.json spans 1990-01-01T00:00:00\.000Z to 2026-11-28T12:00:00\.000Z, more than a year/);
    for (const bad of ['1', '0', '2026-11-28', '2026-02-30T00:00:00Z', '+275760-09-13T00:00:00.000Z']) {
      expect(() => normalizeFinding(seen(bad, '2026-11-28T12:00:00Z'), 'f.json'), bad).toThrow(/field service\.eventFirstSeen must be an ISO 8601 timestamp/);
    }
    expect(() => normalizeFinding(seen('2026-11-28T10:00:00Z', '2026-11-28T12:00:00Z'))).not.toThrow();
  });

  it('labels severity with GuardDuty’s bands', () => {
    expect([1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(severityLabel)).toEqual(['LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH', 'CRITICAL', 'CRITICAL']);
  });

  it('gives the same answer for a finding in camelCase and in PascalCase', () => {
    const ip = fc.ipV4();
    const port = fc.integer({ min: 0, max: 65535 });
    const finding = fc.record({
      accountId: fc.stringMatching(/^\d{12}$/),
      region: fc.constantFrom('us-east-1', 'eu-west-1'),
      id: fc.stringMatching(/^[0-9a-f]{1,32}$/),
      type: fc.constantFrom('Recon:EC2/PortProbeUnprotectedPort', 'UnauthorizedAccess:EC2/SSHBruteForce'),
      severity: fc.double({ min: 0, max: 10, noNaN: true }),
      createdAt: fc.date({ min: new Date('2029-01-02'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      updatedAt: fc.constant('2030-01-01T00:00:00Z'),
      resource: fc.record({
        instanceDetails: fc.record({
          instanceId: fc.constant('i-0123456789abcdef0'),
          networkInterfaces: fc.array(fc.record({ privateIpAddress: ip, publicIp: ip }), { maxLength: 3 }),
        }),
      }),
      service: fc.record({
        action: fc.record({
          portProbeAction: fc.record({
            portProbeDetails: fc.array(fc.record({ localPortDetails: fc.record({ port }), remoteIpDetails: fc.record({ ipAddressV4: ip }) }), {
              maxLength: 4,
            }),
          }),
        }),
      }),
    });
    fc.assert(
      fc.property(finding, (camel) => {
        expect(normalizeFinding(pascalize(camel))).toEqual(normalizeFinding(camel));
      }),
    );
  });
});

function pascalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascalize);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.charAt(0).toUpperCase() + key.slice(1), pascalize(item)]));
}

import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { InvalidInputError } from '@orgshield/errors';
import { incidentPlan, type RunningSandbox } from '@orgshield/sandbox';
import { sandboxTest as test } from '@orgshield/sandbox/fixture';
import { describe, expect } from 'vitest';
import { normalizeFinding } from './finding-normalize.js';
import { investigationClients } from './investigation-aws.js';
import { resolveEntity } from './investigation-entity.js';
import { parseS3Url, s3ObjectSource } from './s3-object-source.js';

const REGION = 'us-east-1';

function connect(sandbox: RunningSandbox) {
  const factory = new AwsClientFactory({
    ...sandbox.clientConfig(),
  });
  const clients = investigationClients(factory, new MemberCredentials(factory, { managementAccountId: sandbox.world.org.managementAccountId }));
  return { factory, clients };
}

describe('resolveEntity against the sandbox', () => {
  test('resolves an instance, its private and public address, and says what it assumed', async ({ sandbox }) => {
    const { factory, clients } = connect(sandbox);
    const incident = incidentPlan(sandbox.world).incidents[0];
    const instance = incident?.instance;
    if (!instance?.publicIp) throw new Error('the TorClient instance has a public address');
    const lookup = { ec2: () => clients.ec2(instance.accountId, REGION), accountId: instance.accountId, region: REGION };

    const byId = await resolveEntity({ kind: 'instance', instanceId: instance.instanceId }, lookup);
    expect(byId).toMatchObject({
      kind: 'instance',
      instanceId: instance.instanceId,
      networkInterfaces: [{ id: instance.networkInterfaceId, privateIps: [instance.privateIp], publicIp: instance.publicIp, vpcId: instance.vpcId }],
      localIps: [instance.privateIp, instance.publicIp],
      instanceProfileArn: instance.instanceProfile.arn,
      principalArn: instance.roleArn,
      principalSource: 'instance-profile',
    });
    expect(byId.notes).toEqual([`Role ${instance.roleArn} is assumed from instance profile ${instance.instanceProfile.arn} by name (no IAM lookup).`]);

    for (const ip of [instance.privateIp, instance.publicIp]) {
      expect(await resolveEntity({ kind: 'ip', ip }, lookup)).toMatchObject({ kind: 'ip', instanceId: instance.instanceId });
    }
    const stranger = await resolveEntity({ kind: 'ip', ip: '203.0.113.200' }, lookup);
    expect(stranger).toMatchObject({ kind: 'ip', localIps: ['203.0.113.200'] });
    expect(stranger.notes[0]).toMatch(/No network interface in account \d{12} us-east-1 has 203\.0\.113\.200/);

    await expect(resolveEntity({ kind: 'instance', instanceId: 'i-0123456789abcdef0' }, lookup)).rejects.toThrow(InvalidInputError);
    factory.destroy();
  });

  test('keeps a terminated instance’s interfaces from its finding', async ({ sandbox }) => {
    const { factory, clients } = connect(sandbox);
    const accountId = incidentPlan(sandbox.world).incidents[0]?.instance.accountId ?? '';
    const finding = normalizeFinding({
      id: 'gone',
      type: 'UnauthorizedAccess:EC2/TorClient',
      severity: 8,
      accountId,
      region: REGION,
      createdAt: '2026-11-29T10:00:00Z',
      updatedAt: '2026-11-29T10:00:00Z',
      resource: {
        instanceDetails: {
          instanceId: 'i-0fedcba9876543210',
          iamInstanceProfile: { arn: `arn:aws:iam::${accountId}:instance-profile/gone-app` },
          networkInterfaces: [{ networkInterfaceId: 'eni-0fedcba9876543210', privateIpAddress: '10.9.9.9', vpcId: 'vpc-0fedcba9876543210' }],
        },
      },
    });
    const entity = await resolveEntity({ kind: 'finding', finding }, { ec2: () => clients.ec2(accountId, REGION), accountId, region: REGION });
    expect(entity).toMatchObject({
      kind: 'instance',
      instanceId: 'i-0fedcba9876543210',
      localIps: ['10.9.9.9'],
      networkInterfaces: [{ id: 'eni-0fedcba9876543210', vpcId: 'vpc-0fedcba9876543210' }],
      principalArn: `arn:aws:iam::${accountId}:role/gone-app`,
    });
    expect(entity.notes[0]).toBe('Instance i-0fedcba9876543210 no longer exists; its interfaces and profile are taken from the finding.');
    factory.destroy();
  });
});

describe('s3ObjectSource against the sandbox', () => {
  test('lists and streams the log-archive bucket from a member account, and names a missing bucket', async ({ sandbox }) => {
    const { factory, clients } = connect(sandbox);
    const plan = incidentPlan(sandbox.world);
    const accountId = plan.incidents[0]?.instance.accountId ?? '';
    const source = s3ObjectSource(() => clients.s3(accountId, REGION), parseS3Url(`s3://${plan.bucket}`).bucket);
    const keys: { key: string; size: number }[] = [];
    for await (const object of source.list(`AWSLogs/${accountId}/vpcflowlogs/`)) keys.push(object);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.every((k) => k.key.endsWith('.log.gz') && k.size > 0)).toBe(true);

    const chunks: Buffer[] = [];
    for await (const chunk of await source.open(keys[0]?.key ?? '')) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    expect(body.length).toBe(keys[0]?.size);
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    const missing = s3ObjectSource(() => clients.s3(accountId, REGION), 'no-such-flow-log-bucket');
    await expect(async () => {
      for await (const _ of missing.list('')) break;
    }).rejects.toThrow(/Bucket no-such-flow-log-bucket does not exist; check --flow-logs/);
    factory.destroy();
  });
});

import { gunzipSync } from 'node:zlib';
import {
  BatchGetGraphMemberDatasourcesCommand,
  DetectiveClient,
  GetInvestigationCommand,
  GetMembersCommand,
  ListGraphsCommand,
  ListIndicatorsCommand,
  type ListIndicatorsCommandOutput,
  ListInvestigationsCommand,
  ListMembersCommand,
  ResourceNotFoundException,
  StartInvestigationCommand,
  ValidationException,
} from '@aws-sdk/client-detective';
import { DescribeFlowLogsCommand, DescribeInstancesCommand, DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { BadRequestException, GetFindingsCommand, GuardDutyClient, ListDetectorsCommand, ListFindingsCommand } from '@aws-sdk/client-guardduty';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { configureGuardDuty } from './guardduty.js';
import { incidentPlan } from '../world/seeded-incidents.js';

/** EC2, GuardDuty, Detective and the flow-log bucket through the real SDK clients, as the investigations use them. */
const REGION = 'us-east-1';
const admin = { accessKeyId: 'AKIAINCIDENTSTEST001', secretAccessKey: 'test' };
const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sandbox) => sandbox.close()));
});

async function start(seed = 4): Promise<RunningSandbox> {
  const sandbox = await startSandbox({ port: 0, accounts: 30, ous: 5, seed, timeScale: 0.001 });
  running.push(sandbox);
  return sandbox;
}

async function asMember(sandbox: RunningSandbox, accountId: string) {
  const sts = new STSClient({ endpoint: sandbox.url, region: REGION, credentials: admin });
  const session = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'incidents' }))).Credentials;
  sts.destroy();
  const config = {
    endpoint: sandbox.url,
    region: REGION,
    maxAttempts: 1,
    credentials: { accessKeyId: session?.AccessKeyId ?? '', secretAccessKey: session?.SecretAccessKey ?? '', sessionToken: session?.SessionToken ?? '' },
  };
  return { ec2: new EC2Client(config), guardduty: new GuardDutyClient(config), s3: new S3Client({ ...config, forcePathStyle: true }), detective: new DetectiveClient(config) };
}

describe('EC2', () => {
  it('describes instances and interfaces with EC2’s errors, filters and pages', async () => {
    const sandbox = await start();
    const tor = incidentPlan(sandbox.world).incidents[0];
    if (!tor) throw new Error('an incident is planted');
    const { ec2 } = await asMember(sandbox, tor.instance.accountId);

    const one = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [tor.instance.instanceId] }));
    expect(one.Reservations?.[0]?.Instances?.[0]).toMatchObject({
      InstanceId: tor.instance.instanceId,
      PrivateIpAddress: tor.instance.privateIp,
      IamInstanceProfile: { Arn: tor.instance.instanceProfile.arn },
      NetworkInterfaces: [{ NetworkInterfaceId: tor.instance.networkInterfaceId, Attachment: { DeviceIndex: 0, Status: 'attached' } }],
    });

    const everyone: string[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: token }));
      everyone.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId ?? ''));
      token = page.NextToken;
    } while (token);
    expect(everyone).toContain(tor.neighbour.instanceId);
    expect(new Set(everyone).size).toBe(everyone.length);

    const byIp = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: [tor.instance.privateIp] }] }));
    expect(byIp.NetworkInterfaces?.map((n) => n.Attachment?.InstanceId)).toEqual([tor.instance.instanceId]);
    const wildcard = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'private-ip-address', Values: [`${tor.instance.privateIp.split('.').slice(0, 2).join('.')}.*`] }] }));
    expect(wildcard.Reservations?.length).toBeGreaterThanOrEqual(2);

    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }))).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
      message: "The instance ID 'i-0123456789abcdef0' does not exist",
    });
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-nope'] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.Malformed' });
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: [tor.instance.instanceId], MaxResults: 5 }))).rejects.toMatchObject({
      name: 'InvalidParameterCombination',
    });
    await expect(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: "The filter 'colour' is invalid",
    });

    const flowLogs = await ec2.send(new DescribeFlowLogsCommand({ Filter: [{ Name: 'resource-id', Values: [tor.instance.vpcId] }] }));
    expect(flowLogs.FlowLogs).toEqual([
      expect.objectContaining({ ResourceId: tor.instance.vpcId, LogDestinationType: 's3', LogDestination: `arn:aws:s3:::${incidentPlan(sandbox.world).bucket}` }),
    ]);
  });
});

describe('GuardDuty', () => {
  it('lists the planted finding of the account only, with criteria and the detector’s ownership', async () => {
    const sandbox = await start();
    const [tor, probe] = incidentPlan(sandbox.world).incidents;
    if (!tor || !probe) throw new Error('incidents are planted');
    const { guardduty } = await asMember(sandbox, probe.instance.accountId);
    const detectorId = (await guardduty.send(new ListDetectorsCommand({}))).DetectorIds?.[0] ?? '';
    expect(detectorId).toMatch(/^[0-9a-f]{32}$/);

    const all = await guardduty.send(new ListFindingsCommand({ DetectorId: detectorId }));
    expect(all.FindingIds).toEqual([probe.findingId]);
    const high = await guardduty.send(new ListFindingsCommand({ DetectorId: detectorId, FindingCriteria: { Criterion: { severity: { GreaterThanOrEqual: 7 } } } }));
    expect(high.FindingIds).toEqual([]);
    const { Findings } = await guardduty.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: [probe.findingId, 'unknown'] }));
    expect(Findings).toHaveLength(1);
    expect(Findings?.[0]).toMatchObject({
      Type: 'Recon:EC2/PortProbeUnprotectedPort',
      Resource: { InstanceDetails: { InstanceId: probe.instance.instanceId } },
      Service: { Action: { ActionType: 'PORT_PROBE', PortProbeAction: { PortProbeDetails: [{ LocalPortDetails: { Port: 22 }, RemoteIpDetails: { IpAddressV4: probe.remoteIp } }, { LocalPortDetails: { Port: 443 } }] } } },
    });

    const { guardduty: other } = await asMember(sandbox, tor.instance.accountId);
    await expect(other.send(new ListFindingsCommand({ DetectorId: detectorId }))).rejects.toBeInstanceOf(BadRequestException);
  });

  it('shows the administrator every member’s findings of the region, by page and by account, and follows a delegation', async () => {
    const sandbox = await start();
    const incidents = incidentPlan(sandbox.world).incidents;
    const management = new GuardDutyClient({ endpoint: sandbox.url, region: REGION, maxAttempts: 1, credentials: admin });
    try {
      const detectorId = (await management.send(new ListDetectorsCommand({}))).DetectorIds?.[0] ?? '';
      const ids: string[] = [];
      let token: string | undefined;
      do {
        const page = await management.send(new ListFindingsCommand({ DetectorId: detectorId, MaxResults: 1, NextToken: token }));
        expect(page.FindingIds?.length).toBeLessThanOrEqual(1);
        ids.push(...(page.FindingIds ?? []));
        token = page.NextToken || undefined;
      } while (token);
      expect(ids.sort()).toEqual(incidents.map((incident) => incident.findingId).sort());
      const [first] = incidents;
      if (!first) throw new Error('incidents are planted');
      const one = await management.send(new ListFindingsCommand({ DetectorId: detectorId, FindingCriteria: { Criterion: { accountId: { Eq: [first.instance.accountId] } } } }));
      expect(one.FindingIds).toEqual([first.findingId]);
      const { Findings } = await management.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: ids }));
      expect(new Set(Findings?.map((finding) => finding.AccountId))).toEqual(new Set(incidents.map((incident) => incident.instance.accountId)));

      // Delegated to a member without an incident: it sees them all, the management account none.
      const planted = new Set(incidents.map((incident) => incident.instance.accountId));
      const security = [...sandbox.world.org.accounts.values()].find((a) => a.status === 'ACTIVE' && a.id !== sandbox.world.org.managementAccountId && !planted.has(a.id));
      if (!security) throw new Error('a quiet member account exists');
      configureGuardDuty(sandbox.world, { administratorAccountId: security.id });
      expect((await management.send(new ListFindingsCommand({ DetectorId: detectorId }))).FindingIds).toEqual([]);
      const { guardduty } = await asMember(sandbox, security.id);
      const delegated = (await guardduty.send(new ListDetectorsCommand({}))).DetectorIds?.[0] ?? '';
      expect((await guardduty.send(new ListFindingsCommand({ DetectorId: delegated }))).FindingIds?.sort()).toEqual([...ids].sort());
    } finally {
      management.destroy();
    }
  });
});

describe('Detective', () => {
  it('serves the administrator’s graph, members and ingest history, and investigations that run then succeed', async () => {
    const sandbox = await start();
    const tor = incidentPlan(sandbox.world).incidents[0];
    if (!tor) throw new Error('an incident is planted');
    const detective = new DetectiveClient({ endpoint: sandbox.url, region: REGION, credentials: admin, maxAttempts: 1 });
    const graphArn = (await detective.send(new ListGraphsCommand({}))).GraphList?.[0]?.Arn ?? '';
    expect(graphArn).toMatch(new RegExp(`^arn:aws:detective:us-east-1:${sandbox.world.org.managementAccountId}:graph:[0-9a-f]{32}$`));

    const members: string[] = [];
    let token: string | undefined;
    do {
      const page = await detective.send(new ListMembersCommand({ GraphArn: graphArn, MaxResults: 7, NextToken: token }));
      members.push(...(page.MemberDetails ?? []).map((m) => m.AccountId ?? ''));
      token = page.NextToken;
    } while (token);
    const active = [...sandbox.world.org.accounts.values()].filter((a) => a.status === 'ACTIVE' && a.id !== sandbox.world.org.managementAccountId);
    expect(members.sort()).toEqual(active.map((a) => a.id).sort());

    const datasources = await detective.send(new BatchGetGraphMemberDatasourcesCommand({ GraphArn: graphArn, AccountIds: [tor.instance.accountId, '000000000000'] }));
    expect(datasources.MemberDatasources?.[0]?.DatasourcePackageIngestHistory?.DETECTIVE_CORE?.STARTED?.Timestamp).toBeInstanceOf(Date);
    expect(datasources.UnprocessedAccounts?.map((u) => u.AccountId)).toEqual(['000000000000']);

    const now = Date.now();
    const scope = { ScopeStartTime: new Date(tor.at.getTime() - 300_000), ScopeEndTime: new Date(tor.end.getTime() + 900_000) };
    const { InvestigationId } = await detective.send(new StartInvestigationCommand({ GraphArn: graphArn, EntityArn: tor.instance.roleArn, ...scope }));
    expect(InvestigationId).toMatch(/^\d{21}$/);
    const first = await detective.send(new GetInvestigationCommand({ GraphArn: graphArn, InvestigationId }));
    expect(first.Status).toBe('RUNNING');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await detective.send(new GetInvestigationCommand({ GraphArn: graphArn, InvestigationId }))).toMatchObject({ Status: 'SUCCESSFUL', Severity: 'CRITICAL' });

    const seen: string[] = [];
    let indicatorToken: string | undefined;
    do {
      const page: ListIndicatorsCommandOutput = await detective.send(new ListIndicatorsCommand({ GraphArn: graphArn, InvestigationId, MaxResults: 40, NextToken: indicatorToken }));
      expect(page.Indicators?.length).toBeLessThanOrEqual(40);
      seen.push(...(page.Indicators ?? []).map((i) => i.IndicatorType ?? ''));
      indicatorToken = page.NextToken;
    } while (indicatorToken);
    expect(seen.length).toBeGreaterThan(100);
    expect(seen).toEqual(expect.arrayContaining(['RELATED_FINDING', 'FLAGGED_IP_ADDRESS', 'NEW_GEOLOCATION', 'TTP_OBSERVED']));

    const listed = await detective.send(new ListInvestigationsCommand({ GraphArn: graphArn, FilterCriteria: { EntityArn: { Value: tor.instance.roleArn } } }));
    expect(listed.InvestigationDetails?.map((d) => d.InvestigationId)).toContain(InvestigationId);

    await expect(detective.send(new ListInvestigationsCommand({ GraphArn: graphArn, MaxResults: 101 }))).rejects.toBeInstanceOf(ValidationException);
    await expect(
      detective.send(new StartInvestigationCommand({ GraphArn: graphArn, EntityArn: `arn:aws:ec2:us-east-1:${tor.instance.accountId}:instance/${tor.instance.instanceId}`, ...scope })),
    ).rejects.toThrow(/not an IAM role or IAM user ARN/);
    await expect(
      detective.send(new StartInvestigationCommand({ GraphArn: graphArn, EntityArn: tor.instance.roleArn, ScopeStartTime: new Date(now), ScopeEndTime: new Date(now + 86_400_000) })),
    ).rejects.toThrow(/cannot be in the future/);

    // A member account has no graph of its own and may not query the administrator's.
    const { detective: member } = await asMember(sandbox, tor.instance.accountId);
    expect((await member.send(new ListGraphsCommand({}))).GraphList).toEqual([]);
    await expect(member.send(new GetMembersCommand({ GraphArn: graphArn, AccountIds: [tor.instance.accountId] }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('the flow-log bucket', () => {
  it('holds the same gzip flow logs for the same seed, readable by the incident account', async () => {
    const read = async (sandbox: RunningSandbox) => {
      const tor = incidentPlan(sandbox.world).incidents[0];
      if (!tor) throw new Error('an incident is planted');
      const { s3 } = await asMember(sandbox, tor.instance.accountId);
      const listing = await s3.send(new ListObjectsV2Command({ Bucket: incidentPlan(sandbox.world).bucket, Prefix: `AWSLogs/${tor.instance.accountId}/vpcflowlogs/${REGION}/` }));
      const key = listing.Contents?.[0]?.Key ?? '';
      const body = Buffer.from(await ((await s3.send(new GetObjectCommand({ Bucket: incidentPlan(sandbox.world).bucket, Key: key }))).Body?.transformToByteArray() ?? new Uint8Array()));
      return { keys: listing.Contents?.map((c) => c.Key), text: gunzipSync(body).toString('utf8'), instance: tor.instance };
    };
    const a = await read(await start(9));
    const b = await read(await start(9));
    expect(b.keys).toEqual(a.keys);
    expect(b.text).toBe(a.text);
    const [header, first] = a.text.split('\n');
    expect(header).toBe('version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status');
    expect(first?.split(' ').slice(0, 3)).toEqual(['2', a.instance.accountId, a.instance.networkInterfaceId]);
  });
});

import {
  DescribeRecoverySnapshotsCommand,
  DescribeSourceServersCommand,
  DrsClient,
  GetLaunchConfigurationCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UninitializedAccountException,
  UntagResourceCommand,
  ValidationException,
  type SourceServer,
} from '@aws-sdk/client-drs';
import { DescribeInstancesCommand, DescribeLaunchTemplateVersionsCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { drsPlan, FLEET_SIZE, RECOVERABLE_TAG, type DrsPlan } from '../world/seeded-drs.js';

/** Elastic Disaster Recovery through the real SDK v3 client, as a drill uses it. */
const REGION = 'us-east-1';
const admin = { accessKeyId: 'AKIADRSTEST000000001', secretAccessKey: 'test' };
let sandbox: RunningSandbox;
let plan: DrsPlan;
const clients: DrsClient[] = [];
const ec2Clients: EC2Client[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, accounts: 30, ous: 5, seed: 7, timeScale: 0.001 });
  plan = drsPlan(sandbox.world);
});
afterAll(async () => {
  for (const client of [...clients, ...ec2Clients]) client.destroy();
  await sandbox.close();
});

async function configIn(accountId: string, region: string) {
  const sts = new STSClient({ endpoint: sandbox.url, region, credentials: admin });
  const session = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'drill' }))).Credentials;
  sts.destroy();
  return {
    endpoint: sandbox.url,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId: session?.AccessKeyId ?? '', secretAccessKey: session?.SecretAccessKey ?? '', sessionToken: session?.SessionToken ?? '' },
  };
}

async function drsIn(accountId: string, region = REGION): Promise<DrsClient> {
  const client = new DrsClient(await configIn(accountId, region));
  clients.push(client);
  return client;
}

async function ec2In(accountId: string, region = REGION): Promise<EC2Client> {
  const client = new EC2Client(await configIn(accountId, region));
  ec2Clients.push(client);
  return client;
}

async function allServers(client: DrsClient, maxResults?: number): Promise<SourceServer[]> {
  const out: SourceServer[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new DescribeSourceServersCommand({ maxResults, nextToken }));
    out.push(...(page.items ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

function serverNamed(name: string) {
  const server = plan.servers.find((s) => s.tags['Name'] === name);
  if (!server) throw new Error(`no seeded server ${name}`);
  return server;
}

describe('source servers', () => {
  it('lists each account’s servers with replication state, lag, hostname and tags, in pages', async () => {
    const [accountId] = plan.drillAccountIds;
    if (!accountId) throw new Error('a drill account');
    const client = await drsIn(accountId);
    const servers = await allServers(client, 4);
    const seeded = plan.servers.filter((s) => s.accountId === accountId && s.region === REGION);
    expect(servers.map((s) => s.sourceServerID).sort()).toEqual(seeded.map((s) => s.sourceServerID).sort());
    const web = servers.find((s) => s.tags?.['Name'] === 'web-0');
    expect(web).toMatchObject({
      arn: `arn:aws:drs:${REGION}:${accountId}:source-server/${web?.sourceServerID}`,
      dataReplicationInfo: { dataReplicationState: 'CONTINUOUS' },
      sourceProperties: { identificationHints: { hostname: 'web-0', fqdn: 'web-0.corp.example.com' } },
      lastLaunchResult: 'NOT_STARTED',
    });
    expect(web?.dataReplicationInfo?.lagDuration).toMatch(/^PT\d+S$/);
    const stalled = servers.find((s) => s.tags?.['Name'] === 'stalled-0');
    expect(stalled?.dataReplicationInfo).toMatchObject({ dataReplicationState: 'STALLED', lagDuration: expect.stringMatching(/^PT3H/) });
    const filtered = await client.send(new DescribeSourceServersCommand({ filters: { sourceServerIDs: [serverNamed('db-0').sourceServerID] } }));
    expect(filtered.items?.map((s) => s.tags?.['Name'])).toEqual(['db-0']);
  });

  it('says which servers are in trouble: stalled, disconnected, never synced', async () => {
    const states = new Map<string, string | undefined>();
    for (const accountId of plan.drillAccountIds) {
      for (const s of await allServers(await drsIn(accountId))) states.set(s.sourceServerID ?? '', s.dataReplicationInfo?.dataReplicationState);
    }
    expect(plan.named.stalled.map((id) => states.get(id))).toEqual(['STALLED']);
    expect(plan.named.disconnected.map((id) => states.get(id))).toEqual(['DISCONNECTED']);
    expect(plan.named.neverSynced.map((id) => states.get(id))).toEqual(['INITIAL_SYNC']);
  });

  it('pages through the 260-server fleet with 100 a page by default', async () => {
    if (!plan.fleetAccountId) throw new Error('a fleet account');
    const client = await drsIn(plan.fleetAccountId);
    const first = await client.send(new DescribeSourceServersCommand({}));
    expect(first.items).toHaveLength(100);
    expect(first.nextToken).toBeDefined();
    expect(new Set((await allServers(client)).map((s) => s.sourceServerID)).size).toBe(FLEET_SIZE);
    await expect(client.send(new DescribeSourceServersCommand({ nextToken: 'forged.token' }))).rejects.toBeInstanceOf(ValidationException);
  });

  it('answers UninitializedAccountException where DRS was never initialized', async () => {
    const uninitialized = plan.uninitializedAccountIds.find((id) => id !== sandbox.world.org.managementAccountId);
    if (!uninitialized) throw new Error('an uninitialized member');
    await expect((await drsIn(uninitialized)).send(new DescribeSourceServersCommand({}))).rejects.toBeInstanceOf(UninitializedAccountException);
    const [drill] = plan.drillAccountIds;
    await expect((await drsIn(drill ?? '', 'eu-central-1')).send(new DescribeSourceServersCommand({}))).rejects.toMatchObject({ name: 'UninitializedAccountException', $metadata: { httpStatusCode: 400 } });
  });

  it('tags and untags a source server', async () => {
    const db = serverNamed('db-1');
    const client = await drsIn(db.accountId);
    await client.send(new TagResourceCommand({ resourceArn: db.arn, tags: { 'dr:tier': 'gold' } }));
    expect((await client.send(new ListTagsForResourceCommand({ resourceArn: db.arn }))).tags).toMatchObject({ Name: 'db-1', 'dr:tier': 'gold' });
    await client.send(new UntagResourceCommand({ resourceArn: db.arn, tagKeys: ['dr:tier'] }));
    expect((await client.send(new ListTagsForResourceCommand({ resourceArn: db.arn }))).tags?.['dr:tier']).toBeUndefined();
    await expect(client.send(new ListTagsForResourceCommand({ resourceArn: db.arn.replace(db.sourceServerID, 's-00000000000000000') }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('recovery snapshots', () => {
  it('follows the retention policy: every 10 minutes for an hour, hourly for a day, daily for a week', async () => {
    const web = serverNamed('web-1');
    const client = await drsIn(web.accountId);
    const now = Date.now();
    const items = (await client.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: web.sourceServerID, maxResults: 1000 }))).items ?? [];
    const ages = items.map((s) => now - Date.parse(s.expectedTimestamp ?? ''));
    expect(ages).toEqual([...ages].sort((a, b) => b - a));
    expect(ages.filter((age) => age < 3_600_000).length).toBeGreaterThanOrEqual(6);
    expect(ages.filter((age) => age >= 3_600_000 && age < 86_400_000).length).toBeGreaterThanOrEqual(22);
    expect(ages.filter((age) => age >= 86_400_000).length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...ages)).toBeLessThanOrEqual(7 * 86_400_000);
    for (const s of items) {
      expect(s.snapshotID).toMatch(/^pit-[0-9a-f]{17}$/);
      expect(Date.parse(s.timestamp ?? '')).toBeGreaterThan(Date.parse(s.expectedTimestamp ?? ''));
    }
  });

  it('filters by time, orders newest first and pages without repeating a snapshot', async () => {
    const web = serverNamed('web-2');
    const client = await drsIn(web.accountId);
    const before = new Date(Date.now() - 5 * 3_600_000).toISOString();
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: web.sourceServerID, filters: { toDateTime: before }, order: 'DESC', maxResults: 5, nextToken }));
      seen.push(...(page.items ?? []).map((s) => s.timestamp ?? ''));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(seen.length).toBeGreaterThan(20);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort().reverse());
    for (const t of seen) expect(t <= before).toBe(true);
    await expect(client.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: web.sourceServerID, filters: { fromDateTime: 'yesterday' } }))).rejects.toBeInstanceOf(ValidationException);
  });

  it('has none before a server finished its first sync, none after it stalled, none in a gap, none for a never-synced server', async () => {
    const now = Date.now();
    const snapshotsOf = async (name: string) => {
      const server = serverNamed(name);
      return ((await (await drsIn(server.accountId)).send(new DescribeRecoverySnapshotsCommand({ sourceServerID: server.sourceServerID, maxResults: 1000 }))).items ?? []).map((s) => Date.parse(s.timestamp ?? ''));
    };
    const young = await snapshotsOf('new-1');
    expect(young.length).toBeGreaterThan(0);
    expect(Math.min(...young)).toBeGreaterThan(now - 3 * 3_600_000);
    expect(Math.max(...(await snapshotsOf('stalled-0')))).toBeLessThan(now - 3 * 3_600_000 + 60_000);
    const gap = await snapshotsOf('report-2');
    expect(gap.filter((t) => t > now - 80 * 3_600_000 && t < now - 30 * 3_600_000 - 60_000)).toEqual([]);
    expect(gap.some((t) => t < now - 80 * 3_600_000)).toBe(true);
    expect(await snapshotsOf('batch-2')).toEqual([]);
  });
});

describe('launch configuration', () => {
  it('names the server’s EC2 launch template; an unknown server is ResourceNotFoundException', async () => {
    const web = serverNamed('web-0');
    const client = await drsIn(web.accountId);
    expect(await client.send(new GetLaunchConfigurationCommand({ sourceServerID: web.sourceServerID }))).toMatchObject({
      sourceServerID: web.sourceServerID,
      ec2LaunchTemplateID: web.launchTemplate.id,
      launchDisposition: 'STARTED',
      copyTags: true,
    });
    await expect(client.send(new GetLaunchConfigurationCommand({ sourceServerID: 's-00000000000000000' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new GetLaunchConfigurationCommand({ sourceServerID: 'not-an-id' }))).rejects.toBeInstanceOf(ValidationException);
  });
});

describe('EC2 for a drill', () => {
  it('shows each launch template’s subnet and security groups, and the subnets by id', async () => {
    const web = serverNamed('web-0');
    const edge = serverNamed('edge-0');
    const network = plan.networkOf(web.accountId, REGION);
    const ec2 = await ec2In(web.accountId);
    const versions = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: web.launchTemplate.id, Versions: ['$Latest'] }));
    expect(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.NetworkInterfaces?.[0]).toMatchObject({
      SubnetId: network.isolatedSubnet.id,
      Groups: [network.isolatedSecurityGroup.id],
    });
    const prod = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: edge.launchTemplate.id, Versions: ['$Default'] }));
    expect(prod.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.NetworkInterfaces?.[0]?.SubnetId).toBe(network.productionSubnet.id);
    await expect(ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: 'lt-00000000000000000' }))).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.NotFound' });
    const subnets = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [network.isolatedSubnet.id, network.productionSubnet.id] }));
    expect(subnets.Subnets?.map((s) => [s.SubnetId, s.Tags?.find((t) => t.Key === 'Name')?.Value]).sort()).toEqual(
      [[network.isolatedSubnet.id, 'drs-drill-isolated'], [network.productionSubnet.id, 'prod-app']].sort(),
    );
    const byName = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:Name', Values: ['drs-drill-*'] }] }));
    expect(byName.Subnets?.map((s) => s.SubnetId)).toEqual([network.isolatedSubnet.id]);
    await expect(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-00000000000000000'] }))).rejects.toMatchObject({ name: 'InvalidSubnetID.NotFound' });
  });
});

describe('coverage', () => {
  it('shows the drill accounts’ EC2 instances: replicated ones, and a “must be recoverable” one nothing replicates', async () => {
    const [accountId] = plan.drillAccountIds;
    const ec2 = await ec2In(accountId ?? '');
    const tagged = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${RECOVERABLE_TAG.key}`, Values: [RECOVERABLE_TAG.value] }] }))).Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    const replicated = new Set((await allServers(await drsIn(accountId ?? ''))).map((s) => s.sourceProperties?.identificationHints?.awsInstanceID));
    const unprotected = tagged.filter((i) => !replicated.has(i.InstanceId)).map((i) => i.InstanceId);
    expect(unprotected).toEqual(plan.unprotectedInstanceIds.filter((id) => plan.sourceInstances.find((i) => i.instanceId === id)?.accountId === accountId));
    expect(tagged.length).toBe(plan.servers.filter((s) => s.accountId === accountId).length + 1);
  });
});

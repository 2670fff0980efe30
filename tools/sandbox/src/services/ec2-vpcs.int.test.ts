import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DescribeNetworkInterfacesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { type SandboxOptions } from '../sandbox-options.js';
import { drsPlan } from '../world/seeded-drs.js';
import { incidentPlan } from '../world/seeded-incidents.js';

/** DescribeVpcs through the SDK and the AWS CLI, as the investigations and an operator call it. */
const REGION = 'us-east-1';
const run = promisify(execFile);
const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sandbox) => sandbox.close()));
});

async function start(options: Partial<SandboxOptions> = {}): Promise<RunningSandbox> {
  const sandbox = await startSandbox({ port: 0, accounts: 30, ous: 5, seed: 4, timeScale: 0.001, ...options });
  running.push(sandbox);
  return sandbox;
}

async function sessionIn(sandbox: RunningSandbox, accountId: string) {
  const sts = new STSClient(sandbox.clientConfig());
  const session = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'vpcs' }))).Credentials;
  sts.destroy();
  return { accessKeyId: session?.AccessKeyId ?? '', secretAccessKey: session?.SecretAccessKey ?? '', sessionToken: session?.SessionToken ?? '' };
}

async function ec2In(sandbox: RunningSandbox, accountId: string): Promise<EC2Client> {
  return new EC2Client({ endpoint: sandbox.url, region: REGION, maxAttempts: 1, credentials: await sessionIn(sandbox, accountId) });
}

function incidentOf(sandbox: RunningSandbox, kind: string) {
  const incident = incidentPlan(sandbox.world).incidents.find((i) => i.kind === kind);
  if (!incident) throw new Error(`the sandbox plants a ${kind} incident`);
  return incident;
}

describe('EC2 DescribeVpcs', () => {
  it('describes each incident VPC with its blocks and association states, as EC2 does', async () => {
    const sandbox = await start();
    const probe = incidentOf(sandbox, 'port-probe');
    const ec2 = await ec2In(sandbox, probe.instance.accountId);
    const primary = `${probe.instance.privateIp.split('.').slice(0, 2).join('.')}.0.0/16`;

    const [vpc, ...others] = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [probe.instance.vpcId] }))).Vpcs ?? [];
    expect(others).toEqual([]);
    expect(vpc).toMatchObject({ VpcId: probe.instance.vpcId, OwnerId: probe.instance.accountId, State: 'available', CidrBlock: primary, IsDefault: false });
    // A block outside RFC 1918, and one disassociated that EC2 still lists for a while.
    expect(vpc?.CidrBlockAssociationSet?.map((b) => [b.CidrBlock, b.CidrBlockState?.State])).toEqual([
      [primary, 'associated'],
      ['11.48.0.0/16', 'associated'],
      ['172.31.0.0/16', 'disassociated'],
    ]);
    for (const block of vpc?.CidrBlockAssociationSet ?? []) expect(block.AssociationId).toMatch(/^vpc-cidr-assoc-[0-9a-f]{17}$/);
    expect(vpc?.Ipv6CidrBlockAssociationSet).toEqual([]);

    const tor = incidentOf(sandbox, 'tor-client');
    const torEc2 = await ec2In(sandbox, tor.instance.accountId);
    const torVpc = (await torEc2.send(new DescribeVpcsCommand({ VpcIds: [tor.instance.vpcId] }))).Vpcs?.[0];
    expect(torVpc?.CidrBlockAssociationSet?.map((b) => b.CidrBlock)).toEqual([`${tor.instance.privateIp.split('.').slice(0, 2).join('.')}.0.0/16`, '100.64.0.0/16']);
    expect(torVpc?.Ipv6CidrBlockAssociationSet).toEqual([
      expect.objectContaining({ Ipv6CidrBlock: expect.stringMatching(/^2600:1f18:[1-9a-f][0-9a-f]{3}:[1-9a-f][0-9a-f]00::\/56$/), Ipv6CidrBlockState: { State: 'associated' }, Ipv6Pool: 'Amazon', NetworkBorderGroup: REGION }),
    ]);

    // Filters: a block's address, its state, an unknown filter refused.
    const by = async (Name: string, Values: string[]) => ((await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name, Values }] }))).Vpcs ?? []).map((v) => v.VpcId);
    expect(await by('cidr-block-association.cidr-block', ['11.48.*'])).toEqual([probe.instance.vpcId]);
    expect(await by('cidr', ['11.48.0.0/16'])).toEqual([]);
    expect(await by('cidr-block-association.state', ['disassociated'])).toEqual([probe.instance.vpcId]);
    await expect(by('no-such-filter', ['x'])).rejects.toMatchObject({ name: 'InvalidParameterValue' });

    // EC2's errors for ids.
    await expect(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] }))).rejects.toMatchObject({ name: 'InvalidVpcID.NotFound', message: "The vpc ID 'vpc-0123456789abcdef0' does not exist" });
    await expect(ec2.send(new DescribeVpcsCommand({ VpcIds: ['subnet-1'] }))).rejects.toMatchObject({ name: 'InvalidVpcID.Malformed' });
    await expect(ec2.send(new DescribeVpcsCommand({ MaxResults: 4 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    // The same VPC id is no VPC in another account.
    await expect(torEc2.send(new DescribeVpcsCommand({ VpcIds: [probe.instance.vpcId] }))).rejects.toMatchObject({ name: 'InvalidVpcID.NotFound' });
    ec2.destroy();
    torEc2.destroy();
  });

  it('lists the seeded and the DRS recovery VPCs of an account, with MaxResults and NextToken checked as EC2 does', async () => {
    const sandbox = await start();
    const server = drsPlan(sandbox.world).servers.find((s) => s.region === REGION && s.accountId === incidentPlan(sandbox.world).incidents[0]?.instance.accountId) ?? drsPlan(sandbox.world).servers[0];
    if (!server) throw new Error('DRS servers are seeded');
    const ec2 = new EC2Client({ endpoint: sandbox.url, region: server.region, maxAttempts: 1, credentials: await sessionIn(sandbox, server.accountId) });
    const all = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? [];
    const network = drsPlan(sandbox.world).networkOf(server.accountId, server.region);
    expect(all.map((v) => v.VpcId)).toContain(network.vpcId);
    expect(all.find((v) => v.VpcId === network.vpcId)?.CidrBlock).toBe(network.productionSubnet.cidr.replace(/\.\d+\.0\/24$/, '.0.0/16'));
    // An account holds two VPCs at most, under EC2's smallest page (5): one page, no NextToken.
    const first = await ec2.send(new DescribeVpcsCommand({ MaxResults: 5 }));
    expect(first.Vpcs?.map((v) => v.VpcId)).toEqual(all.map((v) => v.VpcId));
    expect(first.NextToken).toBeUndefined();
    await expect(ec2.send(new DescribeVpcsCommand({ NextToken: 'not-a-token' }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    ec2.destroy();
  });

  it('refuses the call as IAM would when a deny fault names it, and only that operation', async () => {
    const sandbox = await start({ faults: { operations: { 'ec2:DescribeVpcs': { deny: true } } } });
    const probe = incidentOf(sandbox, 'port-probe');
    const ec2 = await ec2In(sandbox, probe.instance.accountId);
    const error = await ec2.send(new DescribeVpcsCommand({ VpcIds: [probe.instance.vpcId] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } });
    expect((error as Error).message).toMatch(
      /^You are not authorized to perform this operation\. User: arn:aws:sts::\d{12}:assumed-role\/OrganizationAccountAccessRole\/vpcs is not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action$/,
    );
    expect((await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [probe.instance.networkInterfaceId] }))).NetworkInterfaces?.[0]?.VpcId).toBe(probe.instance.vpcId);
    ec2.destroy();
  });

  // Each CLI call starts a Python interpreter: seconds apiece on a busy machine.
  it('answers the AWS CLI with what the SDK sees', { timeout: 120_000 }, async () => {
    const sandbox = await start();
    const probe = incidentOf(sandbox, 'port-probe');
    const c = await sessionIn(sandbox, probe.instance.accountId);
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      AWS_ACCESS_KEY_ID: c.accessKeyId,
      AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
      AWS_SESSION_TOKEN: c.sessionToken,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_PAGER: '',
    };
    const { stdout } = await run('aws', ['ec2', 'describe-vpcs', '--vpc-ids', probe.instance.vpcId, '--endpoint-url', sandbox.url, '--region', REGION, '--output', 'json'], { env });
    const ec2 = await ec2In(sandbox, probe.instance.accountId);
    const sdk = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [probe.instance.vpcId] }))).Vpcs;
    expect((JSON.parse(stdout) as { Vpcs: unknown }).Vpcs).toEqual(JSON.parse(JSON.stringify(sdk)));
    await expect(run('aws', ['ec2', 'describe-vpcs', '--vpc-ids', 'vpc-0123456789abcdef0', '--endpoint-url', sandbox.url, '--region', REGION], { env })).rejects.toThrow(/InvalidVpcID\.NotFound/);
    ec2.destroy();
  });
});

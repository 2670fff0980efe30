import { DescribeOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsClientFactory } from '@orgshield/aws';
import { startSandbox } from '@orgshield/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssumeRoleFailedError, MemberCredentials } from './member-credentials.js';

let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let clients: AwsClientFactory;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, accounts: 10, ous: 2, seed: 9 });
  clients = new AwsClientFactory({
    ...sandbox.clientConfig(),
  });
});
afterAll(async () => {
  clients.destroy();
  await sandbox.close();
});

const assumeRoleCalls = () => sandbox.requests().filter((r) => r.operation === 'AssumeRole');

describe('MemberCredentials against the sandbox', () => {
  it('assumes the role once per account and job, shares that session across clients and regions', async () => {
    const world = sandbox.world.snapshot();
    const member = world.accounts.find((a) => a.id !== world.managementAccountId && a.status === 'ACTIVE')!.id;
    const credentials = new MemberCredentials(clients, { managementAccountId: world.managementAccountId });
    const before = assumeRoleCalls().length;

    for (const [region, job] of [['us-east-1', 'job-1'], ['eu-west-1', 'job-1'], ['us-east-1', 'job-1']] as const) {
      const organizations = clients.client(OrganizationsClient, credentials.target(member, region, job));
      await organizations.send(new DescribeOrganizationCommand({}));
    }
    expect(assumeRoleCalls().length - before).toBe(1);
    // the calls ran as the member account, which the sandbox knows from the assumed keys
    const described = sandbox.requests().filter((r) => r.operation === 'DescribeOrganization');
    expect(described.slice(-3).map((r) => r.account)).toEqual([member, member, member]);
  });

  it('names the job that asked in each session, whichever job came first (CloudTrail blames the right job)', async () => {
    const world = sandbox.world.snapshot();
    const member = world.accounts.filter((a) => a.id !== world.managementAccountId && a.status === 'ACTIVE')[2]!.id;
    const credentials = new MemberCredentials(clients, { managementAccountId: world.managementAccountId });
    const callerArn = async (job: string) =>
      (await clients.client(STSClient, credentials.target(member, 'us-east-1', job)).send(new GetCallerIdentityCommand({}))).Arn;
    expect(await callerArn('rollout:first')).toBe(`arn:aws:sts::${member}:assumed-role/OrganizationAccountAccessRole/orgshield-rollout-first`);
    expect(await callerArn('investigate:second')).toBe(`arn:aws:sts::${member}:assumed-role/OrganizationAccountAccessRole/orgshield-investigate-second`);
    expect(await callerArn('rollout:first')).toBe(`arn:aws:sts::${member}:assumed-role/OrganizationAccountAccessRole/orgshield-rollout-first`);
  });

  it('assumes the role again only five minutes before the session expires', async () => {
    const world = sandbox.world.snapshot();
    const member = world.accounts.filter((a) => a.id !== world.managementAccountId)[1]!.id;
    let now = Date.now();
    const credentials = new MemberCredentials(clients, { managementAccountId: world.managementAccountId, durationSeconds: 900, now: () => now });
    const provider = credentials.provider(member, 'job-1')!;
    const before = assumeRoleCalls().length;
    const first = await provider();
    expect(first.expiration!.getTime()).toBeGreaterThan(now + 9 * 60_000);
    now += 9 * 60_000;
    expect(await provider()).toBe(first);
    expect(assumeRoleCalls().length - before).toBe(1);
    now += 2 * 60_000; // within five minutes of expiry
    const renewed = await provider();
    expect(assumeRoleCalls().length - before).toBe(2);
    expect(renewed.accessKeyId).toBeTypeOf('string');
  });

  it('says which role could not be assumed', async () => {
    const world = sandbox.world.snapshot();
    const member = world.accounts.find((a) => a.id !== world.managementAccountId)!.id;
    const credentials = new MemberCredentials(clients, { managementAccountId: world.managementAccountId, roleName: 'NoSuchRole' });
    const error = await credentials.provider(member)!().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssumeRoleFailedError);
    expect((error as Error).message).toContain(`arn:aws:iam::${member}:role/NoSuchRole`);
  });
});

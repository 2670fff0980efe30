import {
  AppStreamClient,
  AssociateFleetCommand,
  BatchAssociateUserStackCommand,
  CreateFleetCommand,
  CreateImageBuilderCommand,
  CreateStackCommand,
  CreateUpdatedImageCommand,
  CreateUsageReportSubscriptionCommand,
  CreateUserCommand,
  DeleteFleetCommand,
  DescribeFleetsCommand,
  DescribeImageBuildersCommand,
  DescribeImagesCommand,
  DescribeSessionsCommand,
  DescribeStacksCommand,
  DescribeUsageReportSubscriptionsCommand,
  DescribeUsersCommand,
  DescribeUserStackAssociationsCommand,
  DisassociateFleetCommand,
  ListAssociatedFleetsCommand,
  ListAssociatedStacksCommand,
  ListTagsForResourceCommand,
  StartFleetCommand,
  StartImageBuilderCommand,
  StopFleetCommand,
  TagResourceCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-appstream';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { APPSTREAM_DELAYS, APPSTREAM_QUOTAS, SESSIONS_REPORT_COLUMNS, sessionsReportKey } from './appstream-store.js';

/** 15 simulated minutes (a fleet start) take 900 ms. */
const TIME_SCALE = 0.001;
const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start() {
  const sandbox = await startSandbox({ port: 0, accounts: 4, ous: 1, seed: 9, timeScale: TIME_SCALE });
  running.push(sandbox);
  const config = { ...sandbox.clientConfig(), maxAttempts: 1 };
  const control = async (path: string, body: Record<string, unknown>) => {
    const response = await fetch(`${sandbox.url}/_sandbox/${path}`, { method: 'POST', body: JSON.stringify({ accountId: sandbox.world.org.managementAccountId, region: 'us-east-1', ...body }) });
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${String(json['error'])}: ${String(json['message'])}`);
    return json;
  };
  return { sandbox, appstream: new AppStreamClient(config), iam: new IAMClient(config), s3: new S3Client({ ...config, forcePathStyle: true }), control };
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).name;
  }
  throw new Error('expected the call to fail');
}

/** Waits out a simulated duration on the sandbox's time scale (plus a margin). */
const wait = (simulatedMs: number) => sleep(simulatedMs * TIME_SCALE + 30);

const trust = (service: string) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });

describe('AppStream image builders and images', () => {
  it('runs a builder, makes an image through the Image Assistant control, and updates it', async () => {
    const { appstream, control } = await start();
    const created = await appstream.send(new CreateImageBuilderCommand({ Name: 'recorder-builder', InstanceType: 'stream.standard.medium', ImageName: 'AppStream-AmazonLinux2-06-17-2024' }));
    expect(created.ImageBuilder).toMatchObject({ State: 'PENDING', Platform: 'AMAZON_LINUX2' });
    // Image Assistant needs a RUNNING builder.
    await expect(control('appstream/images', { builderName: 'recorder-builder', imageName: 'recorder-image' })).rejects.toThrow(/ConcurrentModificationException/);
    expect(await errorOf(appstream.send(new CreateImageBuilderCommand({ Name: 'recorder-builder', InstanceType: 'stream.standard.medium', ImageName: 'AppStream-AmazonLinux2-06-17-2024' })))).toBe('ResourceAlreadyExistsException');
    expect(await errorOf(appstream.send(new CreateImageBuilderCommand({ Name: 'other', InstanceType: 'stream.standard.medium', ImageName: 'NoSuchImage' })))).toBe('ResourceNotFoundException');
    expect(await errorOf(appstream.send(new CreateImageBuilderCommand({ Name: 'bad name!', InstanceType: 'stream.standard.medium' })))).toBe('ValidationException');
    await wait(APPSTREAM_DELAYS.builderStart);
    expect((await appstream.send(new DescribeImageBuildersCommand({ Names: ['recorder-builder'] }))).ImageBuilders?.[0]?.State).toBe('RUNNING');

    await control('appstream/images', { builderName: 'recorder-builder', imageName: 'recorder-image', tags: { 'orgshield:recording': 'v1' } });
    const pending = (await appstream.send(new DescribeImagesCommand({ Names: ['recorder-image'] }))).Images?.[0];
    expect(pending).toMatchObject({ State: 'PENDING', Visibility: 'PRIVATE', ImageBuilderName: 'recorder-builder', Platform: 'AMAZON_LINUX2' });
    expect((await appstream.send(new DescribeImageBuildersCommand({}))).ImageBuilders?.[0]?.State).toBe('SNAPSHOTTING');
    // A PENDING image cannot back a fleet.
    expect(await errorOf(appstream.send(new CreateFleetCommand({ Name: 'early', InstanceType: 'stream.standard.small', ImageName: 'recorder-image', ComputeCapacity: { DesiredInstances: 1 } })))).toBe('ResourceNotAvailableException');
    await control('appstream/images/finish', { imageName: 'recorder-image' });
    expect((await appstream.send(new DescribeImagesCommand({ Names: ['recorder-image'] }))).Images?.[0]?.State).toBe('AVAILABLE');
    expect((await appstream.send(new ListTagsForResourceCommand({ ResourceArn: pending?.Arn }))).Tags).toEqual({ 'orgshield:recording': 'v1' });
    await wait(APPSTREAM_DELAYS.builderSnapshot);
    expect((await appstream.send(new DescribeImageBuildersCommand({}))).ImageBuilders?.[0]?.State).toBe('STOPPED');
    await appstream.send(new StartImageBuilderCommand({ Name: 'recorder-builder' }));
    expect((await appstream.send(new DescribeImageBuildersCommand({}))).ImageBuilders?.[0]?.State).toBe('PENDING');

    const updated = await appstream.send(new CreateUpdatedImageCommand({ existingImageName: 'recorder-image', newImageName: 'recorder-image-2', newImageTags: { patched: 'yes' } }));
    expect(updated.image).toMatchObject({ Name: 'recorder-image-2', State: 'PENDING', BaseImageArn: pending?.Arn });
    expect(await errorOf(appstream.send(new CreateUpdatedImageCommand({ existingImageName: 'AppStream-AmazonLinux2-06-17-2024', newImageName: 'x' })))).toBe('OperationNotPermittedException');
    await wait(APPSTREAM_DELAYS.imageUpdate);
    const two = (await appstream.send(new DescribeImagesCommand({ Names: ['recorder-image-2'] }))).Images?.[0];
    expect(two?.State).toBe('AVAILABLE');
    expect((await appstream.send(new ListTagsForResourceCommand({ ResourceArn: two?.Arn }))).Tags).toEqual({ 'orgshield:recording': 'v1', patched: 'yes' });
    expect((await appstream.send(new DescribeImagesCommand({ Type: 'PRIVATE' }))).Images?.map((i) => i.Name)).toEqual(['recorder-image', 'recorder-image-2']);
  });
});

describe('AppStream fleets', () => {
  it('checks the role, moves through its states, refuses changes mid-way, and enforces the quota', async () => {
    const { sandbox, appstream, iam } = await start();
    const account = sandbox.world.org.managementAccountId;
    const base = { InstanceType: 'stream.standard.medium', ImageName: 'AppStream-WinServer2019-06-17-2024', FleetType: 'ALWAYS_ON' as const, ComputeCapacity: { DesiredInstances: 2 } };
    expect(await errorOf(appstream.send(new CreateFleetCommand({ ...base, Name: 'f', IamRoleArn: `arn:aws:iam::${account}:role/missing` })))).toBe('InvalidRoleException');
    await iam.send(new CreateRoleCommand({ RoleName: 'ec2-only', AssumeRolePolicyDocument: trust('ec2.amazonaws.com') }));
    expect(await errorOf(appstream.send(new CreateFleetCommand({ ...base, Name: 'f', IamRoleArn: `arn:aws:iam::${account}:role/ec2-only` })))).toBe('InvalidRoleException');
    await iam.send(new CreateRoleCommand({ RoleName: 'recording-fleet', AssumeRolePolicyDocument: trust('appstream.amazonaws.com') }));
    const roleArn = `arn:aws:iam::${account}:role/recording-fleet`;
    const fleet = (await appstream.send(new CreateFleetCommand({ ...base, Name: 'recorded', IamRoleArn: roleArn, VpcConfig: { SubnetIds: ['subnet-1', 'subnet-2'], SecurityGroupIds: ['sg-1'] }, StreamView: 'DESKTOP', Tags: { team: 'sec' } }))).Fleet;
    expect(fleet).toMatchObject({ State: 'STOPPED', FleetType: 'ALWAYS_ON', IamRoleArn: roleArn, StreamView: 'DESKTOP', ComputeCapacityStatus: { Desired: 2, Running: 0 } });
    expect(await errorOf(appstream.send(new CreateFleetCommand({ ...base, Name: 'recorded' })))).toBe('ResourceAlreadyExistsException');
    expect(await errorOf(appstream.send(new CreateFleetCommand({ ...base, Name: 'no-capacity', ComputeCapacity: undefined })))).toBe('InvalidParameterCombinationException');
    expect(await errorOf(appstream.send(new CreateFleetCommand({ ...base, Name: 'bad-type', FleetType: 'SOMETIMES' as never })))).toBe('ValidationException');

    await appstream.send(new StartFleetCommand({ Name: 'recorded' }));
    expect((await appstream.send(new DescribeFleetsCommand({ Names: ['recorded'] }))).Fleets?.[0]?.State).toBe('STARTING');
    expect(await errorOf(appstream.send(new StartFleetCommand({ Name: 'recorded' })))).toBe('ConcurrentModificationException');
    expect(await errorOf(appstream.send(new StopFleetCommand({ Name: 'recorded' })))).toBe('ConcurrentModificationException');
    await wait(APPSTREAM_DELAYS.fleetStart);
    expect((await appstream.send(new DescribeFleetsCommand({ Names: ['recorded'] }))).Fleets?.[0]).toMatchObject({ State: 'RUNNING', ComputeCapacityStatus: { Desired: 2, Running: 2, InUse: 0, Available: 2 } });
    // Starting a running fleet changes nothing, so a retry is safe.
    await appstream.send(new StartFleetCommand({ Name: 'recorded' }));
    expect(await errorOf(appstream.send(new DeleteFleetCommand({ Name: 'recorded' })))).toBe('ResourceInUseException');

    const elastic = (await appstream.send(new CreateFleetCommand({
      Name: 'elastic',
      InstanceType: 'stream.standard.small',
      FleetType: 'ELASTIC',
      Platform: 'AMAZON_LINUX2',
      MaxConcurrentSessions: 5,
      VpcConfig: { SubnetIds: ['subnet-1'] },
      IamRoleArn: roleArn,
      SessionScriptS3Location: { S3Bucket: 'scripts-bucket', S3Key: 'orgshield/session-scripts.zip' },
    }))).Fleet;
    expect(elastic).toMatchObject({ FleetType: 'ELASTIC', Platform: 'AMAZON_LINUX2', SessionScriptS3Location: { S3Bucket: 'scripts-bucket', S3Key: 'orgshield/session-scripts.zip' } });
    expect(await errorOf(appstream.send(new CreateFleetCommand({ Name: 'elastic-2', InstanceType: 'stream.standard.small', FleetType: 'ELASTIC', Platform: 'AMAZON_LINUX2', MaxConcurrentSessions: 5 })))).toBe('InvalidParameterCombinationException');

    for (let i = 2; i < APPSTREAM_QUOTAS.fleets.limit; i++) await appstream.send(new CreateFleetCommand({ ...base, Name: `filler-${i}` }));
    const refused = appstream.send(new CreateFleetCommand({ ...base, Name: 'one-too-many' }));
    await expect(refused).rejects.toThrow(/quota "Fleets" \(10\)/);
    expect(await errorOf(appstream.send(new CreateFleetCommand({ ...base, Name: 'one-too-many' })))).toBe('LimitExceededException');
  });
});

describe('AppStream stacks, users and sessions', () => {
  it('associates fleets and users, reports batch failures in the list, lists current sessions and delivers usage reports', async () => {
    const { sandbox, appstream, s3, control } = await start();
    await appstream.send(new CreateFleetCommand({ Name: 'fleet-a', InstanceType: 'stream.standard.medium', ImageName: 'AppStream-WinServer2019-06-17-2024', FleetType: 'ON_DEMAND', ComputeCapacity: { DesiredInstances: 1 } }));
    await appstream.send(new CreateStackCommand({ Name: 'admins', UserSettings: [{ Action: 'CLIPBOARD_COPY_TO_LOCAL_DEVICE', Permission: 'DISABLED' }] }));
    await appstream.send(new UpdateStackCommand({ Name: 'admins', UserSettings: [{ Action: 'FILE_DOWNLOAD', Permission: 'DISABLED' }] }));
    expect((await appstream.send(new DescribeStacksCommand({ Names: ['admins'] }))).Stacks?.[0]?.UserSettings?.map((u) => u.Action).sort()).toEqual(['CLIPBOARD_COPY_TO_LOCAL_DEVICE', 'FILE_DOWNLOAD']);
    expect(await errorOf(appstream.send(new DescribeStacksCommand({ Names: ['nope'] })))).toBe('ResourceNotFoundException');
    await appstream.send(new AssociateFleetCommand({ FleetName: 'fleet-a', StackName: 'admins' }));
    await appstream.send(new AssociateFleetCommand({ FleetName: 'fleet-a', StackName: 'admins' }));
    expect((await appstream.send(new ListAssociatedFleetsCommand({ StackName: 'admins' }))).Names).toEqual(['fleet-a']);
    expect((await appstream.send(new ListAssociatedStacksCommand({ FleetName: 'fleet-a' }))).Names).toEqual(['admins']);

    await appstream.send(new CreateUserCommand({ UserName: 'alice@example.com', AuthenticationType: 'USERPOOL', MessageAction: 'SUPPRESS' }));
    expect(await errorOf(appstream.send(new CreateUserCommand({ UserName: 'alice@example.com', AuthenticationType: 'USERPOOL' })))).toBe('ResourceAlreadyExistsException');
    const batch = await appstream.send(new BatchAssociateUserStackCommand({
      UserStackAssociations: [
        { StackName: 'admins', UserName: 'alice@example.com', AuthenticationType: 'USERPOOL' },
        { StackName: 'admins', UserName: 'bob@example.com', AuthenticationType: 'USERPOOL' },
        { StackName: 'missing', UserName: 'alice@example.com', AuthenticationType: 'USERPOOL' },
      ],
    }));
    expect(batch.errors?.map((e) => [e.UserStackAssociation?.UserName, e.ErrorCode])).toEqual([['bob@example.com', 'USER_NAME_NOT_FOUND'], ['alice@example.com', 'STACK_NOT_FOUND']]);
    expect((await appstream.send(new DescribeUserStackAssociationsCommand({ StackName: 'admins' }))).UserStackAssociations).toEqual([{ StackName: 'admins', UserName: 'alice@example.com', AuthenticationType: 'USERPOOL' }]);
    expect(await errorOf(appstream.send(new DescribeUserStackAssociationsCommand({})))).toBe('InvalidParameterCombinationException');
    expect((await appstream.send(new DescribeUsersCommand({ AuthenticationType: 'USERPOOL' }))).Users?.map((u) => [u.UserName, u.Status])).toEqual([['alice@example.com', 'CONFIRMED']]);

    // Sessions need a running fleet.
    await expect(control('appstream/sessions', { stackName: 'admins', fleetName: 'fleet-a', userId: 'alice@example.com' })).rejects.toThrow(/ResourceNotAvailableException/);
    await appstream.send(new StartFleetCommand({ Name: 'fleet-a' }));
    await wait(APPSTREAM_DELAYS.fleetStart);
    await expect(control('appstream/sessions', { stackName: 'admins', fleetName: 'fleet-a', userId: 'mallory@example.com' })).rejects.toThrow(/not assigned/);

    const subscription = await appstream.send(new CreateUsageReportSubscriptionCommand({}));
    expect(subscription.S3BucketName).toMatch(new RegExp(`^appstream-logs-us-east-1-${sandbox.world.org.managementAccountId}-[0-9a-f]{8}$`));
    const day = new Date(Date.now() - 86_400_000);
    const yesterday = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 9));
    const past = await control('appstream/sessions', { stackName: 'admins', fleetName: 'fleet-a', userId: 'alice@example.com', startTime: yesterday.toISOString() });
    await control('appstream/sessions/end', { sessionId: past['sessionId'], endTime: new Date(yesterday.getTime() + 3_600_000).toISOString() });
    const now = await control('appstream/sessions', { stackName: 'admins', fleetName: 'fleet-a', userId: 'alice@example.com' });

    const sessions = (await appstream.send(new DescribeSessionsCommand({ StackName: 'admins', FleetName: 'fleet-a' }))).Sessions;
    expect(sessions?.map((s) => [s.Id, s.UserId, s.State])).toEqual([[now['sessionId'], 'alice@example.com', 'ACTIVE']]);
    expect((await appstream.send(new DescribeSessionsCommand({ StackName: 'admins', FleetName: 'other' }))).Sessions).toEqual([]);
    expect((await appstream.send(new DescribeFleetsCommand({ Names: ['fleet-a'] }))).Fleets?.[0]?.ComputeCapacityStatus).toMatchObject({ InUse: 1, Available: 0 });
    expect(await errorOf(appstream.send(new DisassociateFleetCommand({ FleetName: 'fleet-a', StackName: 'admins' })))).toBe('ResourceInUseException');

    // The daily report covers whole days since the subscription; yesterday's session is in it.
    const delivered = await control('appstream/usage-reports', { since: new Date(yesterday.getTime() - 86_400_000).toISOString() });
    const key = sessionsReportKey(yesterday.toISOString().slice(0, 10));
    expect(delivered['keys']).toEqual([key]);
    const csv = await (await s3.send(new GetObjectCommand({ Bucket: subscription.S3BucketName, Key: key }))).Body?.transformToString();
    const [header, row, ...rest] = (csv ?? '').trim().split('\n');
    expect(header).toBe(SESSIONS_REPORT_COLUMNS.join(','));
    expect(rest).toEqual([]);
    const fields = Object.fromEntries(SESSIONS_REPORT_COLUMNS.map((c, i) => [c, row?.split(',')[i]]));
    expect(fields).toMatchObject({ user_session_id: past['sessionId'], user_id: 'alice@example.com', fleet_name: 'fleet-a', stack_name: 'admins', session_duration_in_seconds: '3600', authentication_type: 'USERPOOL', user_settings_file_download: 'DISABLED' });
    expect((await appstream.send(new DescribeUsageReportSubscriptionsCommand({}))).UsageReportSubscriptions?.[0]?.S3BucketName).toBe(subscription.S3BucketName);

    const stackArn = (await appstream.send(new DescribeStacksCommand({ Names: ['admins'] }))).Stacks?.[0]?.Arn;
    await appstream.send(new TagResourceCommand({ ResourceArn: stackArn, Tags: { owner: 'sec' } }));
    expect((await appstream.send(new ListTagsForResourceCommand({ ResourceArn: stackArn }))).Tags).toEqual({ owner: 'sec' });
    expect(await errorOf(appstream.send(new ListTagsForResourceCommand({ ResourceArn: stackArn?.replace('admins', 'gone') })))).toBe('ResourceNotFoundException');
  });
});

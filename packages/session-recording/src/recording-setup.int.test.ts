import { readFileSync } from 'node:fs';
import { AppStreamClient, DescribeFleetsCommand, DescribeUserStackAssociationsCommand, ListAssociatedFleetsCommand } from '@aws-sdk/client-appstream';
import { GetBucketPolicyCommand, GetBucketVersioningCommand, GetPublicAccessBlockCommand, S3Client } from '@aws-sdk/client-s3';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory, isMutatingOperation } from '@orgshield/aws';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { expect } from 'vitest';
import { sandboxControl } from '../test/sandbox-control.js';
import { parseRecordingSource } from './recording-loader.js';
import { bucketNameFor } from './recording-schema.js';
import { SETUP_STEPS, setupTarget, type SetupContext } from './recording-setup.js';
import type { RecordingTarget } from './user-recordings.js';

const test = sandboxTest.override({ sandboxOptions: { accounts: 12, ous: 2, seed: 3, timeScale: 0.001 } });
const REGION = 'us-east-1';
const { recording } = parseRecordingSource({ file: 'admin-recording.yaml', text: readFileSync(new URL('../examples/admin-recording.yaml', import.meta.url), 'utf8') });

test('setup in 3 accounts creates everything once; a second run sends no mutating call', { timeout: 120_000 }, async ({ sandbox }) => {
  const config = sandbox.clientConfig();
  const mutations: string[] = [];
  const clients = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: REGION, onMutation: (entry) => mutations.push(`${entry.accountId} ${entry.operation}`) });
  const management = sandbox.world.org.managementAccountId;
  const accounts = sandbox.world.snapshot().accounts.filter((account) => account.status === 'ACTIVE' && account.id !== management).slice(0, 3).map((account) => account.id);
  const members = new MemberCredentials(clients, { managementAccountId: management });
  const progress: string[] = [];
  const context: SetupContext = { clients, recording, targetFor: (account, region) => members.target(account, region), wait: { pollMs: 50, timeoutMs: 3_000 }, onProgress: (message) => progress.push(message) };
  const targets: RecordingTarget[] = accounts.map((account) => ({ account, region: REGION }));
  const ownMutations = () => mutations.filter((entry) => !entry.endsWith('AssumeRole'));

  // The plan reads and changes nothing.
  const plans = await Promise.all(targets.map((target) => setupTarget(context, target, { dryRun: true })));
  expect(plans[0]!.map((result) => result.step)).toEqual([...SETUP_STEPS]);
  expect(plans[0]!.flatMap((result) => result.changes)).toContain(`create bucket ${bucketNameFor(recording.bucket.name, targets[0]!)}`);
  expect(ownMutations()).toEqual([]);

  // First run: everything up to the image, which Image Assistant makes by hand.
  const first = await Promise.all(targets.map((target) => setupTarget(context, target, { dryRun: false })));
  for (const results of first) expect(results.at(-1)).toMatchObject({ step: 'image', blocked: expect.stringContaining('not AVAILABLE yet') });
  expect(progress.join('\n')).toContain('Image Assistant');
  for (const account of accounts) {
    // The sandbox's stand-in for Image Assistant on the builder setup started.
    await sandboxControl(sandbox.url, 'appstream/images', { accountId: account, region: REGION, builderName: recording.appstream.imageBuilder!.name, imageName: recording.appstream.imageName });
    await sandboxControl(sandbox.url, 'appstream/images/finish', { accountId: account, region: REGION, imageName: recording.appstream.imageName });
  }

  // Second run goes on from the image: fleet, stack, users.
  const second = await Promise.all(targets.map((target) => setupTarget(context, target, { dryRun: false })));
  for (const results of second) expect(results.map((result) => result.blocked)).toEqual(SETUP_STEPS.map(() => undefined));
  for (const target of targets) {
    const appstream = clients.client(AppStreamClient, members.target(target.account, REGION));
    expect((await appstream.send(new DescribeFleetsCommand({ Names: [recording.appstream.fleet.name] }))).Fleets?.[0]?.State).toBe('RUNNING');
    expect((await appstream.send(new ListAssociatedFleetsCommand({ StackName: recording.appstream.stack.name }))).Names).toEqual([recording.appstream.fleet.name]);
    expect((await appstream.send(new DescribeUserStackAssociationsCommand({ StackName: recording.appstream.stack.name, AuthenticationType: 'USERPOOL' }))).UserStackAssociations).toHaveLength(1);
    const s3 = clients.client(S3Client, members.target(target.account, REGION));
    const bucket = bucketNameFor(recording.bucket.name, target);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, RestrictPublicBuckets: true });
    expect(JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy!).Statement).toHaveLength(2);
  }

  // A third run finds everything as the file wants it: not one mutating request reaches AWS.
  const mark = Date.now();
  const before = ownMutations().length;
  const third = await Promise.all(targets.map((target) => setupTarget(context, target, { dryRun: false })));
  expect(third.flat().flatMap((result) => result.changes)).toEqual([]);
  expect(ownMutations().length).toBe(before);
  const logged = sandbox.requests().filter((entry) => entry.t >= mark && entry.service !== 'sts' && isMutatingOperation(entry.operation));
  expect(logged).toEqual([]);

  // Over all runs, each Create was sent once per account.
  const creates = sandbox.requests().filter((entry) => entry.operation.startsWith('Create') && entry.status < 300);
  for (const account of accounts) {
    expect(creates.filter((entry) => entry.account === account).map((entry) => entry.operation).sort()).toEqual(['CreateBucket', 'CreateFleet', 'CreateImageBuilder', 'CreateRole', 'CreateSecret', 'CreateStack', 'CreateUsageReportSubscription', 'CreateUser']);
  }
  // No user name in progress messages.
  expect(progress.join('\n')).not.toContain('ada@example.com');
  clients.destroy();
});

test('an image behind the latest AppStream agent is patched once with CreateUpdatedImage, and the fleet moves to the copy', { timeout: 120_000 }, async ({ sandbox }) => {
  const config = sandbox.clientConfig();
  const clients = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: REGION });
  const management = sandbox.world.org.managementAccountId;
  const account = sandbox.world.snapshot().accounts.find((candidate) => candidate.status === 'ACTIVE' && candidate.id !== management)!.id;
  const members = new MemberCredentials(clients, { managementAccountId: management });
  const context: SetupContext = { clients, recording, targetFor: (id, region) => members.target(id, region), wait: { pollMs: 50, timeoutMs: 10_000 } };
  const target = { account, region: REGION };
  await setupTarget({ ...context, wait: { pollMs: 50, timeoutMs: 2_000 } }, target, { dryRun: false });
  await sandboxControl(sandbox.url, 'appstream/images', { accountId: account, region: REGION, builderName: recording.appstream.imageBuilder!.name, imageName: recording.appstream.imageName });
  await sandboxControl(sandbox.url, 'appstream/images/finish', { accountId: account, region: REGION, imageName: recording.appstream.imageName });
  await setupTarget(context, target, { dryRun: false });

  // AWS releases a new agent: the image (and any copy) runs an older one.
  await sandboxControl(sandbox.url, 'appstream/agent-release', { accountId: account, region: REGION });
  const plan = await setupTarget(context, target, { dryRun: true });
  expect(plan.flatMap((result) => result.changes)).toEqual([`update image admin-recording-image to the latest AppStream agent as admin-recording-image-u1 (CreateUpdatedImage)`]);
  const patched = await setupTarget(context, target, { dryRun: false });
  expect(patched.flatMap((result) => result.changes)).toEqual(['update image admin-recording-image to the latest AppStream agent as admin-recording-image-u1 (CreateUpdatedImage)', 'move fleet admin-fleet to image admin-recording-image-u1']);
  const appstream = clients.client(AppStreamClient, members.target(account, REGION));
  expect((await appstream.send(new DescribeFleetsCommand({ Names: [recording.appstream.fleet.name] }))).Fleets?.[0]?.ImageName).toBe('admin-recording-image-u1');

  // Once patched, a run changes nothing; the next release makes -u2 from -u1.
  expect((await setupTarget(context, target, { dryRun: false })).flatMap((result) => result.changes)).toEqual([]);
  await sandboxControl(sandbox.url, 'appstream/agent-release', { accountId: account, region: REGION });
  expect((await setupTarget(context, target, { dryRun: false })).flatMap((result) => result.changes)).toEqual(['update image admin-recording-image-u1 to the latest AppStream agent as admin-recording-image-u2 (CreateUpdatedImage)', 'move fleet admin-fleet to image admin-recording-image-u2']);
  const sent = (operation: string) => sandbox.requests().filter((entry) => entry.account === account && entry.operation === operation).map((entry) => entry.status);
  expect(sent('CreateUpdatedImage')).toEqual([200, 200]);
  expect(sent('UpdateFleet')).toEqual([200, 200]);
  clients.destroy();
});

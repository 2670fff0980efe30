import { randomBytes } from 'node:crypto';
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
  DescribeFleetsCommand,
  DescribeImageBuildersCommand,
  DescribeImagesCommand,
  DescribeStacksCommand,
  DescribeUsageReportSubscriptionsCommand,
  DescribeUsersCommand,
  DescribeUserStackAssociationsCommand,
  ListAssociatedFleetsCommand,
  StartFleetCommand,
  StartImageBuilderCommand,
  UpdateFleetCommand,
  type CreateFleetCommandInput,
} from '@aws-sdk/client-appstream';
import { CreateRoleCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AwsCallError, type AwsClientFactory, type ClientTarget } from '@orgshield/aws';
import { OrgshieldError } from '@orgshield/errors';
import { RECORDING_IMAGE_TAG, imageAssistantSteps } from './image-assistant-steps.js';
import {
  bucketEncryption,
  bucketLifecycle,
  bucketPolicy,
  FLEET_ROLE_POLICY_NAME,
  fleetRoleArn,
  fleetRoleName,
  fleetRolePolicy,
  fleetRoleTrustPolicy,
  PUBLIC_ACCESS_BLOCK,
  scriptsZipKey,
} from './recording-access.js';
import { bucketNameFor, type Recording } from './recording-schema.js';
import { renderElasticScriptsZip } from './session-scripts.js';
import type { RecordingTarget } from './user-recordings.js';

/**
 * Setup of one target (account and region), in steps. Every step reads what exists and changes
 * only what differs, so a step repeated after a crash sends no Create twice and a second run
 * sends nothing at all. With `dryRun` a step only says what it would change: that is the plan.
 */

export const SETUP_STEPS = ['pseudonym-key', 'bucket', 'fleet-role', 'image-builder', 'image', 'fleet', 'stack', 'users'] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];

export interface SetupContext {
  clients: AwsClientFactory;
  recording: Recording;
  targetFor(account: string, region: string): ClientTarget;
  /** How often to look at a resource that is changing state, and for how long at most. */
  wait: { pollMs: number; timeoutMs: number };
  /** Progress for people: names of resources and states, never a user name. */
  onProgress?(message: string): void;
  /** Called right before each change: a run under a fenced lock checks it still holds the lock. */
  beforeChange?(): Promise<void>;
}

export interface StepResult {
  step: SetupStep;
  /** What was (or, in a dry run, would be) changed, one line each. */
  changes: string[];
  /** The step cannot finish yet (the image is made by hand in Image Assistant). */
  blocked?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function awsCode(error: unknown): string | undefined {
  return error instanceof AwsCallError ? error.awsCode : undefined;
}

async function absentOn<T>(codes: readonly string[], read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    const code = awsCode(error);
    if (code !== undefined && codes.includes(code)) return undefined;
    throw error;
  }
}

/** JSON documents compared by value, whatever their key order or URL encoding (IAM returns policies encoded). */
function sameDocument(live: string | undefined, desired: unknown): boolean {
  if (live === undefined) return false;
  const text = live.trimStart().startsWith('%7B') || live.includes('%22') ? decodeURIComponent(live) : live;
  return canonical(JSON.parse(text)) === canonical(desired);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** AppStream's quota errors as one sentence with the quota's name, for Service Quotas. */
const QUOTA_NAMES: Record<string, string> = {
  CreateImageBuilder: 'Image builders',
  CreateFleet: 'Fleets',
  StartFleet: 'Streaming instances per fleet',
  CreateStack: 'Stacks',
  AssociateFleet: 'Fleets per stack',
  CreateUser: 'Users in the user pool',
};

export class AppStreamQuotaError extends OrgshieldError {
  constructor(target: RecordingTarget, operation: string, cause: AwsCallError) {
    super(
      'AppStreamQuotaReached',
      `AppStream's quota "${QUOTA_NAMES[operation] ?? operation}" is reached in account ${target.account} (${target.region}) at ${operation}; raise it in Service Quotas (AppStream 2.0) or free some, then run setup again.`,
      { exitCode: 1, cause },
    );
  }
}

export class SetupWaitTimeoutError extends OrgshieldError {
  constructor(what: string, state: string | undefined, timeoutMs: number) {
    super('SetupWaitTimeout', `${what} was still ${state ?? 'missing'} after ${Math.round(timeoutMs / 1000)} s; run setup again to go on waiting.`, { exitCode: 1 });
  }
}

/** One AppStream mutation: quotas said by name; a resource changing state is waited for, then the call is sent again. */
async function mutate<T>(context: SetupContext, target: RecordingTarget, call: { operation: string; send: () => Promise<T>; settle?: () => Promise<void> }): Promise<T> {
  for (;;) {
    try {
      return await call.send();
    } catch (error) {
      const code = awsCode(error);
      if (code === 'LimitExceededException') throw new AppStreamQuotaError(target, call.operation, error as AwsCallError);
      if (code !== 'ConcurrentModificationException' || !call.settle) throw error;
      context.onProgress?.(`${call.operation}: the resource is changing state; waiting for it to settle`);
      await call.settle();
    }
  }
}

async function waitForState(context: SetupContext, what: string, read: () => Promise<string | undefined>, until: readonly string[], failed: readonly string[] = []): Promise<string> {
  const deadline = Date.now() + context.wait.timeoutMs;
  let state = await read();
  while (state === undefined || !until.includes(state)) {
    if (state !== undefined && failed.includes(state)) throw new OrgshieldError('SetupResourceFailed', `${what} is ${state}; look at it in the AppStream console, fix or delete it, then run setup again.`, { exitCode: 1 });
    if (Date.now() > deadline) throw new SetupWaitTimeoutError(what, state, context.wait.timeoutMs);
    await sleep(context.wait.pollMs);
    state = await read();
  }
  return state;
}

interface StepRun {
  context: SetupContext;
  target: RecordingTarget;
  dryRun: boolean;
  changes: string[];
}

/** Records a change and, unless it is a dry run, makes it. */
async function change(run: StepRun, description: string, apply: () => Promise<unknown>): Promise<void> {
  run.changes.push(description);
  if (!run.dryRun) {
    run.context.onProgress?.(`${run.target.account} ${run.target.region}: ${description}`);
    await run.context.beforeChange?.();
    await apply();
  }
}

/** A new pseudonym key: 32 random bytes, base64; the recorders and userPseudonym read it so. */
const PSEUDONYM_KEY_DESCRIPTION = "orgshield session recording: key of the users' pseudonyms (HMAC-SHA256)";

/**
 * The pseudonym key, created where the file says (a Secrets Manager secret, or an SSM SecureString
 * parameter under the account's default aws/ssm key) when it does not exist; an existing key is
 * never read or replaced here (rotation is the administrators', see the README).
 */
async function pseudonymKeyStep(run: StepRun): Promise<void> {
  const { context, target } = run;
  const { name, store } = context.recording.pseudonymKey;
  const where = context.targetFor(target.account, target.region);
  const tags = [{ Key: RECORDING_IMAGE_TAG.key, Value: context.recording.name }];
  if (store === 'ssm') {
    const ssm = context.clients.client(SSMClient, where);
    // Without decryption: only whether it exists matters, and the key stays unread.
    if (await absentOn(['ParameterNotFound'], () => ssm.send(new GetParameterCommand({ Name: name, WithDecryption: false })))) return;
    await change(run, `create SecureString parameter ${name} with a new random pseudonym key`, () =>
      ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: randomBytes(32).toString('base64'), Overwrite: false, Description: PSEUDONYM_KEY_DESCRIPTION, Tags: tags })),
    );
    return;
  }
  const secrets = context.clients.client(SecretsManagerClient, where);
  if (await absentOn(['ResourceNotFoundException'], () => secrets.send(new DescribeSecretCommand({ SecretId: name })))) return;
  await change(run, `create secret ${name} with a new random pseudonym key`, () =>
    secrets.send(new CreateSecretCommand({ Name: name, SecretString: randomBytes(32).toString('base64'), Description: PSEUDONYM_KEY_DESCRIPTION, Tags: tags })),
  );
}

async function bucketStep(run: StepRun): Promise<void> {
  const { context, target } = run;
  const { recording } = context;
  const bucket = bucketNameFor(recording.bucket.name, target);
  const s3 = context.clients.client(S3Client, context.targetFor(target.account, target.region));
  const exists = await absentOn(['NotFound', 'NoSuchBucket', '404'], () => s3.send(new HeadBucketCommand({ Bucket: bucket })));
  if (!exists) {
    await change(run, `create bucket ${bucket}`, () =>
      s3.send(new CreateBucketCommand({ Bucket: bucket, ...(target.region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: target.region as never } }) })),
    );
  }
  const live = exists || !run.dryRun;
  const encryption = bucketEncryption(recording, target);
  const liveEncryption = live ? await absentOn(['ServerSideEncryptionConfigurationNotFoundError'], () => s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))) : undefined;
  if (!sameDocument(JSON.stringify(liveEncryption?.ServerSideEncryptionConfiguration ?? null), encryption)) {
    await change(run, `encrypt bucket ${bucket} with ${recording.bucket.encryption}`, () => s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: encryption })));
  }
  const versioning = live ? await s3.send(new GetBucketVersioningCommand({ Bucket: bucket })) : undefined;
  if (versioning?.Status !== 'Enabled') {
    await change(run, `turn on versioning of bucket ${bucket}`, () => s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } })));
  }
  const block = live ? await absentOn(['NoSuchPublicAccessBlockConfiguration'], () => s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))) : undefined;
  if (!sameDocument(JSON.stringify(block?.PublicAccessBlockConfiguration ?? null), PUBLIC_ACCESS_BLOCK)) {
    await change(run, `block all public access to bucket ${bucket}`, () => s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: { ...PUBLIC_ACCESS_BLOCK } })));
  }
  const lifecycle = bucketLifecycle(recording);
  const liveLifecycle = live ? await absentOn(['NoSuchLifecycleConfiguration'], () => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))) : undefined;
  if (!sameDocument(JSON.stringify(liveLifecycle?.Rules ? { Rules: liveLifecycle.Rules } : null), lifecycle)) {
    await change(run, `expire recordings in bucket ${bucket} after ${recording.bucket.retentionDays} days (old versions too)`, () => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: lifecycle })));
  }
  const policy = bucketPolicy(recording, target);
  const livePolicy = live ? await absentOn(['NoSuchBucketPolicy'], () => s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))) : undefined;
  if (!sameDocument(livePolicy?.Policy, policy)) {
    await change(run, `set the policy of bucket ${bucket} (TLS only, recordings from the fleet role only)`, () => s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) })));
  }
  if (recording.appstream.fleet.type === 'ELASTIC') {
    const zip = renderElasticScriptsZip(recording);
    const key = scriptsZipKey(recording);
    const liveZip = live ? await absentOn(['NoSuchKey'], async () => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray())) : undefined;
    if (!liveZip?.equals(zip)) {
      await change(run, `upload the session scripts zip to s3://${bucket}/${key}`, () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, ContentType: 'application/zip' })));
    }
  }
}

async function fleetRoleStep(run: StepRun): Promise<void> {
  const { context, target } = run;
  const iam = context.clients.client(IAMClient, context.targetFor(target.account, 'us-east-1'));
  const roleName = fleetRoleName(context.recording);
  const role = await absentOn(['NoSuchEntity', 'NoSuchEntityException'], () => iam.send(new GetRoleCommand({ RoleName: roleName })));
  const trust = fleetRoleTrustPolicy();
  if (!role) {
    await change(run, `create role ${roleName} for AppStream`, () => iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust), Description: 'orgshield session recording: the fleet role the recorder uploads with' })));
  } else if (!sameDocument(role.Role?.AssumeRolePolicyDocument, trust)) {
    await change(run, `let only appstream.amazonaws.com assume role ${roleName}`, () => iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: JSON.stringify(trust) })));
  }
  const policy = fleetRolePolicy(context.recording, target);
  const live = role ? await absentOn(['NoSuchEntity', 'NoSuchEntityException'], () => iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: FLEET_ROLE_POLICY_NAME }))) : undefined;
  if (!sameDocument(live?.PolicyDocument, policy)) {
    await change(run, `set the policy ${FLEET_ROLE_POLICY_NAME} of role ${roleName} (${target.region})`, () => iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: FLEET_ROLE_POLICY_NAME, PolicyDocument: JSON.stringify(policy) })));
  }
}

function appstream(run: StepRun): AppStreamClient {
  return run.context.clients.client(AppStreamClient, run.context.targetFor(run.target.account, run.target.region));
}

async function imageBuilderStep(run: StepRun): Promise<void> {
  const builder = run.context.recording.appstream.imageBuilder;
  if (!builder || (await imageState(run)) === 'AVAILABLE') return;
  const client = appstream(run);
  const state = async () => (await client.send(new DescribeImageBuildersCommand({ Names: [builder.name] })).catch((error: unknown) => (awsCode(error) === 'ResourceNotFoundException' ? { ImageBuilders: [] } : Promise.reject(error)))).ImageBuilders?.[0]?.State;
  const what = `image builder ${builder.name} in ${run.target.account} (${run.target.region})`;
  const current = await state();
  if (current === undefined) {
    await change(run, `create image builder ${builder.name} from ${builder.baseImageName}`, () =>
      mutate(run.context, run.target, {
        operation: 'CreateImageBuilder',
        send: () => client.send(new CreateImageBuilderCommand({ Name: builder.name, ImageName: builder.baseImageName, InstanceType: builder.instanceType, IamRoleArn: fleetRoleArn(run.context.recording, run.target), EnableDefaultInternetAccess: false })),
      }),
    );
  } else if (current === 'STOPPED') {
    await change(run, `start image builder ${builder.name}`, () =>
      mutate(run.context, run.target, { operation: 'StartImageBuilder', send: () => client.send(new StartImageBuilderCommand({ Name: builder.name })), settle: () => waitForState(run.context, what, state, ['STOPPED', 'RUNNING']).then(() => undefined) }),
    );
  }
  if (!run.dryRun) await waitForState(run.context, what, state, ['RUNNING'], ['FAILED', 'DELETING']);
}

async function imageState(run: StepRun): Promise<string | undefined> {
  const { imageName } = run.context.recording.appstream;
  const answer = await appstream(run)
    .send(new DescribeImagesCommand({ Names: [imageName] }))
    .catch((error: unknown) => (awsCode(error) === 'ResourceNotFoundException' ? { Images: [] } : Promise.reject(error)));
  return answer.Images?.[0]?.State;
}

/** Image Assistant has no API: the steps are said, and the image is waited for (a later run goes on waiting). */
async function imageStep(run: StepRun): Promise<string | undefined> {
  const { imageName, imageBuilder } = run.context.recording.appstream;
  const what = `image ${imageName} in ${run.target.account} (${run.target.region})`;
  if ((await imageState(run)) === 'AVAILABLE') return imageBuilder && run.context.recording.appstream.keepImagePatched ? patchImage(run) : undefined;
  if (!imageBuilder) return `${what} does not exist; an ELASTIC fleet needs an existing image`;
  run.changes.push(`make image ${imageName} on builder ${imageBuilder.name} with Image Assistant (steps below)`);
  if (run.dryRun) return undefined;
  run.context.onProgress?.([`${what} is made by hand:`, ...imageAssistantSteps(run.context.recording, run.target)].join('\n'));
  try {
    await waitForState(run.context, what, () => imageState(run), ['AVAILABLE'], ['FAILED']);
    return undefined;
  } catch (error) {
    if (error instanceof SetupWaitTimeoutError) return `${what} is not AVAILABLE yet: finish it in Image Assistant, then run setup again`;
    throw error;
  }
}

interface FamilyImage {
  name: string;
  state: string | undefined;
  latestAgent: string | undefined;
  /** 0 for the file's image, n for its n-th update `<imageName>-u<n>`. */
  generation: number;
}

/** The file's image and the copies CreateUpdatedImage made of it (`<imageName>-u<n>`), oldest first. */
async function imageFamily(run: StepRun): Promise<FamilyImage[]> {
  const { imageName } = run.context.recording.appstream;
  const client = appstream(run);
  const family: FamilyImage[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeImagesCommand({ Type: 'PRIVATE', NextToken }));
    for (const image of page.Images ?? []) {
      const suffix = image.Name?.startsWith(`${imageName}-u`) ? image.Name.slice(imageName.length + 2) : undefined;
      const generation = image.Name === imageName ? 0 : suffix !== undefined && /^[1-9]\d{0,3}$/.test(suffix) ? Number(suffix) : undefined;
      if (generation !== undefined) family.push({ name: image.Name!, state: image.State, latestAgent: image.LatestAppstreamAgentVersion, generation });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return family.sort((a, b) => a.generation - b.generation);
}

/** The newest AVAILABLE image of the family: the one the fleet runs. */
async function currentImage(run: StepRun): Promise<string> {
  const { imageName, imageBuilder } = run.context.recording.appstream;
  if (!imageBuilder) return imageName;
  return (await imageFamily(run)).filter((image) => image.state === 'AVAILABLE').at(-1)?.name ?? imageName;
}

/**
 * Keeps the image patched: when the newest image of the family runs an older AppStream agent, a
 * CreateUpdatedImage copy `<imageName>-u<n+1>` gets the latest agent and patches (its scripts come
 * with it: it cannot add scripts to an image without them, so only our own family is updated).
 * The newest image is read first, so a copy under way is waited for, never made twice.
 */
async function patchImage(run: StepRun): Promise<string | undefined> {
  const { recording } = run.context;
  const newest = (await imageFamily(run)).at(-1);
  if (!newest || newest.state === 'FAILED' || (newest.state === 'AVAILABLE' && newest.latestAgent !== 'FALSE')) return undefined;
  let name = newest.name;
  if (newest.state === 'AVAILABLE') {
    name = `${recording.appstream.imageName}-u${newest.generation + 1}`;
    const client = appstream(run);
    await change(run, `update image ${newest.name} to the latest AppStream agent as ${name} (CreateUpdatedImage)`, () =>
      mutate(run.context, run.target, {
        operation: 'CreateUpdatedImage',
        send: () => client.send(new CreateUpdatedImageCommand({ existingImageName: newest.name, newImageName: name, newImageTags: { [RECORDING_IMAGE_TAG.key]: recording.name } })),
      }),
    );
  }
  if (run.dryRun) return undefined;
  const what = `image ${name} in ${run.target.account} (${run.target.region})`;
  try {
    await waitForState(run.context, what, async () => (await imageFamily(run)).find((image) => image.name === name)?.state, ['AVAILABLE'], ['FAILED']);
    return undefined;
  } catch (error) {
    if (error instanceof SetupWaitTimeoutError) return `${what} is being updated (CreateUpdatedImage); run setup again to go on`;
    throw error;
  }
}

async function fleetStep(run: StepRun): Promise<void> {
  const { recording } = run.context;
  const fleet = recording.appstream.fleet;
  const client = appstream(run);
  const state = async () => (await client.send(new DescribeFleetsCommand({ Names: [fleet.name] })).catch((error: unknown) => (awsCode(error) === 'ResourceNotFoundException' ? { Fleets: [] } : Promise.reject(error)))).Fleets?.[0]?.State;
  const what = `fleet ${fleet.name} in ${run.target.account} (${run.target.region})`;
  const settle = () => waitForState(run.context, what, state, ['RUNNING', 'STOPPED']).then(() => undefined);
  const current = await state();
  const image = await currentImage(run);
  if (current === undefined) {
    const bucket = bucketNameFor(recording.bucket.name, run.target);
    const input: CreateFleetCommandInput = {
      Name: fleet.name,
      ImageName: image,
      InstanceType: fleet.instanceType,
      FleetType: fleet.type,
      StreamView: fleet.streamView,
      IamRoleArn: fleetRoleArn(recording, run.target),
      MaxUserDurationInSeconds: fleet.maxUserDurationSeconds,
      DisconnectTimeoutInSeconds: fleet.disconnectTimeoutSeconds,
      EnableDefaultInternetAccess: false,
      ...(fleet.vpc ? { VpcConfig: { SubnetIds: fleet.vpc.subnetIds, SecurityGroupIds: fleet.vpc.securityGroupIds } } : {}),
      ...(fleet.type === 'ELASTIC'
        ? { MaxConcurrentSessions: fleet.capacity.maxConcurrentSessions, Platform: recording.appstream.platform === 'linux' ? 'AMAZON_LINUX2' : 'WINDOWS_SERVER_2022', SessionScriptS3Location: { S3Bucket: bucket, S3Key: scriptsZipKey(recording) } }
        : { ComputeCapacity: { DesiredInstances: fleet.capacity.desired } }),
      Tags: { [RECORDING_IMAGE_TAG.key]: recording.name },
    };
    await change(run, `create ${fleet.type} fleet ${fleet.name} on image ${image}`, () => mutate(run.context, run.target, { operation: 'CreateFleet', send: () => client.send(new CreateFleetCommand(input)) }));
  } else if (fleet.type !== 'ELASTIC' && image !== recording.appstream.imageName) {
    // The image was patched (CreateUpdatedImage): the fleet moves to the newest copy.
    const live = (await client.send(new DescribeFleetsCommand({ Names: [fleet.name] }))).Fleets?.[0]?.ImageName;
    if (live !== image) await change(run, `move fleet ${fleet.name} to image ${image}`, () => mutate(run.context, run.target, { operation: 'UpdateFleet', send: () => client.send(new UpdateFleetCommand({ Name: fleet.name, ImageName: image })), settle }));
  }
  const now = run.dryRun ? current : await state();
  if (now === undefined || now === 'STOPPED' || now === 'STOPPING') {
    await change(run, `start fleet ${fleet.name}`, () => mutate(run.context, run.target, { operation: 'StartFleet', send: () => client.send(new StartFleetCommand({ Name: fleet.name })), settle }));
  }
  if (!run.dryRun) await waitForState(run.context, what, state, ['RUNNING']);
}

async function stackStep(run: StepRun): Promise<void> {
  const { stack, fleet } = run.context.recording.appstream;
  const client = appstream(run);
  const existing = (await client.send(new DescribeStacksCommand({ Names: [stack.name] })).catch((error: unknown) => (awsCode(error) === 'ResourceNotFoundException' ? { Stacks: [] } : Promise.reject(error)))).Stacks?.[0];
  if (!existing) {
    await change(run, `create stack ${stack.name}`, () => mutate(run.context, run.target, { operation: 'CreateStack', send: () => client.send(new CreateStackCommand({ Name: stack.name, Tags: { [RECORDING_IMAGE_TAG.key]: run.context.recording.name } })) }));
  }
  // The daily sessions reports are the audit's evidence of past sessions.
  const subscriptions = (await client.send(new DescribeUsageReportSubscriptionsCommand({}))).UsageReportSubscriptions ?? [];
  if (subscriptions.length === 0) {
    await change(run, 'subscribe to AppStream usage reports (daily sessions reports to S3)', () => client.send(new CreateUsageReportSubscriptionCommand({})));
  }
  const associated = existing ? ((await client.send(new ListAssociatedFleetsCommand({ StackName: stack.name }))).Names ?? []) : [];
  if (!associated.includes(fleet.name)) {
    const fleetState = async () => (await client.send(new DescribeFleetsCommand({ Names: [fleet.name] }))).Fleets?.[0]?.State;
    await change(run, `associate fleet ${fleet.name} with stack ${stack.name}`, () =>
      mutate(run.context, run.target, {
        operation: 'AssociateFleet',
        send: () => client.send(new AssociateFleetCommand({ StackName: stack.name, FleetName: fleet.name })),
        settle: () => waitForState(run.context, `fleet ${fleet.name}`, fleetState, ['RUNNING', 'STOPPED']).then(() => undefined),
      }),
    );
  }
}

/** Users are said by their position in the file, never by name. */
async function usersStep(run: StepRun): Promise<void> {
  const { users, stack } = run.context.recording.appstream;
  if (users.length === 0) return;
  const client = appstream(run);
  const pool = new Set<string>();
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeUsersCommand({ AuthenticationType: 'USERPOOL', NextToken }));
    for (const user of page.Users ?? []) if (user.UserName) pool.add(user.UserName.toLowerCase());
    NextToken = page.NextToken;
  } while (NextToken);
  for (const [index, user] of users.entries()) {
    if (pool.has(user.userName.toLowerCase())) continue;
    await change(run, `create user pool user users[${index}]`, () =>
      mutate(run.context, run.target, {
        operation: 'CreateUser',
        send: () => client.send(new CreateUserCommand({ UserName: user.userName, AuthenticationType: 'USERPOOL', FirstName: user.firstName, LastName: user.lastName })),
      }),
    );
  }
  const assigned = new Set<string>();
  NextToken = undefined;
  if (!run.dryRun || pool.size > 0) {
    do {
      const page: { UserStackAssociations?: { UserName: string | undefined }[]; NextToken?: string } = await client.send(new DescribeUserStackAssociationsCommand({ StackName: stack.name, AuthenticationType: 'USERPOOL', NextToken })).catch((error: unknown) => (awsCode(error) === 'ResourceNotFoundException' ? { UserStackAssociations: [], NextToken: undefined } : Promise.reject(error)));
      for (const association of page.UserStackAssociations ?? []) if (association.UserName) assigned.add(association.UserName.toLowerCase());
      NextToken = page.NextToken;
    } while (NextToken);
  }
  const missing = users.map((user, index) => ({ user, index })).filter(({ user }) => !assigned.has(user.userName.toLowerCase()));
  if (missing.length === 0) return;
  await change(run, `assign users ${missing.map(({ index }) => `users[${index}]`).join(', ')} to stack ${stack.name}`, async () => {
    // BatchAssociateUserStack takes 25 at a time and reports failures in its answer, not by throwing.
    for (let start = 0; start < missing.length; start += 25) {
      const batch = missing.slice(start, start + 25);
      const answer = await client.send(new BatchAssociateUserStackCommand({ UserStackAssociations: batch.map(({ user }) => ({ StackName: stack.name, UserName: user.userName, AuthenticationType: 'USERPOOL', SendEmailNotification: false })) }));
      const errors = answer.errors ?? [];
      if (errors.length > 0) {
        const positions = errors.map((error) => {
          const found = batch.find(({ user }) => user.userName.toLowerCase() === error.UserStackAssociation?.UserName?.toLowerCase());
          return `users[${found?.index ?? '?'}] (${error.ErrorCode ?? 'error'})`;
        });
        throw new OrgshieldError('UserAssignmentFailed', `AppStream did not assign ${positions.join(', ')} to stack ${stack.name} in ${run.target.account} (${run.target.region}); fix them and run setup again.`, { exitCode: 1 });
      }
    }
  });
}

/** Runs (or, with dryRun, plans) one step in one target. */
export async function runSetupStep(context: SetupContext, target: RecordingTarget, step: SetupStep, options: { dryRun: boolean }): Promise<StepResult> {
  const run: StepRun = { context, target, dryRun: options.dryRun, changes: [] };
  let blocked: string | undefined;
  switch (step) {
    case 'pseudonym-key':
      await pseudonymKeyStep(run);
      break;
    case 'bucket':
      await bucketStep(run);
      break;
    case 'fleet-role':
      await fleetRoleStep(run);
      break;
    case 'image-builder':
      await imageBuilderStep(run);
      break;
    case 'image':
      blocked = await imageStep(run);
      break;
    case 'fleet':
      await fleetStep(run);
      break;
    case 'stack':
      await stackStep(run);
      break;
    case 'users':
      await usersStep(run);
      break;
  }
  return { step, changes: run.changes, ...(blocked ? { blocked } : {}) };
}

/** Every step in order in one target; stops at a blocked step (a later run goes on from there). */
export async function setupTarget(context: SetupContext, target: RecordingTarget, options: { dryRun: boolean }): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of SETUP_STEPS) {
    const result = await runSetupStep(context, target, step, options);
    results.push(result);
    if (result.blocked && !options.dryRun) break;
  }
  return results;
}

import { createHash, createHmac } from 'node:crypto';
import { appstreamRegion, arnOf, deliverUsageReports, sessionIdFor, subscribeUsageReports, type AppStreamFleet, type AppStreamImage, type Platform } from '../services/appstream-store.js';
import { createKmsKeyWithAlias, resolveKmsKey } from '../services/kms.js';
import { createS3Bucket, putS3Object } from '../services/s3-buckets.js';
import { plantSecret } from '../services/secrets-manager.js';
import { randomInt, type Random } from './prng.js';
import { defineWorldState, type World } from './world.js';

/**
 * AppStream session recording as orgshield sets it up, already running in a few accounts, so
 * the audit and the erasure have something to find. In each of the last three active member
 * accounts (the first ones stay clean for setup tests), in RECORDING_REGION:
 *
 * - a KMS key (alias/orgshield-session-recording), a recording bucket
 *   `orgshield-recordings-<account>-<region>` (SSE-KMS with that key, versioning, public
 *   access blocked, a TLS-only policy, lifecycle expiry), the pseudonym key secret, and the
 *   fleet role `orgshield-session-recording` (trusts appstream.amazonaws.com);
 * - an image carrying the recorder (tag `orgshield:session-recording`), fleet `recorded-fleet`
 *   (ALWAYS_ON, RUNNING, with the role) and stack `admin-stack`, user pool users assigned to it;
 * - past sessions (the three days before the sandbox started, in the usage reports) and
 *   current ones (DescribeSessions), each with its recording under
 *   `<prefix><stack>/<fleet>/<pseudonym>/<session-id>/` (segment-00000.mp4 ... and
 *   metadata.json), except one past and one current session per account whose recording is
 *   missing; some metadata files and last segments have two versions (rewritten at the end,
 *   a retried upload);
 * - in the first of them also `plain-fleet` / `plain-stack`: an AWS base image, no role, no
 *   recorder, with sessions and no recordings at all.
 *
 * The pseudonym is hex HMAC-SHA256(key, user name). The key is one per organization (so one
 * person has one prefix everywhere): 32 bytes, stored base64 as the SecretString of the secret
 * RECORDING_SECRET_NAME in every recording account. Everything is deterministic from the seed
 * except timestamps, which are relative to the sandbox's start.
 */

export const RECORDING_REGION = 'us-east-1';
export const RECORDING_PREFIX = 'recordings/';
export const RECORDING_SECRET_NAME = 'orgshield/session-recording/pseudonym-key';
export const RECORDING_ROLE_NAME = 'orgshield-session-recording';
export const RECORDING_KEY_ALIAS = 'alias/orgshield-session-recording';
export const RECORDING_IMAGE_TAG = 'orgshield:session-recording';
/** Recorder settings the seeded metadata reports. */
const SEGMENT_SECONDS = 600;
const FRAMES_PER_SECOND = 5;
const RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const USER_NAMES = [
  'alice.admin@example.com',
  'bob.ops@example.com',
  'carol.dba@example.com',
  'dan.sre@example.com',
  'erin.netsec@example.com',
  'frank.audit@example.com',
];

export type RecordingState = 'recorded' | 'missing' | 'not-recorded';

export interface SeededRecordingSession {
  id: string;
  userName: string;
  pseudonym: string;
  stack: string;
  fleet: string;
  startTime: Date;
  /** Undefined for a current session. */
  endTime?: Date;
  current: boolean;
  /** recorded: its objects are in the bucket; missing: on a recording fleet, none uploaded; not-recorded: a fleet without the recorder. */
  recording: RecordingState;
  /** `<prefix><stack>/<fleet>/<pseudonym>/<session-id>/` */
  keyPrefix: string;
  /** Every key written for it (empty unless recorded). */
  keys: string[];
  /** Keys that have two versions. */
  versionedKeys: string[];
}

export interface SeededRecordingFleet {
  name: string;
  stack: string;
  fleetType: AppStreamFleet['fleetType'];
  imageName: string;
  recorded: boolean;
}

export interface SeededRecordingAccount {
  accountId: string;
  region: string;
  bucket: string;
  kmsKeyArn: string;
  roleArn: string;
  secretArn: string;
  usageReportsBucket: string;
  fleets: SeededRecordingFleet[];
  users: string[];
  sessions: SeededRecordingSession[];
}

export interface RecordingPlan {
  region: string;
  prefix: string;
  secretName: string;
  /** The per-organization pseudonym key; the secrets hold it base64. */
  pseudonymKey: Buffer;
  pseudonym(userName: string): string;
  accounts: SeededRecordingAccount[];
}

const plans = defineWorldState('recordings:plan', (world) => buildPlan(world));

/** The seeded recordings (seeding them on first use). */
export function recordingPlan(world: World): RecordingPlan {
  return world.state(plans);
}

/** Seeds everything recordingPlan describes; the sandbox calls it at start. */
export function seedRecordings(world: World): void {
  recordingPlan(world);
}

export function pseudonymOf(key: Buffer, userName: string): string {
  return createHmac('sha256', key).update(userName, 'utf8').digest('hex');
}

function buildPlan(world: World): RecordingPlan {
  const random = world.random('recordings');
  const pseudonymKey = Buffer.from(Array.from({ length: 32 }, () => randomInt(random, 0, 255)));
  const pseudonym = (userName: string) => pseudonymOf(pseudonymKey, userName);
  const members = [...world.org.accounts.values()].filter((a) => a.id !== world.org.managementAccountId && a.status === 'ACTIVE');
  const chosen = members.slice(-3);
  const startedMs = Math.floor(world.clock.now().getTime() / 60_000) * 60_000;
  const accounts = chosen.map((member, index) => seedAccount(world, { accountId: member.id, random, pseudonymKey, pseudonym, withPlainFleet: index === 0, startedMs }));
  return { region: RECORDING_REGION, prefix: RECORDING_PREFIX, secretName: RECORDING_SECRET_NAME, pseudonymKey, pseudonym, accounts };
}

interface AccountSeed {
  accountId: string;
  random: Random;
  pseudonymKey: Buffer;
  pseudonym: (userName: string) => string;
  withPlainFleet: boolean;
  startedMs: number;
}

function seedAccount(world: World, seed: AccountSeed): SeededRecordingAccount {
  const { accountId, random } = seed;
  const scope = { accountId, region: RECORDING_REGION };
  const created = new Date(seed.startedMs - 30 * DAY_MS);

  // KMS key and alias, through KMS's own resolution so aliases and ARNs behave as created by the API.
  const kmsKey = plantKmsKey(world, scope, created);
  const bucketName = `orgshield-recordings-${accountId}-${RECORDING_REGION}`;
  const roleArn = `arn:aws:iam::${accountId}:role/${RECORDING_ROLE_NAME}`;
  const secret = plantSecret(world, scope, { name: RECORDING_SECRET_NAME, secretString: seed.pseudonymKey.toString('base64'), description: 'orgshield session recording: key of the user pseudonyms (HMAC-SHA256)', createdDate: created });

  const bucket = createS3Bucket(world, { name: bucketName, accountId, region: RECORDING_REGION });
  bucket.creationDate = created;
  bucket.versioning = 'Enabled';
  bucket.encryption = { algorithm: 'aws:kms', kmsMasterKeyId: kmsKey.arn, bucketKeyEnabled: true };
  bucket.publicAccessBlock = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
  bucket.policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${bucketName}`, `arn:aws:s3:::${bucketName}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      { Sid: 'OnlyTheFleetRoleWrites', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucketName}/${RECORDING_PREFIX}*`, Condition: { ArnNotEquals: { 'aws:PrincipalArn': roleArn } } },
    ],
  });
  bucket.lifecycleRules = [{ ID: 'orgshield-retention', Status: 'Enabled', Filter: { Prefix: RECORDING_PREFIX }, Expiration: { Days: RETENTION_DAYS }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }];

  const account = world.account(accountId);
  if (!account.roles.has(RECORDING_ROLE_NAME)) {
    account.putRole({
      name: RECORDING_ROLE_NAME,
      maxSessionDurationSeconds: 3600,
      trustedAccountIds: [],
      trustedServices: ['appstream.amazonaws.com'],
      path: '/',
      description: 'orgshield session recording: what AppStream fleet instances may do',
      createDate: created,
      inlinePolicies: new Map([
        [
          'orgshield-session-recording',
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucketName}/${RECORDING_PREFIX}*` },
              { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secret.arn },
              { Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: kmsKey.arn },
            ],
          }),
        ],
      ]),
      tags: [{ Key: 'orgshield', Value: 'session-recording' }],
    });
  }

  // AppStream: the recorder image, the recorded fleet and stack, users.
  const appstream = appstreamRegion(world, scope);
  const platform: Platform = random() < 0.5 ? 'WINDOWS_SERVER_2019' : 'AMAZON_LINUX2';
  const base = platform === 'AMAZON_LINUX2' ? 'AppStream-AmazonLinux2-06-17-2024' : 'AppStream-WinServer2019-06-17-2024';
  const imageName = `orgshield-recorder-${platform === 'AMAZON_LINUX2' ? 'linux' : 'windows'}-v1`;
  const image: AppStreamImage = {
    name: imageName,
    arn: arnOf(scope, 'image', imageName),
    baseImageArn: arnOf({ accountId: '', region: RECORDING_REGION }, 'image', base),
    state: { state: 'AVAILABLE' },
    visibility: 'PRIVATE',
    platform,
    imageBuilderName: 'orgshield-recorder-builder',
    createdTime: new Date(created.getTime() + HOUR_MS),
    tags: { [RECORDING_IMAGE_TAG]: 'v1' },
    sessionScriptsConfig: '{"SessionStart":{"executables":[]},"SessionTermination":{"executables":[]}}',
  };
  appstream.images.set(image.name, image);
  const fleets: SeededRecordingFleet[] = [{ name: 'recorded-fleet', stack: 'admin-stack', fleetType: 'ALWAYS_ON', imageName, recorded: true }];
  if (seed.withPlainFleet) fleets.push({ name: 'plain-fleet', stack: 'plain-stack', fleetType: 'ON_DEMAND', imageName: 'AppStream-WinServer2019-06-17-2024', recorded: false });
  for (const fleet of fleets) {
    const fleetImage = appstream.images.get(fleet.imageName);
    appstream.fleets.set(fleet.name, {
      name: fleet.name,
      arn: arnOf(scope, 'fleet', fleet.name),
      fleetType: fleet.fleetType,
      instanceType: 'stream.standard.medium',
      imageName: fleet.imageName,
      ...(fleetImage ? { imageArn: fleetImage.arn } : {}),
      platform: fleetImage?.platform ?? platform,
      desiredInstances: 4,
      maxUserDurationInSeconds: 16 * 3600,
      disconnectTimeoutInSeconds: 900,
      idleDisconnectTimeoutInSeconds: 0,
      vpcConfig: { SubnetIds: [`subnet-${hex(`${accountId}/${fleet.name}/a`, 17)}`, `subnet-${hex(`${accountId}/${fleet.name}/b`, 17)}`], SecurityGroupIds: [`sg-${hex(`${accountId}/${fleet.name}`, 17)}`] },
      ...(fleet.recorded ? { iamRoleArn: roleArn } : {}),
      streamView: 'DESKTOP',
      enableDefaultInternetAccess: false,
      state: { state: 'RUNNING' },
      createdTime: new Date(created.getTime() + 2 * HOUR_MS),
      tags: fleet.recorded ? { orgshield: 'session-recording' } : {},
    });
    appstream.stacks.set(fleet.stack, {
      name: fleet.stack,
      arn: arnOf(scope, 'stack', fleet.stack),
      userSettings: [
        { Action: 'CLIPBOARD_COPY_TO_LOCAL_DEVICE', Permission: 'DISABLED' },
        { Action: 'FILE_DOWNLOAD', Permission: 'DISABLED' },
      ],
      createdTime: new Date(created.getTime() + 2 * HOUR_MS),
      tags: {},
    });
    appstream.stackFleet.set(fleet.stack, fleet.name);
  }
  const users = USER_NAMES.filter(() => random() < 0.7).slice(0, 4);
  if (users.length < 2) users.push(...USER_NAMES.slice(0, 2 - users.length));
  for (const userName of users) {
    appstream.users.set(userName, { userName, arn: arnOf(scope, 'user', `USERPOOL/${userName}`), enabled: true, status: 'CONFIRMED', createdTime: new Date(created.getTime() + 3 * HOUR_MS) });
    for (const fleet of fleets) appstream.userStacks.add(`${fleet.stack}\n${userName}`);
  }

  // Sessions: past days and now; a usage report subscription that has delivered the past days.
  const subscription = subscribeUsageReports(world, scope, new Date(seed.startedMs - 7 * DAY_MS));
  const sessions: SeededRecordingSession[] = [];
  let n = 0;
  for (const fleet of fleets) {
    const plan: { current: boolean; startMs: number; minutes: number }[] = [];
    for (let daysAgo = 3; daysAgo >= 1; daysAgo--) {
      const day = Math.floor((seed.startedMs - daysAgo * DAY_MS) / DAY_MS) * DAY_MS;
      for (let k = randomInt(random, 1, 2); k > 0; k--) plan.push({ current: false, startMs: day + randomInt(random, 7 * 60, 16 * 60) * 60_000, minutes: randomInt(random, 15, 95) });
    }
    plan.push({ current: true, startMs: seed.startedMs - randomInt(random, 20, 90) * 60_000, minutes: 0 }, { current: true, startMs: seed.startedMs - randomInt(random, 5, 15) * 60_000, minutes: 0 });
    const missingPast = fleet.recorded ? randomInt(random, 0, plan.length - 3) : -1;
    const missingCurrent = fleet.recorded ? plan.length - 1 : -1;
    plan.forEach((entry, i) => {
      const userName = users[(n + i) % users.length] as string;
      const id = sessionIdFor(`${world.seed}/${accountId}/${fleet.name}/${n++}`);
      const startTime = new Date(entry.startMs);
      const endTime = entry.current ? undefined : new Date(entry.startMs + entry.minutes * 60_000);
      appstream.sessions.push({
        id,
        userId: userName,
        stackName: fleet.stack,
        fleetName: fleet.name,
        authenticationType: 'USERPOOL',
        instanceId: `i-${hex(`${id}/instance`, 17)}`,
        startTime,
        ...(endTime ? { endTime } : {}),
        maxExpirationTime: new Date(entry.startMs + 16 * HOUR_MS),
      });
      const recording: RecordingState = !fleet.recorded ? 'not-recorded' : i === missingPast || i === missingCurrent ? 'missing' : 'recorded';
      const keyPrefix = `${RECORDING_PREFIX}${fleet.stack}/${fleet.name}/${seed.pseudonym(userName)}/${id}/`;
      const session: SeededRecordingSession = { id, userName, pseudonym: seed.pseudonym(userName), stack: fleet.stack, fleet: fleet.name, startTime, ...(endTime ? { endTime } : {}), current: entry.current, recording, keyPrefix, keys: [], versionedKeys: [] };
      if (recording === 'recorded') writeRecording(world, { bucket: bucketName, kmsKeyArn: kmsKey.arn, session, fleet: appstream.fleets.get(fleet.name) as AppStreamFleet, imageName: fleet.imageName, nowMs: seed.startedMs, random });
      sessions.push(session);
    });
  }
  deliverUsageReports(world, scope, seed.startedMs);

  return {
    accountId,
    region: RECORDING_REGION,
    bucket: bucketName,
    kmsKeyArn: kmsKey.arn,
    roleArn,
    secretArn: secret.arn,
    usageReportsBucket: subscription.bucket,
    fleets,
    users,
    sessions,
  };
}

function plantKmsKey(world: World, scope: { accountId: string; region: string }, created: Date) {
  // The alias may already exist (a world seeded twice is the same world); resolve before creating.
  try {
    return resolveKmsKey(world, scope, RECORDING_KEY_ALIAS);
  } catch {
    // Created the way CreateKey + CreateAlias would, through the service's own store.
  }
  return createKmsKeyWithAlias(world, scope, { alias: RECORDING_KEY_ALIAS, description: 'orgshield session recordings', created });
}

/**
 * Writes one session's recording as the recorder uploads it: its segments, then metadata.json
 * at start (no end) and again at termination (two versions); some last segments are uploaded
 * twice (the retry of the last upload).
 */
function writeRecording(
  world: World,
  input: { bucket: string; kmsKeyArn: string; session: SeededRecordingSession; fleet: AppStreamFleet; imageName: string; nowMs: number; random: Random },
): void {
  const { session } = input;
  const encryption = { algorithm: 'aws:kms' as const, kmsKeyArn: input.kmsKeyArn, bucketKeyEnabled: true };
  const endMs = session.endTime?.getTime() ?? input.nowMs;
  const segments = Math.max(1, Math.ceil((endMs - session.startTime.getTime()) / (SEGMENT_SECONDS * 1000)));
  const put = (name: string, body: Buffer | string, atMs: number, contentType: string) => {
    const key = `${session.keyPrefix}${name}`;
    putS3Object(world, { bucket: input.bucket, key, body, contentType, encryption, lastModified: new Date(Math.min(atMs, input.nowMs)) });
    if (!session.keys.includes(key)) session.keys.push(key);
    else if (!session.versionedKeys.includes(key)) session.versionedKeys.push(key);
  };
  const metadata = (ended: boolean, segmentCount: number) =>
    `${JSON.stringify(
      {
        version: 1,
        stack: session.stack,
        fleet: session.fleet,
        sessionId: session.id,
        user: session.userName,
        userPseudonym: session.pseudonym,
        startTime: session.startTime.toISOString(),
        endTime: ended && session.endTime ? session.endTime.toISOString() : null,
        image: input.imageName,
        instanceType: input.fleet.instanceType,
        platform: input.fleet.platform,
        framesPerSecond: FRAMES_PER_SECOND,
        segmentSeconds: SEGMENT_SECONDS,
        segments: Array.from({ length: segmentCount }, (_, i) => segmentName(i)),
      },
      null,
      2,
    )}\n`;
  put('metadata.json', metadata(false, 0), session.startTime.getTime() + 30_000, 'application/json');
  for (let i = 0; i < segments; i++) {
    put(segmentName(i), segmentBytes(`${session.id}/${i}`), session.startTime.getTime() + (i + 1) * SEGMENT_SECONDS * 1000, 'video/mp4');
  }
  if (input.random() < 0.4) put(segmentName(segments - 1), segmentBytes(`${session.id}/${segments - 1}`), endMs, 'video/mp4');
  if (!session.current) put('metadata.json', metadata(true, segments), endMs + 30_000, 'application/json');
}

function segmentName(index: number): string {
  return `segment-${String(index).padStart(5, '0')}.mp4`;
}

/** A small MP4-shaped stand-in: an ftyp box, then bytes derived from the segment's identity. */
function segmentBytes(identity: string): Buffer {
  const ftyp = Buffer.from('0000001c6674797069736f6d0000020069736f6d69736f326d703431', 'hex');
  const filler = createHash('sha256').update(identity).digest();
  return Buffer.concat([ftyp, Buffer.from('00000028', 'hex'), Buffer.from('mdat'), filler]);
}

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

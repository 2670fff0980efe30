import type { PlatformType, S3Location, Stack, UserSetting, VpcConfig } from '@aws-sdk/client-appstream';
import { createHash } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import type { IssuedCredentials } from '../world/credentials.js';
import { defineRegionState, type IamRole, type World } from '../world/world.js';
import { IAM_ROLE_ARN } from './iam.js';
import { createS3Bucket, putS3Object } from './s3-buckets.js';

/**
 * AppStream 2.0's state per account and Region, its state machines on the sandbox's time scale
 * and the controls a test uses where AppStream has no API (Image Assistant making an image,
 * a user streaming). The service (appstream.ts), the control endpoint and the seeded
 * recordings share it.
 *
 * Modelled from the AppStream documentation: a fleet goes STOPPED -> STARTING -> RUNNING and
 * RUNNING -> STOPPING -> STOPPED, an image builder PENDING -> RUNNING, RUNNING -> STOPPING ->
 * STOPPED, RUNNING -> SNAPSHOTTING -> STOPPED while Image Assistant makes an image; a resource
 * changing state answers ConcurrentModificationException; quotas answer LimitExceededException.
 */

export type Platform = PlatformType;

const APPSTREAM_PRINCIPAL = 'appstream.amazonaws.com';

/** Simulated durations (ms); real time is `world.clock.scale(...)` of these. */
export const APPSTREAM_DELAYS = {
  fleetStart: 15 * 60_000,
  fleetStop: 5 * 60_000,
  builderStart: 10 * 60_000,
  builderStop: 3 * 60_000,
  builderSnapshot: 5 * 60_000,
  /** CreateUpdatedImage: AWS applies the latest agent and patches to a copy. */
  imageUpdate: 30 * 60_000,
} as const;

/** Default AppStream quotas per account and Region (Service Quotas names in the messages). */
export const APPSTREAM_QUOTAS = {
  imageBuilders: { limit: 10, name: 'Image builders (stream.standard.medium)' },
  fleets: { limit: 10, name: 'Fleets' },
  stacks: { limit: 20, name: 'Stacks' },
  images: { limit: 40, name: 'Images' },
  users: { limit: 50, name: 'Users in the user pool' },
  instancesPerFleet: { limit: 10, name: 'Streaming instances per fleet' },
} as const;

interface Transition<S extends string> {
  state: S;
  pending?: { to: S; atMs: number };
}

export interface AppStreamImage {
  name: string;
  arn: string;
  baseImageArn?: string;
  displayName?: string;
  description?: string;
  state: Transition<'PENDING' | 'AVAILABLE' | 'FAILED'>;
  visibility: 'PUBLIC' | 'PRIVATE';
  platform: Platform;
  /** A private image made before the latest AppStream agent release (see releaseAgent). */
  agentOutdated?: boolean;
  imageBuilderName?: string;
  createdTime: Date;
  tags: Record<string, string>;
  /**
   * Sandbox-only: the session scripts configuration (config.json) Image Assistant baked into the
   * image, when the test that made it said so. AppStream cannot show it; the sandbox uses it to
   * know whether sessions on the image are recorded.
   */
  sessionScriptsConfig?: string;
}

export interface AppStreamImageBuilder {
  name: string;
  arn: string;
  imageArn: string;
  instanceType: string;
  platform: Platform;
  displayName?: string;
  description?: string;
  vpcConfig?: VpcConfig;
  iamRoleArn?: string;
  enableDefaultInternetAccess?: boolean;
  state: Transition<'PENDING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'SNAPSHOTTING'>;
  createdTime: Date;
  tags: Record<string, string>;
}

export interface AppStreamFleet {
  name: string;
  arn: string;
  fleetType: 'ALWAYS_ON' | 'ON_DEMAND' | 'ELASTIC';
  instanceType: string;
  imageName?: string;
  imageArn?: string;
  platform: Platform;
  desiredInstances?: number;
  maxConcurrentSessions?: number;
  maxUserDurationInSeconds: number;
  disconnectTimeoutInSeconds: number;
  idleDisconnectTimeoutInSeconds: number;
  vpcConfig?: VpcConfig;
  iamRoleArn?: string;
  streamView: 'APP' | 'DESKTOP';
  sessionScriptS3Location?: S3Location;
  enableDefaultInternetAccess: boolean;
  displayName?: string;
  description?: string;
  state: Transition<'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED'>;
  createdTime: Date;
  tags: Record<string, string>;
}

export interface AppStreamStack {
  name: string;
  arn: string;
  displayName?: string;
  description?: string;
  userSettings: UserSetting[];
  applicationSettings?: { Enabled: boolean; SettingsGroup?: string };
  storageConnectors?: Stack['StorageConnectors'];
  redirectUrl?: string;
  feedbackUrl?: string;
  createdTime: Date;
  tags: Record<string, string>;
}

export interface AppStreamUser {
  userName: string;
  arn: string;
  firstName?: string;
  lastName?: string;
  enabled: boolean;
  status: 'CONFIRMED' | 'FORCE_CHANGE_PASSWORD';
  createdTime: Date;
}

/** A streaming session; current ones answer DescribeSessions, ended ones go to usage reports. */
export interface AppStreamSession {
  id: string;
  userId: string;
  stackName: string;
  fleetName: string;
  authenticationType: 'USERPOOL' | 'SAML' | 'API' | 'AWS_AD';
  instanceId: string;
  startTime: Date;
  /** Set once the session ended; it then leaves DescribeSessions. */
  endTime?: Date;
  maxExpirationTime: Date;
}

export interface UsageReportSubscription {
  bucket: string;
  createdTime: Date;
  lastGeneratedReportDate?: Date;
}

export interface AppStreamRegion {
  accountId: string;
  region: string;
  images: Map<string, AppStreamImage>;
  builders: Map<string, AppStreamImageBuilder>;
  fleets: Map<string, AppStreamFleet>;
  stacks: Map<string, AppStreamStack>;
  /** Stack name -> the one fleet associated with it (AppStream allows one per stack). */
  stackFleet: Map<string, string>;
  users: Map<string, AppStreamUser>;
  /** `${stackName}\n${userName}` of USERPOOL users assigned to stacks. */
  userStacks: Set<string>;
  sessions: AppStreamSession[];
  usageReports: UsageReportSubscription | undefined;
}

export const appstreamRegions = defineRegionState('appstream', ({ world, accountId, region }): AppStreamRegion => ({
  accountId,
  region,
  images: new Map(publicImages(world, region).map((i) => [i.name, i])),
  builders: new Map(),
  fleets: new Map(),
  stacks: new Map(),
  stackFleet: new Map(),
  users: new Map(),
  userStacks: new Set(),
  sessions: [],
  usageReports: undefined,
}));

export function appstreamRegion(world: World, scope: { accountId: string; region: string }): AppStreamRegion {
  return world.account(scope.accountId).region(scope.region).state(appstreamRegions);
}

/** The AWS base images every account sees (Visibility PUBLIC, no account in the ARN). */
export const PUBLIC_IMAGES: readonly { name: string; platform: Platform }[] = [
  { name: 'AppStream-WinServer2019-06-17-2024', platform: 'WINDOWS_SERVER_2019' },
  { name: 'AppStream-WinServer2022-06-17-2024', platform: 'WINDOWS_SERVER_2022' },
  { name: 'AppStream-AmazonLinux2-06-17-2024', platform: 'AMAZON_LINUX2' },
];

function publicImages(world: World, region: string): AppStreamImage[] {
  void world;
  return PUBLIC_IMAGES.map(({ name, platform }) => ({
    name,
    arn: `arn:aws:appstream:${region}::image/${name}`,
    state: { state: 'AVAILABLE' },
    visibility: 'PUBLIC',
    platform,
    createdTime: new Date(Date.UTC(2024, 5, 17)),
    tags: {},
  }));
}

/** Moves a resource along its state machine when its due time has passed; returns the state now. */
export function settle<S extends string>(transition: Transition<S>, nowMs = Date.now()): S {
  if (transition.pending && nowMs >= transition.pending.atMs) {
    transition.state = transition.pending.to;
    delete transition.pending;
  }
  return transition.state;
}

/** Starts a change of state that completes after a simulated delay. */
export function changeState<S extends string>(world: World, transition: Transition<S>, passing: S, to: S, simulatedMs: number): void {
  transition.state = passing;
  transition.pending = { to, atMs: Date.now() + world.clock.scale(simulatedMs) };
}

export function arnOf(scope: { accountId: string; region: string }, kind: 'fleet' | 'stack' | 'image-builder' | 'image' | 'user', name: string): string {
  return `arn:aws:appstream:${scope.region}:${scope.accountId}:${kind}/${name}`;
}

export function checkQuota(count: number, quota: { limit: number; name: string }): void {
  if (count >= quota.limit) {
    throw new ServiceError('LimitExceededException', `The requested operation would exceed the quota "${quota.name}" (${quota.limit}) for this account and Region. Request an increase in Service Quotas.`);
  }
}

/**
 * Sandbox control standing in for Image Assistant: on a RUNNING builder, starts making an
 * image (PENDING; the builder snapshots, then stops). The image stays PENDING until
 * `finishImage` says how it ended, as a test does where a person would wait on the console.
 */
export function createImageFromBuilder(
  world: World,
  request: { accountId: string; region: string; builderName: string; imageName: string; displayName?: string; description?: string; tags?: Record<string, string>; sessionScriptsConfig?: string },
): AppStreamImage {
  const state = appstreamRegion(world, request);
  const builder = state.builders.get(request.builderName);
  if (!builder) throw new ServiceError('ResourceNotFoundException', `Image builder ${request.builderName} does not exist.`);
  if (settle(builder.state) !== 'RUNNING') throw new ServiceError('ConcurrentModificationException', `Image builder ${builder.name} is ${builder.state.state}; Image Assistant needs it RUNNING.`);
  if (state.images.has(request.imageName)) throw new ServiceError('ResourceAlreadyExistsException', `An image named ${request.imageName} already exists.`);
  checkQuota([...state.images.values()].filter((i) => i.visibility === 'PRIVATE').length, APPSTREAM_QUOTAS.images);
  const image: AppStreamImage = {
    name: request.imageName,
    arn: arnOf(request, 'image', request.imageName),
    baseImageArn: builder.imageArn,
    ...(request.displayName === undefined ? {} : { displayName: request.displayName }),
    ...(request.description === undefined ? {} : { description: request.description }),
    state: { state: 'PENDING' },
    visibility: 'PRIVATE',
    platform: builder.platform,
    imageBuilderName: builder.name,
    createdTime: world.clock.now(),
    tags: { ...request.tags },
    ...(request.sessionScriptsConfig === undefined ? {} : { sessionScriptsConfig: request.sessionScriptsConfig }),
  };
  state.images.set(image.name, image);
  changeState(world, builder.state, 'SNAPSHOTTING', 'STOPPED', APPSTREAM_DELAYS.builderSnapshot);
  return image;
}

/** Sandbox control: a PENDING image made on a builder becomes AVAILABLE (or FAILED). */
export function finishImage(world: World, request: { accountId: string; region: string; imageName: string; outcome?: 'AVAILABLE' | 'FAILED' }): AppStreamImage {
  const image = appstreamRegion(world, request).images.get(request.imageName);
  if (!image || image.visibility !== 'PRIVATE') throw new ServiceError('ResourceNotFoundException', `Image ${request.imageName} does not exist.`);
  if (settle(image.state) !== 'PENDING') throw new ServiceError('ConcurrentModificationException', `Image ${image.name} is ${image.state.state}, not PENDING.`);
  image.state = { state: request.outcome ?? 'AVAILABLE' };
  return image;
}

/**
 * AWS releases a new AppStream agent: every private image of the account and region runs an older
 * one (DescribeImages says LatestAppstreamAgentVersion FALSE) until CreateUpdatedImage copies it.
 */
export function releaseAgent(world: World, request: { accountId: string; region: string }): string[] {
  const images = [...appstreamRegion(world, request).images.values()].filter((image) => image.visibility === 'PRIVATE');
  for (const image of images) image.agentOutdated = true;
  return images.map((image) => image.name);
}

const HEX = '0123456789abcdef';

function hashId(text: string, length: number): string {
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += HEX[(digest[i % digest.length] ?? 0) % 16];
  return out;
}

/** A session id as AppStream's look (a UUID), deterministic from what the session is. */
export function sessionIdFor(seed: string): string {
  const h = hashId(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Sandbox control standing in for a user who connects: a session on a RUNNING fleet associated
 * with the stack, for a user assigned to it (USERPOOL) or any name (SAML, API).
 */
export function startSession(
  world: World,
  request: { accountId: string; region: string; stackName: string; fleetName: string; userId: string; authenticationType?: AppStreamSession['authenticationType']; startTime?: Date; sessionId?: string },
): AppStreamSession {
  const state = appstreamRegion(world, request);
  const fleet = state.fleets.get(request.fleetName);
  if (!fleet) throw new ServiceError('ResourceNotFoundException', `Fleet ${request.fleetName} does not exist.`);
  if (!state.stacks.has(request.stackName)) throw new ServiceError('ResourceNotFoundException', `Stack ${request.stackName} does not exist.`);
  if (state.stackFleet.get(request.stackName) !== fleet.name) throw new ServiceError('InvalidParameterCombinationException', `Fleet ${fleet.name} is not associated with stack ${request.stackName}.`);
  if (settle(fleet.state) !== 'RUNNING') throw new ServiceError('ResourceNotAvailableException', `Fleet ${fleet.name} is ${fleet.state.state}; sessions need it RUNNING.`);
  const authenticationType = request.authenticationType ?? 'USERPOOL';
  if (authenticationType === 'USERPOOL' && !state.userStacks.has(`${request.stackName}\n${request.userId}`)) {
    throw new ServiceError('OperationNotPermittedException', `User ${request.userId} is not assigned to stack ${request.stackName}.`);
  }
  const startTime = request.startTime ?? world.clock.now();
  const session: AppStreamSession = {
    id: request.sessionId ?? sessionIdFor(`${request.accountId}/${request.region}/${fleet.name}/${request.userId}/${startTime.toISOString()}/${state.sessions.length}`),
    userId: request.userId,
    stackName: request.stackName,
    fleetName: fleet.name,
    authenticationType,
    instanceId: `i-${hashId(`${fleet.arn}/${state.sessions.length}`, 17)}`,
    startTime,
    maxExpirationTime: new Date(startTime.getTime() + fleet.maxUserDurationInSeconds * 1000),
  };
  state.sessions.push(session);
  return session;
}

/**
 * Sandbox control standing in for the credentials an AppStream instance gets for its fleet's
 * role (the `appstream_machine_role` profile session scripts use): a one-hour session of the
 * role, which must still exist and trust appstream.amazonaws.com. The fleet must be RUNNING.
 */
export function fleetRoleCredentials(world: World, request: { accountId: string; region: string; fleetName: string }): IssuedCredentials {
  const fleet = appstreamRegion(world, request).fleets.get(request.fleetName);
  if (!fleet) throw new ServiceError('ResourceNotFoundException', `Fleet ${request.fleetName} does not exist.`);
  if (settle(fleet.state) !== 'RUNNING') throw new ServiceError('ResourceNotAvailableException', `Fleet ${fleet.name} is ${fleet.state.state}; its instances run only when it is RUNNING.`);
  if (fleet.iamRoleArn === undefined) throw new ServiceError('InvalidRoleException', `Fleet ${fleet.name} has no IAM role.`);
  const role = appstreamRole(world, request.accountId, fleet.iamRoleArn);
  return world.credentials.issueRoleSession(request.accountId, role, 'appstream_machine_role', 3600).credentials;
}

/**
 * A role AppStream may pass to instances: it exists in the account and its trust policy names
 * appstream.amazonaws.com; else InvalidRoleException.
 */
export function appstreamRole(world: World, accountId: string, roleArn: string): IamRole {
  const match = IAM_ROLE_ARN.exec(roleArn);
  const role = match && match[1] === accountId ? world.account(accountId).roles.get(match[2] ?? '') : undefined;
  if (!role || role.arn !== roleArn) throw new ServiceError('InvalidRoleException', `The role ${roleArn} does not exist in this account.`);
  if (!role.trustedServices?.includes(APPSTREAM_PRINCIPAL)) {
    throw new ServiceError('InvalidRoleException', `AppStream 2.0 cannot assume the role ${roleArn}: its trust policy does not allow ${APPSTREAM_PRINCIPAL}.`);
  }
  return role;
}

/** Sandbox control: the user disconnects for good; the session leaves DescribeSessions. */
export function endSession(world: World, request: { accountId: string; region: string; sessionId: string; endTime?: Date }): AppStreamSession {
  const session = appstreamRegion(world, request).sessions.find((s) => s.id === request.sessionId);
  if (!session) throw new ServiceError('ResourceNotFoundException', `Session ${request.sessionId} does not exist.`);
  session.endTime ??= request.endTime ?? world.clock.now();
  return session;
}

/** Current sessions: started, not ended, not past their maximum duration. */
export function isCurrent(session: AppStreamSession, nowMs = Date.now()): boolean {
  return session.endTime === undefined && session.maxExpirationTime.getTime() > nowMs;
}

/** When a session ended: its end, or its maximum duration for one that ran out. */
export function sessionEnd(session: AppStreamSession): Date {
  return session.endTime ?? session.maxExpirationTime;
}

/**
 * The columns of AppStream's daily sessions report (Usage Reports, "Sessions Report Fields"),
 * in the documented order; `schedule`, `year`, `month` and `day` are in the object key.
 */
export const SESSIONS_REPORT_COLUMNS = [
  'user_session_id',
  'aws_account_id',
  'region',
  'session_start_time',
  'session_end_time',
  'session_duration_in_seconds',
  'user_id',
  'user_arn',
  'authentication_type',
  'authentication_type_user_id',
  'fleet_name',
  'stack_name',
  'instance_type',
  'eni_private_ip_address',
  'connected_at_least_once',
  'client_ip_addresses',
  'google_drive_enabled',
  'one_drive_enabled',
  'home_folders_storage_location',
  'user_settings_clipboard_copy_from_local_device',
  'user_settings_clipboard_copy_to_local_device',
  'user_settings_file_upload',
  'user_settings_file_download',
  'user_settings_printing_to_local_device',
  'application_settings_persistence',
  'domain_joined',
  'max_session_duration',
  'session_type',
  'stream_view',
  'streaming_experience_settings_protocol',
] as const;

/** Where AppStream files the sessions report of one day in the usage reports bucket. */
export function sessionsReportKey(day: string): string {
  const [year, month, dayOfMonth] = day.split('-');
  return `sessions/schedule=DAILY/year=${year}/month=${month}/day=${dayOfMonth}/daily-session-report-${day}.csv`;
}

/** The usage reports bucket AppStream creates: one per account and Region. */
export function usageReportsBucketName(scope: { accountId: string; region: string }): string {
  return `appstream-logs-${scope.region}-${scope.accountId}-${hashId(`appstream-logs/${scope.accountId}/${scope.region}`, 8)}`;
}

/**
 * Delivers the sessions reports of every whole UTC day, from the day the subscription began
 * (or `since`) up to yesterday, that have sessions which ended on it, as AppStream's daily
 * schedule does; an existing day's file is written again with the same content. Returns the
 * keys written. A test calls it (or the control endpoint) where AWS would wait a day.
 */
export function deliverUsageReports(world: World, scope: { accountId: string; region: string; since?: Date }, nowMs = Date.now()): string[] {
  const state = appstreamRegion(world, scope);
  const subscription = state.usageReports;
  if (!subscription) return [];
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const from = (scope.since ?? subscription.createdTime).toISOString().slice(0, 10);
  const byDay = new Map<string, AppStreamSession[]>();
  for (const session of state.sessions) {
    const end = sessionEnd(session);
    if (isCurrent(session, nowMs) || end.getTime() > nowMs) continue;
    const day = end.toISOString().slice(0, 10);
    if (day < from || day >= today) continue;
    byDay.set(day, [...(byDay.get(day) ?? []), session]);
  }
  const written: string[] = [];
  for (const [day, sessions] of [...byDay].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const key = sessionsReportKey(day);
    const rows = sessions.sort((a, b) => a.startTime.getTime() - b.startTime.getTime()).map((s) => reportRow(state, s));
    putS3Object(world, { bucket: subscription.bucket, key, body: `${[SESSIONS_REPORT_COLUMNS.join(','), ...rows].join('\n')}\n`, contentType: 'text/csv' });
    written.push(key);
    subscription.lastGeneratedReportDate = new Date(`${day}T23:59:59.000Z`);
  }
  return written;
}

export function subscribeUsageReports(world: World, scope: { accountId: string; region: string }, createdTime = world.clock.now()): UsageReportSubscription {
  const state = appstreamRegion(world, scope);
  if (!state.usageReports) {
    const bucket = createS3Bucket(world, { name: usageReportsBucketName(scope), accountId: scope.accountId, region: scope.region });
    state.usageReports = { bucket: bucket.name, createdTime };
  }
  return state.usageReports;
}

function reportRow(state: AppStreamRegion, session: AppStreamSession): string {
  const fleet = state.fleets.get(session.fleetName);
  const stack = state.stacks.get(session.stackName);
  const setting = (action: string) => (stack?.userSettings.find((u) => u.Action === action)?.Permission ?? 'ENABLED');
  const end = sessionEnd(session);
  const values: Record<(typeof SESSIONS_REPORT_COLUMNS)[number], string> = {
    user_session_id: session.id,
    aws_account_id: state.accountId,
    region: state.region,
    session_start_time: session.startTime.toISOString(),
    session_end_time: end.toISOString(),
    session_duration_in_seconds: String(Math.round((end.getTime() - session.startTime.getTime()) / 1000)),
    user_id: session.userId,
    user_arn: session.authenticationType === 'USERPOOL' ? arnOf(state, 'user', `USERPOOL/${session.userId}`) : '',
    authentication_type: session.authenticationType,
    // "The concatenation of the user ID and authentication type"; the separator is the sandbox's choice.
    authentication_type_user_id: `${session.userId}_${session.authenticationType}`,
    fleet_name: session.fleetName,
    stack_name: session.stackName,
    instance_type: fleet?.instanceType ?? '',
    eni_private_ip_address: `10.0.${parseInt(session.instanceId.slice(2, 4), 16)}.${parseInt(session.instanceId.slice(4, 6), 16)}`,
    connected_at_least_once: 'true',
    client_ip_addresses: '',
    google_drive_enabled: 'false',
    one_drive_enabled: 'false',
    home_folders_storage_location: '',
    user_settings_clipboard_copy_from_local_device: setting('CLIPBOARD_COPY_FROM_LOCAL_DEVICE'),
    user_settings_clipboard_copy_to_local_device: setting('CLIPBOARD_COPY_TO_LOCAL_DEVICE'),
    user_settings_file_upload: setting('FILE_UPLOAD'),
    user_settings_file_download: setting('FILE_DOWNLOAD'),
    user_settings_printing_to_local_device: setting('PRINTING_TO_LOCAL_DEVICE'),
    application_settings_persistence: stack?.applicationSettings?.Enabled ? 'ENABLED' : 'DISABLED',
    domain_joined: 'N',
    max_session_duration: String(fleet?.maxUserDurationInSeconds ?? ''),
    session_type: fleet?.fleetType ?? '',
    stream_view: fleet?.streamView ?? 'APP',
    streaming_experience_settings_protocol: 'TCP',
  };
  return SESSIONS_REPORT_COLUMNS.map((c) => csvField(values[c])).join(',');
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}


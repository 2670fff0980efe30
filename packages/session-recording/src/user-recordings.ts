import { DeleteObjectsCommand, GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client, type ObjectIdentifier } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AwsCallError, type AwsClientFactory, type ClientTarget } from '@orgshield/aws';
import { OrgshieldError } from '@orgshield/errors';
import { bucketNameFor, type Recording } from './recording-schema.js';
import { userPseudonym } from './user-pseudonym.js';

/**
 * A person's recordings across the target accounts and regions: listed, exported and erased by
 * prefix (`<prefix><stack>/<fleet>/<pseudonym>/`), never by reading every metadata file. The
 * pseudonym is computed in each account with that account's key, under its current and previous
 * versions, so a rotation loses no one's recordings. Nothing here returns or logs the user name.
 */

export interface RecordingTarget {
  account: string;
  region: string;
}

export interface UserRecordingsContext {
  clients: AwsClientFactory;
  recording: Recording;
  targets: readonly RecordingTarget[];
  /** Credentials into each target account (MemberCredentials.target). */
  targetFor(account: string, region: string): ClientTarget;
}

export interface RecordingObjectVersion {
  account: string;
  region: string;
  bucket: string;
  key: string;
  versionId: string;
  isLatest: boolean;
  isDeleteMarker: boolean;
  size: number;
  lastModified?: string;
}

/**
 * The key's current and previous values (a rotation keeps the previous one reachable): the
 * secret's AWSCURRENT and AWSPREVIOUS stages, or the SSM parameter's latest and the version before.
 */
async function pseudonymKeys(context: UserRecordingsContext, target: RecordingTarget): Promise<string[]> {
  const { name, store } = context.recording.pseudonymKey;
  const where = context.targetFor(target.account, target.region);
  const absent = (error: unknown) => error instanceof AwsCallError && (error.awsCode === 'ResourceNotFoundException' || error.awsCode === 'ParameterNotFound' || error.awsCode === 'ParameterVersionNotFound');
  const reads: (() => Promise<string | undefined>)[] = [];
  if (store === 'ssm') {
    const ssm = context.clients.client(SSMClient, where);
    const read = async (selector: string) => (await ssm.send(new GetParameterCommand({ Name: selector, WithDecryption: true }))).Parameter;
    let latest: { Value?: string; Version?: number } | undefined;
    reads.push(async () => (latest = await read(name))?.Value);
    reads.push(async () => ((latest?.Version ?? 0) > 1 ? (await read(`${name}:${(latest?.Version ?? 0) - 1}`))?.Value : undefined));
  } else {
    const secrets = context.clients.client(SecretsManagerClient, where);
    for (const VersionStage of ['AWSCURRENT', 'AWSPREVIOUS']) reads.push(async () => (await secrets.send(new GetSecretValueCommand({ SecretId: name, VersionStage }))).SecretString);
  }
  const keys: string[] = [];
  for (const read of reads) {
    try {
      const key = await read();
      if (key !== undefined && !keys.includes(key)) keys.push(key);
    } catch (error) {
      // No previous version (or no key at all: nothing was ever recorded there).
      if (absent(error)) continue;
      throw error;
    }
  }
  return keys;
}

/** Where one user's recordings are in one target: the bucket and each pseudonym's prefix. */
export async function userPrefixes(context: UserRecordingsContext, target: RecordingTarget, userName: string): Promise<{ bucket: string; pseudonyms: string[]; prefixes: string[] }> {
  const { bucket: bucketSpec, appstream } = context.recording;
  const pseudonyms = (await pseudonymKeys(context, target)).map((key) => userPseudonym(key, userName));
  return {
    bucket: bucketNameFor(bucketSpec.name, target),
    pseudonyms,
    prefixes: pseudonyms.map((pseudonym) => `${bucketSpec.prefix}${appstream.stack.name}/${appstream.fleet.name}/${pseudonym}/`),
  };
}

/** Every version and delete marker under the user's prefixes, in every target. */
export async function userObjectVersions(context: UserRecordingsContext, userName: string): Promise<RecordingObjectVersion[]> {
  const found: RecordingObjectVersion[] = [];
  for (const target of context.targets) {
    const { bucket, prefixes } = await userPrefixes(context, target, userName);
    const s3 = context.clients.client(S3Client, context.targetFor(target.account, target.region));
    for (const prefix of prefixes) {
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      do {
        let page;
        try {
          page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, VersionIdMarker }));
        } catch (error) {
          if (error instanceof AwsCallError && error.awsCode === 'NoSuchBucket') break;
          throw error;
        }
        const base = { account: target.account, region: target.region, bucket };
        for (const version of page.Versions ?? []) {
          found.push({ ...base, key: version.Key!, versionId: version.VersionId ?? 'null', isLatest: version.IsLatest === true, isDeleteMarker: false, size: version.Size ?? 0, lastModified: version.LastModified?.toISOString() });
        }
        for (const marker of page.DeleteMarkers ?? []) {
          found.push({ ...base, key: marker.Key!, versionId: marker.VersionId ?? 'null', isLatest: marker.IsLatest === true, isDeleteMarker: true, size: 0, lastModified: marker.LastModified?.toISOString() });
        }
        KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (KeyMarker !== undefined);
    }
  }
  return found;
}

export interface RecordedSession {
  account: string;
  region: string;
  bucket: string;
  sessionId: string;
  stack: string;
  fleet: string;
  startedAt?: string;
  endedAt?: string | null;
  segments: number;
  bytes: number;
}

/** The user's sessions (current objects only), from each session's metadata file, in the time window. */
export async function listUserSessions(context: UserRecordingsContext, userName: string, window: { from?: Date; to?: Date } = {}): Promise<RecordedSession[]> {
  const current = (await userObjectVersions(context, userName)).filter((version) => version.isLatest && !version.isDeleteMarker);
  const sessions = new Map<string, RecordedSession>();
  for (const object of current) {
    const folder = object.key.slice(0, object.key.lastIndexOf('/'));
    const sessionId = folder.slice(folder.lastIndexOf('/') + 1);
    const id = `${object.account}/${object.region}/${folder}`;
    const session = sessions.get(id) ?? { account: object.account, region: object.region, bucket: object.bucket, sessionId, stack: context.recording.appstream.stack.name, fleet: context.recording.appstream.fleet.name, segments: 0, bytes: 0 };
    sessions.set(id, session);
    session.bytes += object.size;
    if (object.key.endsWith('.mp4')) session.segments += 1;
    if (object.key.endsWith('/metadata.json')) {
      const s3 = context.clients.client(S3Client, context.targetFor(object.account, object.region));
      const body = await (await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }))).Body?.transformToString();
      const metadata = parseMetadata(body);
      session.startedAt = metadata.startedAt;
      session.endedAt = metadata.endedAt;
    }
  }
  return [...sessions.values()]
    .filter((session) => inWindow(session, window))
    .sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.sessionId.localeCompare(b.sessionId));
}

/** The fields list needs; a metadata file an attacker wrote is data, not trusted shape. */
function parseMetadata(body: string | undefined): { startedAt?: string; endedAt?: string | null } {
  try {
    const value = JSON.parse(body ?? '') as Record<string, unknown>;
    const time = (field: unknown) => (typeof field === 'string' && !Number.isNaN(Date.parse(field)) ? field : undefined);
    return { startedAt: time(value['startedAt']), endedAt: value['endedAt'] === null ? null : time(value['endedAt']) };
  } catch {
    return {};
  }
}

function inWindow(session: RecordedSession, window: { from?: Date; to?: Date }): boolean {
  if (!window.from && !window.to) return true;
  if (!session.startedAt) return false;
  const started = Date.parse(session.startedAt);
  const ended = session.endedAt ? Date.parse(session.endedAt) : started;
  return (!window.to || started <= window.to.getTime()) && (!window.from || ended >= window.from.getTime());
}

export interface ExportManifest {
  /** The user's pseudonyms (one per key version); never the name. */
  pseudonyms: string[];
  createdAt: string;
  expiresAt: string;
  objects: { account: string; region: string; bucket: string; key: string; size: number; lastModified?: string; url: string }[];
}

/** Every current object of the user with a presigned download link that lasts `expiresInSeconds`. */
export async function exportUserRecordings(context: UserRecordingsContext, userName: string, options: { expiresInSeconds: number; now?: Date }): Promise<ExportManifest> {
  const now = options.now ?? new Date();
  const objects: ExportManifest['objects'] = [];
  const pseudonyms = new Set<string>();
  for (const target of context.targets) {
    for (const pseudonym of (await userPrefixes(context, target, userName)).pseudonyms) pseudonyms.add(pseudonym);
  }
  for (const version of await userObjectVersions(context, userName)) {
    if (!version.isLatest || version.isDeleteMarker) continue;
    const s3 = context.clients.client(S3Client, context.targetFor(version.account, version.region));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: version.bucket, Key: version.key }), { expiresIn: options.expiresInSeconds });
    objects.push({ account: version.account, region: version.region, bucket: version.bucket, key: version.key, size: version.size, lastModified: version.lastModified, url });
  }
  return { pseudonyms: [...pseudonyms], createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + options.expiresInSeconds * 1000).toISOString(), objects };
}

export interface Erasure {
  pseudonyms: string[];
  at: string;
  /** Who erased: the caller's identity (an ARN), as the operator's credentials show it. */
  by: string;
  dryRun: boolean;
  /** Every version and delete marker that went (or, in a dry run, would go). */
  versions: RecordingObjectVersion[];
}

const DELETE_BATCH = 1000;

/**
 * Erases every version and delete marker of the user's recordings in every target: a dry run
 * unless `dryRun` is false. Safe to repeat: a second run finds nothing and deletes nothing.
 */
export async function eraseUserRecordings(context: UserRecordingsContext, userName: string, options: { dryRun: boolean; by: string; now?: Date }): Promise<Erasure> {
  const versions = await userObjectVersions(context, userName);
  const pseudonyms = new Set<string>();
  for (const version of versions) pseudonyms.add(version.key.split('/').at(-3) ?? '');
  if (!options.dryRun) {
    const byBucket = new Map<string, RecordingObjectVersion[]>();
    for (const version of versions) {
      const id = `${version.account}/${version.region}/${version.bucket}`;
      byBucket.set(id, [...(byBucket.get(id) ?? []), version]);
    }
    for (const group of byBucket.values()) {
      const { account, region, bucket } = group[0]!;
      const s3 = context.clients.client(S3Client, context.targetFor(account, region));
      for (let start = 0; start < group.length; start += DELETE_BATCH) {
        const Objects: ObjectIdentifier[] = group.slice(start, start + DELETE_BATCH).map((version) => ({ Key: version.key, VersionId: version.versionId }));
        const answer = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
        // DeleteObjects reports failures in its answer, not by throwing.
        const failed = (answer.Errors ?? []).filter((error) => error.Code !== 'NoSuchVersion' && error.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          throw new OrgshieldError(
            'EraseIncomplete',
            `${failed.length} of the user's object versions in bucket ${bucket} (account ${account}) could not be deleted (${failed[0]?.Code}: ${failed[0]?.Message}); run the erase again.`,
            { exitCode: 1 },
          );
        }
      }
    }
  }
  const erasure: Erasure = { pseudonyms: [...pseudonyms].filter(Boolean).sort(), at: (options.now ?? new Date()).toISOString(), by: options.by, dryRun: options.dryRun, versions };
  if (!options.dryRun && versions.length > 0) await recordErasure(context, erasure);
  return erasure;
}

/** Where erasures are recorded: beside the recordings, outside their prefix, named by pseudonym only. */
export const ERASURES_PREFIX = 'orgshield/erasures/';

/**
 * Each bucket that lost objects keeps a record of it (what, when, by whom), so the erasure can be
 * shown later without the user's name: the record names pseudonyms and keys, never the person.
 */
async function recordErasure(context: UserRecordingsContext, erasure: Erasure): Promise<void> {
  const buckets = new Map<string, RecordingObjectVersion[]>();
  for (const version of erasure.versions) {
    const id = `${version.account}/${version.region}/${version.bucket}`;
    buckets.set(id, [...(buckets.get(id) ?? []), version]);
  }
  for (const versions of buckets.values()) {
    const { account, region, bucket } = versions[0]!;
    const record = { at: erasure.at, by: erasure.by, pseudonyms: erasure.pseudonyms, erased: versions.map(({ key, versionId, isDeleteMarker }) => ({ key, versionId, isDeleteMarker })) };
    await context.clients
      .client(S3Client, context.targetFor(account, region))
      .send(new PutObjectCommand({ Bucket: bucket, Key: `${ERASURES_PREFIX}${erasure.pseudonyms[0] ?? 'unknown'}/${erasure.at}.json`, Body: JSON.stringify(record), ContentType: 'application/json' }));
  }
}

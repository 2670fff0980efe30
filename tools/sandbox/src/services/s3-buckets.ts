import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { defineWorldState, type World } from '../world/world.js';

/**
 * S3's store: buckets (a global namespace), their settings, and their objects with versions.
 * The service's handlers (s3.ts, s3-bucket-settings.ts) and the scenarios that plant data
 * (flow logs, recordings) share it.
 */

/** Content produced on demand, so a scenario can plant large objects without holding them. */
export interface ObjectSource {
  size: number;
  /** A stream of bytes `start..endInclusive` of the object. */
  open(start: number, endInclusive: number): Readable;
}

/** How an object is encrypted at rest: SSE-S3 (AES256) or SSE-KMS with the key's ARN. */
export interface ObjectEncryption {
  algorithm: 'AES256' | 'aws:kms' | 'aws:kms:dsse';
  kmsKeyArn?: string;
  bucketKeyEnabled?: boolean;
}

export interface S3Object {
  key: string;
  /** Undefined for the `null` version: written while versioning was never enabled, or suspended. */
  versionId?: string;
  body: Buffer | ObjectSource;
  size: number;
  etag: string;
  lastModified: Date;
  contentType: string;
  metadata: Record<string, string>;
  encryption?: ObjectEncryption;
}

export interface S3DeleteMarker {
  key: string;
  versionId: string | undefined;
  lastModified: Date;
  deleteMarker: true;
}

export type S3Version = S3Object | S3DeleteMarker;

export interface BucketEncryptionRule {
  algorithm: ObjectEncryption['algorithm'];
  /** As configured: a key id, key ARN, alias name or alias ARN. */
  kmsMasterKeyId?: string;
  bucketKeyEnabled?: boolean;
}

export interface PublicAccessBlock {
  BlockPublicAcls?: boolean;
  IgnorePublicAcls?: boolean;
  BlockPublicPolicy?: boolean;
  RestrictPublicBuckets?: boolean;
}

export interface S3Bucket {
  name: string;
  ownerAccountId: string;
  region: string;
  creationDate: Date;
  /**
   * 'organization' stands for a bucket policy granting s3:GetObject and s3:ListBucket to the
   * whole organization (aws:PrincipalOrgID), as central log-archive buckets have.
   */
  readAccess: 'owner' | 'organization';
  /** The current object of each key (absent when the key's newest version is a delete marker). */
  objects: Map<string, S3Object>;
  /** Keys of `objects` in listing order, rebuilt after a key is added. */
  sortedKeys: string[] | undefined;
  /**
   * Every other version of a key, newest first: noncurrent objects and delete markers. A key
   * whose newest version is a delete marker has it at index 0 here and no entry in `objects`.
   */
  history: Map<string, S3Version[]>;
  /** Keys of `objects` and `history` together, in listing order; rebuilt after a change. */
  sortedVersionKeys: string[] | undefined;
  /** Undefined until versioning is first configured, as S3 reports (no Status). */
  versioning: 'Enabled' | 'Suspended' | undefined;
  /** Since January 2023 every bucket encrypts new objects, with SSE-S3 unless configured. */
  encryption: BucketEncryptionRule;
  /** The policy document exactly as it was put. */
  policy: string | undefined;
  publicAccessBlock: PublicAccessBlock | undefined;
  /** The lifecycle rules as put (model member names); stored, not enforced. */
  lifecycleRules: unknown[] | undefined;
  /** Numbers version ids, so seeded versions are deterministic. */
  versionCounter: number;
}

/** Bucket names are global across accounts and regions, as in S3. */
const buckets = defineWorldState('s3:buckets', () => new Map<string, S3Bucket>());

export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function s3Buckets(world: World): Map<string, S3Bucket> {
  return world.state(buckets);
}

/** Creates a bucket as its owner would, for scenarios that plant data (flow logs, reports). */
export function createS3Bucket(
  world: World,
  bucket: { name: string; accountId: string; region: string; readAccess?: S3Bucket['readAccess'] },
): S3Bucket {
  const all = world.state(buckets);
  const existing = all.get(bucket.name);
  if (existing) return existing;
  const created: S3Bucket = {
    name: bucket.name,
    ownerAccountId: bucket.accountId,
    region: bucket.region,
    creationDate: world.clock.now(),
    readAccess: bucket.readAccess ?? 'owner',
    objects: new Map(),
    sortedKeys: undefined,
    history: new Map(),
    sortedVersionKeys: undefined,
    versioning: undefined,
    encryption: { algorithm: 'AES256', bucketKeyEnabled: false },
    policy: undefined,
    publicAccessBlock: undefined,
    lifecycleRules: undefined,
    versionCounter: 0,
  };
  all.set(bucket.name, created);
  return created;
}

/**
 * Stores an object in an existing bucket as PutObject does under the bucket's versioning: a new
 * version when Enabled, otherwise it replaces the `null` version. A string or Buffer is kept, an
 * ObjectSource streamed on read.
 */
export function putS3Object(
  world: World,
  object: {
    bucket: string;
    key: string;
    body: Buffer | string | ObjectSource;
    contentType?: string;
    metadata?: Record<string, string>;
    etag?: string;
    encryption?: ObjectEncryption;
    lastModified?: Date;
  },
): S3Object {
  const bucket = world.state(buckets).get(object.bucket);
  if (!bucket) throw new Error(`putS3Object: no bucket ${object.bucket}; create it with createS3Bucket first`);
  const body = typeof object.body === 'string' ? Buffer.from(object.body) : object.body;
  const stored: S3Object = {
    key: object.key,
    versionId: bucket.versioning === 'Enabled' ? nextVersionId(bucket, object.key) : undefined,
    body,
    size: Buffer.isBuffer(body) ? body.length : body.size,
    etag: object.etag ?? `"${createHash('md5').update(Buffer.isBuffer(body) ? body : `${object.key}:${body.size}`).digest('hex')}"`,
    lastModified: object.lastModified ?? world.clock.now(),
    contentType: object.contentType ?? 'binary/octet-stream',
    metadata: object.metadata ?? {},
    encryption: object.encryption ?? { algorithm: 'AES256' },
  };
  pushVersion(bucket, stored);
  return stored;
}

/**
 * DeleteObject without a version id: removes the object of an unversioned bucket; adds a
 * delete marker to a versioned one (replacing the `null` version while suspended).
 */
export function deleteCurrentObject(world: World, bucket: S3Bucket, key: string): S3DeleteMarker | undefined {
  if (bucket.versioning === undefined) {
    if (bucket.objects.delete(key)) bucket.sortedKeys = undefined;
    bucket.sortedVersionKeys = undefined;
    return undefined;
  }
  const marker: S3DeleteMarker = {
    key,
    versionId: bucket.versioning === 'Enabled' ? nextVersionId(bucket, key) : undefined,
    lastModified: world.clock.now(),
    deleteMarker: true,
  };
  pushVersion(bucket, marker);
  return marker;
}

/**
 * DeleteObject with a version id (`null` names the null version): removes that version for
 * good; when it was the newest, the next one becomes current (an object again, or a marker).
 */
export function deleteVersion(bucket: S3Bucket, key: string, versionId: string | undefined): S3Version | undefined {
  const stack = versionsOf(bucket, key);
  const index = stack.findIndex((v) => v.versionId === versionId);
  if (index < 0) return undefined;
  const [removed] = stack.splice(index, 1);
  setVersions(bucket, key, stack);
  return removed;
}

/** Every version of a key, newest first. */
export function versionsOf(bucket: S3Bucket, key: string): S3Version[] {
  const current = bucket.objects.get(key);
  const older = bucket.history.get(key) ?? [];
  return current ? [current, ...older] : [...older];
}

export function isDeleteMarker(version: S3Version): version is S3DeleteMarker {
  return 'deleteMarker' in version;
}

function pushVersion(bucket: S3Bucket, version: S3Version): void {
  const stack = versionsOf(bucket, version.key);
  // Without versioning (never enabled, or suspended) a write replaces the null version.
  const kept = version.versionId === undefined ? stack.filter((v) => v.versionId !== undefined) : stack;
  setVersions(bucket, version.key, [version, ...kept]);
}

function setVersions(bucket: S3Bucket, key: string, stack: S3Version[]): void {
  const [newest, ...older] = stack;
  const hadObject = bucket.objects.has(key);
  if (newest && !isDeleteMarker(newest)) {
    bucket.objects.set(key, newest);
    if (older.length > 0) bucket.history.set(key, older);
    else bucket.history.delete(key);
  } else {
    bucket.objects.delete(key);
    if (stack.length > 0) bucket.history.set(key, stack);
    else bucket.history.delete(key);
  }
  if (hadObject !== bucket.objects.has(key)) bucket.sortedKeys = undefined;
  bucket.sortedVersionKeys = undefined;
}

function nextVersionId(bucket: S3Bucket, key: string): string {
  bucket.versionCounter += 1;
  // S3 version ids are opaque, URL-safe and up to 1,024 bytes; these are 32 characters.
  return createHash('sha256').update(`${bucket.name}\0${key}\0${bucket.versionCounter}`).digest('base64url').slice(0, 32);
}

export function sortedKeys(bucket: S3Bucket): string[] {
  // S3 lists in UTF-8 byte order; JavaScript compares UTF-16 units, which differs only for
  // characters above U+FFFF against U+E000..U+FFFF.
  bucket.sortedKeys ??= [...bucket.objects.keys()].sort();
  return bucket.sortedKeys;
}

export function sortedVersionKeys(bucket: S3Bucket): string[] {
  bucket.sortedVersionKeys ??= [...new Set([...bucket.objects.keys(), ...bucket.history.keys()])].sort();
  return bucket.sortedVersionKeys;
}

/** First index where `before` is false; `before` must be true for a prefix of the list. */
export function lowerBound(keys: readonly string[], before: (key: string) => boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(keys[mid] as string)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function existingBucket(ctx: RequestContext, name: string | undefined): S3Bucket {
  const bucket = ctx.world.state(buckets).get(name ?? '');
  if (!bucket) throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', { fields: { BucketName: name } });
  return bucket;
}

/** A bucket the caller owns: writes, deletes and every bucket setting are the owner's alone. */
export function ownedBucket(ctx: RequestContext, name: string | undefined, expectedOwner?: string): S3Bucket {
  const bucket = existingBucket(ctx, name);
  if (bucket.ownerAccountId !== ctx.accountId || (expectedOwner !== undefined && expectedOwner !== bucket.ownerAccountId)) throw accessDenied();
  return bucket;
}

export function readableBucket(ctx: RequestContext, name: string | undefined, expectedOwner: string | undefined): S3Bucket {
  const bucket = existingBucket(ctx, name);
  const allowed = bucket.ownerAccountId === ctx.accountId || (bucket.readAccess === 'organization' && ctx.world.org.accounts.has(ctx.accountId));
  if (!allowed || (expectedOwner !== undefined && expectedOwner !== bucket.ownerAccountId)) throw accessDenied();
  return bucket;
}

export function canonicalUserId(accountId: string): string {
  return createHash('sha256').update(`s3-canonical:${accountId}`).digest('hex');
}

export function accessDenied(message = 'Access Denied'): ServiceError {
  return new ServiceError('AccessDenied', message, { status: 403 });
}

export function invalidArgument(message: string): ServiceError {
  return new ServiceError('InvalidArgument', message, { status: 400 });
}

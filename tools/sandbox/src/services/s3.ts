import type {
  CreateBucketOutput,
  CreateBucketRequest,
  GetObjectRequest,
  HeadBucketOutput,
  HeadBucketRequest,
  HeadObjectOutput,
  HeadObjectRequest,
  ListBucketsOutput,
  ListBucketsRequest,
  ListObjectsV2Output,
  ListObjectsV2Request,
  PutObjectOutput,
  PutObjectRequest,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { httpStatus } from '../protocols/protocol.js';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { defineWorldState, type World } from '../world/world.js';

/** Content produced on demand, so a scenario can plant large objects without holding them. */
export interface ObjectSource {
  size: number;
  /** A stream of bytes `start..endInclusive` of the object. */
  open(start: number, endInclusive: number): Readable;
}

export interface S3Object {
  key: string;
  body: Buffer | ObjectSource;
  size: number;
  etag: string;
  lastModified: Date;
  contentType: string;
  metadata: Record<string, string>;
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
  objects: Map<string, S3Object>;
  /** Keys in listing order, rebuilt after a key is added. */
  sortedKeys: string[] | undefined;
}

/** Bucket names are global across accounts and regions, as in S3. */
const buckets = defineWorldState('s3:buckets', () => new Map<string, S3Bucket>());

const LIST_CAP = 1000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

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
  };
  all.set(bucket.name, created);
  return created;
}

/** Stores an object in an existing bucket; a string or Buffer is kept, an ObjectSource streamed on read. */
export function putS3Object(
  world: World,
  object: { bucket: string; key: string; body: Buffer | string | ObjectSource; contentType?: string; metadata?: Record<string, string>; etag?: string },
): S3Object {
  const bucket = world.state(buckets).get(object.bucket);
  if (!bucket) throw new Error(`putS3Object: no bucket ${object.bucket}; create it with createS3Bucket first`);
  const body = typeof object.body === 'string' ? Buffer.from(object.body) : object.body;
  const stored: S3Object = {
    key: object.key,
    body,
    size: Buffer.isBuffer(body) ? body.length : body.size,
    etag: object.etag ?? `"${createHash('md5').update(Buffer.isBuffer(body) ? body : `${object.key}:${body.size}`).digest('hex')}"`,
    lastModified: world.clock.now(),
    contentType: object.contentType ?? 'binary/octet-stream',
    metadata: object.metadata ?? {},
  };
  if (!bucket.objects.has(object.key)) bucket.sortedKeys = undefined;
  bucket.objects.set(object.key, stored);
  return stored;
}

/**
 * S3 (path-style requests): buckets and objects, listings and ranged, streamed reads. Modelled
 * beyond the model: bucket naming rules, the global bucket namespace, LocationConstraint
 * against the request's region, owner-only access unless the bucket is shared with the
 * organization. Not modelled: versioning, ACLs, bucket policies, checksum verification, and
 * the redirect S3 answers for a bucket in another region.
 */
export const s3 = defineService({
  signingName: 's3',
  xmlRootNames: { ListObjectsV2: 'ListBucketResult', ListObjects: 'ListBucketResult', ListBuckets: 'ListAllMyBucketsResult' },
  handlers: {
    ListBuckets(input: ListBucketsRequest, ctx): ListBucketsOutput {
      const owned = [...ctx.world.state(buckets).values()]
        .filter((b) => b.ownerAccountId === ctx.accountId && b.name.startsWith(input.Prefix ?? '') && (input.BucketRegion === undefined || b.region === input.BucketRegion))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      let start = 0;
      if (input.ContinuationToken !== undefined) {
        const after = ctx.world.pageTokens.decode('s3:ListBuckets', input.ContinuationToken);
        if (after === undefined) throw invalidArgument('The continuation token provided is incorrect');
        start = owned.findIndex((b) => b.name > after);
        if (start < 0) start = owned.length;
      }
      const size = input.MaxBuckets ?? 10_000;
      const pageOf = owned.slice(start, start + size);
      const last = pageOf.at(-1);
      return {
        Buckets: pageOf.map((b) => ({ Name: b.name, CreationDate: b.creationDate, BucketRegion: b.region })),
        Owner: { ID: canonicalUserId(ctx.accountId) },
        ContinuationToken: start + size < owned.length && last ? ctx.world.pageTokens.encode('s3:ListBuckets', last.name) : undefined,
        Prefix: input.Prefix,
      };
    },

    CreateBucket(input: CreateBucketRequest, ctx): CreateBucketOutput {
      const name = input.Bucket ?? '';
      if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
        throw new ServiceError('InvalidBucketName', 'The specified bucket is not valid.', { status: 400, fields: { BucketName: name } });
      }
      const constraint = input.CreateBucketConfiguration?.LocationConstraint;
      // us-east-1 takes no LocationConstraint; every other region needs its own name.
      if (ctx.region === 'us-east-1' ? constraint !== undefined : constraint !== ctx.region) {
        throw new ServiceError(
          'IllegalLocationConstraintException',
          constraint === undefined
            ? `The unspecified location constraint is incompatible for the region specific endpoint this request was sent to (${ctx.region}).`
            : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to (${ctx.region}).`,
          { status: 400 },
        );
      }
      const existing = ctx.world.state(buckets).get(name);
      if (existing) {
        if (existing.ownerAccountId !== ctx.accountId) {
          throw new ServiceError('BucketAlreadyExists', 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.', { fields: { BucketName: name } });
        }
        // us-east-1 keeps its legacy answer: creating a bucket you already own succeeds.
        if (ctx.region !== 'us-east-1') {
          throw new ServiceError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { status: 409, fields: { BucketName: name } });
        }
      } else {
        createS3Bucket(ctx.world, { name, accountId: ctx.accountId, region: ctx.region });
      }
      return { Location: ctx.region === 'us-east-1' ? `/${name}` : `http://${name}.s3.amazonaws.com/`, BucketArn: `arn:aws:s3:::${name}` };
    },

    HeadBucket(input: HeadBucketRequest, ctx): HeadBucketOutput {
      const bucket = readableBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
      return { BucketRegion: bucket.region, BucketArn: `arn:aws:s3:::${bucket.name}` };
    },

    ListObjectsV2(input: ListObjectsV2Request, ctx): ListObjectsV2Output {
      const bucket = readableBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
      if (input.MaxKeys !== undefined && input.MaxKeys < 0) throw invalidArgument('Argument maxKeys must be an integer between 0 and 2147483647');
      const maxKeys = Math.min(input.MaxKeys ?? LIST_CAP, LIST_CAP);
      const prefix = input.Prefix ?? '';
      const delimiter = input.Delimiter === '' ? undefined : input.Delimiter;
      const listing = `s3:ListObjectsV2:${bucket.name}:${prefix}:${delimiter ?? ''}`;
      let resumeAt: string | undefined;
      if (input.ContinuationToken !== undefined) {
        resumeAt = ctx.world.pageTokens.decode(listing, input.ContinuationToken);
        if (resumeAt === undefined) throw invalidArgument('The continuation token provided is incorrect');
      }

      const keys = sortedKeys(bucket);
      let i = lowerBound(keys, (k) => k < prefix);
      if (input.StartAfter !== undefined) i = Math.max(i, lowerBound(keys, (k) => k <= (input.StartAfter as string)));
      if (resumeAt !== undefined) i = Math.max(i, lowerBound(keys, (k) => k < (resumeAt as string)));

      const contents: S3Object[] = [];
      const commonPrefixes: string[] = [];
      let next: string | undefined;
      while (i < keys.length) {
        const key = keys[i] as string;
        if (!key.startsWith(prefix)) break;
        if (contents.length + commonPrefixes.length >= maxKeys) {
          next = key;
          break;
        }
        const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
        if (delimiter !== undefined && cut >= 0) {
          const common = key.slice(0, cut + delimiter.length);
          commonPrefixes.push(common);
          i = lowerBound(keys, (k) => k < common || k.startsWith(common));
          continue;
        }
        const object = bucket.objects.get(key);
        if (object) contents.push(object);
        i++;
      }

      const encode = input.EncodingType === 'url' ? urlEncodeKey : (s: string) => s;
      return {
        Name: bucket.name,
        Prefix: encode(prefix),
        Delimiter: delimiter === undefined ? undefined : encode(delimiter),
        MaxKeys: maxKeys,
        KeyCount: contents.length + commonPrefixes.length,
        IsTruncated: next !== undefined,
        Contents: contents.length > 0
          ? contents.map((o) => ({
              Key: encode(o.key),
              LastModified: o.lastModified,
              ETag: o.etag,
              Size: o.size,
              StorageClass: 'STANDARD',
              Owner: input.FetchOwner ? { ID: canonicalUserId(bucket.ownerAccountId) } : undefined,
            }))
          : undefined,
        CommonPrefixes: commonPrefixes.length > 0 ? commonPrefixes.map((p) => ({ Prefix: encode(p) })) : undefined,
        ContinuationToken: input.ContinuationToken,
        NextContinuationToken: next === undefined ? undefined : ctx.world.pageTokens.encode(listing, next),
        StartAfter: input.StartAfter === undefined ? undefined : encode(input.StartAfter),
        EncodingType: input.EncodingType,
      };
    },

    GetObject(input: GetObjectRequest, ctx) {
      const { object, head, range } = objectRead(ctx, input);
      if (!range) {
        if (Buffer.isBuffer(object.body)) return { ...head, Body: object.body };
        return { ...head, Body: object.size === 0 ? Buffer.alloc(0) : object.body.open(0, object.size - 1) };
      }
      const [start, end] = range;
      const body = Buffer.isBuffer(object.body) ? object.body.subarray(start, end + 1) : object.body.open(start, end);
      return { ...head, Body: body, [httpStatus]: 206 };
    },

    HeadObject(input: HeadObjectRequest, ctx): HeadObjectOutput & { [httpStatus]?: number } {
      const { head, range } = objectRead(ctx, input);
      return range ? { ...head, [httpStatus]: 206 } : head;
    },

    PutObject(input: PutObjectRequest, ctx): PutObjectOutput {
      const bucket = existingBucket(ctx, input.Bucket);
      if (bucket.ownerAccountId !== ctx.accountId || (input.ExpectedBucketOwner !== undefined && input.ExpectedBucketOwner !== bucket.ownerAccountId)) {
        throw accessDenied();
      }
      const body = Buffer.isBuffer(input.Body) ? input.Body : Buffer.from((input.Body as Uint8Array | string | undefined) ?? '');
      if (input.ContentMD5 !== undefined && createHash('md5').update(body).digest('base64') !== input.ContentMD5) {
        throw new ServiceError('BadDigest', 'The Content-MD5 you specified did not match what we received.', { status: 400 });
      }
      const stored = putS3Object(ctx.world, {
        bucket: bucket.name,
        key: input.Key ?? '',
        body,
        contentType: input.ContentType,
        metadata: input.Metadata,
      });
      return { ETag: stored.etag, Size: stored.size };
    },
  },
});

function objectRead(ctx: RequestContext, input: GetObjectRequest | HeadObjectRequest) {
  const bucket = readableBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
  const key = input.Key ?? '';
  const object = bucket.objects.get(key);
  if (!object) throw new ServiceError('NoSuchKey', 'The specified key does not exist.', { fields: { Key: key } });
  if (input.IfMatch !== undefined && !etagMatches(input.IfMatch, object.etag)) {
    throw new ServiceError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { status: 412, fields: { Condition: 'If-Match' } });
  }
  if (input.IfNoneMatch !== undefined && etagMatches(input.IfNoneMatch, object.etag)) {
    throw new ServiceError('NotModified', 'Not Modified', { status: 304 });
  }
  const range = input.Range === undefined ? undefined : byteRange(input.Range, object.size);
  const head = {
    AcceptRanges: 'bytes',
    ContentLength: range ? range[1] - range[0] + 1 : object.size,
    ContentRange: range ? `bytes ${range[0]}-${range[1]}/${object.size}` : undefined,
    ContentType: object.contentType,
    ETag: object.etag,
    LastModified: object.lastModified,
    Metadata: object.metadata,
  };
  return { object, head, range };
}

/**
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`, clamped to the object as S3 does; a syntax S3 ignores
 * (several ranges, another unit) reads the whole object.
 */
export function byteRange(header: string, size: number): [number, number] | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [, first = '', last = ''] = match;
  let start: number;
  let end: number;
  if (first === '') {
    start = Math.max(0, size - Number(last));
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return undefined;
  }
  if (start >= size || size === 0) {
    throw new ServiceError('InvalidRange', 'The requested range is not satisfiable', {
      status: 416,
      fields: { RangeRequested: header, ActualObjectSize: size },
    });
  }
  return [start, end];
}

function existingBucket(ctx: RequestContext, name: string | undefined): S3Bucket {
  const bucket = ctx.world.state(buckets).get(name ?? '');
  if (!bucket) throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', { fields: { BucketName: name } });
  return bucket;
}

function readableBucket(ctx: RequestContext, name: string | undefined, expectedOwner: string | undefined): S3Bucket {
  const bucket = existingBucket(ctx, name);
  const allowed = bucket.ownerAccountId === ctx.accountId || (bucket.readAccess === 'organization' && ctx.world.org.accounts.has(ctx.accountId));
  if (!allowed || (expectedOwner !== undefined && expectedOwner !== bucket.ownerAccountId)) throw accessDenied();
  return bucket;
}

function sortedKeys(bucket: S3Bucket): string[] {
  // S3 lists in UTF-8 byte order; JavaScript compares UTF-16 units, which differs only for
  // characters above U+FFFF against U+E000..U+FFFF.
  bucket.sortedKeys ??= [...bucket.objects.keys()].sort();
  return bucket.sortedKeys;
}

/** First index where `before` is false; `before` must be true for a prefix of the list. */
function lowerBound(keys: readonly string[], before: (key: string) => boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(keys[mid] as string)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function etagMatches(condition: string, etag: string): boolean {
  return condition.split(',').some((c) => {
    const tag = c.trim();
    return tag === '*' || tag === etag || `"${tag}"` === etag;
  });
}

function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

function canonicalUserId(accountId: string): string {
  return createHash('sha256').update(`s3-canonical:${accountId}`).digest('hex');
}

function accessDenied(): ServiceError {
  return new ServiceError('AccessDenied', 'Access Denied', { status: 403 });
}

function invalidArgument(message: string): ServiceError {
  return new ServiceError('InvalidArgument', message, { status: 400 });
}

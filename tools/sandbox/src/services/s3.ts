import type {
  CreateBucketOutput,
  CreateBucketRequest,
  DeletedObject,
  DeleteMarkerEntry,
  DeleteObjectOutput,
  DeleteObjectRequest,
  DeleteObjectsOutput,
  DeleteObjectsRequest,
  _Error as S3Error,
  GetObjectRequest,
  HeadBucketOutput,
  HeadBucketRequest,
  HeadObjectOutput,
  HeadObjectRequest,
  ListBucketsOutput,
  ListBucketsRequest,
  ListObjectsV2Output,
  ListObjectsV2Request,
  ListObjectVersionsOutput,
  ListObjectVersionsRequest,
  ObjectVersion,
  PutObjectOutput,
  PutObjectRequest,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { httpStatus } from '../protocols/protocol.js';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { resolveKmsKey } from './kms.js';
import { checkBucketPolicy } from './s3-bucket-policy.js';
import { bucketSettingsHandlers } from './s3-bucket-settings.js';
import {
  BUCKET_NAME,
  canonicalUserId,
  createS3Bucket,
  deleteCurrentObject,
  deleteVersion,
  invalidArgument,
  isDeleteMarker,
  lowerBound,
  ownedBucket,
  putS3Object,
  readableBucket,
  s3Buckets,
  sortedKeys,
  sortedVersionKeys,
  versionsOf,
  type ObjectEncryption,
  type S3Bucket,
  type S3Object,
  type S3Version,
} from './s3-buckets.js';

export { createS3Bucket, putS3Object, s3Buckets } from './s3-buckets.js';
export type { ObjectSource, S3Bucket, S3Object } from './s3-buckets.js';

const LIST_CAP = 1000;

/**
 * S3 (path-style requests): buckets and objects, listings and ranged, streamed reads, object
 * versions and delete markers, and the bucket settings of s3-bucket-settings.ts. Modelled
 * beyond the model: bucket naming rules, the global bucket namespace, LocationConstraint
 * against the request's region, owner-only access unless the bucket is shared with the
 * organization, versioning states (never enabled, Enabled, Suspended with its `null` version),
 * default encryption (SSE-S3, or SSE-KMS with a key that must exist in the bucket's account
 * and Region) and presigned URLs (query-string SigV4; their expiry is checked by the server).
 * Bucket policies: their Deny statements are enforced (s3-bucket-policy.ts). Not modelled:
 * ACLs, Allow statements granting access to others, checksum verification, and the redirect
 * S3 answers for a bucket in another region.
 */
export const s3 = defineService({
  signingName: 's3',
  xmlRootNames: {
    ListObjectsV2: 'ListBucketResult',
    ListObjects: 'ListBucketResult',
    ListBuckets: 'ListAllMyBucketsResult',
    ListObjectVersions: 'ListVersionsResult',
    DeleteObjects: 'DeleteResult',
    GetBucketVersioning: 'VersioningConfiguration',
    GetBucketLifecycleConfiguration: 'LifecycleConfiguration',
  },
  handlers: {
    ListBuckets(input: ListBucketsRequest, ctx): ListBucketsOutput {
      const owned = [...s3Buckets(ctx.world).values()]
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
      const existing = s3Buckets(ctx.world).get(name);
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
      checkBucketPolicy(ctx, bucket, 's3:ListBucket');
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
      const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
      checkBucketPolicy(ctx, bucket, 's3:PutObject', input.Key ?? '');
      const body = Buffer.isBuffer(input.Body) ? input.Body : Buffer.from((input.Body as Uint8Array | string | undefined) ?? '');
      if (input.ContentMD5 !== undefined && createHash('md5').update(body).digest('base64') !== input.ContentMD5) {
        throw new ServiceError('BadDigest', 'The Content-MD5 you specified did not match what we received.', { status: 400 });
      }
      const encryption = objectEncryption(ctx, bucket, input);
      const stored = putS3Object(ctx.world, {
        bucket: bucket.name,
        key: input.Key ?? '',
        body,
        contentType: input.ContentType,
        metadata: input.Metadata,
        encryption,
      });
      return { ETag: stored.etag, Size: stored.size, VersionId: bucket.versioning === undefined ? undefined : (stored.versionId ?? 'null'), ...encryptionHeaders(encryption) };
    },

    DeleteObject(input: DeleteObjectRequest, ctx): DeleteObjectOutput {
      const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
      return deleteOne(ctx, bucket, input.Key ?? '', input.VersionId);
    },

    DeleteObjects(input: DeleteObjectsRequest, ctx): DeleteObjectsOutput {
      const bucket = ownedBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
      const objects = input.Delete?.Objects ?? [];
      if (objects.length > 1000) throw new ServiceError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', { status: 400 });
      const deleted: DeletedObject[] = [];
      const errors: S3Error[] = [];
      for (const { Key: key = '', VersionId: versionId } of objects) {
        try {
          const result = deleteOne(ctx, bucket, key, versionId);
          deleted.push({ Key: key, VersionId: versionId, DeleteMarker: result.DeleteMarker, DeleteMarkerVersionId: versionId === undefined && result.DeleteMarker ? result.VersionId : undefined });
        } catch (error) {
          if (!(error instanceof ServiceError)) throw error;
          errors.push({ Key: key, VersionId: versionId, Code: error.code, Message: error.message });
        }
      }
      // Quiet mode reports only the failures.
      return { Deleted: input.Delete?.Quiet || deleted.length === 0 ? undefined : deleted, Errors: errors.length > 0 ? errors : undefined };
    },

    ListObjectVersions(input: ListObjectVersionsRequest, ctx): ListObjectVersionsOutput {
      const bucket = readableBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
      checkBucketPolicy(ctx, bucket, 's3:ListBucketVersions');
      if (input.MaxKeys !== undefined && input.MaxKeys < 0) throw invalidArgument('Argument maxKeys must be an integer between 0 and 2147483647');
      if (input.VersionIdMarker !== undefined && input.KeyMarker === undefined) throw invalidArgument('A version-id marker cannot be specified without a key marker.');
      const maxKeys = Math.min(input.MaxKeys ?? LIST_CAP, LIST_CAP);
      const prefix = input.Prefix ?? '';
      const delimiter = input.Delimiter === '' ? undefined : input.Delimiter;
      const keys = sortedVersionKeys(bucket);
      const keyMarker = input.KeyMarker ?? '';
      // Without a version-id marker the listing resumes after every version of the key marker.
      let i = lowerBound(keys, (k) => k < prefix);
      if (keyMarker !== '') i = Math.max(i, lowerBound(keys, (k) => (input.VersionIdMarker === undefined ? k <= keyMarker : k < keyMarker)));

      const versions: ObjectVersion[] = [];
      const markers: DeleteMarkerEntry[] = [];
      const commonPrefixes: string[] = [];
      let count = 0;
      let truncated = false;
      let last: { key: string; versionId: string } | undefined;
      const owner = { ID: canonicalUserId(bucket.ownerAccountId) };
      outer: while (i < keys.length) {
        const key = keys[i] as string;
        if (!key.startsWith(prefix)) break;
        const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
        if (delimiter !== undefined && cut >= 0) {
          const common = key.slice(0, cut + delimiter.length);
          if (count >= maxKeys) {
            truncated = true;
            break;
          }
          commonPrefixes.push(common);
          count++;
          last = { key: common, versionId: '' };
          i = lowerBound(keys, (k) => k < common || k.startsWith(common));
          continue;
        }
        const stack = versionsOf(bucket, key);
        let v = 0;
        if (key === keyMarker && input.VersionIdMarker !== undefined) {
          const marker = input.VersionIdMarker === 'null' ? undefined : input.VersionIdMarker;
          const at = stack.findIndex((version) => version.versionId === marker);
          if (at < 0) throw invalidArgument('Invalid version id specified');
          v = at + 1;
        }
        for (; v < stack.length; v++) {
          if (count >= maxKeys) {
            truncated = true;
            break outer;
          }
          const version = stack[v] as S3Version;
          const versionId = version.versionId ?? 'null';
          if (isDeleteMarker(version)) {
            markers.push({ Key: key, VersionId: versionId, IsLatest: v === 0, LastModified: version.lastModified, Owner: owner });
          } else {
            versions.push({ Key: key, VersionId: versionId, IsLatest: v === 0, LastModified: version.lastModified, ETag: version.etag, Size: version.size, StorageClass: 'STANDARD', Owner: owner });
          }
          count++;
          last = { key, versionId };
        }
        i++;
      }

      const encode = input.EncodingType === 'url' ? urlEncodeKey : (s: string) => s;
      return {
        Name: bucket.name,
        Prefix: encode(prefix),
        Delimiter: delimiter === undefined ? undefined : encode(delimiter),
        KeyMarker: encode(keyMarker),
        VersionIdMarker: input.VersionIdMarker ?? '',
        MaxKeys: maxKeys,
        IsTruncated: truncated,
        NextKeyMarker: truncated && last ? encode(last.key) : undefined,
        NextVersionIdMarker: truncated && last && last.versionId !== '' ? last.versionId : undefined,
        Versions: versions.length > 0 ? versions.map((o) => ({ ...o, Key: encode(o.Key ?? '') })) : undefined,
        DeleteMarkers: markers.length > 0 ? markers.map((o) => ({ ...o, Key: encode(o.Key ?? '') })) : undefined,
        CommonPrefixes: commonPrefixes.length > 0 ? commonPrefixes.map((p) => ({ Prefix: encode(p) })) : undefined,
        EncodingType: input.EncodingType,
      };
    },

    ...bucketSettingsHandlers,
  },
});

function deleteOne(ctx: RequestContext, bucket: S3Bucket, key: string, versionId: string | undefined): DeleteObjectOutput {
  checkBucketPolicy(ctx, bucket, versionId === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion', key);
  if (versionId === undefined) {
    const marker = deleteCurrentObject(ctx.world, bucket, key);
    return marker ? { DeleteMarker: true, VersionId: marker.versionId ?? 'null' } : {};
  }
  // Deleting a version that does not exist succeeds, as S3 answers 204 for any missing key.
  const removed = deleteVersion(bucket, key, versionId === 'null' ? undefined : versionId);
  if (versionId !== 'null' && !removed && !/^[\w.-]{1,1024}$/.test(versionId)) throw invalidArgument('Invalid version id specified');
  return { VersionId: versionId, DeleteMarker: removed && isDeleteMarker(removed) ? true : undefined };
}

/**
 * The encryption a new object gets: the request's SSE headers, else the bucket's default.
 * SSE-KMS needs the key to exist and be enabled in the bucket's account and Region; without
 * a key id it uses the AWS managed key aws/s3, as S3 does.
 */
function objectEncryption(ctx: RequestContext, bucket: S3Bucket, input: PutObjectRequest): ObjectEncryption {
  const algorithm = input.ServerSideEncryption ?? bucket.encryption.algorithm;
  if (algorithm === 'AES256') return { algorithm };
  if (algorithm !== 'aws:kms' && algorithm !== 'aws:kms:dsse') throw invalidArgument(`The encryption method specified is not supported: ${algorithm}`);
  const keyId = input.SSEKMSKeyId ?? (input.ServerSideEncryption === undefined ? bucket.encryption.kmsMasterKeyId : undefined) ?? 'alias/aws/s3';
  let key;
  try {
    key = resolveKmsKey(ctx.world, { accountId: bucket.ownerAccountId, region: bucket.region }, keyId);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'NotFoundException') {
      throw new ServiceError('KMS.NotFoundException', `Invalid keyId ${keyId}`, { status: 400 });
    }
    throw error;
  }
  if (!key.enabled) throw new ServiceError('KMS.DisabledException', `${key.arn} is disabled.`, { status: 400 });
  return { algorithm, kmsKeyArn: key.arn, bucketKeyEnabled: input.BucketKeyEnabled ?? bucket.encryption.bucketKeyEnabled };
}

function encryptionHeaders(encryption: ObjectEncryption | undefined) {
  return {
    ServerSideEncryption: encryption?.algorithm,
    SSEKMSKeyId: encryption?.kmsKeyArn,
    BucketKeyEnabled: encryption?.kmsKeyArn === undefined ? undefined : (encryption.bucketKeyEnabled ?? false),
  };
}

function objectRead(ctx: RequestContext, input: GetObjectRequest | HeadObjectRequest) {
  const bucket = readableBucket(ctx, input.Bucket, input.ExpectedBucketOwner);
  checkBucketPolicy(ctx, bucket, input.VersionId === undefined ? 's3:GetObject' : 's3:GetObjectVersion', input.Key ?? '');
  const key = input.Key ?? '';
  let object: S3Object | undefined;
  if (input.VersionId === undefined) {
    object = bucket.objects.get(key);
  } else {
    const version = versionsOf(bucket, key).find((v) => (v.versionId ?? 'null') === input.VersionId);
    if (!version) throw new ServiceError('NoSuchVersion', 'The specified version does not exist.', { status: 404, fields: { Key: key, VersionId: input.VersionId } });
    // A delete marker has no content: S3 answers 405 when it is asked for by version id.
    if (isDeleteMarker(version)) throw new ServiceError('MethodNotAllowed', 'The specified method is not allowed against this resource.', { status: 405, fields: { Method: 'GET', ResourceType: 'DeleteMarker' } });
    object = version;
  }
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
    VersionId: bucket.versioning === undefined ? undefined : (object.versionId ?? 'null'),
    ...encryptionHeaders(object.encryption),
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





function etagMatches(condition: string, etag: string): boolean {
  return condition.split(',').some((c) => {
    const tag = c.trim();
    return tag === '*' || tag === etag || `"${tag}"` === etag;
  });
}

function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}




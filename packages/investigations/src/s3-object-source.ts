import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError, OrgshieldError } from '@orgshield/errors';
import { z } from 'zod';
import { errorName, parseAwsAnswer, withFreshCredentials } from './investigation-aws.js';

/** Where flow logs are read from: keys under a prefix, each opened as a byte stream. */
export interface S3ObjectSource {
  list(prefix: string): AsyncIterable<{ key: string; size: number }>;
  open(key: string): Promise<Readable>;
}

export interface S3Location {
  bucket: string;
  /** The key prefix, without a leading slash; '' for the whole bucket. */
  prefix: string;
}

/** S3 bucket naming rules (general purpose buckets): 3-63 of a-z 0-9 . -, starting and ending alphanumeric. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/prefix` -> { bucket, prefix }; anything else is an InvalidInputError. */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new InvalidInputError(`Flow-log location "${url}" is not an s3://bucket/prefix URL.`);
  const [, bucket = '', prefix = ''] = match;
  if (!BUCKET.test(bucket)) throw new InvalidInputError(`"${bucket}" in ${url} is not a valid S3 bucket name.`);
  return { bucket, prefix: prefix.replace(/^\/+/, '') };
}

const ListAnswer = z.object({
  Contents: z.array(z.object({ Key: z.string(), Size: z.number().nonnegative().optional() })).optional(),
  IsTruncated: z.boolean().optional(),
  NextContinuationToken: z.string().optional(),
});

/**
 * Flow-log objects in one bucket, read with the member account's S3 client: ListObjectsV2
 * pages (1,000 keys each) are fetched as the reader asks for them, and GetObject bodies are
 * handed over as streams, so nothing is buffered whole.
 */
export function s3ObjectSource(client: (fresh: boolean) => S3Client, bucket: string): S3ObjectSource {
  return {
    async *list(prefix) {
      let token: string | undefined;
      do {
        const answer = parseAwsAnswer('S3', `ListObjectsV2 of s3://${bucket}/${prefix}`, ListAnswer, await s3Call(bucket, prefix, () =>
          withFreshCredentials(client, (s3) => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))),
        ));
        for (const object of answer.Contents ?? []) yield { key: object.Key, size: object.Size ?? 0 };
        token = answer.IsTruncated ? answer.NextContinuationToken : undefined;
      } while (token);
    },
    async open(key) {
      const answer = await s3Call(bucket, key, () => withFreshCredentials(client, (s3) => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))));
      const body = answer.Body;
      if (!isReadable(body)) throw new OrgshieldError('UnexpectedAwsAnswer', `S3 GetObject of s3://${bucket}/${key} answered without a body stream.`);
      return body;
    },
  };
}

async function s3Call<T>(bucket: string, key: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    switch (errorName(error)) {
      case 'NoSuchBucket':
        throw new InvalidInputError(`Bucket ${bucket} does not exist; check --flow-logs.`, { cause: error });
      case 'NoSuchKey':
        throw new OrgshieldError('FlowLogObjectGone', `s3://${bucket}/${key} disappeared while being read; run the investigation again.`, { cause: error });
      case 'AccessDenied':
        throw new OrgshieldError('FlowLogAccessDenied', `The member account may not read s3://${bucket}/${key} (AccessDenied); grant s3:ListBucket and s3:GetObject on the log bucket to orgshield's role.`, {
          cause: error,
        });
      default:
        throw error;
    }
  }
}

function isReadable(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function' && typeof (body as Readable).on === 'function';
}

import { bucketNameFor, type Recording } from './recording-schema.js';
import type { RecordingTarget } from './user-recordings.js';

/**
 * The IAM and S3 documents of one target, as pure functions of the recording file: what setup
 * writes and what plan compares the live ones against.
 */

/** The key used when the file names none: S3's AWS managed key, which needs no key policy of ours. */
export const DEFAULT_KMS_KEY = 'alias/aws/s3';

/** One recorder role per account: the bucket policy lets it alone write recordings. */
export function fleetRoleName(_recording: Recording): string {
  return 'orgshield-session-recording';
}

export function fleetRoleArn(recording: Recording, target: RecordingTarget): string {
  return `arn:aws:iam::${target.account}:role/${fleetRoleName(recording)}`;
}

/** Where an Elastic fleet's session scripts zip goes: beside the recordings, outside their prefix. */
export function scriptsZipKey(recording: Recording): string {
  return `orgshield/session-scripts/${recording.appstream.fleet.name}.zip`;
}

export const FLEET_ROLE_POLICY_NAME = 'orgshield-session-recording';

export function fleetRoleTrustPolicy(): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'appstream.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
}

function kmsKeyArn(recording: Recording, target: RecordingTarget): string | undefined {
  if (recording.bucket.encryption !== 'SSE-KMS') return undefined;
  const key = recording.bucket.kmsKey ?? DEFAULT_KMS_KEY;
  return key.startsWith('arn:') ? key : `arn:aws:kms:${target.region}:${target.account}:${key.startsWith('alias/') ? key : `key/${key}`}`;
}

/**
 * What the recorder needs and nothing else: write objects under the recording prefix, read the
 * pseudonym key and learn its own account, use the bucket's KMS key through S3 (and an Elastic
 * fleet's scripts zip). No read of recordings: a session must not read others' videos.
 */
export function fleetRolePolicy(recording: Recording, target: RecordingTarget): Record<string, unknown> {
  const bucket = bucketNameFor(recording.bucket.name, target);
  const keyStore = recording.pseudonymKey;
  const keyResource =
    keyStore.store === 'ssm'
      ? `arn:aws:ssm:${target.region}:${target.account}:parameter/${keyStore.name.replace(/^\//, '')}`
      : `arn:aws:secretsmanager:${target.region}:${target.account}:secret:${keyStore.name}-??????`;
  const statements: Record<string, unknown>[] = [
    { Sid: 'WriteRecordings', Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/${recording.bucket.prefix}*` },
    { Sid: 'ReadPseudonymKey', Effect: 'Allow', Action: keyStore.store === 'ssm' ? 'ssm:GetParameter' : 'secretsmanager:GetSecretValue', Resource: keyResource },
  ];
  if (recording.appstream.fleet.type === 'ELASTIC') {
    statements.push({ Sid: 'ReadSessionScripts', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/${scriptsZipKey(recording)}` });
  }
  const kms = kmsKeyArn(recording, target);
  if (kms) {
    statements.push({
      Sid: 'EncryptRecordings',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Encrypt'],
      Resource: kms.includes(':alias/') ? `arn:aws:kms:${target.region}:${target.account}:key/*` : kms,
      Condition: { StringEquals: { 'kms:ViaService': `s3.${target.region}.amazonaws.com` }, ...(kms.includes(':alias/') ? { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': kms.slice(kms.indexOf('alias/')) } } : {}) },
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** TLS only, and recordings written by the fleet role alone. */
export function bucketPolicy(recording: Recording, target: RecordingTarget): Record<string, unknown> {
  const bucket = bucketNameFor(recording.bucket.name, target);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyPlainHttp',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'RecordingsOnlyFromTheFleetRole',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${bucket}/${recording.bucket.prefix}*`,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': fleetRoleArn(recording, target) } },
      },
    ],
  };
}

export function bucketEncryption(recording: Recording, target: RecordingTarget) {
  const kms = kmsKeyArn(recording, target);
  return {
    Rules: [
      kms
        ? { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' as const, KMSMasterKeyID: recording.bucket.kmsKey ?? DEFAULT_KMS_KEY }, BucketKeyEnabled: true }
        : { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' as const } },
    ],
  };
}

/** Recordings expire after the retention, old versions the same time after they stop being current. */
export function bucketLifecycle(recording: Recording) {
  const days = recording.bucket.retentionDays;
  return {
    Rules: [
      {
        ID: 'orgshield-recording-retention',
        Status: 'Enabled' as const,
        Filter: { Prefix: recording.bucket.prefix },
        Expiration: { Days: days },
        NoncurrentVersionExpiration: { NoncurrentDays: days },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
      { ID: 'orgshield-expired-delete-markers', Status: 'Enabled' as const, Filter: { Prefix: recording.bucket.prefix }, Expiration: { ExpiredObjectDeleteMarker: true } },
    ],
  };
}

export const PUBLIC_ACCESS_BLOCK = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } as const;

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';

const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start() {
  const sandbox = await startSandbox({ port: 0, accounts: 5, ous: 1, seed: 3 });
  running.push(sandbox);
  const config = { ...sandbox.clientConfig(), maxAttempts: 1 };
  return { sandbox, s3: new S3Client({ ...config, forcePathStyle: true }), kms: new KMSClient(config) };
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as S3ServiceException;
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

async function allVersions(s3: S3Client, bucket: string, maxKeys: number) {
  const versions: string[] = [];
  const markers: string[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: maxKeys, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
    versions.push(...(page.Versions ?? []).map((v) => `${v.Key}@${v.VersionId}${v.IsLatest ? '*' : ''}`));
    markers.push(...(page.DeleteMarkers ?? []).map((v) => `${v.Key}@${v.VersionId}${v.IsLatest ? '*' : ''}`));
    if (!page.IsTruncated) return { versions, markers };
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
  throw new Error('the listing does not end');
}

describe('S3 versions and delete markers', () => {
  it('keeps every version, hides a deleted key behind a marker, and removes versions for good by id', async () => {
    const { s3 } = await start();
    await s3.send(new CreateBucketCommand({ Bucket: 'rec-bucket' }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'rec-bucket' }))).Status).toBeUndefined();
    const before = await s3.send(new PutObjectCommand({ Bucket: 'rec-bucket', Key: 'a/x', Body: 'v0' }));
    expect(before.VersionId).toBeUndefined();
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'rec-bucket', VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket: 'rec-bucket', Key: 'a/x', Body: 'v1' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: 'rec-bucket', Key: 'a/x', Body: 'v2' }));
    await s3.send(new PutObjectCommand({ Bucket: 'rec-bucket', Key: 'b/y', Body: 'other' }));
    expect(v1.VersionId).toMatch(/^[\w-]{32}$/);
    expect(v2.VersionId).not.toBe(v1.VersionId);

    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'rec-bucket', Key: 'a/x' }));
    expect(marker.DeleteMarker).toBe(true);
    expect((await failure(s3.send(new GetObjectCommand({ Bucket: 'rec-bucket', Key: 'a/x' })))).name).toBe('NoSuchKey');
    const old = await s3.send(new GetObjectCommand({ Bucket: 'rec-bucket', Key: 'a/x', VersionId: v1.VersionId }));
    expect(await old.Body?.transformToString()).toBe('v1');
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'rec-bucket', Key: 'a/x', VersionId: marker.VersionId })))).status).toBe(405);

    // Pages of one entry walk every version of a key across pages, newest first.
    const listed = await allVersions(s3, 'rec-bucket', 1);
    expect(listed.versions).toEqual([`a/x@${v2.VersionId}`, `a/x@${v1.VersionId}`, 'a/x@null', `b/y@${listed.versions[3]?.split('@')[1]}`]);
    expect(listed.versions[3]).toMatch(/\*$/);
    expect(listed.markers).toEqual([`a/x@${marker.VersionId}*`]);

    // Erasing a key means deleting every version and marker by id; nothing else goes.
    const ids = [marker.VersionId, v2.VersionId, v1.VersionId, 'null'].map((VersionId) => ({ Key: 'a/x', VersionId }));
    const erased = await s3.send(new DeleteObjectsCommand({ Bucket: 'rec-bucket', Delete: { Objects: ids } }));
    expect(erased.Errors).toBeUndefined();
    expect(erased.Deleted?.map((d) => d.VersionId)).toEqual(ids.map((i) => i.VersionId));
    expect(erased.Deleted?.[0]?.DeleteMarker).toBe(true);
    const after = await allVersions(s3, 'rec-bucket', 1000);
    expect(after.versions.map((v) => v.split('@')[0])).toEqual(['b/y']);
    expect(after.markers).toEqual([]);
  });

  it('replaces the null version while versioning is suspended', async () => {
    const { s3 } = await start();
    await s3.send(new CreateBucketCommand({ Bucket: 'suspended' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'suspended', VersioningConfiguration: { Status: 'Enabled' } }));
    const kept = await s3.send(new PutObjectCommand({ Bucket: 'suspended', Key: 'k', Body: 'kept' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'suspended', VersioningConfiguration: { Status: 'Suspended' } }));
    await s3.send(new PutObjectCommand({ Bucket: 'suspended', Key: 'k', Body: 'first null' }));
    const second = await s3.send(new PutObjectCommand({ Bucket: 'suspended', Key: 'k', Body: 'second null' }));
    expect(second.VersionId).toBe('null');
    const listed = await allVersions(s3, 'suspended', 1000);
    expect(listed.versions).toEqual(['k@null*', `k@${kept.VersionId}`]);
  });
});

describe('S3 bucket settings', () => {
  it('stores encryption, policy, public access block and lifecycle, refusing what S3 refuses', async () => {
    const { sandbox, s3, kms } = await start();
    await s3.send(new CreateBucketCommand({ Bucket: 'settings' }));
    const sse = await s3.send(new GetBucketEncryptionCommand({ Bucket: 'settings' }));
    expect(sse.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');

    const missingKey = await failure(s3.send(new PutBucketEncryptionCommand({ Bucket: 'settings', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/nope' } }] } })));
    expect(missingKey.name).toBe('KMS.NotFoundException');
    const key = (await kms.send(new CreateKeyCommand({ Description: 'recordings' }))).KeyMetadata;
    await s3.send(new PutBucketEncryptionCommand({ Bucket: 'settings', ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key?.KeyId }, BucketKeyEnabled: true }] } }));
    const put = await s3.send(new PutObjectCommand({ Bucket: 'settings', Key: 'enc', Body: 'secret video' }));
    expect(put).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key?.Arn, BucketKeyEnabled: true });
    expect(await s3.send(new HeadObjectCommand({ Bucket: 'settings', Key: 'enc' }))).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key?.Arn });

    expect((await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'settings' })))).name).toBe('NoSuchBucketPolicy');
    expect((await failure(s3.send(new PutBucketPolicyCommand({ Bucket: 'settings', Policy: 'not json' })))).name).toBe('MalformedPolicy');
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: 'settings', PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } }));
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: 'settings' }))).PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    const publicPolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::settings/*' }] });
    expect((await failure(s3.send(new PutBucketPolicyCommand({ Bucket: 'settings', Policy: publicPolicy })))).status).toBe(403);
    const tlsOnly = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::settings', 'arn:aws:s3:::settings/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] });
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'settings', Policy: tlsOnly }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: 'settings' }))).Policy).toBe(tlsOnly);

    const rules = [{ ID: 'retention', Status: 'Enabled' as const, Filter: { Prefix: 'recordings/' }, Expiration: { Days: 90 }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }];
    expect((await failure(s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'settings', LifecycleConfiguration: { Rules: [rules[0] as never, rules[0] as never] } })))).message).toMatch(/unique/);
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'settings', LifecycleConfiguration: { Rules: rules } }));
    expect((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'settings' }))).Rules).toEqual(rules);

    // Settings are the owner's: another account of the organization is refused.
    const member = sandbox.world.snapshot().accounts.find((a) => a.id !== sandbox.world.org.managementAccountId && a.status === 'ACTIVE')?.id ?? '';
    const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
    const creds = (await new STSClient(sandbox.clientConfig()).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${member}:role/OrganizationAccountAccessRole`, RoleSessionName: 'settings-test' }))).Credentials;
    const other = new S3Client({ ...sandbox.clientConfig(), forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: creds?.AccessKeyId ?? '', secretAccessKey: creds?.SecretAccessKey ?? '', sessionToken: creds?.SessionToken ?? '' } });
    expect((await failure(other.send(new GetBucketPolicyCommand({ Bucket: 'settings' })))).status).toBe(403);
  });
});

describe('bucket policy', () => {
  it('enforces Deny statements: only the named role writes under the prefix, TLS-only never bites', async () => {
    const { sandbox, s3 } = await start();
    const account = sandbox.world.org.managementAccountId;
    await s3.send(new CreateBucketCommand({ Bucket: 'guarded' }));
    const { CreateRoleCommand, IAMClient } = await import('@aws-sdk/client-iam');
    const iam = new IAMClient(sandbox.clientConfig());
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'sts:AssumeRole' }] });
    const role = (await iam.send(new CreateRoleCommand({ RoleName: 'writer', AssumeRolePolicyDocument: trust }))).Role;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::guarded', 'arn:aws:s3:::guarded/*'], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        { Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: 'arn:aws:s3:::guarded/recordings/*', Condition: { ArnNotEquals: { 'aws:PrincipalArn': role?.Arn } } },
        { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::guarded/*', Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } },
      ],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'guarded', Policy: JSON.stringify(policy) }));
    expect((await failure(s3.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'recordings/a', Body: 'x' })))).status).toBe(403);
    await s3.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'elsewhere/a', Body: 'x' }));
    const { AssumeRoleCommand, STSClient } = await import('@aws-sdk/client-sts');
    const c = (await new STSClient(sandbox.clientConfig()).send(new AssumeRoleCommand({ RoleArn: role?.Arn, RoleSessionName: 'writer-session' }))).Credentials;
    const asRole = new S3Client({ ...sandbox.clientConfig(), forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretAccessKey ?? '', sessionToken: c?.SessionToken ?? '' } });
    await asRole.send(new PutObjectCommand({ Bucket: 'guarded', Key: 'recordings/a', Body: 'x' }));
    // The owner still reads and deletes: only writes under the prefix are the role's.
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'guarded', Key: 'recordings/a' }))).Body?.transformToString()).toBe('x');
    await s3.send(new DeleteObjectCommand({ Bucket: 'guarded', Key: 'recordings/a' }));
  });
});

describe('presigned URLs', () => {
  it('serves a presigned GET of a version, and refuses it once expired', async () => {
    const { s3 } = await start();
    await s3.send(new CreateBucketCommand({ Bucket: 'presign' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'presign', VersioningConfiguration: { Status: 'Enabled' } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket: 'presign', Key: 'u/s/seg 1.mp4', Body: 'first' }));
    await s3.send(new PutObjectCommand({ Bucket: 'presign', Key: 'u/s/seg 1.mp4', Body: 'second' }));

    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'presign', Key: 'u/s/seg 1.mp4', VersionId: v1.VersionId }), { expiresIn: 60 });
    expect(url).toContain('X-Amz-Signature=');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('first');

    const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'presign', Key: 'u/s/seg 1.mp4' }), { expiresIn: 1, signingDate: new Date(Date.now() - 120_000) });
    const refused = await fetch(expired);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Request has expired');
  });
});

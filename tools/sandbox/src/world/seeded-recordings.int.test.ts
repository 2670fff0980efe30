import { AppStreamClient, DescribeFleetsCommand, DescribeImagesCommand, DescribeSessionsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-appstream';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DeleteObjectsCommand, GetBucketEncryptionCommand, GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { sessionsReportKey } from '../services/appstream-store.js';
import { RECORDING_IMAGE_TAG, recordingPlan } from './seeded-recordings.js';

const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start(seed: number) {
  const sandbox = await startSandbox({ port: 0, accounts: 12, ous: 2, seed });
  running.push(sandbox);
  return sandbox;
}

async function clientsFor(sandbox: RunningSandbox, accountId: string) {
  const sts = new STSClient(sandbox.clientConfig());
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'recording-test' }))).Credentials;
  const config = { ...sandbox.clientConfig(), maxAttempts: 1, credentials: { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretAccessKey ?? '', sessionToken: c?.SessionToken ?? '' } };
  return { appstream: new AppStreamClient(config), s3: new S3Client({ ...config, forcePathStyle: true }), secrets: new SecretsManagerClient(config), iam: new IAMClient(config) };
}

async function versionsUnder(s3: S3Client, bucket: string, prefix: string) {
  const out: { key: string; versionId: string; marker: boolean }[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker, MaxKeys: 7 }));
    out.push(...(page.Versions ?? []).map((v) => ({ key: v.Key ?? '', versionId: v.VersionId ?? '', marker: false })));
    out.push(...(page.DeleteMarkers ?? []).map((v) => ({ key: v.Key ?? '', versionId: v.VersionId ?? '', marker: true })));
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

describe('seeded session recordings', () => {
  it('are what the plan says: fleets, current sessions, recordings under pseudonyms, missing ones, usage reports', async () => {
    const sandbox = await start(7);
    const plan = recordingPlan(sandbox.world);
    expect(plan.accounts).toHaveLength(3);
    expect(plan.accounts.flatMap((a) => a.fleets).filter((f) => !f.recorded)).toHaveLength(1);

    for (const account of plan.accounts) {
      const { appstream, s3, secrets, iam } = await clientsFor(sandbox, account.accountId);
      // The pseudonym key is in Secrets Manager and gives the plan's pseudonyms.
      const key = Buffer.from((await secrets.send(new GetSecretValueCommand({ SecretId: plan.secretName }))).SecretString ?? '', 'base64');
      expect(key).toEqual(plan.pseudonymKey);
      const role = (await iam.send(new GetRoleCommand({ RoleName: account.roleArn.split('/').pop() }))).Role;
      expect(decodeURIComponent(role?.AssumeRolePolicyDocument ?? '')).toContain('appstream.amazonaws.com');
      expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: account.bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: account.kmsKeyArn });

      const fleets = (await appstream.send(new DescribeFleetsCommand({}))).Fleets ?? [];
      expect(fleets.map((f) => [f.Name, f.State])).toEqual(account.fleets.map((f) => [f.name, 'RUNNING']).sort());
      const recorderImage = (await appstream.send(new DescribeImagesCommand({ Type: 'PRIVATE' }))).Images?.[0];
      expect((await appstream.send(new ListTagsForResourceCommand({ ResourceArn: recorderImage?.Arn }))).Tags).toHaveProperty(RECORDING_IMAGE_TAG);

      for (const fleet of account.fleets) {
        const current = (await appstream.send(new DescribeSessionsCommand({ StackName: fleet.stack, FleetName: fleet.name }))).Sessions ?? [];
        expect(current.map((s) => s.Id).sort()).toEqual(account.sessions.filter((s) => s.fleet === fleet.name && s.current).map((s) => s.id).sort());
      }

      const all = await s3.send(new ListObjectsV2Command({ Bucket: account.bucket, Prefix: plan.prefix }));
      for (const object of all.Contents ?? []) {
        for (const user of account.users) expect(object.Key).not.toContain(user.split('@')[0]);
      }
      for (const session of account.sessions) {
        expect(session.pseudonym).toBe(createHmac('sha256', key).update(session.userName).digest('hex'));
        expect(session.keyPrefix).toBe(`${plan.prefix}${session.stack}/${session.fleet}/${session.pseudonym}/${session.id}/`);
        const versions = await versionsUnder(s3, account.bucket, session.keyPrefix);
        if (session.recording !== 'recorded') {
          expect(versions).toEqual([]);
          continue;
        }
        expect([...new Set(versions.map((v) => v.key))].sort()).toEqual([...session.keys].sort());
        for (const versioned of session.versionedKeys) expect(versions.filter((v) => v.key === versioned)).toHaveLength(2);
        const metadata = JSON.parse((await (await s3.send(new GetObjectCommand({ Bucket: account.bucket, Key: `${session.keyPrefix}metadata.json` }))).Body?.transformToString()) ?? '{}') as Record<string, unknown>;
        expect(metadata).toMatchObject({ stack: session.stack, fleet: session.fleet, sessionId: session.id, user: session.userName, userPseudonym: session.pseudonym, startTime: session.startTime.toISOString(), endTime: session.endTime?.toISOString() ?? null });
        // The recorder writes metadata.json at start and again, with every segment, at termination.
        expect(metadata['segments']).toEqual(session.current ? [] : session.keys.filter((k) => k.endsWith('.mp4')).map((k) => k.slice(session.keyPrefix.length)));
      }
      expect(account.sessions.filter((s) => s.recording === 'missing' && s.current)).toHaveLength(1);
      expect(account.sessions.filter((s) => s.recording === 'missing' && !s.current)).toHaveLength(1);

      // Every past session is in the daily sessions report of the day it ended.
      for (const session of account.sessions.filter((s) => !s.current)) {
        const report = await (await s3.send(new GetObjectCommand({ Bucket: account.usageReportsBucket, Key: sessionsReportKey(session.endTime?.toISOString().slice(0, 10) ?? '') }))).Body?.transformToString();
        expect(report).toContain(`${session.id},${account.accountId},us-east-1,${session.startTime.toISOString()}`);
      }
    }
  });

  it('lets one person be erased by prefix in every account, every version, and nobody else', async () => {
    const sandbox = await start(7);
    const plan = recordingPlan(sandbox.world);
    const sessions = plan.accounts.flatMap((a) => a.sessions.map((s) => ({ ...s, account: a })));
    const target = sessions.find((s) => s.recording === 'recorded' && s.versionedKeys.length > 0)?.userName ?? '';
    const others = new Map<string, number>();
    for (const account of plan.accounts) {
      const { s3 } = await clientsFor(sandbox, account.accountId);
      for (const fleet of account.fleets) {
        const prefix = `${plan.prefix}${fleet.stack}/${fleet.name}/${plan.pseudonym(target)}/`;
        const versions = await versionsUnder(s3, account.bucket, prefix);
        for (let i = 0; i < versions.length; i += 1000) {
          const result = await s3.send(new DeleteObjectsCommand({ Bucket: account.bucket, Delete: { Objects: versions.slice(i, i + 1000).map((v) => ({ Key: v.key, VersionId: v.versionId })), Quiet: true } }));
          expect(result.Errors).toBeUndefined();
        }
        expect(await versionsUnder(s3, account.bucket, prefix)).toEqual([]);
      }
      others.set(account.accountId, (await versionsUnder(s3, account.bucket, plan.prefix)).length);
    }
    for (const account of plan.accounts) {
      const expected = account.sessions.filter((s) => s.userName !== target).reduce((n, s) => n + s.keys.length + s.versionedKeys.length, 0);
      expect(others.get(account.accountId)).toBe(expected);
    }
  });

  it('hands a running recorded fleet its role credentials, with which the recorder uploads', async () => {
    const sandbox = await start(7);
    const plan = recordingPlan(sandbox.world);
    const account = plan.accounts[0];
    if (!account) throw new Error('recordings are seeded');
    const control = (fleetName: string) =>
      fetch(`${sandbox.url}/_sandbox/appstream/fleet-role-credentials`, { method: 'POST', body: JSON.stringify({ accountId: account.accountId, region: plan.region, fleetName }) });
    const refused = await control('plain-fleet');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'InvalidRoleException' });
    const answer = (await (await control('recorded-fleet')).json()) as { Version: number; AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
    expect(answer.Version).toBe(1);
    const credentials = { accessKeyId: answer.AccessKeyId, secretAccessKey: answer.SecretAccessKey, sessionToken: answer.SessionToken };
    const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    const identity = await new STSClient({ ...sandbox.clientConfig(), credentials }).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe(`arn:aws:sts::${account.accountId}:assumed-role/orgshield-session-recording/appstream_machine_role`);
    const s3 = new S3Client({ ...sandbox.clientConfig(), forcePathStyle: true, credentials });
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const put = await s3.send(new PutObjectCommand({ Bucket: account.bucket, Key: `${plan.prefix}admin-stack/recorded-fleet/x/y/segment-00000.mp4`, Body: 'video' }));
    expect(put).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: account.kmsKeyArn });
    expect(put.VersionId).toBeDefined();
    // The bucket policy lets nothing but the fleet role write recordings, not even the account's admin.
    const admin = (await clientsFor(sandbox, account.accountId)).s3;
    await expect(admin.send(new PutObjectCommand({ Bucket: account.bucket, Key: `${plan.prefix}admin-stack/recorded-fleet/x/y/forged.mp4`, Body: 'x' }))).rejects.toThrow(/Access Denied/);
  });

  it('is the same for the same seed and differs for another', async () => {
    const shape = (plan: ReturnType<typeof recordingPlan>) => plan.accounts.map((a) => ({ a: a.accountId, k: a.kmsKeyArn, s: a.sessions.map((s) => [s.id, s.userName, s.recording, s.keys]) }));
    const [one, two, other] = await Promise.all([start(7), start(7), start(8)]);
    expect(shape(recordingPlan(one.world))).toEqual(shape(recordingPlan(two.world)));
    expect(recordingPlan(one.world).pseudonymKey).toEqual(recordingPlan(two.world).pseudonymKey);
    expect(shape(recordingPlan(other.world))).not.toEqual(shape(recordingPlan(one.world)));
  });
});

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { sandboxTest as test } from '@orgshield/sandbox/fixture';
import { expect } from 'vitest';
import { parseRecordingSource } from './recording-loader.js';
import { bucketNameFor } from './recording-schema.js';
import { userPseudonym } from './user-pseudonym.js';
import { eraseUserRecordings, exportUserRecordings, listUserSessions, userObjectVersions, type UserRecordingsContext } from './user-recordings.js';

const REGION = 'eu-west-1';
const ADA = 'Planted.Ada-91c2@Example.com';
const BOB = 'bob@example.com';
const { recording } = parseRecordingSource({ file: 'admin-recording.yaml', text: readFileSync(new URL('../examples/admin-recording.yaml', import.meta.url), 'utf8') });

test('list, export and erase one person across three accounts: every version of theirs goes, nothing of anyone else', { timeout: 120_000 }, async ({ sandbox }) => {
  const config = sandbox.clientConfig();
  const clients = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: REGION });
  const snapshot = sandbox.world.snapshot();
  const management = sandbox.world.org.managementAccountId;
  const accounts = snapshot.accounts.filter((account) => account.status === 'ACTIVE' && account.id !== management).slice(0, 3).map((account) => account.id);
  expect(accounts).toHaveLength(3);
  const members = new MemberCredentials(clients, { managementAccountId: management });
  const context: UserRecordingsContext = { clients, recording, targets: accounts.map((account) => ({ account, region: REGION })), targetFor: (account, region) => members.target(account, region) };

  const keys = new Map<string, string>();
  const s3 = (account: string) => clients.client(S3Client, members.target(account, REGION));
  const bucket = (account: string) => bucketNameFor(recording.bucket.name, { account, region: REGION });
  for (const account of accounts) {
    await s3(account).send(new CreateBucketCommand({ Bucket: bucket(account), CreateBucketConfiguration: { LocationConstraint: REGION } }));
    await s3(account).send(new PutBucketVersioningCommand({ Bucket: bucket(account), VersioningConfiguration: { Status: 'Enabled' } }));
    const key = randomBytes(32).toString('hex');
    keys.set(account, key);
    await clients.client(SecretsManagerClient, members.target(account, REGION)).send(new CreateSecretCommand({ Name: recording.pseudonymKey.name, SecretString: key }));
  }
  const folder = (account: string, user: string, session: string, key = keys.get(account)!) => `recordings/admin-stack/admin-fleet/${userPseudonym(key, user)}/${session}/`;
  const put = (account: string, key: string, body: string) => s3(account).send(new PutObjectCommand({ Bucket: bucket(account), Key: key, Body: body }));
  const metadata = (startedAt: string, endedAt: string) => JSON.stringify({ recorder: 'orgshield', startedAt, endedAt });

  const [first, second, third] = accounts as [string, string, string];
  // Ada: two sessions in the first account (a segment written twice, a segment deleted), one in the second.
  await put(first, `${folder(first, ADA, 's1')}metadata.json`, metadata('2026-11-01T10:00:00Z', '2026-11-01T11:00:00Z'));
  await put(first, `${folder(first, ADA, 's1')}segment-001-00000.mp4`, 'video a');
  await put(first, `${folder(first, ADA, 's1')}segment-001-00000.mp4`, 'video a, again');
  await put(first, `${folder(first, ADA, 's2')}metadata.json`, metadata('2026-11-20T10:00:00Z', '2026-11-20T10:30:00Z'));
  await put(first, `${folder(first, ADA, 's2')}segment-001-00000.mp4`, 'video b');
  await s3(first).send(new DeleteObjectCommand({ Bucket: bucket(first), Key: `${folder(first, ADA, 's2')}segment-001-00000.mp4` }));
  await put(second, `${folder(second, ADA, 's3')}metadata.json`, metadata('2026-11-21T09:00:00Z', '2026-11-21T09:10:00Z'));
  // The second account's key is rotated: Ada's later session carries the new pseudonym.
  const rotated = randomBytes(32).toString('hex');
  await clients.client(SecretsManagerClient, members.target(second, REGION)).send(new PutSecretValueCommand({ SecretId: recording.pseudonymKey.name, SecretString: rotated }));
  await put(second, `${folder(second, ADA, 's4', rotated)}metadata.json`, metadata('2026-11-22T09:00:00Z', '2026-11-22T09:10:00Z'));
  await put(second, `${folder(second, ADA, 's4', rotated)}segment-001-00000.mp4`, 'video d');
  // Bob, and an object outside any user's folder, stay.
  await put(first, `${folder(first, BOB, 's5')}metadata.json`, metadata('2026-11-01T10:00:00Z', '2026-11-01T11:00:00Z'));
  await put(third, `${folder(third, BOB, 's6')}segment-001-00000.mp4`, 'video f');
  await put(third, 'recordings/README.txt', 'not a recording');

  const everything = async () =>
    (
      await Promise.all(
        accounts.map(async (account) => {
          const page = await s3(account).send(new ListObjectVersionsCommand({ Bucket: bucket(account) }));
          return [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((version) => `${account} ${version.Key} ${version.VersionId}`);
        }),
      )
    )
      .flat()
      .sort();

  const sessions = await listUserSessions(context, ADA);
  expect(sessions.map((session) => [session.account, session.sessionId, session.segments, session.startedAt])).toEqual([
    [first, 's1', 1, '2026-11-01T10:00:00Z'],
    [first, 's2', 0, '2026-11-20T10:00:00Z'],
    [second, 's3', 0, '2026-11-21T09:00:00Z'],
    [second, 's4', 1, '2026-11-22T09:00:00Z'],
  ]);
  expect((await listUserSessions(context, ADA, { from: new Date('2026-11-21T00:00:00Z') })).map((session) => session.sessionId)).toEqual(['s3', 's4']);
  // The user pool name is matched case-insensitively (in ASCII), as the recorders lowercase it.
  expect((await listUserSessions(context, ADA.toUpperCase())).length).toBe(4);

  const manifest = await exportUserRecordings(context, ADA, { expiresInSeconds: 3600 });
  expect(manifest.objects).toHaveLength(6);
  expect(JSON.stringify(manifest).toLowerCase()).not.toContain('planted');
  const segment = manifest.objects.find((object) => object.key.endsWith(`s1/segment-001-00000.mp4`))!;
  // The presigned link works without credentials, as the person receiving it would use it.
  expect(await (await fetch(segment.url)).text()).toBe('video a, again');

  const before = await everything();
  const adaVersions = (await userObjectVersions(context, ADA)).map((version) => `${version.account} ${version.key} ${version.versionId}`).sort();
  expect(adaVersions).toHaveLength(9);
  const dryRun = await eraseUserRecordings(context, ADA, { dryRun: true, by: 'arn:aws:iam::000000000000:user/test' });
  expect(dryRun.versions).toHaveLength(9);
  expect(await everything()).toEqual(before);

  const erasure = await eraseUserRecordings(context, ADA, { dryRun: false, by: 'arn:aws:iam::000000000000:user/test' });
  expect(erasure.pseudonyms).toEqual([userPseudonym(keys.get(first)!, ADA), userPseudonym(keys.get(second)!, ADA), userPseudonym(rotated, ADA)].sort());
  expect(JSON.stringify(erasure).toLowerCase()).not.toContain('planted');
  // What is left: everyone else's objects, and one erasure record per bucket that lost objects (pseudonyms only).
  const after = await everything();
  const records = after.filter((entry) => entry.includes(' orgshield/erasures/'));
  expect(records).toHaveLength(2);
  expect(after.filter((entry) => !records.includes(entry))).toEqual(before.filter((entry) => !adaVersions.includes(entry)));
  expect(after.length - records.length).toBe(3);
  expect(await userObjectVersions(context, ADA)).toEqual([]);
  // Repeating it finds nothing and deletes nothing.
  expect((await eraseUserRecordings(context, ADA, { dryRun: false, by: 'test' })).versions).toEqual([]);
  expect(await everything()).toEqual(after);
  clients.destroy();
});

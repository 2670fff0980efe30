import { readFileSync } from 'node:fs';
import { AppStreamClient, CreateFleetCommand, StartFleetCommand } from '@aws-sdk/client-appstream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { putS3Object } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { expect } from 'vitest';
import { sandboxControl } from '../test/sandbox-control.js';
import { auditRecording } from './recording-audit.js';
import { parseRecordingSource } from './recording-loader.js';
import { bucketNameFor } from './recording-schema.js';
import { setupTarget, type SetupContext } from './recording-setup.js';
import { userPrefixes, type UserRecordingsContext } from './user-recordings.js';

const test = sandboxTest.override({ sandboxOptions: { accounts: 10, ous: 1, seed: 5, timeScale: 0.001 } });
const REGION = 'us-east-1';
const USER = 'Planted.Audit-3b7e@Example.com';
const text = readFileSync(new URL('../examples/admin-recording.yaml', import.meta.url), 'utf8').replace('userName: ada@example.com', `userName: ${USER}`);
const { recording } = parseRecordingSource({ file: 'admin-recording.yaml', text });

test('the audit flags a fleet without recording and the sessions that left no recording, current and past', { timeout: 120_000 }, async ({ sandbox }) => {
  const config = sandbox.clientConfig();
  const clients = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: REGION });
  const management = sandbox.world.org.managementAccountId;
  const account = sandbox.world.snapshot().accounts.find((candidate) => candidate.status === 'ACTIVE' && candidate.id !== management)!.id;
  const members = new MemberCredentials(clients, { managementAccountId: management });
  const target = { account, region: REGION };
  const targetFor = (id: string, region: string) => members.target(id, region);
  const setup: SetupContext = { clients, recording, targetFor, wait: { pollMs: 50, timeoutMs: 2_000 } };
  await setupTarget(setup, target, { dryRun: false });
  await sandboxControl(sandbox.url, 'appstream/images', { accountId: account, region: REGION, builderName: recording.appstream.imageBuilder!.name, imageName: recording.appstream.imageName, tags: { 'orgshield:session-recording': 'v1' } });
  await sandboxControl(sandbox.url, 'appstream/images/finish', { accountId: account, region: REGION, imageName: recording.appstream.imageName });
  await setupTarget(setup, target, { dryRun: false });

  // A fleet somebody made by hand on a public image, with no role: it cannot record.
  const appstream = clients.client(AppStreamClient, targetFor(account, REGION));
  await appstream.send(new CreateFleetCommand({ Name: 'hand-made', ImageName: 'AppStream-WinServer2022-06-17-2024', InstanceType: 'stream.standard.medium', FleetType: 'ON_DEMAND', ComputeCapacity: { DesiredInstances: 1 } }));
  await appstream.send(new StartFleetCommand({ Name: 'hand-made' }));

  const { stack, fleet } = recording.appstream;
  // Yesterday's session, in the usage report, left nothing; of today's two, one was recorded.
  // Mid-morning of the previous UTC day, so the ten-minute session never crosses into today (whose report is not out yet) whenever the test runs.
  const now = new Date();
  const yesterday = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1, 10));
  const past = await sandboxControl(sandbox.url, 'appstream/sessions', { accountId: account, region: REGION, stackName: stack.name, fleetName: fleet.name, userId: USER, startTime: yesterday.toISOString() });
  await sandboxControl(sandbox.url, 'appstream/sessions/end', { accountId: account, region: REGION, sessionId: past['sessionId'], endTime: new Date(yesterday.getTime() + 600_000).toISOString() });
  await sandboxControl(sandbox.url, 'appstream/usage-reports', { accountId: account, region: REGION, since: new Date(yesterday.getTime() - 86_400_000).toISOString() });
  const recorded = await sandboxControl(sandbox.url, 'appstream/sessions', { accountId: account, region: REGION, stackName: stack.name, fleetName: fleet.name, userId: USER });
  const missing = await sandboxControl(sandbox.url, 'appstream/sessions', { accountId: account, region: REGION, stackName: stack.name, fleetName: fleet.name, userId: USER });
  const context: UserRecordingsContext = { clients, recording, targets: [target], targetFor };
  const [prefix] = (await userPrefixes(context, target, USER)).prefixes;
  // The recorder's upload, as the fleet role makes it (the bucket policy refuses anyone else, this test included).
  putS3Object(sandbox.world, { bucket: bucketNameFor(recording.bucket.name, target), key: `${prefix}${String(recorded['sessionId'])}/metadata.json`, body: '{}' });
  const refused = await clients.client(S3Client, targetFor(account, REGION)).send(new PutObjectCommand({ Bucket: bucketNameFor(recording.bucket.name, target), Key: `${prefix}forged/metadata.json`, Body: '{}' })).catch((error: unknown) => error);
  expect((refused as { awsCode?: string }).awsCode).toBe('AccessDenied');

  const report = await auditRecording(context, { from: new Date(yesterday.getTime() - 86_400_000), to: new Date() });
  expect(report.fleets.map((entry) => [entry.fleet, entry.verdict]).sort()).toEqual([
    [fleet.name, 'recording'],
    ['hand-made', 'not-recording'],
  ]);
  expect(report.fleets.find((entry) => entry.fleet === 'hand-made')?.reasons.join(' ')).toContain('no IAM role');
  expect(report.sessionsChecked).toBe(3);
  expect(report.sessionsWithoutRecording.map((finding) => [finding.sessionId, finding.source]).sort()).toEqual(
    [
      [String(missing['sessionId']), 'DescribeSessions'],
      [String(past['sessionId']), 'usage report'],
    ].sort(),
  );
  expect(JSON.stringify(report).toLowerCase()).not.toContain('planted');
  clients.destroy();
});

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { discoverOrganization, MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import type { RunningSandbox } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { sandboxControl } from '../test/sandbox-control.js';
import { RecordingExecutor } from './recording-executor.js';
import { RecordingRunHeldError, RecordingRuns } from './recording-runs.js';
import { parseRecordingSource } from './recording-loader.js';
import { bucketNameFor } from './recording-schema.js';
import { runSetupStep } from './recording-setup.js';
import { userPseudonym } from './user-pseudonym.js';
import { userObjectVersions } from './user-recordings.js';

/**
 * Setup runs as a worker does them, against the sandbox and a real Redis: the fan-out's result
 * per account, the refusal of a second run of the same file, and two setups of one target from
 * two files fenced by the target's lock; and the SSM variant of the pseudonym key.
 */

const test = sandboxTest.override({ sandboxOptions: { accounts: 12, ous: 2, seed: 3, timeScale: 0.001 } });
const REGION = 'eu-west-1';
const example = readFileSync(new URL('../examples/admin-recording.yaml', import.meta.url), 'utf8');

/** The example file aimed at `accounts`, under another name if given. */
function recordingText(accounts: string[], options: { name?: string; tolerance?: number } = {}): string {
  return example
    .replace('name: admin-recording\n', `name: ${options.name ?? 'admin-recording'}\n`)
    .replace('  ous: [Root/Workloads/Prod]\n', `  accounts: [${accounts.map((account) => `"${account}"`).join(', ')}]\n`)
    .concat(options.tolerance === undefined ? '' : `fanOut:\n  concurrency: 4\n  failureTolerance: { count: ${options.tolerance} }\n`);
}

async function world(sandbox: RunningSandbox, prefix: string) {
  const config = sandbox.clientConfig();
  const clients = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: REGION });
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const organization = await discoverOrganization(clients);
  const members = new MemberCredentials(clients, { managementAccountId: organization.managementAccountId });
  const runs = new RecordingRuns(redis, prefix);
  const executor = new RecordingExecutor({ runs, clients, members: async () => members, organization: async () => organization, pollMs: 50, leaseMs: 2_000 });
  const active = organization.accounts.filter((account) => account.status === 'ACTIVE' && account.id !== organization.managementAccountId).map((account) => account.id);
  const suspended = organization.accounts.filter((account) => account.status === 'SUSPENDED').map((account) => account.id);
  const submit = async (text: string, name = 'admin-recording') => {
    const fileId = await runs.storeFile({ file: 'recording.yaml', text });
    return (await runs.create({ kind: 'setup', recording: name, fileId, requestedBy: 'test', waitSeconds: 2 })).runId;
  };
  const close = () => {
    clients.destroy();
    redis.disconnect();
  };
  return { clients, members, runs, executor, active, suspended, submit, close };
}

test('setup across accounts: completed, failed with its reason, skipped; the region stops past its tolerance', { timeout: 120_000 }, async ({ sandbox, redisPrefix }) => {
  const { clients, members, executor, active, suspended, submit, close } = await world(sandbox, redisPrefix);
  const [a, b, squatted, d] = active as [string, string, string, string];
  expect(suspended.length).toBeGreaterThan(0);
  // Someone else owns the bucket name `squatted` would get: its setup fails at the bucket step.
  await clients.client(S3Client, members.target(d, REGION)).send(new CreateBucketCommand({ Bucket: bucketNameFor('orgshield-recordings-{account}-{region}', { account: squatted, region: REGION }), CreateBucketConfiguration: { LocationConstraint: REGION } }));

  const tolerant = await executor.setup(await submit(recordingText([a, b, squatted, suspended[0]!], { tolerance: 1 })));
  expect(tolerant.status).toBe('failed');
  expect(tolerant.failed).toEqual([{ account: squatted, region: REGION, reason: expect.stringMatching(/bucket|Forbidden|403/i) }]);
  expect(tolerant.skipped).toEqual([{ account: suspended[0], region: REGION, reason: `account ${suspended[0]} is SUSPENDED` }]);
  // a and b went as far as setup can go before Image Assistant.
  expect(tolerant.blocked.map((entry) => entry.account).sort()).toEqual([a, b].sort());
  expect(tolerant.notStarted).toEqual([]);

  // With no tolerance, the first failure stops the region: what was not started yet is listed as such.
  const strict = await executor.setup(await submit(recordingText([squatted, ...active.slice(4, 10)], { name: 'strict', tolerance: 0 }).replace('concurrency: 4', 'concurrency: 1'), 'strict'));
  expect(strict.failed.map((entry) => entry.account)).toEqual([squatted]);
  expect(strict.notStarted.length).toBeGreaterThan(0);
  expect(strict.notStarted[0]!.reason).toContain('tolerance of 0');
  close();
});

test('a second setup of the same file while the first runs is refused with its id; two files on one target are fenced', { timeout: 120_000 }, async ({ sandbox, redisPrefix }) => {
  const { runs, executor, active, submit, close } = await world(sandbox, redisPrefix);
  const [target] = active as [string];
  const first = await submit(recordingText([target]));
  const refused = await submit(recordingText([target])).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(RecordingRunHeldError);
  expect((refused as RecordingRunHeldError).holder).toBe(first);
  expect((refused as Error).message).toContain(first);

  // Another file (another name) with the same target, at the same time as the first.
  const other = await submit(recordingText([target], { name: 'admin-recording-copy' }), 'admin-recording-copy');
  const [one, two] = await Promise.all([executor.setup(first), executor.setup(other)]);
  expect([one.status, two.status]).toEqual(['blocked', 'blocked']);
  const creates = sandbox.requests().filter((entry) => entry.account === target && entry.operation.startsWith('Create'));
  // Each Create once, none refused: the second run found what the first made, under the lock.
  expect(creates.map((entry) => `${entry.operation} ${entry.status}`).sort()).toEqual(['CreateBucket 200', 'CreateImageBuilder 200', 'CreateRole 200', 'CreateSecret 200']);

  // Once the first has settled, its name is free again; image made, a new run finishes it.
  await sandboxControl(sandbox.url, 'appstream/images', { accountId: target, region: REGION, builderName: 'admin-recording-builder', imageName: 'admin-recording-image' });
  await sandboxControl(sandbox.url, 'appstream/images/finish', { accountId: target, region: REGION, imageName: 'admin-recording-image' });
  const again = await executor.setup(await submit(recordingText([target])));
  expect(again).toMatchObject({ status: 'completed', completed: [{ account: target, region: REGION }] });
  expect((await runs.state(again.runId))?.status).toBe('completed');
  // A finished run's job repeated returns its result and changes nothing.
  expect(await executor.setup(again.runId)).toEqual(again);
  close();
});

test('the SSM SecureString variant of the pseudonym key: setup creates it once, list and erase find by it', { timeout: 60_000 }, async ({ sandbox, redisPrefix }) => {
  const { clients, members, active, close } = await world(sandbox, redisPrefix);
  const [account] = active as [string];
  const { recording } = parseRecordingSource({ file: 'ssm.yaml', text: recordingText([account]).replace('  store: secretsmanager\n  name: orgshield/session-recording/pseudonym-key', '  store: ssm\n  name: /orgshield/session-recording/pseudonym-key') });
  expect(recording.pseudonymKey).toEqual({ store: 'ssm', name: '/orgshield/session-recording/pseudonym-key' });
  const target = { account, region: REGION };
  const context = { clients, recording, targetFor: (id: string, region: string) => members.target(id, region), wait: { pollMs: 50, timeoutMs: 1_000 } };
  expect((await runSetupStep(context, target, 'pseudonym-key', { dryRun: false })).changes).toEqual(['create SecureString parameter /orgshield/session-recording/pseudonym-key with a new random pseudonym key']);
  expect((await runSetupStep(context, target, 'pseudonym-key', { dryRun: false })).changes).toEqual([]);
  expect(sandbox.requests().filter((entry) => entry.operation === 'PutParameter').map((entry) => entry.status)).toEqual([200]);
  const ssm = clients.client(SSMClient, members.target(account, REGION));
  const stored = await ssm.send(new GetParameterCommand({ Name: recording.pseudonymKey.name, WithDecryption: true }));
  expect(stored.Parameter?.Type).toBe('SecureString');
  expect(Buffer.from(stored.Parameter?.Value ?? '', 'base64')).toHaveLength(32);

  // A rotation (a new version): recordings under the old and the new pseudonym are both found.
  // (A plain bucket: the one setup makes takes writes from the fleet role only.)
  const bucket = bucketNameFor(recording.bucket.name, target);
  const s3 = clients.client(S3Client, members.target(account, REGION));
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  const user = 'Planted.Ssm-5e1a@Example.com';
  const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `recordings/admin-stack/admin-fleet/${userPseudonym(key, user)}/s1/metadata.json`, Body: '{}' }));
  await put(stored.Parameter!.Value!);
  const rotated = randomBytes(32).toString('base64');
  await ssm.send(new PutParameterCommand({ Name: recording.pseudonymKey.name, Value: rotated, Overwrite: true }));
  await put(rotated);
  const found = await userObjectVersions({ clients, recording, targets: [target], targetFor: context.targetFor }, user);
  expect(found.map((version) => version.key.split('/')[3]).sort()).toEqual([userPseudonym(stored.Parameter!.Value!, user), userPseudonym(rotated, user)].sort());
  close();
});

test("a schedule's audit firing carries only the stored file's id: the worker makes the run, and a retried firing finds it", { timeout: 60_000 }, async ({ sandbox, redisPrefix }) => {
  const { runs, executor, active, close } = await world(sandbox, redisPrefix);
  const fileId = await runs.storeFile({ file: 'recording.yaml', text: recordingText(active.slice(0, 2)) });
  const firedAt = Date.parse('2026-12-07T04:00:00Z');
  const fired = await executor.audit({ fileId, schedule: 'nightly' }, { firedAt });
  expect(fired).toMatchObject({ runId: `admin-recording-audit-nightly-${firedAt.toString(36)}`, status: 'completed', failed: [], notStarted: [] });
  expect(fired.completed).toHaveLength(2);
  expect(await runs.record(fired.runId)).toMatchObject({ kind: 'audit', fileId, schedule: 'nightly', requestedBy: 'schedule nightly' });
  // The same firing again (a retried job): the same run and result, nothing audited twice.
  const audits = sandbox.requests().filter((entry) => entry.operation === 'DescribeFleets').length;
  expect(await executor.audit({ fileId, schedule: 'nightly' }, { firedAt })).toEqual(fired);
  expect(sandbox.requests().filter((entry) => entry.operation === 'DescribeFleets').length).toBe(audits);
  close();
});

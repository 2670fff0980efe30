import { readFileSync } from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { discoverOrganization, MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import type { RunningSandbox } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { sandboxControl } from '../test/sandbox-control.js';
import { RecordingExecutor } from './recording-executor.js';
import { RecordingRunHeldError, RecordingRuns } from './recording-runs.js';
import { bucketNameFor } from './recording-schema.js';

/**
 * Setup runs as a worker does them, against the sandbox and a real Redis: the fan-out's result
 * per account, the refusal of a second run of the same file, and two setups of one target from
 * two files fenced by the target's lock.
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

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AppStreamClient, DescribeFleetsCommand, ListAssociatedFleetsCommand } from '@aws-sdk/client-appstream';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { expect } from 'vitest';
import { sandboxControl } from '../test/sandbox-control.js';
import { parseRecordingSource } from './recording-loader.js';
import { setupTarget, type SetupContext } from './recording-setup.js';

// Fleets start in 15 simulated minutes: 9 s here, time enough to kill the worker while it waits.
const test = sandboxTest.override({ sandboxOptions: { accounts: 10, ous: 1, seed: 6, timeScale: 0.01 } });
const REGION = 'us-east-1';
const example = fileURLToPath(new URL('../examples/admin-recording.yaml', import.meta.url));
const { recording } = parseRecordingSource({ file: example, text: readFileSync(example, 'utf8') });

test('a worker killed in the middle of setup: the next one finishes it, each Create sent once', { timeout: 180_000 }, async ({ sandbox }) => {
  const config = sandbox.clientConfig();
  const clients = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: REGION });
  const management = sandbox.world.org.managementAccountId;
  const account = sandbox.world.snapshot().accounts.find((candidate) => candidate.status === 'ACTIVE' && candidate.id !== management)!.id;
  const members = new MemberCredentials(clients, { managementAccountId: management });
  const context: SetupContext = { clients, recording, targetFor: (id, region) => members.target(id, region), wait: { pollMs: 50, timeoutMs: 60_000 } };

  // The worker is killed while it waits for the image builder it has just created.
  const worker = startWorker(sandbox.env(), [account, management]);
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const sent = (operation: string) => sandbox.requests().filter((entry) => entry.account === account && entry.operation === operation && entry.status < 300).length;
  const deadline = Date.now() + 60_000;
  while (sent('CreateImageBuilder') === 0) {
    if (Date.now() > deadline) throw new Error('the worker never created the image builder');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  worker.kill('SIGKILL');
  await exited;

  // The next worker (here, in this process) finds what exists and goes on; Image Assistant in between.
  const firstRun = await setupTarget({ ...context, wait: { pollMs: 50, timeoutMs: 15_000 } }, { account, region: REGION }, { dryRun: false });
  expect(firstRun.at(-1)?.step).toBe('image');
  await sandboxControl(sandbox.url, 'appstream/images', { accountId: account, region: REGION, builderName: recording.appstream.imageBuilder!.name, imageName: recording.appstream.imageName });
  await sandboxControl(sandbox.url, 'appstream/images/finish', { accountId: account, region: REGION, imageName: recording.appstream.imageName });

  // Killed again, this time while it waits for the fleet to start.
  const second = startWorker(sandbox.env(), [account, management]);
  const secondExited = new Promise((resolve) => second.once('exit', resolve));
  while (sent('StartFleet') === 0) {
    if (Date.now() > deadline + 60_000) throw new Error('the worker never started the fleet');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  second.kill('SIGKILL');
  await secondExited;

  const results = await setupTarget(context, { account, region: REGION }, { dryRun: false });
  expect(results.map((result) => result.blocked ?? 'done')).toEqual(results.map(() => 'done'));
  const appstream = clients.client(AppStreamClient, members.target(account, REGION));
  expect((await appstream.send(new DescribeFleetsCommand({ Names: [recording.appstream.fleet.name] }))).Fleets?.[0]?.State).toBe('RUNNING');
  expect((await appstream.send(new ListAssociatedFleetsCommand({ StackName: recording.appstream.stack.name }))).Names).toEqual([recording.appstream.fleet.name]);
  for (const operation of ['CreateSecret', 'CreateBucket', 'CreateRole', 'CreateImageBuilder', 'CreateFleet', 'StartFleet', 'CreateStack', 'AssociateFleet', 'CreateUser', 'BatchAssociateUserStack']) {
    expect(sent(operation), operation).toBe(1);
  }
  clients.destroy();
});


/** The worker is node itself (tsx as a loader, not a wrapper process), so SIGKILL kills the worker. */
function startWorker(env: Record<string, string>, [account, management]: [string, string]) {
  return spawn(process.execPath, ['--conditions=@orgshield/source', '--import', 'tsx', fileURLToPath(new URL('../test/setup-process.ts', import.meta.url)), example, account, REGION, management], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env, AWS_REGION: REGION, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: 'ignore',
  });
}

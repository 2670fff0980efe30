import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AppStreamClient, DescribeFleetsCommand, ListAssociatedFleetsCommand } from '@aws-sdk/client-appstream';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemberCredentials } from '@orgshield/accounts';
import { crashAtEveryPoint, JobQueues, type CrashScenario } from '@orgshield/jobs';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { crashTestExecutor } from '../test/recording-crash-fixture.js';
import { sandboxControl } from '../test/sandbox-control.js';
import type { RecordingExecutor } from './recording-executor.js';
import { recordingSetupJob } from './recording-jobs.js';
import type { RecordingRuns } from './recording-runs.js';
import { SETTLED_RECORDING_STATUSES } from './recording-runs.js';

/**
 * The crash harness (@orgshield/jobs) on a recording setup job: the worker running it is killed
 * (SIGKILL, in a process of its own) right after each of its Redis writes and mutating AWS calls
 * in turn, and a fresh worker finishes the run. Every time, the run ends as it does without a
 * crash, and each Create, StartFleet, AssociateFleet and BatchAssociateUserStack was sent exactly
 * once (the sandbox's request log). Two stages: a fresh target up to the image (which Image
 * Assistant makes by hand), and, the image made, the fleet, stack and users.
 *
 * Sizes: at ORGSHIELD_TEST_SIZE=long every point is killed at (26 + 31 runs, about 17 minutes at
 * load 20); in CI a deterministic sample, right after each call whose repeat would show (Create*,
 * Start*, Associate*, BatchAssociateUserStack: 4 + 7 runs, about 4 minutes). Measured at CI size
 * with every AWS mutation and every fourth point (25 runs): 8 minutes at load 20, all passed.
 */

const LONG = process.env['ORGSHIELD_TEST_SIZE'] === 'long';
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const REGION = 'us-east-1';
const RUN_ID = 'crash-setup';
/** The calls that must be sent exactly once whatever the crash. */
const ONCE = ['CreateSecret', 'CreateBucket', 'CreateRole', 'CreateImageBuilder', 'CreateFleet', 'StartFleet', 'CreateStack', 'CreateUsageReportSubscription', 'AssociateFleet', 'CreateUser', 'BatchAssociateUserStack'];
const sample = (_index: number, point: string) => LONG || /^aws:.*:(Create|Start|Associate|BatchAssociate)/.test(point);

type Stage = 'fresh' | 'image-made';

/**
 * How long a run waits for the image that Image Assistant makes (it then ends blocked). The same
 * wait bounds the image builder's start (600 ms at the sandbox's time scale): 1 s left a loaded
 * CI machine 400 ms of margin.
 */
const WAIT_FOR_IMAGE_SECONDS = 3;

interface World {
  sandbox: RunningSandbox;
  prefix: string;
  redis: Redis;
  queues: JobQueues;
  account: string;
  fixture: ReturnType<typeof crashTestExecutor>;
  workers: Worker[];
  /** Requests sent before the run under test (the stage's preparation), left out of the counts. */
  before: number;
}

const text = readFileSync(new URL('../examples/admin-recording.yaml', import.meta.url), 'utf8').replace('regions: [eu-west-1]', `regions: [${REGION}]`);

function recoveryWorker(world: World): Worker {
  const worker = new Worker('recording', (job) => world.fixture.executor.setup((job.data as { runId: string }).runId), { connection: world.redis.duplicate(), prefix: world.prefix, lockDuration: 1000, stalledInterval: 500 });
  worker.on('error', () => undefined);
  world.workers.push(worker);
  return worker;
}

async function settled(runs: RecordingRuns, runId: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await runs.state(runId);
    if (state && SETTLED_RECORDING_STATUSES.includes(state.status)) return state.status;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not settle (it is ${state?.status ?? 'gone'})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Everything up to the image, and the image made on the builder, before the run under test. */
async function prepareImage(world: World, executor: RecordingExecutor, runs: RecordingRuns, fileId: string): Promise<void> {
  const { runId } = await runs.create({ id: 'prepare', kind: 'setup', recording: 'admin-recording', fileId, waitSeconds: WAIT_FOR_IMAGE_SECONDS });
  expect((await executor.setup(runId)).status).toBe('blocked');
  await sandboxControl(world.sandbox.url, 'appstream/images', { accountId: world.account, region: REGION, builderName: 'admin-recording-builder', imageName: 'admin-recording-image' });
  await sandboxControl(world.sandbox.url, 'appstream/images/finish', { accountId: world.account, region: REGION, imageName: 'admin-recording-image' });
}

function scenario(stage: Stage): CrashScenario<World> {
  return {
    async setup() {
      const sandbox = await startSandbox({ accounts: 6, ous: 1, seed: 6, timeScale: 0.001, port: 0 });
      const prefix = `test:${randomBytes(6).toString('hex')}`;
      const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
      const config = sandbox.clientConfig();
      const fixture = crashTestExecutor({ redis, prefix, endpoint: sandbox.url, credentials: config.credentials });
      const management = sandbox.world.org.managementAccountId;
      const account = sandbox.world.snapshot().accounts.find((candidate) => candidate.status === 'ACTIVE' && candidate.id !== management)!.id;
      const world: World = { sandbox, prefix, redis, queues: new JobQueues(redis, { prefix }), account, fixture, workers: [], before: 0 };
      const fileId = await fixture.runs.storeFile({ file: 'recording.yaml', text: text.replace('  ous: [Root/Workloads/Prod]', `  accounts: ["${account}"]`) });
      if (stage === 'image-made') await prepareImage(world, fixture.executor, fixture.runs, fileId);
      world.before = sandbox.requests().length;
      await fixture.runs.create({ id: RUN_ID, kind: 'setup', recording: 'admin-recording', fileId, waitSeconds: stage === 'fresh' ? WAIT_FOR_IMAGE_SECONDS : 30 });
      return world;
    },
    spawn({ sandbox, prefix }, env) {
      return spawn(process.execPath, ['--import', 'tsx', '--conditions=@orgshield/source', 'test/recording-worker-process.ts'], {
        cwd: packageRoot,
        env: { ...process.env, ...sandbox.env(), SANDBOX_URL: sandbox.url, QUEUE_PREFIX: prefix, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    },
    async start(world) {
      await world.queues.submit(recordingSetupJob, { runId: RUN_ID });
    },
    async recover(world, crash) {
      const where = crash ? `after crash point ${crash.index} (${crash.point})` : 'without a crash';
      recoveryWorker(world);
      expect(await settled(world.fixture.runs, RUN_ID, 60_000), where).toBe(stage === 'fresh' ? 'blocked' : 'completed');
      const sent = world.sandbox.requests().slice(world.before).filter((entry) => entry.account === world.account);
      const expected = stage === 'fresh' ? ['CreateSecret', 'CreateBucket', 'CreateRole', 'CreateImageBuilder'] : ['CreateFleet', 'StartFleet', 'CreateStack', 'CreateUsageReportSubscription', 'AssociateFleet', 'CreateUser', 'BatchAssociateUserStack'];
      for (const operation of ONCE) {
        expect(sent.filter((entry) => entry.operation === operation).map((entry) => entry.status), `${operation} ${where}`).toEqual(expected.includes(operation) ? [200] : []);
      }
      if (stage === 'image-made') {
        const members = new MemberCredentials(world.fixture.clients, { managementAccountId: world.sandbox.world.org.managementAccountId });
        const appstream = world.fixture.clients.client(AppStreamClient, members.target(world.account, REGION));
        expect((await appstream.send(new DescribeFleetsCommand({ Names: ['admin-fleet'] }))).Fleets?.[0]?.State, where).toBe('RUNNING');
        expect((await appstream.send(new ListAssociatedFleetsCommand({ StackName: 'admin-stack' }))).Names, where).toEqual(['admin-fleet']);
      }
    },
    async teardown(world) {
      await Promise.all(world.workers.map((worker) => worker.close(true)));
      await world.queues.close();
      world.fixture.clients.destroy();
      await world.sandbox.close();
      const keys = await world.redis.keys(`${world.prefix}:*`);
      if (keys.length > 0) await world.redis.unlink(...keys);
      world.redis.disconnect();
    },
  };
}

/** Points every setup run has, around its steps: start, the target's lock (named by its region), and the end. */
const opening = ['redis:orgshieldRunTransition state', `redis:orgshieldLockAcquire ${REGION}`];
/** (Progress goes through the BullMQ worker's own connection: not a point of the step.) */
const closing = [`redis:orgshieldLockRelease ${REGION}`, 'redis:multi hset result', 'redis:orgshieldRunTransition state'];
/** A step that changes nothing (or, the image, waits): in its guard and out. */
const unchanged = ['redis:orgshieldRunEnter state', 'redis:orgshieldRunComplete inflight'];
const step = (...calls: string[]) => ['redis:orgshieldRunEnter state', ...calls.map((call) => `aws:${call}`), 'redis:orgshieldRunComplete inflight'];

describe('a recording setup job killed at every crash point', () => {
  it('a fresh target, up to the image: a new worker finishes the run, each Create sent once', { timeout: LONG ? 1_800_000 : 900_000 }, async () => {
    const run = await crashAtEveryPoint(scenario('fresh'), {
      timeoutMs: 90_000,
      sample,
      expectedPoints: [
        ...opening,
        ...step('secretsmanager:CreateSecret'),
        ...step('s3:CreateBucket', 's3:PutBucketEncryption', 's3:PutBucketVersioning', 's3:PutPublicAccessBlock', 's3:PutBucketLifecycleConfiguration', 's3:PutBucketPolicy'),
        ...step('iam:CreateRole', 'iam:PutRolePolicy'),
        ...step('appstream:CreateImageBuilder'),
        // The image waits for Image Assistant: its guard is left without a result.
        'redis:orgshieldRunEnter state',
        'redis:zrem inflight',
        ...closing,
      ],
    });
    expect(run.crashedAt).toEqual(run.points.filter((point, index) => sample(index, point)));
  });

  it('the image made: fleet, stack and users, each Create, StartFleet, AssociateFleet and BatchAssociateUserStack sent once', { timeout: LONG ? 1_800_000 : 900_000 }, async () => {
    const run = await crashAtEveryPoint(scenario('image-made'), {
      timeoutMs: 90_000,
      sample,
      expectedPoints: [
        ...opening,
        ...unchanged, // pseudonym key
        ...unchanged, // bucket
        ...unchanged, // fleet role
        ...unchanged, // image builder: the image exists
        ...unchanged, // image
        ...step('appstream:CreateFleet', 'appstream:StartFleet'),
        ...step('appstream:CreateStack', 'appstream:CreateUsageReportSubscription', 'appstream:AssociateFleet'),
        ...step('appstream:CreateUser', 'appstream:BatchAssociateUserStack'),
        ...closing,
      ],
    });
    expect(run.crashedAt).toEqual(run.points.filter((point, index) => sample(index, point)));
  });
});

import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { discoverOrganization, MemberCredentials, type OrganizationSnapshot } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { JobQueues } from '@orgshield/jobs';
import type { RunningSandbox, SandboxOptions } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import type { TestAPI } from 'vitest';
import { DRILLS_QUEUE, drillStartJob, drillStepJob } from '../src/drill-contracts.js';
import { DrillControl } from '../src/drill-control.js';
import { DrillExecutor, type DrillRuntime } from '../src/drill-executor.js';
import { drillClients } from '../src/drs-live.js';

/**
 * What the integration tests run a drill with: the real clients against a sandbox, Redis under
 * the test's own prefix, and BullMQ workers on the drills queue that run each job through its
 * contract, as apps/worker's processors do.
 */
export interface DrillHarness {
  redis: Redis;
  queues: JobQueues;
  aws: AwsClientFactory;
  control: DrillControl;
  executor: DrillExecutor;
  organization(): Promise<OrganizationSnapshot>;
  startWorker(): Promise<Worker>;
  close(): Promise<void>;
}

export interface DrillHarnessOptions {
  /** Simulated seconds per real second: 1 / the sandbox's timeScale. */
  timeScale?: number;
  pollMs?: number;
}

/** Runs a job off the drills queue as apps/worker's drill processors do. */
export async function processDrillJob(executor: DrillExecutor, job: Job): Promise<unknown> {
  if (job.name === drillStartJob.name) return executor.start(drillStartJob.payload.parse(job.data));
  if (job.name === drillStepJob.name) {
    const payload = drillStepJob.payload.parse(job.data);
    try {
      return await executor.runStep(payload);
    } catch (error) {
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await executor.failed(payload.drillId, payload.step, (error as Error).message);
      throw error;
    }
  }
  throw new Error(`no drill processor for ${job.name}`);
}

export async function startDrillHarness(sandbox: RunningSandbox, prefix: string, options: DrillHarnessOptions = {}): Promise<DrillHarness> {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const queues = new JobQueues(redis, { prefix });
  const env = sandbox.env();
  const aws = new AwsClientFactory({
    endpoint: sandbox.url,
    region: 'us-east-1',
    credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' },
    rateLimits: { 'drs:*': { rate: 2000, burst: 2000 }, 'ec2:*': { rate: 2000, burst: 2000 }, 'organizations:*': { rate: 2000, burst: 2000 }, 'sts:*': { rate: 2000, burst: 2000 } },
  });
  let organization: Promise<OrganizationSnapshot> | undefined;
  const getOrganization = () => (organization ??= discoverOrganization(aws));
  const members = async () => new MemberCredentials(aws, { managementAccountId: (await getOrganization()).managementAccountId });
  const memberCredentials = await members();
  const runtime: DrillRuntime = {
    redis,
    prefix,
    queue: { queueStep: async (payload, jobOptions) => void (await queues.submit(drillStepJob, payload, jobOptions)) },
    clients: (jobId) => drillClients(aws, memberCredentials, jobId),
    organization: getOrganization,
    timeScale: options.timeScale ?? 1000,
    pollMs: options.pollMs ?? 100,
  };
  const executor = new DrillExecutor(runtime);
  const workers: Worker[] = [];
  return {
    redis,
    queues,
    aws,
    control: new DrillControl(redis, queues),
    executor,
    organization: getOrganization,
    async startWorker() {
      const worker = new Worker(DRILLS_QUEUE, (job) => processDrillJob(executor, job), { connection: redis.duplicate(), prefix, concurrency: 8 });
      worker.on('error', () => undefined);
      await worker.waitUntilReady();
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      await queues.close();
      aws.destroy();
      redis.disconnect();
    },
  };
}

/** `sandboxTest` with a drill harness on the test's sandbox (1000x faster) and Redis prefix. */
export const drillTest: TestAPI<{ sandboxOptions: SandboxOptions; sandbox: RunningSandbox; redisPrefix: string; harnessOptions: DrillHarnessOptions; harness: DrillHarness }> = sandboxTest
  .extend<{ harnessOptions: DrillHarnessOptions; harness: DrillHarness }>({
    harnessOptions: {},
    harness: async ({ sandbox, redisPrefix, harnessOptions }, use) => {
      const harness = await startDrillHarness(sandbox, redisPrefix, harnessOptions);
      try {
        await use(harness);
      } finally {
        await harness.close();
      }
    },
  })
  .override({ sandboxOptions: { accounts: 12, ous: 4, seed: 1, timeScale: 0.001 } });

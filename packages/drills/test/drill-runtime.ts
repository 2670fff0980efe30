import { Worker, type Job } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { discoverOrganization, MemberCredentials, type OrganizationSnapshot } from '@orgshield/accounts';
import { AwsClientFactory, type AwsClientFactoryOptions } from '@orgshield/aws';
import { JobQueues } from '@orgshield/jobs';
import { drsPlan, startSandbox, type RunningSandbox, type SandboxOptions } from '@orgshield/sandbox';
import { DRILLS_QUEUE, drillStartJob, drillStepJob } from '../src/drill-contracts.js';
import { DrillControl } from '../src/drill-control.js';
import { DrillExecutor, type DrillRuntime } from '../src/drill-executor.js';
import { drillClients } from '../src/drs-live.js';
import type { DrillSource } from '../src/drill-loader.js';

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
  /**
   * Starts a worker on the drills queue. `leaseMs` is its BullMQ job lock and stalled-job check,
   * as ORGSHIELD_LEASE_MS sets them in apps/worker (BullMQ's 30 s by default): a worker taking
   * over from a killed one finds the dead worker's job within about two leases.
   */
  startWorker(options?: { leaseMs?: number }): Promise<Worker>;
  close(): Promise<void>;
}

export interface DrillHarnessOptions {
  /** Simulated seconds per real second: 1 / the sandbox's timeScale. */
  timeScale?: number;
  pollMs?: number;
  /** How long a launch waits for another DRS job holding its servers (simulated ms). */
  holdTimeoutMs?: number;
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

/** Client-side limits high enough that a test drill is never paced by the defaults. */
export const TEST_RATE_LIMITS = { 'drs:*': { rate: 2000, burst: 2000 }, 'ec2:*': { rate: 2000, burst: 2000 }, 'organizations:*': { rate: 2000, burst: 2000 }, 'sts:*': { rate: 2000, burst: 2000 } };

/** What a drill runtime needs of a sandbox: its URL and the credentials its env names. */
export interface SandboxEndpoint {
  url: string;
  env(): Record<string, string>;
}

/** The AWS client factory against the sandbox, as the harness and the crash harness's worker process use it. */
export function sandboxAws(sandbox: SandboxEndpoint, options: { onMutation?: AwsClientFactoryOptions['onMutation'] } = {}): AwsClientFactory {
  const env = sandbox.env();
  return new AwsClientFactory({
    endpoint: sandbox.url,
    region: 'us-east-1',
    credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' },
    rateLimits: TEST_RATE_LIMITS,
    ...(options.onMutation ? { callerAccountId: 'caller', onMutation: options.onMutation } : {}),
  });
}

/** A drill runtime on the sandbox and Redis under `prefix`, its steps queued on `queues`. */
export async function sandboxDrillRuntime(aws: AwsClientFactory, redis: Redis, queues: JobQueues, options: DrillHarnessOptions & { prefix: string }): Promise<{ runtime: DrillRuntime; organization: () => Promise<OrganizationSnapshot> }> {
  let organization: Promise<OrganizationSnapshot> | undefined;
  const getOrganization = () => (organization ??= discoverOrganization(aws));
  const memberCredentials = new MemberCredentials(aws, { managementAccountId: (await getOrganization()).managementAccountId });
  const runtime: DrillRuntime = {
    redis,
    prefix: options.prefix,
    queue: { queueStep: async (payload, jobOptions) => void (await queues.submit(drillStepJob, payload, jobOptions)) },
    clients: (jobId) => drillClients(aws, memberCredentials, jobId),
    organization: getOrganization,
    timeScale: options.timeScale ?? 1000,
    pollMs: options.pollMs ?? 100,
    leaseMs: TEST_LEASE_MS,
    ...(options.holdTimeoutMs === undefined ? {} : { holdTimeoutMs: options.holdTimeoutMs }),
  };
  return { runtime, organization: getOrganization };
}

/** The lease of a step's place in the drill's guard in tests: a killed worker's hold lapses quickly. */
export const TEST_LEASE_MS = 2000;

export async function startDrillHarness(sandbox: SandboxEndpoint, prefix: string, options: DrillHarnessOptions = {}): Promise<DrillHarness> {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const queues = new JobQueues(redis, { prefix });
  const aws = sandboxAws(sandbox);
  const { runtime, organization: getOrganization } = await sandboxDrillRuntime(aws, redis, queues, { ...options, prefix });
  const executor = new DrillExecutor(runtime);
  const workers: Worker[] = [];
  return {
    redis,
    queues,
    aws,
    control: new DrillControl(redis, queues),
    executor,
    organization: getOrganization,
    async startWorker({ leaseMs }: { leaseMs?: number } = {}) {
      const lease = leaseMs === undefined ? {} : { lockDuration: leaseMs, stalledInterval: leaseMs };
      const worker = new Worker(DRILLS_QUEUE, (job) => processDrillJob(executor, job), { connection: redis.duplicate(), prefix, concurrency: 8, ...lease });
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


/**
 * Runs `work` with a sandbox of its own, a drill harness on a fresh Redis prefix and one worker;
 * closes both and deletes the prefix's keys after. For tests whose sandbox options differ from
 * the `drillTest` fixture's (fixture overrides apply to the whole file).
 */
export async function withSandboxDrills(options: { sandbox: SandboxOptions; harness?: DrillHarnessOptions }, work: (sandbox: RunningSandbox, harness: DrillHarness) => Promise<void>): Promise<void> {
  const sandbox = await startSandbox({ ...options.sandbox, port: 0 });
  const prefix = `test:${randomBytes(6).toString('hex')}`;
  const harness = await startDrillHarness(sandbox, prefix, options.harness ?? {});
  try {
    await harness.startWorker();
    await work(sandbox, harness);
  } finally {
    await harness.close();
    await sandbox.close();
    await deletePrefix(prefix);
  }
}

/** Deletes every Redis key of a test's prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
}

/**
 * A drill file over the sandbox's three drill accounts, isolated in their drill subnets: the
 * `web-N` servers (or `hostnames`), one wave without checks unless `fields` says otherwise.
 */
export function sandboxWebDrill(sandbox: RunningSandbox, options: { name: string; hostnames?: string[]; fields?: Record<string, unknown>; caFiles?: Record<string, string> }): DrillSource {
  const plan = drsPlan(sandbox.world);
  const networks = plan.drillAccountIds.map((accountId) => plan.networkOf(accountId, plan.drillRegion));
  const drill = {
    kind: 'Drill',
    name: options.name,
    targets: { accounts: plan.drillAccountIds },
    regions: [plan.drillRegion],
    servers: { hostnames: options.hostnames ?? ['web-0.corp.example.com', 'web-1.corp.example.com', 'web-2.corp.example.com'] },
    waves: [{ name: 'all' }],
    objectives: { rto: '1h', rpo: '1h' },
    isolation: { subnets: networks.map((n) => n.isolatedSubnet.id), securityGroups: networks.map((n) => n.isolatedSecurityGroup.id) },
    ...options.fields,
  };
  return { file: `${options.name}.yaml`, text: JSON.stringify(drill, null, 2), caFiles: options.caFiles ?? {} };
}

import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { AwsClientFactory } from '@orgshield/aws';
import { connectRedis, duplicateConnection, JobQueues, type RedisClient } from '@orgshield/jobs';
import { currentOrganization } from '../src/organization-source.js';
import { RolloutControl } from '../src/rollout-control.js';
import { jobAttempt, RolloutExecutor } from '../src/rollout-executor.js';
import { FIREWALL_QUEUES, firewallRolloutDetailsJob, firewallRolloutRollbackJob, firewallRolloutStartJob, firewallRolloutStepJob, firewallScheduledRolloutJob } from '../src/rollout-jobs.js';
import { bullmqStepQueue } from '../src/rollout-step-queue.js';

/**
 * What the integration tests run a rollout with: the real clients against a sandbox, Redis
 * under the test's own prefix, and BullMQ workers on the firewall queues that run jobs with
 * processFirewallJob, as worker-runtime's firewall processors run them.
 */
export interface Harness {
  redis: RedisClient;
  queues: JobQueues;
  aws: AwsClientFactory;
  control: RolloutControl;
  executor: RolloutExecutor;
  /**
   * A worker as worker-runtime runs one: a BullMQ worker on each firewall queue (steps, detail
   * batches), each 4 jobs at a time by default; `name` marks the jobs they process (Job.processedBy).
   */
  startWorker(options?: { name?: string; concurrency?: number }): Promise<void>;
  close(): Promise<void>;
}

/** What the harness needs of a running sandbox (the fixture's `sandbox`). */
interface SandboxEndpoint {
  url: string;
  env(): Record<string, string>;
}

/** The lease of steps and locks in tests: a killed worker's hold lapses quickly. */
export const TEST_LEASE_MS = 2000;

/** Client-side limits high enough that a 300-account gate is not paced by the defaults. */
export const TEST_RATE_LIMITS = {
  'fms:*': { rate: 2000, burst: 2000 },
  'organizations:*': { rate: 2000, burst: 2000 },
  'sts:*': { rate: 2000, burst: 2000 },
};

function sandboxClients(sandbox: SandboxEndpoint): AwsClientFactory {
  const env = sandbox.env();
  return new AwsClientFactory({
    endpoint: sandbox.url,
    region: 'us-east-1',
    credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' },
    rateLimits: TEST_RATE_LIMITS,
  });
}

/** Runs a job off the firewall queue as worker-runtime does: its contract checks the payload, one executor call runs it. */
export function processFirewallJob(executor: RolloutExecutor, job: Job): Promise<unknown> {
  const attempt = jobAttempt(job);
  switch (job.name) {
    case firewallRolloutStartJob.name:
      return executor.start(firewallRolloutStartJob.payload.parse(job.data), attempt);
    case firewallRolloutStepJob.name:
      return executor.runStep(firewallRolloutStepJob.payload.parse(job.data), attempt);
    case firewallRolloutDetailsJob.name:
      return executor.readDetails(firewallRolloutDetailsJob.payload.parse(job.data), attempt);
    case firewallRolloutRollbackJob.name:
      return executor.rollback(firewallRolloutRollbackJob.payload.parse(job.data), attempt);
    case firewallScheduledRolloutJob.name:
      return executor.runScheduled(firewallScheduledRolloutJob.payload.parse(job.data), job.timestamp, attempt);
    default:
      throw new Error(`No firewall processor for ${job.name} jobs.`);
  }
}

export interface HarnessOptions {
  gatePollMs?: number;
  workerOptions?: { lockDuration?: number; stalledInterval?: number };
  /** Another Redis than REDIS_URL's (a cluster's `redis+cluster://` URL: the prefix must then carry a hash tag). */
  redisUrl?: string;
}

export async function startHarness(sandbox: SandboxEndpoint, prefix: string, options: HarnessOptions = {}): Promise<Harness> {
  const redis = await connectRedis(options.redisUrl ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  const queues = new JobQueues(redis, { prefix });
  const aws = sandboxClients(sandbox);
  const steps = bullmqStepQueue(queues);
  const executor = new RolloutExecutor({
    redis,
    queuePrefix: prefix,
    steps,
    aws,
    organization: () => currentOrganization(aws, redis, { keyPrefix: `${prefix}:` }),
    gatePollMs: options.gatePollMs ?? 200,
    leaseMs: TEST_LEASE_MS,
  });
  const workers: Worker[] = [];
  return {
    redis,
    queues,
    aws,
    control: new RolloutControl(redis, queues, steps),
    executor,
    async startWorker({ name, concurrency = 4 }: { name?: string; concurrency?: number } = {}) {
      for (const queue of FIREWALL_QUEUES) {
        const worker = new Worker(queue, (job) => processFirewallJob(executor, job), {
          connection: duplicateConnection(redis),
          prefix,
          concurrency,
          ...(name ? { name } : {}),
          ...options.workerOptions,
        });
        worker.on('error', () => undefined);
        await worker.waitUntilReady();
        workers.push(worker);
      }
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      await queues.close();
      aws.destroy();
      redis.disconnect();
    },
  };
}

/** Writes files (path -> text) into a fresh temporary folder and returns its path. */
export async function writeTree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'orgshield-rollout-'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

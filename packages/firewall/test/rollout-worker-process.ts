/**
 * A firewall worker in a process of its own, for the test that kills one mid-rollout.
 * Run with: node --import tsx --conditions=@orgshield/source test/rollout-worker-process.ts
 * Environment: SANDBOX_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, QUEUE_PREFIX, REDIS_URL.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { AwsClientFactory } from '@orgshield/aws';
import { JobQueues } from '@orgshield/jobs';
import { currentOrganization } from '../src/organization-source.js';
import { RolloutExecutor } from '../src/rollout-executor.js';
import { processFirewallJob, stepQueueOn, TEST_RATE_LIMITS } from './rollout-harness.js';

const prefix = process.env['QUEUE_PREFIX'] ?? 'orgshield';
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queues = new JobQueues(redis, { prefix });
const aws = new AwsClientFactory({
  endpoint: process.env['SANDBOX_URL'],
  region: 'us-east-1',
  credentials: { accessKeyId: process.env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: process.env['AWS_SECRET_ACCESS_KEY'] ?? '' },
  rateLimits: TEST_RATE_LIMITS,
});
const executor = new RolloutExecutor({ redis, queuePrefix: prefix, steps: stepQueueOn(queues), aws, organization: () => currentOrganization(aws, redis, { keyPrefix: `${prefix}:` }), gatePollMs: 200 });
const worker = new Worker('firewall', (job) => processFirewallJob(executor, job), {
  connection: redis.duplicate(),
  prefix,
  concurrency: 4,
  lockDuration: 1000,
  stalledInterval: 500,
});
worker.on('error', () => undefined);
await worker.waitUntilReady();
process.stdout.write('ready\n');

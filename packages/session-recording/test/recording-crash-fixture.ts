import type { Redis } from 'ioredis';
import { discoverOrganization, MemberCredentials, type OrganizationSnapshot } from '@orgshield/accounts';
import { AwsClientFactory, type MutationAuditEntry } from '@orgshield/aws';
import { RecordingExecutor } from '../src/recording-executor.js';
import { RecordingRuns } from '../src/recording-runs.js';

/** Client-side limits high enough that the sandbox, not the defaults, sets the pace. */
const TEST_RATE_LIMITS = Object.fromEntries(['organizations', 'appstream', 's3', 'secretsmanager', 'iam', 'sts', 'ssm'].map((service) => [`${service}:*`, { rate: 2000, burst: 2000 }]));

/**
 * The setup executor as the crash tests run it, in the worker that dies and in the one that
 * finishes: the sandbox's endpoint, short leases (a dead worker's lock lapses in a second) and
 * quick polls.
 */
export function crashTestExecutor(options: {
  redis: Redis;
  prefix: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  onMutation?: (entry: MutationAuditEntry) => void;
}): { executor: RecordingExecutor; runs: RecordingRuns; clients: AwsClientFactory } {
  const clients = new AwsClientFactory({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: options.credentials,
    rateLimits: TEST_RATE_LIMITS,
    ...(options.onMutation ? { onMutation: options.onMutation } : {}),
  });
  let organization: Promise<OrganizationSnapshot> | undefined;
  const snapshot = () => (organization ??= discoverOrganization(clients));
  const runs = new RecordingRuns(options.redis, options.prefix);
  const executor = new RecordingExecutor({
    runs,
    clients,
    organization: snapshot,
    members: async () => new MemberCredentials(clients, { managementAccountId: (await snapshot()).managementAccountId }),
    pollMs: 50,
    leaseMs: 1000,
  });
  return { executor, runs, clients };
}

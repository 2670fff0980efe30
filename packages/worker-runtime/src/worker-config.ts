import { z } from 'zod';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { clusterQueuePrefix, DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, isClusterUrl } from '@orgshield/jobs';
import { FIREWALL_DETAILS_QUEUE, FIREWALL_QUEUE } from '@orgshield/firewall';
import { QUEUE_NAMES } from './job-contracts.js';

const concurrencyList = z
  .string()
  .regex(/^([\w-]+=\d+)(,[\w-]+=\d+)*$/, 'use the form org=1,investigations=2')
  .transform((value, ctx) => {
    const result: Partial<Record<string, number>> = {};
    for (const pair of value.split(',')) {
      const [queue = '', count = ''] = pair.split('=');
      if (!QUEUE_NAMES.includes(queue)) {
        ctx.addIssue({ code: 'custom', message: `unknown queue "${queue}" (queues: ${QUEUE_NAMES.join(', ')})` });
        return z.NEVER;
      }
      result[queue] = Math.max(1, Number(count));
    }
    // A gate's detail batches run on a queue of their own; unless set apart, as many at once as the rollouts' steps.
    const steps = result[FIREWALL_QUEUE];
    if (steps !== undefined && result[FIREWALL_DETAILS_QUEUE] === undefined) result[FIREWALL_DETAILS_QUEUE] = steps;
    return result;
  });

/** The worker's whole configuration comes from the environment, checked here once. */
export const WorkerConfigSchema = z.object({
  /** One Redis (`redis://`, `rediss://`) or a cluster's seed nodes (`redis+cluster://host:port,host:port`, `rediss+cluster://`). */
  REDIS_URL: z.string().default(DEFAULT_REDIS_URL),
  /** On a cluster it is used as a hash tag (`{orgshield}`), so every key of orgshield shares one slot. */
  ORGSHIELD_QUEUE_PREFIX: z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-" only').default(DEFAULT_QUEUE_PREFIX),
  ORGSHIELD_CONCURRENCY: concurrencyList.optional(),
  ORGSHIELD_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** 127.0.0.1 by default; 0.0.0.0 where an orchestrator probes the worker from outside. */
  ORGSHIELD_HTTP_HOST: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
  ORGSHIELD_ROLE_NAME: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'an IAM role name').default('OrganizationAccountAccessRole'),
  ORGSHIELD_EXTERNAL_ID: z.string().min(2).max(1224).optional(),
  ORGSHIELD_RATE_LIMITS: z.string().optional().describe('JSON: {"organizations:*": {"rate": 10, "burst": 10}}'),
  /** The folder investigation reports are written under: a request names a folder inside it, or none. */
  ORGSHIELD_REPORT_DIR: z.string().min(1).default('reports'),
  /** The folder a request's local flow-log path is read under (S3 locations are not confined by it). */
  ORGSHIELD_FLOW_LOG_DIR: z.string().min(1).default('flow-logs'),
  /** Days a run's records, events and indexes stay in Redis after their last write. */
  ORGSHIELD_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(30),
  /** Days what people keep on purpose stays: drill history, erasure records (the audit trail has its own, below). */
  ORGSHIELD_KEEP_DAYS: z.coerce.number().positive().max(36500).default(365),
  /** Simulated seconds per real second of the AWS endpoint (a sandbox run with --time-scale); drills report RTO in simulated time. */
  ORGSHIELD_TIME_SCALE: z.coerce.number().positive().max(100_000).default(1),
  /** Wait between two looks at a drill's launching servers and pending checks. */
  ORGSHIELD_DRILL_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(2000),
  /** How long the audit trail of mutating AWS calls keeps its entries. */
  ORGSHIELD_AUDIT_RETENTION_DAYS: z.coerce.number().positive().max(36_500).default(365),
  ORGSHIELD_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /**
   * How long a worker's hold lasts without renewal: its BullMQ job locks (and how often stalled
   * jobs are looked for) and its steps' run guards and fenced locks. A worker that dies has its
   * jobs taken over by another within about twice this.
   */
  ORGSHIELD_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;

/** Settings whose value is a secret (a Redis URL can carry a password): a rejected one is named, never echoed. */
const SECRET_SETTINGS: ReadonlySet<string> = new Set(['ORGSHIELD_EXTERNAL_ID', 'REDIS_URL']);

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = WorkerConfigSchema.safeParse(env);
  if (parsed.success) {
    // A malformed REDIS_URL is one sentence and exit 2 here (parseRedisUrl throws it), before anything connects.
    const cluster = isClusterUrl(parsed.data.REDIS_URL);
    return cluster ? { ...parsed.data, ORGSHIELD_QUEUE_PREFIX: clusterQueuePrefix(parsed.data.ORGSHIELD_QUEUE_PREFIX) } : parsed.data;
  }
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? '');
  const shown = SECRET_SETTINGS.has(key) ? `${key} (value not shown: it is a secret)` : `${key}="${env[key] ?? ''}"`;
  throw new OrgshieldError('InvalidConfig', `${shown} is not valid: ${issue?.message ?? 'unknown problem'}.`, { exitCode: EXIT_CODES.badInput });
}

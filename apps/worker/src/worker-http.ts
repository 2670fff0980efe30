import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import type { JobQueues } from '@orgshield/jobs';
import type { JobFinishedEvent, RunGaugeSample } from '@orgshield/worker-runtime';

/** What a scrape reads from Redis: queue depths and the runs under way. */
export interface MetricSources {
  queues: readonly string[];
  /** Jobs waiting in the queue, and the age (s) of the oldest one (0 when none waits). */
  queueDepth(queue: string): Promise<{ waiting: number; oldestAgeSeconds: number }>;
  rolloutAccounts(): Promise<RunGaugeSample[]>;
  drillServers(): Promise<RunGaugeSample[]>;
}

/**
 * The worker's Prometheus metrics, what an on-call person graphs and alerts on: queue depth and
 * age, jobs by kind and outcome (completed, failed, skipped) and their duration, AWS calls by
 * service, operation and outcome with throttles and retries, and the accounts of each rollout
 * (servers of each drill) by state. One registry per service so tests can run several. Gauges
 * read Redis at scrape time; a scrape that cannot reach Redis leaves them out rather than failing.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly jobs = new Counter({
    name: 'orgshield_jobs_total',
    help: 'Jobs finished, by kind (job name) and outcome (completed, failed, skipped).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'orgshield_job_duration_seconds',
    help: 'How long jobs ran, by kind (job name).',
    labelNames: ['kind'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  private readonly awsCalls = new Counter({
    name: 'orgshield_aws_calls_total',
    help: 'AWS calls ended (after retries), by service, operation and outcome (ok, throttled, error).',
    labelNames: ['service', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly awsThrottled = new Counter({
    name: 'orgshield_aws_throttled_total',
    help: 'AWS attempts answered with a throttling error, by service and operation.',
    labelNames: ['service', 'operation'] as const,
    registers: [this.registry],
  });
  private readonly awsRetries = new Counter({
    name: 'orgshield_aws_retries_total',
    help: 'AWS attempts beyond the first, by service and operation.',
    labelNames: ['service', 'operation'] as const,
    registers: [this.registry],
  });

  constructor(sources?: MetricSources) {
    collectDefaultMetrics({ register: this.registry });
    if (sources) this.gauges(sources);
  }

  jobFinished(event: JobFinishedEvent): void {
    this.jobs.inc({ kind: event.name, outcome: event.outcome });
    this.duration.observe({ kind: event.name }, event.durationMs / 1000);
  }

  /** An AWS call ended (the runtime's client factory observer). */
  called(call: { service: string; operation: string; outcome: string; attempts: number }): void {
    this.awsCalls.inc({ service: call.service, operation: call.operation, outcome: call.outcome });
    if (call.attempts > 1) this.awsRetries.inc({ service: call.service, operation: call.operation }, call.attempts - 1);
  }

  throttled(call: { service: string; operation: string }): void {
    this.awsThrottled.inc(call);
  }

  private gauges(sources: MetricSources): void {
    const registers = [this.registry];
    const depths = async () => Promise.all(sources.queues.map(async (queue) => ({ queue, ...(await sources.queueDepth(queue)) })));
    new Gauge({
      name: 'orgshield_queue_waiting',
      help: 'Jobs waiting to be run, per queue.',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        this.reset();
        for (const { queue, waiting } of await depths().catch(() => [])) this.set({ queue }, waiting);
      },
    });
    new Gauge({
      name: 'orgshield_queue_oldest_age_seconds',
      help: 'Age of the oldest job waiting to be run, per queue (0 when none waits).',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        this.reset();
        for (const { queue, oldestAgeSeconds } of await depths().catch(() => [])) this.set({ queue }, oldestAgeSeconds);
      },
    });
    const runGauge = (name: string, help: string, label: string, read: () => Promise<RunGaugeSample[]>) =>
      new Gauge({
        name,
        help,
        labelNames: [label, 'state'] as const,
        registers,
        async collect() {
          this.reset();
          for (const sample of await read().catch(() => [])) this.set({ [label]: sample.run, state: sample.state }, sample.count);
        },
      });
    runGauge('orgshield_rollout_accounts', 'Accounts of each rollout under way, by state (applied-audit, applied-enforce, pending, non-compliant).', 'rollout', () => sources.rolloutAccounts());
    runGauge('orgshield_drill_servers', 'Source servers of each drill under way, by status (waiting, launching, checking, passed, failed, skipped).', 'drill', () => sources.drillServers());
  }
}

/** Jobs waiting in a queue and the age of the oldest (by when it was added); delayed jobs are not waiting yet. */
export async function queueDepth(queues: JobQueues, name: string): Promise<{ waiting: number; oldestAgeSeconds: number }> {
  const queue = queues.queue(name);
  const [waiting, [oldest]] = await Promise.all([queue.getWaitingCount(), queue.getJobs(['wait'], 0, 0, true)]);
  return { waiting, oldestAgeSeconds: oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0 };
}

/** The port is taken (or not ours to take): one sentence naming the setting, exit code 2. */
export class HttpPortUnavailableError extends OrgshieldError {
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const why = cause.code === 'EADDRINUSE' ? 'is already in use' : cause.code === 'EACCES' ? 'is not allowed for this user' : `cannot be used (${cause.code ?? cause.message})`;
    super('HttpPortUnavailable', `ORGSHIELD_HTTP_PORT ${port} on ${host} ${why}: set ORGSHIELD_HTTP_PORT to a free port.`, { exitCode: EXIT_CODES.badInput, cause });
  }
}

/**
 * /healthz (alive), /readyz (ready: `readiness` resolves to null; otherwise 503 with its reason),
 * /metrics (Prometheus).
 */
export function startWorkerHttp(host: string, port: number, metrics: WorkerMetrics, readiness: () => Promise<string | null>): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      readiness()
        .catch((error: unknown) => (error instanceof Error ? error.message : String(error)))
        .then((notReady) => res.writeHead(notReady === null ? 200 : 503, { 'content-type': 'text/plain' }).end(`${notReady ?? 'ready'}\n`));
    } else if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new HttpPortUnavailableError(host, port, error)));
    server.listen(port, host, () => resolve(server));
  });
}

import { createServer, type Server } from 'node:http';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the worker; one registry per service so tests can run several. */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly finished = new Counter({
    name: 'orgshield_jobs_finished_total',
    help: 'Jobs finished, by job name, queue and outcome.',
    labelNames: ['name', 'queue', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'orgshield_job_duration_seconds',
    help: 'How long jobs ran, by job name.',
    labelNames: ['name'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  jobFinished(event: { name: string; queue: string; ok: boolean; durationMs: number }): void {
    this.finished.inc({ name: event.name, queue: event.queue, outcome: event.ok ? 'completed' : 'failed' });
    this.duration.observe({ name: event.name }, event.durationMs / 1000);
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
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

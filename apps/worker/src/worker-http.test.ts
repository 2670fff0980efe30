import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, JobQueues } from '@orgshield/jobs';
import { JOB_CONTRACTS } from '@orgshield/worker-runtime';
import { HttpPortUnavailableError, queueDepth, startWorkerHttp, WorkerMetrics } from './worker-http.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('the worker HTTP server', () => {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('answers health, readiness as it changes, and metrics with jobs counted by kind and outcome', async () => {
    const metrics = new WorkerMetrics();
    let ready = false;
    const server = await startWorkerHttp('127.0.0.1', 0, metrics, async () => (ready ? null : 'starting'));
    closers.push(() => server.close());
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect(await (await fetch(`${base}/readyz`)).text()).toBe('ready\n');
    metrics.jobFinished({ name: 'org.sync', queue: 'org', outcome: 'completed', durationMs: 1200 });
    metrics.jobFinished({ name: 'firewall.rollout.scheduled', queue: 'firewall', outcome: 'skipped', durationMs: 5 });
    metrics.called({ service: 'fms', operation: 'PutPolicy', outcome: 'ok', attempts: 3 });
    metrics.throttled({ service: 'fms', operation: 'PutPolicy' });
    const body = await (await fetch(`${base}/metrics`)).text();
    expect(body).toContain('orgshield_jobs_total{kind="org.sync",outcome="completed"} 1');
    expect(body).toContain('orgshield_jobs_total{kind="firewall.rollout.scheduled",outcome="skipped"} 1');
    expect(body).toContain('orgshield_job_duration_seconds_count{kind="org.sync"} 1');
    expect(body).toContain('orgshield_aws_calls_total{service="fms",operation="PutPolicy",outcome="ok"} 1');
    expect(body).toContain('orgshield_aws_retries_total{service="fms",operation="PutPolicy"} 2');
    expect(body).toContain('orgshield_aws_throttled_total{service="fms",operation="PutPolicy"} 1');
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });

  it('reports the waiting jobs of each queue and the age of the oldest, read from Redis at scrape time', async () => {
    const prefix = `test-metrics-${randomUUID()}`;
    const redis = await connectRedis(REDIS_URL);
    const queues = new JobQueues(redis, { prefix });
    closers.push(async () => {
      await queues.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    });
    // org.sync on this test's own prefix, where no worker listens.
    const job = JOB_CONTRACTS.find((contract) => contract.name === 'org.sync');
    if (!job) throw new Error('no org.sync contract');
    const metrics = new WorkerMetrics({
      queues: ['org', 'firewall'],
      queueDepth: (name) => queueDepth(queues, name),
      rolloutAccounts: async () => [{ run: 'edge', state: 'pending', count: 289 }],
      drillServers: async () => [],
    });
    const server = await startWorkerHttp('127.0.0.1', 0, metrics, async () => null);
    closers.push(() => server.close());
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // No worker listens: the jobs wait. The oldest was added ~1.2 s before the scrape.
    await queues.submit(job, { requestedBy: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await queues.submit(job, { requestedBy: 'second' });
    const body = await (await fetch(`${base}/metrics`)).text();
    expect(body).toContain('orgshield_queue_waiting{queue="org"} 2');
    expect(body).toContain('orgshield_queue_waiting{queue="firewall"} 0');
    const age = Number(/orgshield_queue_oldest_age_seconds\{queue="org"\} ([\d.]+)/.exec(body)?.[1]);
    expect(age).toBeGreaterThanOrEqual(1.1);
    expect(body).toContain('orgshield_queue_oldest_age_seconds{queue="firewall"} 0');
    expect(body).toContain('orgshield_rollout_accounts{rollout="edge",state="pending"} 289');
  });

  it('names ORGSHIELD_HTTP_PORT when the port is taken', async () => {
    const first = await startWorkerHttp('127.0.0.1', 0, new WorkerMetrics(), async () => null);
    closers.push(() => first.close());
    const port = (first.address() as AddressInfo).port;
    const taken = startWorkerHttp('127.0.0.1', port, new WorkerMetrics(), async () => null);
    await expect(taken).rejects.toBeInstanceOf(HttpPortUnavailableError);
    await expect(taken).rejects.toThrow(`ORGSHIELD_HTTP_PORT ${port} on 127.0.0.1 is already in use: set ORGSHIELD_HTTP_PORT to a free port.`);
  });
});

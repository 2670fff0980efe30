import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorkerHttp, WorkerMetrics } from './worker-http.js';

describe('the worker HTTP server', () => {
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((close) => close()));

  it('answers health, readiness as it changes, and metrics with finished jobs counted', async () => {
    const metrics = new WorkerMetrics();
    let ready = false;
    const server = await startWorkerHttp('127.0.0.1', 0, metrics, async () => (ready ? null : 'starting'));
    closers.push(() => server.close());
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect(await (await fetch(`${base}/readyz`)).text()).toBe('ready\n');
    metrics.jobFinished({ name: 'org.sync', queue: 'org', ok: true, durationMs: 1200 });
    const body = await (await fetch(`${base}/metrics`)).text();
    expect(body).toContain('orgshield_jobs_finished_total{name="org.sync",queue="org",outcome="completed"} 1');
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });
});

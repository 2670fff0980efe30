import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReportPage, type ReportPage } from '../../../vitest.report-page.js';
import { drillOf, NOW, regionOf, serverOf } from '../test/drill-fixtures.js';
import { initialRun, measureServer, measureWave, type ServerRun } from './drill-measure.js';
import { planDrill } from './drill-planner.js';
import { buildDrillReport, DrillReportSchema, renderDrillHtml, renderDrillMarkdown, serverLine, type DrillReport } from './drill-report.js';
import type { DrillRecord } from './drill-store.js';

const A = '111111111111';

/** Two waves: db passes, web has one server passing and one whose check never answered; one skipped. */
function finishedDrill(timeScale: number): { record: DrillRecord; runs: ServerRun[] } {
  const servers = [serverOf(A, 3), serverOf(A, 1), serverOf(A, 2, { hostname: '<img src=x onerror=alert(1)>' }), serverOf(A, 4, { replicationState: 'STALLED' })];
  const plan = planDrill({ drill: drillOf(), accounts: [A], live: [regionOf(A, servers)], now: NOW });
  const t0 = NOW + 1000;
  const runs = plan.servers.map(initialRun).map((run): ServerRun => {
    if (run.status === 'skipped') return run;
    const startedAt = run.wave === 'db' ? t0 : t0 + 20_000;
    const launchedAt = startedAt + 6_000;
    if (run.hostname === 'host-1') {
      return { ...run, status: 'failed', reason: 'check tcp:80 (127.0.0.9:80: ECONNREFUSED, 9 tries) did not pass within 600s of launch', startedAt, launchedAt, checks: [{ name: 'tcp:80', passed: false, attempts: 9, detail: '127.0.0.9:80: ECONNREFUSED' }] };
    }
    return { ...run, status: 'passed', startedAt, launchedAt, checksPassedAt: launchedAt + 2_000, checks: [{ name: 'tcp:80', passed: true, attempts: 2, detail: 'connected', at: launchedAt + 2_000 }] };
  });
  const record: DrillRecord = { id: 'payments-dr-1', name: 'payments-dr', createdAt: new Date(NOW).toISOString(), source: { file: 'd.yaml', text: '', caFiles: {} }, plan, timeScale };
  return { record, runs };
}

describe('drill measures', () => {
  it('measures RTO from StartRecovery to the last check and RPO from the reference time, scaling only measured time', () => {
    const { record, runs } = finishedDrill(60);
    const db = runs.find((run) => run.wave === 'db') as ServerRun;
    const measure = measureServer(db, record.plan as NonNullable<DrillRecord['plan']>, 60);
    // Launch time is scaled (simulated), the 2 s of checks against real listeners are not.
    expect(measure).toEqual({ rtoLaunchMs: 6_000 * 60, rtoMs: 6_000 * 60 + 2_000, rtoMet: true, rpoMs: 593_000, rpoMet: true });
    const failed = runs.find((run) => run.hostname === 'host-1') as ServerRun;
    expect(measureServer(failed, record.plan as NonNullable<DrillRecord['plan']>, 60).rtoMet).toBe(false);
    const web = measureWave('web', runs, record.plan as NonNullable<DrillRecord['plan']>, 60);
    expect(web).toEqual({ name: 'web', servers: 3, launched: 2, passed: 1, failed: 1, skipped: 1, rtoMs: 6_000 * 60 + 2_000, rtoMet: false });
  });

  it('reports JSON that its schema accepts, and Markdown with every server and the simulated-time note', () => {
    const { record, runs } = finishedDrill(60);
    const report = buildDrillReport(record, { status: 'completed', generation: 0, message: 'cleaned up', at: new Date(NOW).toISOString() }, runs);
    expect(DrillReportSchema.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
    expect(report.summary).toEqual({ servers: 4, launched: 3, passed: 2, failed: 1, skipped: 1, objectivesMet: false });
    const markdown = renderDrillMarkdown(report);
    expect(markdown).toContain('Times are simulated: the sandbox ran 60x faster');
    expect(markdown).toContain('| web | 3 | 1 | 1 | 1 | 6m2s | MISSED |');
    expect(markdown).toMatch(/\| host-1 \| 111111111111 \| web \| failed \|.*ECONNREFUSED/);
    expect(markdown).toContain('replication is stalled');
    const line = serverLine(report.servers.find((server) => server.hostname === 'host-3') as DrillReport['servers'][number], report);
    expect(line).toMatch(/^host-3 \(111111111111\): passed, recovery point pit-\S+ at \S+, RTO 6m2s \/ 30m met, RPO 9m53s \/ 15m met$/);
  });
});

describe('the drill HTML report in Chromium', () => {
  let dir: string;
  let report: ReportPage;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drill-html-'));
    const { record, runs } = finishedDrill(60);
    const file = join(dir, 'report.html');
    await writeFile(file, renderDrillHtml(buildDrillReport(record, { status: 'completed', generation: 0, message: 'cleaned up', at: new Date(NOW).toISOString() }, runs)));
    report = await openReportPage(file);
    page = report.page;
  }, 120_000);

  afterAll(async () => {
    await report?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('loads nothing but itself and runs no injected markup', async () => {
    expect(report.requests.every((url) => url.startsWith('file:'))).toBe(true);
    expect(report.dialogs).toEqual([]);
    expect(await page.locator('tr.server img').count()).toBe(0);
    expect(await page.title()).toBe('Drill payments-dr (payments-dr-1)');
  });

  it('shows every server with its status, RTO/RPO against the objectives and a timeline', async () => {
    expect(await page.locator('tr.server').count()).toBe(4);
    expect(await page.locator('tr.server[data-status="failed"] td.reason').textContent()).toContain('ECONNREFUSED');
    expect(await page.locator('tr.server[data-status="failed"] td.rto').textContent()).toContain('MISSED');
    expect(await page.locator('tr.server[data-status="skipped"] td.reason').textContent()).toContain('replication is stalled');
    const passed = page.locator('tr.server[data-status="passed"]').first();
    expect(await passed.locator('td.rto').textContent()).toBe('6m2s met');
    await expect(passed.locator('svg.timeline').isVisible()).resolves.toBe(true);
    expect(await passed.locator('svg.timeline .check').getAttribute('data-check')).toBe('tcp:80');
    expect(await page.locator('#simulated').textContent()).toContain('60x faster');
    expect(await page.locator('#waves tr[data-wave="web"] td').last().textContent()).toBe('MISSED');
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFlowLogFiles } from '@orgshield/sandbox/flow-logs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReportPage, type ReportPage } from '../../../vitest.report-page.js';
import { analyzeFlowLogs } from './flow-analysis.js';
import { buildFlowReport } from './flow-report.js';
import { renderFlowReportHtml } from './report-html.js';

const from = new Date('2025-06-01T00:00:00Z');
const at = (hours: number): Date => new Date(from.getTime() + hours * 3600_000);
let dir: string;
let reportPage: ReportPage;
let page: Page;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-html-'));
  await writeFlowLogFiles({
    seed: 5, from, to: at(6), recordsPerMinute: 150, localIp: '10.0.1.25',
    incidents: [{ kind: 'spike', at: at(4), factor: 8 }, { kind: 'port-scan', remoteIp: '45.33.32.156', at: at(2) }],
  }, { dir: join(dir, 'logs'), files: 4 });
  const analysis = await analyzeFlowLogs({ paths: [join(dir, 'logs')] }, { localIps: ['10.0.1.25'] });
  const report = buildFlowReport(analysis, {
    title: 'Flows of i-0abc <b>bold</b>',
    sections: [{ title: 'Detective indicators', rows: [{ type: '<script>alert(1)</script>', count: 1 }] }],
  });
  const file = join(dir, 'report.html');
  await writeFile(file, renderFlowReportHtml(report));
  // The global setup installs Chromium when it can; where it could not, this fails saying what to install.
  reportPage = await openReportPage(file);
  page = reportPage.page;
}, 120_000);

afterAll(async () => {
  await reportPage?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const outBytesColumn = async (): Promise<number[]> =>
  page.$$eval('#conversations tbody tr', (rows) => rows.map((row) => Number(row.children[6]!.getAttribute('data-value'))));

describe('the HTML report in Chromium', () => {
  it('loads nothing but itself and runs no injected script', async () => {
    expect(reportPage.requests.every((url) => url.startsWith('file:'))).toBe(true);
    expect(reportPage.dialogs).toEqual([]);
    expect(await page.title()).toBe('Flows of i-0abc <b>bold</b>');
    expect(await page.locator('#section-0 tbody td').first().textContent()).toBe('<script>alert(1)</script>');
  });

  it('shows the timeline with its spike marked at the planted time', async () => {
    await expect(page.locator('svg#timeline-chart').isVisible()).resolves.toBe(true);
    const buckets = await page.locator('#timeline-chart g.bucket').count();
    expect(buckets).toBeGreaterThan(100);
    const spikes = await page.$$eval('#timeline-chart g.bucket.spike', (groups) => groups.map((g) => g.getAttribute('data-start')));
    expect(spikes.length).toBeGreaterThan(0);
    expect(spikes[0]).toBe(at(4).toISOString());
    await expect(page.locator('#timeline-chart [data-spike="true"]').first().isVisible()).resolves.toBe(true);
    expect(await page.locator('.finding[data-kind="traffic-spike"]').count()).toBeGreaterThan(0);
  });

  it('charts top ports and top talkers', async () => {
    expect(await page.locator('#top-ports-chart g.row').first().getAttribute('data-name')).toBe('443/tcp');
    expect(await page.locator('#top-talkers-chart g.row').count()).toBe(10);
    expect(await page.locator('.finding[data-kind="port-scan"]').textContent()).toContain('45.33.32.156');
  });

  it('sorts the conversations by the column clicked, descending then ascending', async () => {
    const header = page.locator('#conversations th', { hasText: 'Out bytes' });
    await header.click();
    const descending = await outBytesColumn();
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    await header.click();
    const ascending = await outBytesColumn();
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    expect(ascending[0]).toBeLessThan(ascending.at(-1)!);
    await page.locator('#conversations th', { hasText: 'Remote IP' }).click();
    const ips = await page.$$eval('#conversations tbody tr', (rows) => rows.map((row) => row.children[0]!.textContent!));
    expect(ips).toEqual([...ips].sort((a, b) => b.localeCompare(a)));
  });
});

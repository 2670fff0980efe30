import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_PATH, chromiumMissingMessage } from './vitest.global-setup.js';

/**
 * A self-contained HTML report open in Chromium, for the report tests (drills, investigations):
 * every URL the page asked for and every dialog it opened are recorded, so a test can show it
 * loads nothing but itself and runs no injected script. The project asks the global setup for
 * Chromium (`chromium: true`); where it is missing, this fails (never skips) saying what to install.
 */
export interface ReportPage {
  page: Page;
  /** URLs the page requested, in order. */
  requests: string[];
  /** Messages of the dialogs it opened (dismissed at once). */
  dialogs: string[];
  close(): Promise<void>;
}

export async function openReportPage(file: string): Promise<ReportPage> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(chromiumMissingMessage());
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  const requests: string[] = [];
  const dialogs: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(file).href);
  return { page, requests, dialogs, close: () => browser.close() };
}

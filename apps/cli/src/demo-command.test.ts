import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli.js';

describe('orgshield demo (what npm start runs)', () => {
  it('syncs the sandbox organization, investigates a seeded finding, runs a staged rollout to full compliance and a measured DR drill, sets up session recording and audits it', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'orgshield-demo-'));
    const result = await runCli(['demo'], { REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', ORGSHIELD_REPORT_DIR: reports }, { timeoutMs: 240_000 });
    expect(result.stderr).not.toContain('orgshield:');
    expect(result.code).toBe(0);
    const out = result.stdout;

    expect(out).toMatch(/synced 300 accounts \(\d+ not active\) in 30 OUs/);

    // The TorClient finding's planted exfiltration is found and tied to the finding.
    expect(out).toMatch(/exfiltration\s+198\.51\.100\.23\s+-\s+yes/);
    expect(out).toMatch(/Detective investigation \d+: SUCCESSFUL/);
    const html = /HTML report: (.+)$/m.exec(out)?.[1];
    expect(html && html.startsWith(reports)).toBe(true);
    expect(existsSync(html ?? '')).toBe(true);
    expect(readFileSync(html ?? '', 'utf8')).toContain('198.51.100.23');

    // Three waves, their gates, and every in-scope account compliant at the end.
    expect(out).toMatch(/rollout edge-protection-demo-\S+: completed/);
    for (const wave of ['canary-audit (audit, 8 accounts)', 'rest-audit (audit', 'all-remediate (remediate']) expect(out).toContain(`wave ${wave}`);
    expect(out.match(/gate passed/g)).toHaveLength(6);
    expect(out).toMatch(/edge-waf-baseline\s+eu-west-1,us-east-1\s+(\d+)\s+\1\s+0\s+0/);
    expect(out).toMatch(/edge-shield\s+eu-west-1,us-east-1\s+(\d+)\s+\1\s+0\s+0/);

    // The drill: each server's recovery point, RTO and RPO against the objectives; the failing check says why.
    expect(out).toMatch(/drill demo-dr-\S+: completed \(6 passed, 1 failed, 0 skipped\)/);
    for (const host of ['db-0', 'db-1', 'db-2', 'web-0', 'web-1', 'web-2']) {
      expect(out).toMatch(new RegExp(`  ${host} \\(\\d{12}\\): passed, recovery point pit-\\w+ at \\S+Z, RTO \\w+ / 30m met, RPO \\w+ / 15m met`));
    }
    expect(out).toMatch(/ {2}shop-0 \(\d{12}\): failed, .* - check http:8080\/ \(HTTP 500, expected 200/);
    const drillReport = /drill report: (.+)$/m.exec(out)?.[1];
    expect(drillReport && drillReport.startsWith(reports)).toBe(true);
    expect(readFileSync(drillReport ?? '', 'utf8')).toContain('Drill demo-dr');

    // Session recording: set up in a clean account (the image made in between), then the audit
    // finds the seeded fleet that records nothing and the sessions whose recording is missing.
    expect(out).toMatch(/setup demo-recording-setup-\S+: blocked; 1 account\(s\) wait for the image/);
    expect(out).toMatch(/setup demo-recording-setup-\S+: completed\n/);
    expect(out).toMatch(/audit demo-recording-audit-\S+: \d+ finding\(s\)/);
    expect(out).toMatch(/\d{12}\s+recorded-fleet\s+recording/);
    expect(out).toMatch(/\d{12}\s+plain-fleet\s+not-recording/);
    expect(out).toMatch(/[1-9]\d* of \d+ sessions left no recording/);
  }, 300_000);
});

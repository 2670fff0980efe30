import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli.js';

describe('orgshield demo (what npm start runs)', () => {
  it('syncs the sandbox organization, investigates a seeded finding, and runs a staged rollout to full compliance', async () => {
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
  }, 300_000);
});

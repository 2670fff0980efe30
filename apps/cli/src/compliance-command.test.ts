import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { deleteQueuePrefix, runCli, sandboxCliEnv } from '../test/run-cli.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** `orgshield compliance report` against a sandbox where an audit-only rollout left findings. */
describe('orgshield compliance report (end to end)', () => {
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  const prefix = `test-compliance-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 40, ous: 8, seed: 3, timeScale: 0.001 });
    env = sandboxCliEnv(sandbox, prefix);
    const dir = await mkdtemp(join(tmpdir(), 'orgshield-compliance-cli-'));
    await writeFile(join(dir, 'shield.yaml'), 'name: edge-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1]\n');
    await writeFile(
      join(dir, 'audit.yaml'),
      'kind: Rollout\nname: audit-only\npolicies: [shield.yaml]\nwaves:\n  - { name: everyone, targets: { all: true }, mode: audit, gates: { timeout: 30s } }\n',
    );
    const start = await runCli(['rollout', 'start', join(dir, 'audit.yaml'), '--wait'], env, { timeoutMs: 120_000 });
    if (start.code !== 0) throw new Error(`the audit rollout did not complete: ${start.stderr}`);
  }, 180_000);

  afterAll(async () => {
    await deleteQueuePrefix(prefix, REDIS_URL);
    await sandbox?.close();
  });

  it('reports every member account with its violators, as a table, JSON or CSV', { timeout: 120_000 }, async () => {
    const json = await runCli(['compliance', 'report', '--policy', 'edge-shield-audit', '--region', 'eu-west-1', '--output', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { rows: { account: string; status: string; violators: { reason: string }[] }[]; totals: { accounts: number; nonCompliant: number } };
    const members = sandbox.world.snapshot().accounts.filter((a) => a.status === 'ACTIVE' && a.id !== sandbox.world.org.managementAccountId);
    expect(report.rows.map((row) => row.account).sort()).toEqual(members.map((a) => a.id).sort());
    expect(report.totals.nonCompliant).toBeGreaterThan(0);
    expect(report.rows.flatMap((row) => row.violators.map((v) => v.reason))).toContain('RESOURCE_MISSING_SHIELD_PROTECTION');

    const csv = await runCli(['compliance', 'report', '--policy', 'edge-shield-audit', '--region', 'eu-west-1', '--output', 'csv'], env);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('region,account,status,violator_count,evaluation_limit_exceeded,evaluated_at,resource_id,resource_type,violation_reason');
    expect(lines.filter((line) => line.endsWith(',RESOURCE_MISSING_SHIELD_PROTECTION')).length).toBe(
      report.rows.reduce((sum, row) => sum + row.violators.filter((v) => v.reason === 'RESOURCE_MISSING_SHIELD_PROTECTION').length, 0),
    );

    const table = await runCli(['compliance', 'report', '--policy', 'edge-shield-audit', '--region', 'eu-west-1'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/eu-west-1\s+\d{12}\s+NON_COMPLIANT\s+\d+\s+RESOURCE_MISSING_SHIELD_PROTECTION/);
    expect(table.stderr).toMatch(new RegExp(`${members.length} accounts: \\d+ compliant, ${report.totals.nonCompliant} non-compliant`));
  });

  it('summary: every policy counted per status from ListComplianceStatus alone; --non-compliant names each account and its OU path', { timeout: 120_000 }, async () => {
    const report = await runCli(['compliance', 'report', '--policy', 'edge-shield-audit', '--region', 'eu-west-1', '--output', 'json'], env);
    const totals = (JSON.parse(report.stdout) as { totals: { accounts: number; compliant: number; nonCompliant: number; notEvaluated: number } }).totals;
    const detailCalls = () => sandbox.requests().filter((entry) => entry.operation === 'GetComplianceDetail').length;
    const detailsBefore = detailCalls();

    const json = await runCli(['compliance', 'summary', '--region', 'eu-west-1', '--region', 'us-east-1', '--output', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout) as { policies: { policy: string; region: string; remediation: boolean; accounts: number; compliant: number; nonCompliant: number; notEvaluated: number }[] };
    expect(summary.policies).toEqual([
      expect.objectContaining({ policy: 'edge-shield-audit', region: 'eu-west-1', remediation: false, accounts: totals.accounts, compliant: totals.compliant, nonCompliant: totals.nonCompliant, notEvaluated: totals.notEvaluated }),
    ]);
    expect(detailCalls()).toBe(detailsBefore);

    const listed = await runCli(['compliance', 'summary', '--region', 'eu-west-1', '--non-compliant'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^POLICY\\s+REGION\\s+REMEDIATION\\s+ACCOUNTS\\s+COMPLIANT\\s+NON-COMPLIANT\\s+NOT EVALUATED\\s+VIOLATORS\\nedge-shield-audit\\s+eu-west-1\\s+off\\s+${totals.accounts}\\s+${totals.compliant}\\s+${totals.nonCompliant}\\s`));
    // The rollout stored the organization snapshot: names and OU paths come from it, no walk.
    expect(listed.stderr).toMatch(/using the organization snapshot of/);
    const lines = listed.stdout.split('\n').filter((line) => /^edge-shield-audit\s+eu-west-1\s+\d{12}\s/.test(line));
    expect(lines).toHaveLength(totals.nonCompliant);
    const world = sandbox.world.snapshot();
    for (const line of lines) {
      const accountId = line.split(/\s+/)[2] ?? '';
      const account = world.accounts.find((candidate) => candidate.id === accountId);
      expect(account, line).toBeDefined();
      expect(line).toContain(`${accountId}  ${account?.name}`);
      expect(line).toMatch(/\s+Root(\/\S+)*\s+\d+$/);
    }
  });

  it('names an unknown policy or region as bad input (exit 2)', { timeout: 120_000 }, async () => {
    const unknown = await runCli(['compliance', 'report', '--policy', 'nope', '--region', 'eu-west-1'], env);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('orgshield: there is no Firewall Manager policy named "nope" in eu-west-1');
    const badRegion = await runCli(['compliance', 'report', '--policy', 'edge-shield-audit', '--region', 'Europe'], env);
    expect(badRegion.code, badRegion.stderr).toBe(2);
    const badFormat = await runCli(['compliance', 'report', '--policy', 'edge-shield-audit', '--output', 'xml'], env);
    expect(badFormat.code, badFormat.stderr).toBe(2);
  });
});

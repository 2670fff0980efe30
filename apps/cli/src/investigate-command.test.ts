import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentPlan, startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { deleteQueuePrefix, runCli, sandboxCliEnv, writeTorClientFinding } from '../test/run-cli.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('orgshield investigate (end to end, against the sandbox and Redis)', () => {
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  let dir: string;
  let findingFile: string;
  let accountId: string;
  const prefix = `test-investigate-${randomUUID()}`;

  beforeAll(async () => {
    // Detective's investigations run in 2 simulated minutes: a small time scale makes that 0.1 s.
    sandbox = await startSandbox({ port: 0, accounts: 30, ous: 5, seed: 11, timeScale: 0.001 });
    dir = await mkdtemp(join(tmpdir(), 'orgshield-investigate-'));
    env = sandboxCliEnv(sandbox, prefix, { ORGSHIELD_REPORT_DIR: join(dir, 'reports') });

    ({ findingFile, accountId } = await writeTorClientFinding(sandbox, dir));
    // No `org sync` first: an analyst at 3 a.m. investigates without one (the worker asks
    // Organizations for the management account when it has no snapshot).
  });

  afterAll(async () => {
    await deleteQueuePrefix(prefix, REDIS_URL);
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('investigates the seeded TorClient finding: the exfiltration to the Tor relay, Detective, reports written', async () => {
    const reportDir = join(dir, 'reports', 'tor');
    const run = await runCli(['investigate', '--finding', findingFile, '--wait', '--output', 'json', '--report', reportDir], env, { timeoutMs: 120_000 });
    expect(run.stderr).not.toMatch(/orgshield: /);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      findings: { kind: string; remoteIp?: string; fromFinding?: true }[];
      reportPaths: { json: string; markdown: string; html: string };
      detective: { available: boolean; investigation?: { severity: string; status: string } };
      subject: { accountId: string; finding?: { type: string } };
    };
    expect(result.subject).toMatchObject({ accountId, finding: { type: 'UnauthorizedAccess:EC2/TorClient' } });
    // What the sandbox planted behind the finding: a 3 GiB upload to the relay (which also spikes the volume).
    expect(result.findings).toContainEqual(expect.objectContaining({ kind: 'exfiltration', remoteIp: '198.51.100.23', fromFinding: true }));
    expect(result.findings.every((f) => f.kind === 'exfiltration' || f.kind === 'traffic-spike')).toBe(true);
    expect(result.detective).toMatchObject({ available: true, investigation: { status: 'SUCCESSFUL', severity: 'CRITICAL' } });
    expect(result.reportPaths.html).toBe(join(reportDir, 'flow-report.html'));
    for (const path of Object.values(result.reportPaths)) expect(existsSync(path)).toBe(true);
    expect(await readFile(result.reportPaths.html, 'utf8')).toContain('198.51.100.23');
  });

  it('prints a table and the report paths, with the worker’s report folder by default', async () => {
    const run = await runCli(['investigate', '--finding', findingFile, '--wait'], env, { timeoutMs: 120_000 });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/exfiltration\s+198\.51\.100\.23\s+-?\d*\s*yes/);
    expect(run.stdout).toContain('Detective: investigation');
    // The Tor instance's VPC: its primary block, its EKS pods' 100.64.0.0/16 and its IPv6 /56.
    expect(run.stdout).toMatch(/^Inside the VPC: 10\.\d+\.0\.0\/16, 100\.64\.0\.0\/16, 2600:1f18:[0-9a-f:]+::\/56 \(vpc-[0-9a-f]{17}, from DescribeVpcs\)$/m);
    expect(run.stdout).toContain(join(dir, 'reports'));
  });

  it('investigates a finding by id, read through the GuardDuty administrator’s detector (as findings list shows it)', async () => {
    const tor = incidentPlan(sandbox.world).incidents.find((incident) => incident.kind === 'tor-client');
    const run = await runCli(['investigate', '--finding-id', tor?.findingId ?? '', '--region', 'us-east-1', '--wait', '--output', 'json'], env, { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { subject: { accountId: string; finding?: { type: string } }; findings: { kind: string; remoteIp?: string }[] };
    expect(result.subject).toMatchObject({ accountId, finding: { type: 'UnauthorizedAccess:EC2/TorClient' } });
    expect(result.findings).toContainEqual(expect.objectContaining({ kind: 'exfiltration', remoteIp: '198.51.100.23' }));

    const unknown = await runCli(['investigate', '--finding-id', 'f'.repeat(32), '--region', 'us-east-1'], env);
    expect([unknown.code, unknown.stderr]).toEqual([2, `orgshield: GuardDuty has no finding ${'f'.repeat(32)} in us-east-1 for this account's detector; see "orgshield findings list --region us-east-1".\n`]);
    const badId = await runCli(['investigate', '--finding-id', '../etc', '--region', 'us-east-1'], env);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('--finding-id "../etc" is not a GuardDuty finding id');
  }, 120_000);

  it('refuses bad input with one sentence and exit code 2', async () => {
    const both = await runCli(['investigate', '--instance', 'i-0123456789abcdef0', '--ip', '10.0.0.1', '--account', accountId, '--region', 'us-east-1'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--instance and --ip were both given; give exactly one of --finding, --finding-id, --instance, --ip, --role.');

    const badId = await runCli(['investigate', '--instance', 'i-xyz', '--account', accountId, '--region', 'us-east-1'], env);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('field instanceId must be an EC2 instance id');

    const noAccount = await runCli(['investigate', '--instance', 'i-0123456789abcdef0', '--region', 'us-east-1'], env);
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toContain('--account is missing');

    const notJson = join(dir, 'not-json.json');
    await writeFile(notJson, '{"detail": ');
    const badFile = await runCli(['investigate', '--finding', notJson], env);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toContain(`${notJson} is not valid JSON`);
  }, 120_000); // five CLI processes: over 30 s at load average 30

  it('refuses paths outside the worker\'s folders and a backwards window here, before a job is queued', async () => {
    const outside = await runCli(['investigate', '--finding', findingFile, '--report', join(dir, 'elsewhere')], env);
    expect([outside.code, outside.stderr]).toEqual([
      2, `orgshield: --report ${JSON.stringify(join(dir, 'elsewhere'))} is outside the report root ${join(dir, 'reports')} (ORGSHIELD_REPORT_DIR); name a path under it, or set ORGSHIELD_REPORT_DIR.\n`,
    ]);
    const logs = await runCli(['investigate', '--finding', findingFile, '--flow-logs', '/var/log'], env);
    expect(logs.code).toBe(2);
    expect(logs.stderr).toMatch(/^orgshield: --flow-logs "\/var\/log" is outside the flow-log root .* \(ORGSHIELD_FLOW_LOG_DIR\); name a path under it, or set ORGSHIELD_FLOW_LOG_DIR\.\n$/);
    const backwards = await runCli(['investigate', '--finding', findingFile, '--from', '2026-11-30T00:00:00Z', '--to', '2026-11-29T00:00:00Z'], env);
    expect([backwards.code, backwards.stderr]).toEqual([2, 'orgshield: The window from 2026-11-30T00:00:00.000Z to 2026-11-29T00:00:00.000Z is empty; --from must be before --to.\n']);
  }, 120_000);
});

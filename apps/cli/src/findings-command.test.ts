import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentPlan, startSandbox, type RunningSandbox, type SeededIncident } from '@orgshield/sandbox';
import { runCli, sandboxCliEnv } from '../test/run-cli.js';

/**
 * `orgshield findings list` as the organization's GuardDuty administrator (the sandbox's
 * management account): the planted incidents' findings, in their member accounts, in us-east-1.
 */
describe('orgshield findings list (end to end, sandbox)', () => {
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  let incidents: SeededIncident[];
  const list = async (...args: string[]) => {
    const run = await runCli(['findings', 'list', '--region', 'us-east-1', '--output', 'json', ...args], env);
    expect(run.code, run.stderr).toBe(0);
    return (JSON.parse(run.stdout) as { Id: string; AccountId: string; Type: string; Severity: number; UpdatedAt: string }[]);
  };
  const ids = (wanted: (incident: SeededIncident) => boolean) => incidents.filter(wanted).map((incident) => incident.findingId).sort();

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 20, ous: 4, seed: 6, timeScale: 0.001 });
    env = sandboxCliEnv(sandbox, 'test-findings-unused');
    incidents = incidentPlan(sandbox.world).incidents;
    expect(new Set(incidents.map((incident) => incident.instance.accountId)).size).toBeGreaterThan(2);
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('lists every member account’s findings newest first, and filters by severity, type, account and time', { timeout: 90_000 }, async () => {
    const all = await list();
    expect(all.map((finding) => finding.Id).sort()).toEqual(ids(() => true));
    expect(all.map((finding) => finding.UpdatedAt)).toEqual(all.map((finding) => finding.UpdatedAt).sort().reverse());

    expect((await list('--severity', 'high')).map((f) => f.Id).sort()).toEqual(ids((incident) => incident.severity >= 7));
    // GuardDuty filters on whole numbers; 8.5 is applied to what it returns.
    expect(await list('--severity', '8.5')).toEqual([]);
    expect((await list('--type', 'Recon:*', '--type', 'UnauthorizedAccess:EC2/TorClient')).map((f) => f.Type).sort()).toEqual(
      ['Recon:EC2/PortProbeUnprotectedPort', 'UnauthorizedAccess:EC2/TorClient'],
    );
    expect((await list('--type', 'UnauthorizedAccess:EC2/Tor')).length).toBe(0);
    const [first, second] = incidents;
    expect((await list('--account', first!.instance.accountId, '--account', second!.instance.accountId)).map((f) => f.Id).sort()).toEqual(
      [first!.findingId, second!.findingId].sort(),
    );
    const newest = all[0]!.UpdatedAt;
    expect((await list('--since', newest)).map((f) => f.UpdatedAt)).toEqual(all.filter((f) => f.UpdatedAt >= newest).map((f) => f.UpdatedAt));
    expect(await list('--until', '2020-01-01T00:00:00Z')).toEqual([]);
    expect((await list('--since', '7d')).length).toBe(all.length);
  });

  it('shows each finding id ready for investigate --finding-id, and says when --limit cut the list', { timeout: 60_000 }, async () => {
    const run = await runCli(['findings', 'list', '--region', 'us-east-1', '--limit', '2'], env);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^LAST SEEN\s+ACCOUNT\s+REGION\s+SEVERITY\s+TYPE\s+RESOURCE\s+FINDING ID$/);
    expect(rows).toHaveLength(3);
    for (const row of rows.slice(1)) expect(ids(() => true)).toContain(row.split(/\s+/).at(-1));
    expect(run.stderr).toContain('us-east-1: more findings match than --limit 2; raise --limit or narrow the filters.');
    const firstId = rows[1]?.split(/\s+/).at(-1);
    expect(run.stderr).toContain(`investigate one: orgshield investigate --finding-id ${firstId} --region us-east-1 --wait`);
  });

  it('refuses each bad filter in one sentence naming the value (exit 2)', { timeout: 90_000 }, async () => {
    const cases: [string[], string][] = [
      [['--severity', '11'], '--severity "11" is not a severity: give a number from 1 to 10, or LOW, MEDIUM, HIGH or CRITICAL.'],
      [['--severity', 'urgent'], '--severity "urgent" is not a severity'],
      [['--type', 'Recon:*EC2'], '--type "Recon:*EC2" is not a GuardDuty finding type'],
      [['--account', '12345'], '--account "12345" is not an AWS account id: give its 12 digits.'],
      [['--since', 'yesterday'], '--since "yesterday" is not a time'],
      [['--since', '1h', '--until', '2d'], 'is after --until'],
      [['--limit', '0'], '--limit must be between 1 and 10000, got 0.'],
      [['--region', 'mars-1'], '--region "mars-1" is not a region name like eu-west-1.'],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['findings', 'list', '--region', 'us-east-1', ...args], env);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stdout).toBe('');
    }
  });
});

import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drsPlan, HEALTHY_BODY_PREFIX, startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { deleteQueuePrefix, runCli, sandboxCliEnv } from '../test/run-cli.js';

/**
 * `orgshield drill` end to end: the CLI in its own process against a sandbox running DRS 1000x
 * faster and Redis; `run --wait` runs the drill in-process (no worker is connected).
 */
describe('orgshield drill (end to end)', () => {
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  let dir: string;
  const prefix = `test-drill-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 12, ous: 4, seed: 1, timeScale: 0.001 });
    env = sandboxCliEnv(sandbox, prefix, {
      ORGSHIELD_TIME_SCALE: '1000',
      ORGSHIELD_DRILL_POLL_MS: '100',
      ORGSHIELD_RATE_LIMITS: JSON.stringify({ 'organizations:*': { rate: 500, burst: 500 }, 'drs:*': { rate: 500, burst: 500 }, 'ec2:*': { rate: 500, burst: 500 } }),
    });
    dir = await mkdtemp(join(tmpdir(), 'orgshield-drill-cli-'));
    const plan = drsPlan(sandbox.world);
    const accountId = plan.drillAccountIds[0] as string;
    const network = plan.networkOf(accountId, plan.drillRegion);
    const drill = (hostnames: string) => `kind: Drill
name: cli-drill
targets: { accounts: ["${accountId}"] }
regions: [${plan.drillRegion}]
servers: { hostnames: [${hostnames}] }
waves:
  - name: web
    checks: [{ type: http, port: 8080, expectBody: "${HEALTHY_BODY_PREFIX}" }]
objectives: { rto: 30m, rpo: 15m }
isolation: { subnets: [${network.isolatedSubnet.id}], securityGroups: [${network.isolatedSecurityGroup.id}] }
`;
    await writeFile(join(dir, 'good.yaml'), drill('web-0'));
    await writeFile(join(dir, 'production.yaml'), drill('web-0, edge-0'));
    await writeFile(join(dir, 'bad.yaml'), drill('web-0').replace('rto: 30m', 'rto: half an hour'));
  }, 60_000);

  afterAll(async () => {
    await sandbox?.close();
    await deleteQueuePrefix(prefix);
  });

  it('refuses a bad drill file with exit code 2, file:line and the field, before any AWS call or Redis write', async () => {
    const before = sandbox.requests().length;
    const result = await runCli(['drill', 'run', join(dir, 'bad.yaml'), '--wait'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'bad.yaml')}:9:20 objectives.rto: a duration looks like 30s, 10m or 1h30m`);
    expect(sandbox.requests().length).toBe(before);
    const redis = new Redis(env['REDIS_URL'] as string);
    try {
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    } finally {
      await redis.quit();
    }
  });

  it('plan shows the servers and refuses a launch template in a production subnet (exit 2), sending no StartRecovery', async () => {
    const result = await runCli(['drill', 'plan', join(dir, 'production.yaml')], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/web-0 s-\w+\s+\d{12}\s+us-east-1\s+web\s+launch\s+\S+Z pit-\w+/);
    expect(result.stderr).toMatch(/edge-0\) in \d{12}'s launch template puts it in subnet subnet-\w+, which is not one of the drill's isolation subnets/);
    expect(sandbox.requests().filter((entry) => entry.operation === 'StartRecovery')).toEqual([]);
  });

  it('run --wait measures the drill and cleans up; report and status read it back', async () => {
    const run = await runCli(['drill', 'run', join(dir, 'good.yaml'), '--wait'], env, { timeoutMs: 120_000 });
    expect(run.stderr).not.toContain('orgshield:');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/web-0 \(\d{12}\): passed, recovery point pit-\w+ at \S+, RTO \w+ \/ 30m met, RPO \w+ \/ 15m met/);
    const drillId = /^drill (cli-drill-\S+) /m.exec(run.stdout)?.[1] as string;
    // Not a terminal: the wait shows as plain progress lines, with no cursor control.
    expect(run.stderr).toMatch(new RegExp(`^drill ${drillId}: \\w+: \\d+/\\d+ launched, \\d+ checks passed, \\d+ failed \\(\\d+s\\)$`, 'm'));
    expect(run.stderr).not.toContain('\x1b');

    const html = join(dir, 'report.html');
    expect((await runCli(['drill', 'report', drillId, '--output', 'html', '--out', html], env)).code).toBe(0);
    expect(await readFile(html, 'utf8')).toContain(`Drill cli-drill (${drillId})`);
    const json = await runCli(['drill', 'report', drillId, '--output', 'json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ schemaVersion: 1, drillId, status: 'completed', summary: { passed: 1 } });

    const status = await runCli(['drill', 'status'], env);
    expect(status.stdout).toMatch(new RegExp(`${drillId}\\s+completed\\s+\\S+\\s+-`));
  }, 180_000);
});

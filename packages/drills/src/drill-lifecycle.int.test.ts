import { describe, expect } from 'vitest';
import { drsPlan, type RunningSandbox } from '@orgshield/sandbox';
import { drillTest as test } from '../test/drill-harness.js';
import { assessCoverage, readCoverageInput } from './drill-coverage.js';
import { parseDuration } from './drill-schema.js';

function drillSource(sandbox: RunningSandbox, accountIndex: number, fields: Record<string, unknown> = {}) {
  const plan = drsPlan(sandbox.world);
  const accountId = plan.drillAccountIds[accountIndex] as string;
  const network = plan.networkOf(accountId, plan.drillRegion);
  const drill = {
    kind: 'Drill',
    name: 'lifecycle',
    targets: { accounts: [accountId] },
    regions: [plan.drillRegion],
    servers: { hostnames: [`web-${accountIndex}`, `db-${accountIndex}`] },
    waves: [{ name: 'all' }],
    objectives: { rto: '1h', rpo: '15m' },
    isolation: { subnets: [network.isolatedSubnet.id], securityGroups: [network.isolatedSecurityGroup.id] },
    ...fields,
  };
  return { file: 'lifecycle.yaml', text: JSON.stringify(drill), caFiles: {} };
}

describe('drill lifecycle on the sandbox', () => {
  test('keep: the instances stay up (status lists them and since when) until the scheduled cleanup terminates them', { timeout: 90_000 }, async ({ sandbox, harness }) => {
    await harness.startWorker();
    // 30 simulated minutes: 1.8 s on a sandbox 1000x faster.
    const { drillId } = await harness.control.submit(drillSource(sandbox, 0, { cleanup: { keep: '30m' } }));
    const kept = await harness.control.waitUntilSettled(drillId, { until: ['kept', 'completed', 'failed', 'refused'], timeoutMs: 60_000, pollMs: 50 });
    expect(kept.status, kept.message).toBe('kept');
    const [listed] = await harness.control.list();
    expect(listed?.id).toBe(drillId);
    expect(listed?.stillUp).toHaveLength(2);
    expect(listed?.stillUp.every((up) => !Number.isNaN(Date.parse(up.since)))).toBe(true);
    expect(sandbox.requests().filter((entry) => entry.operation === 'TerminateRecoveryInstances')).toEqual([]);

    const done = await harness.control.waitUntilSettled(drillId, { timeoutMs: 60_000, pollMs: 50 });
    expect(done.status, done.message).toBe('completed');
    expect((await harness.control.list())[0]?.stillUp).toEqual([]);
    expect(sandbox.requests().filter((entry) => entry.operation === 'TerminateRecoveryInstances')).toHaveLength(1);
  });

  test('a cleanup that fails ends as cleanup-failed, saying why and how to run it again, holds the name, and runs again once DRS lets it', { timeout: 120_000 }, async ({ sandbox, harness }) => {
    sandbox.setFaults({ operations: { 'drs:TerminateRecoveryInstances': { deny: true } } });
    await harness.startWorker();
    const source = drillSource(sandbox, 2);
    const { drillId } = await harness.control.submit(source);
    const failed = await harness.control.waitUntilSettled(drillId, { timeoutMs: 60_000, pollMs: 50 });
    expect(failed.status, failed.message).toBe('cleanup-failed');
    expect(failed.message).toMatch(/^cleanup failed: .*not authorized to perform: drs:TerminateRecoveryInstances.*; "orgshield drill cleanup [^"]+" runs it again$/);
    expect(failed.message).toContain(`orgshield drill cleanup ${drillId}`);
    expect((await harness.control.list())[0]?.stillUp).toHaveLength(2);
    // Its instances are still up: the same drill may not launch them again meanwhile.
    await expect(harness.control.submit(source)).rejects.toThrow(drillId);

    // An operator's `drill cleanup --wait` while DRS still refuses: it waits for that cleanup's
    // own failure (the step's mark, cleared when the cleanup was queued), not the one before.
    expect(await harness.control.store.failure(drillId, 'cleanup')).toBe(failed.message);
    await harness.control.cleanup(drillId);
    expect(await harness.control.store.failure(drillId, 'cleanup')).toBeUndefined();
    const again = await harness.control.waitForCleanup(drillId, { timeoutMs: 60_000, pollMs: 50 });
    expect(again.cleaned).toBe(false);
    expect(again.message).toMatch(/^cleanup failed: .*not authorized to perform: drs:TerminateRecoveryInstances/);
    expect((await harness.control.state(drillId)).status).toBe('cleanup-failed');

    sandbox.setFaults({ operations: {} });
    await harness.control.cleanup(drillId);
    const end = await harness.control.waitForCleanup(drillId, { timeoutMs: 60_000, pollMs: 50 });
    expect(end).toEqual({ cleaned: true, message: 'cleanup done: the drill left no recovery instance running' });
    const done = await harness.control.state(drillId);
    expect(done.status, done.message).toBe('completed');
    expect((await harness.control.list())[0]?.stillUp).toEqual([]);
    const terminations = sandbox.requests().filter((entry) => entry.operation === 'TerminateRecoveryInstances');
    // Refused while denied (the client's retries included), then sent once.
    expect(terminations.map((entry) => entry.status)).toEqual([...terminations.slice(0, -1).map(() => 403), 200]);
    expect(terminations.length).toBeGreaterThan(1);
  });

  test('history keeps each server RTO and RPO per drill, once per drill, and coverage sees what was drilled', { timeout: 120_000 }, async ({ sandbox, harness }) => {
    const plan = drsPlan(sandbox.world);
    await harness.startWorker();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { drillId } = await harness.control.submit(drillSource(sandbox, 1), { drillId: `lifecycle-${i}` });
      const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 60_000, pollMs: 50 });
      expect(state.status, state.message).toBe('completed');
      ids.push(drillId);
    }
    const report = await harness.control.report(ids[1] as string);
    const web = report.servers.find((server) => server.hostname === 'web-1');
    const trend = await harness.control.store.history(web?.sourceServerId as string);
    expect(trend.map((entry) => entry.drillId)).toEqual(ids);
    expect(trend.every((entry) => entry.status === 'passed' && (entry.rtoMs ?? 0) > 0 && entry.rpoMs !== undefined)).toBe(true);
    // Finishing again (a retried step) adds nothing.
    await harness.control.store.addHistory(ids[1] as string, trend);
    expect(await harness.control.store.history(web?.sourceServerId as string)).toHaveLength(2);

    const accountId = plan.drillAccountIds[1] as string;
    const input = await readCoverageInput(harness.executor['runtime'].clients(), accountId, plan.drillRegion, { mustRecoverTag: { key: 'dr:recoverable', value: 'true' }, drilledWithin: parseDuration('90d') });
    const coverage = assessCoverage([input], { settings: { drilledWithin: parseDuration('90d') }, lastDrilled: await harness.control.store.lastDrilled(), now: Date.now(), lagLimitMs: parseDuration('15m') });
    const never = coverage.gaps.filter((gap) => gap.kind === 'never-drilled').map((gap) => ('hostname' in gap ? gap.hostname : undefined));
    expect(never).not.toContain('web-1');
    expect(never).not.toContain('db-1');
    expect(never).toContain('api-1');
    const unprotected = coverage.gaps.filter((gap) => gap.kind === 'not-replicated').map((gap) => ('instanceId' in gap ? gap.instanceId : ''));
    expect(unprotected.length).toBeGreaterThan(0);
    expect(unprotected.every((id) => (plan as unknown as { unprotectedInstanceIds: string[] }).unprotectedInstanceIds.includes(id))).toBe(true);
    expect(coverage.gaps.filter((gap) => gap.kind === 'replication-trouble').map((gap) => ('hostname' in gap ? gap.hostname : ''))).toContain('legacy-1');
  });
});

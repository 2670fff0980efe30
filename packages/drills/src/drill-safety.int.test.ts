import { DescribeRecoverySnapshotsCommand } from '@aws-sdk/client-drs';
import { describe, expect } from 'vitest';
import { drsPlan, type RunningSandbox } from '@orgshield/sandbox';
import { drillTest as test } from '../test/drill-harness.js';
import { DrillFileError } from './drill-loader.js';

/** A one-wave drill (no checks) over `accounts`, isolated in their drill subnets. */
function drillOf(sandbox: RunningSandbox, accounts: string[], fields: Record<string, unknown>) {
  const plan = drsPlan(sandbox.world);
  const networks = accounts.flatMap((accountId) => (plan.initializedAccountIds.includes(accountId) ? [plan.networkOf(accountId, plan.drillRegion)] : []));
  const drill = {
    kind: 'Drill',
    name: 'safety',
    targets: { accounts },
    regions: [plan.drillRegion],
    waves: [{ name: 'all' }],
    objectives: { rto: '1h', rpo: '6h' },
    isolation: { subnets: networks.map((n) => n.isolatedSubnet.id), securityGroups: networks.map((n) => n.isolatedSecurityGroup.id) },
    ...fields,
  };
  return { file: 'safety.yaml', text: JSON.stringify(drill, null, 2), caFiles: {} };
}

const drsCalls = (sandbox: RunningSandbox, operation: string) => sandbox.requests().filter((entry) => entry.service === 'drs' && entry.operation === operation);

describe('drill safety on the sandbox', () => {
  test('before: every server gets the newest snapshot older than the time; one with none is reported and not launched; an account without DRS is reported', { timeout: 120_000 }, async ({ sandbox, harness }) => {
    const plan = drsPlan(sandbox.world);
    const account = plan.drillAccountIds[1] as string;
    const uninitialized = plan.uninitializedAccountIds.find((id) => id !== sandbox.world.org.managementAccountId) as string;
    const before = new Date(Date.now() - 4 * 3_600_000 - 17 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const source = drillOf(sandbox, [account, uninitialized], { recoveryPoint: { before }, servers: { hostnames: ['web-1', 'db-1', 'api-1', 'new-1'] } });
    await harness.startWorker();
    const { drillId } = await harness.control.submit(source);
    const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 90_000, pollMs: 100 });
    expect(state.status, state.message).toBe('completed');
    const report = await harness.control.report(drillId);
    expect(report.unavailable).toEqual([{ accountId: uninitialized, region: plan.drillRegion, reason: 'Elastic Disaster Recovery is not initialized in this account and region' }]);

    const drs = harness.executor['runtime'].clients().drs(account, plan.drillRegion);
    for (const server of report.servers.filter((s) => s.hostname !== 'new-1')) {
      // The reference: every snapshot of the server, oldest first, all pages.
      const all: { snapshotID?: string; timestamp?: string }[] = [];
      let nextToken: string | undefined;
      do {
        const page = await drs.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: server.sourceServerId, order: 'ASC', ...(nextToken ? { nextToken } : {}) }));
        all.push(...(page.items ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      const older = all.filter((s) => s.timestamp !== undefined && Date.parse(s.timestamp) < Date.parse(before));
      const newest = older.sort((a, b) => Date.parse(b.timestamp as string) - Date.parse(a.timestamp as string))[0];
      expect(server.status).toBe('passed');
      expect(server.recoveryPoint?.snapshotId).toBe(newest?.snapshotID);
      expect(Date.parse(server.recoveryPoint?.at as string)).toBeLessThan(Date.parse(before));
      expect(server.rpoMs).toBe(Date.parse(before) - Date.parse(server.recoveryPoint?.at as string));
    }
    const fresh = report.servers.find((s) => s.hostname === 'new-1');
    expect(fresh).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^server s-\w+ \(new-1\) in \d{12} has no point-in-time snapshot taken before .+, so it is not launched$/) });
    expect(fresh?.jobId).toBeUndefined();
    expect(drsCalls(sandbox, 'StartRecovery')).toHaveLength(1);
    expect((await harness.control.store.launches(drillId)).flatMap((launch) => launch.sourceServerIds)).not.toContain(fresh?.sourceServerId);
  });

  test('a 260-server wave launches as two StartRecovery jobs and is measured and cleaned up as one wave', { timeout: 150_000 }, async ({ sandbox, harness }) => {
    const plan = drsPlan(sandbox.world);
    const fleet = plan.fleetAccountId as string;
    await harness.startWorker();
    const started = Date.now();
    const { drillId } = await harness.control.submit(drillOf(sandbox, [fleet], { servers: { tags: { fleet: 'render-farm' } } }));
    const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 120_000, pollMs: 200 });
    expect(state.status, state.message).toBe('completed');
    const report = await harness.control.report(drillId);
    expect(report.waves).toEqual([expect.objectContaining({ name: 'all', servers: 260, launched: 260, passed: 260, failed: 0 })]);
    expect(report.waves[0]?.rtoMs).toBeGreaterThan(0);
    const launches = await harness.control.store.launches(drillId);
    expect(launches.map((launch) => launch.sourceServerIds.length).sort((a, b) => b - a)).toEqual([200, 60]);
    expect(drsCalls(sandbox, 'StartRecovery')).toHaveLength(2);
    expect(drsCalls(sandbox, 'TerminateRecoveryInstances')).toHaveLength(2);
    expect(report.servers.every((server) => server.terminatedAt !== undefined)).toBe(true);
    console.log(JSON.stringify({ figure: '260-server drill, sandbox 1000x', wallMs: Date.now() - started, waveRtoMs: report.waves[0]?.rtoMs }));
  });

  test('a launch template in a production subnet refuses the drill in preflight: no StartRecovery is sent', { timeout: 90_000 }, async ({ sandbox, harness }) => {
    const plan = drsPlan(sandbox.world);
    const account = plan.drillAccountIds[0] as string;
    const production = plan.networkOf(account, plan.drillRegion).productionSubnet.id;
    await harness.startWorker();
    const { drillId } = await harness.control.submit(drillOf(sandbox, [account], { servers: { hostnames: ['web-0', 'edge-0'] } }));
    const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 60_000, pollMs: 100 });
    expect(state.status).toBe('refused');
    expect(state.message).toMatch(new RegExp(`server s-\\w+ \\(edge-0\\) in ${account}'s launch template puts it in subnet ${production}, which is not one of the drill's isolation subnets`));
    expect(drsCalls(sandbox, 'StartRecovery')).toEqual([]);
    expect(drsCalls(sandbox, 'TerminateRecoveryInstances')).toEqual([]);

    // An operator's cleanup of the refused drill (`drill cleanup --wait`) waits for that cleanup
    // to end, though the drill stays refused, rather than returning at once on its status.
    await harness.control.cleanup(drillId);
    expect(await harness.control.store.isDone(drillId, 'cleanup')).toBe(false);
    const end = await harness.control.waitForCleanup(drillId, { timeoutMs: 60_000, pollMs: 50 });
    expect(end).toEqual({ cleaned: true, message: 'cleanup done: the drill left no recovery instance running; it stays refused' });
    expect(await harness.control.store.isDone(drillId, 'cleanup')).toBe(true);
    expect((await harness.control.state(drillId)).status).toBe('refused');
  });

  test('a bad drill file is refused before any AWS call or Redis write, naming file, line and field', { timeout: 60_000 }, async ({ sandbox, harness, redisPrefix }) => {
    const source = { file: 'bad-drill.yaml', text: 'kind: Drill\nname: bad\ntargets: { all: true }\nregions: [us-east-1]\nwaves: [{ name: w }]\nobjectives: { rto: 30m, rpo: 15m }\nisolation: { subnets: [subnet-prod], securityGroups: [sg-0a1b2c3d] }\nisDrill: false\n', caFiles: {} };
    const before = sandbox.requests().length;
    const error = await harness.control.submit(source).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DrillFileError);
    expect((error as DrillFileError).exitCode).toBe(2);
    expect((error as Error).message).toBe(
      'bad-drill.yaml:7:24 isolation.subnets[0]: a subnet id looks like subnet-0123456789abcdef0 (and 1 more problem)',
    );
    expect((error as DrillFileError).problems[1]?.path).toBe('isDrill');
    expect(sandbox.requests().length).toBe(before);
    expect(await harness.redis.keys(`${redisPrefix}:*`)).toEqual([]);
  });
});

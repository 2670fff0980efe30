import { describe, expect } from 'vitest';
import { drsPlan, HEALTHY_BODY_PREFIX, type RunningSandbox } from '@orgshield/sandbox';
import { drillTest as test, type DrillHarness } from '../test/drill-harness.js';
import { describeRecoveryInstances } from './drs-live.js';
import type { DrillSource } from './drill-loader.js';

/** A drill file over the sandbox's three drill accounts, with the isolation of each. */
export function sandboxDrillSource(sandbox: RunningSandbox, overrides: Record<string, unknown> = {}): DrillSource {
  const plan = drsPlan(sandbox.world);
  const networks = plan.drillAccountIds.map((accountId) => plan.networkOf(accountId, plan.drillRegion));
  const drill = {
    kind: 'Drill',
    name: 'sandbox-dr',
    targets: { accounts: plan.drillAccountIds },
    regions: [plan.drillRegion],
    servers: { hostnames: ['db-0', 'db-1', 'db-2', 'web-0', 'web-1', 'web-2', 'shop-0', 'queue-1'].map((role) => `${role}.corp.example.com`) },
    waves: [
      { name: 'databases', servers: { tags: { app: 'db' } }, checks: [{ type: 'tcp', port: 5432 }], checkTimeout: '30m' },
      { name: 'web', checks: [{ type: 'http', port: 8080, path: '/', expectStatus: 200, expectBody: HEALTHY_BODY_PREFIX }], checkTimeout: '30m' },
    ],
    objectives: { rto: '30m', rpo: '15m' },
    isolation: { subnets: networks.map((n) => n.isolatedSubnet.id), securityGroups: networks.map((n) => n.isolatedSecurityGroup.id) },
    ...overrides,
  };
  return { file: 'sandbox-drill.yaml', text: JSON.stringify(drill, null, 2), caFiles: {} };
}

async function runToEnd(harness: DrillHarness, source: DrillSource): Promise<string> {
  await harness.startWorker();
  const { drillId } = await harness.control.submit(source, { requestedBy: 'test' });
  const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 120_000, pollMs: 100 });
  expect(state.status, state.message).toBe('completed');
  return drillId;
}

describe('a drill on the sandbox', () => {
  test('two waves over three accounts: RTO and RPO for every server, failing checks with their reason, cleanup of exactly its instances', { timeout: 180_000 }, async ({ sandbox, harness }) => {
    const plan = drsPlan(sandbox.world);
    const drillId = await runToEnd(harness, sandboxDrillSource(sandbox));
    const report = await harness.control.report(drillId);

    expect(report.servers).toHaveLength(8);
    const byHost = new Map(report.servers.map((server) => [server.hostname?.replace('.corp.example.com', ''), server]));
    for (const host of ['db-0', 'db-1', 'db-2', 'web-0', 'web-1', 'web-2']) {
      const server = byHost.get(host);
      expect(server?.status, `${host}: ${server?.reason}`).toBe('passed');
      expect(server?.rtoMs).toBeGreaterThan(0);
      expect(server?.rpoMs).toBeGreaterThanOrEqual(0);
      expect(server?.rpoMet).toBe(true);
      expect(server?.recoveryPoint?.snapshotId).toMatch(/^pit-/);
    }
    expect(byHost.get('shop-0')).toMatchObject({ status: 'failed', reason: expect.stringContaining('HTTP 500, expected 200') });
    expect(byHost.get('queue-1')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/no answer from 127\.\d+\.\d+\.\d+:8080/) });
    expect(report.waves.map((wave) => `${wave.name}:${wave.passed}/${wave.servers}`)).toEqual(['databases:3/3', 'web:3/5']);
    expect(report.simulatedTime).toBe(true);
    expect(report.servers.every((server) => server.terminatedAt !== undefined)).toBe(true);

    // Cleanup, from the request log: the TerminateRecoveryInstances requests named exactly this
    // drill's recovery instances, once each; never the real recovery's or the other drill's.
    const requests = sandbox.requests().filter((entry) => entry.service === 'drs');
    expect(requests.filter((entry) => entry.operation === 'StartRecovery')).toHaveLength(6);
    const terminations = requests.filter((entry) => entry.operation === 'TerminateRecoveryInstances');
    const terminated = terminations.flatMap((entry) => entry.resources ?? []);
    const ours = report.servers.flatMap((server) => (server.launchedAt !== undefined && server.recoveryInstanceId ? [server.recoveryInstanceId] : []));
    expect(ours).toHaveLength(8);
    expect(terminated.sort(), JSON.stringify(terminations)).toEqual([...ours].sort());
    expect(terminations.map((entry) => entry.status)).toEqual(terminations.map(() => 200));
    const seeded = plan.recoveries.filter((recovery) => plan.drillAccountIds.includes(recovery.accountId));
    expect(seeded.filter((recovery) => !recovery.isDrill)).toHaveLength(3);
    expect(seeded.filter((recovery) => recovery.isDrill)).toHaveLength(3);
    for (const recovery of seeded) expect(terminated).not.toContain(recovery.recoveryInstanceID);
    for (const accountId of plan.drillAccountIds) {
      const drs = harness.executor['runtime'].clients().drs(accountId, plan.drillRegion);
      const remaining = await describeRecoveryInstances(drs);
      expect(remaining.filter((instance) => report.servers.some((server) => server.jobId === instance.jobID))).toEqual([]);
      for (const recovery of seeded.filter((r) => r.accountId === accountId)) {
        expect(remaining.find((instance) => instance.recoveryInstanceID === recovery.recoveryInstanceID)?.ec2InstanceState).toBe('RUNNING');
      }
    }
  });
});

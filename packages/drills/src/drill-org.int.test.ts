import { describe, expect, it } from 'vitest';
import { drsPlan, startSandbox, type RunningSandbox, type SandboxOptions } from '@orgshield/sandbox';
import { sandboxWebDrill, withSandboxDrills, type DrillHarness } from '../test/drill-runtime.js';
import { DrillInProgressError } from './drill-executor.js';
import type { DrillSource } from './drill-loader.js';

/**
 * Drills across accounts: the DRS read is an org-wide fan-out with a failure tolerance per
 * region, and one drill file runs once at a time.
 */

const SANDBOX: SandboxOptions = { accounts: 12, ous: 4, seed: 1, timeScale: 0.001, port: 0 };

/** The three drill accounts' web servers, one wave, no checks. */
const webDrill = (sandbox: RunningSandbox, fields: Record<string, unknown> = {}): DrillSource => sandboxWebDrill(sandbox, { name: 'org-wide', fields });

/** A sandbox and a harness for one test; `broken` accounts answer every DescribeSourceServers with a 500. */
async function withDrills(options: { broken?: (sandbox: RunningSandbox) => string[] }, work: (sandbox: RunningSandbox, harness: DrillHarness) => Promise<void>): Promise<void> {
  let faults: SandboxOptions['faults'];
  if (options.broken) {
    // The seeded world is the same for the same seed: a first sandbox names the accounts to break.
    const probe = await startSandbox(SANDBOX);
    const accounts = options.broken(probe);
    await probe.close();
    faults = { operations: { 'drs:DescribeSourceServers': { errorRate: 1, accounts } } };
  }
  await withSandboxDrills({ sandbox: { ...SANDBOX, ...(faults ? { faults } : {}) } }, work);
}

const starts = (sandbox: RunningSandbox) => sandbox.requests().filter((entry) => entry.service === 'drs' && entry.operation === 'StartRecovery');

describe('drills across the organization', () => {
  it('an account whose DRS cannot be read, within the tolerance: the others are drilled, and the report lists it as failed with the reason', { timeout: 120_000 }, async () => {
    let broken = '';
    await withDrills({ broken: (sandbox) => [(broken = drsPlan(sandbox.world).drillAccountIds[2] as string)] }, async (sandbox, harness) => {
      const { drillId } = await harness.control.submit(webDrill(sandbox, { failureTolerance: { count: 1 } }));
      const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 90_000, pollMs: 100 });
      expect(state.status, state.message).toBe('completed');
      const report = await harness.control.report(drillId);
      expect(report.accounts.completed).toBe(2);
      expect(report.accounts.failed).toEqual([{ accountId: broken, region: 'us-east-1', reason: expect.stringMatching(/DescribeSourceServers/) }]);
      expect(report.accounts.notStarted).toEqual([]);
      expect(report.servers.map((server) => `${server.hostname}:${server.status}`).sort()).toEqual(['web-0:passed', 'web-1:passed']);
      expect(starts(sandbox).map((entry) => entry.account)).not.toContain(broken);
    });
  });

  it('past the tolerance (none by default) the drill is refused before any launch, naming the account and why', { timeout: 120_000 }, async () => {
    let broken = '';
    await withDrills({ broken: (sandbox) => [(broken = drsPlan(sandbox.world).drillAccountIds[1] as string)] }, async (sandbox, harness) => {
      const { drillId } = await harness.control.submit(webDrill(sandbox));
      const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 90_000, pollMs: 100 });
      expect(state.status).toBe('refused');
      expect(state.message).toContain(`reading DRS stopped in us-east-1 after 1 failed account(s), more than its tolerance of 0`);
      expect(state.message).toContain(`${broken}: `);
      const report = await harness.control.report(drillId);
      expect(report.accounts.failed.map((entry) => entry.accountId)).toEqual([broken]);
      expect(starts(sandbox)).toEqual([]);
    });
  });

  it('a second run of the same drill file while the first runs is refused with the first id; once it settles the file runs again', { timeout: 150_000 }, async () => {
    await withDrills({}, async (sandbox, harness) => {
      const source = webDrill(sandbox);
      const first = await harness.control.submit(source);
      const refused = await harness.control.submit(source).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(DrillInProgressError);
      expect((refused as DrillInProgressError).exitCode).toBe(1);
      expect((refused as Error).message).toBe(`drill org-wide is already in progress as ${first.drillId}: wait for it to settle or run "orgshield drill cleanup ${first.drillId}".`);
      expect(await harness.control.store.list()).toEqual([first.drillId]);
      expect((await harness.control.waitUntilSettled(first.drillId, { timeoutMs: 90_000, pollMs: 100 })).status).toBe('completed');
      const second = await harness.control.submit(source);
      expect(second.drillId).not.toBe(first.drillId);
      expect((await harness.control.waitUntilSettled(second.drillId, { timeoutMs: 90_000, pollMs: 100 })).status).toBe('completed');
    });
  });
});

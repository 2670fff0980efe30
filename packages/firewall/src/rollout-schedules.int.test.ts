import { join } from 'node:path';
import { GetPolicyCommand, PutPolicyCommand } from '@aws-sdk/client-fms';
import { describe, expect } from 'vitest';
import { harnessTest } from '../test/harness-fixture.js';
import { writeTree } from '../test/rollout-harness.js';
import { findPolicy, fmsClient } from './live-policies.js';
import { readRolloutSource } from './rollout-loader.js';
import { RolloutSchedules } from './rollout-schedules.js';
import type { ScheduleRun } from './rollout-store.js';

const test = harnessTest.override({ sandboxOptions: { accounts: 40, ous: 8, seed: 3, timeScale: 0.001 } });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('rollout schedules', () => {
  test('a scheduled run re-applies desired state: drift is corrected and recorded', { timeout: 120_000 }, async ({ harness }) => {
    const schedules = new RolloutSchedules(harness.redis, harness.queues);
    const root = await writeTree({
      'shield.yaml': 'name: edge-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1]\n',
      'rollout.yaml': 'kind: Rollout\nname: nightly-shield\npolicies: [shield.yaml]\nwaves:\n  - { name: everyone, targets: { all: true }, mode: remediate, gates: { timeout: 30s } }\n',
    });
    const source = await readRolloutSource(join(root, 'rollout.yaml'));
    await expect(schedules.set('nightly', { cron: 'every day' }, source)).rejects.toThrow(/^--cron "every day" is not a cron expression BullMQ accepts/);
    await expect(schedules.set('nightly', { cron: '* * * * *', tz: 'Mars/Olympus' }, source)).rejects.toThrow('--tz "Mars/Olympus" is not a time zone');

    const info = await schedules.set('nightly', { cron: '*/2 * * * * *', tz: 'Europe/Paris' }, source);
    expect(info).toMatchObject({ name: 'nightly', cron: '*/2 * * * * *', tz: 'Europe/Paris', rollout: 'nightly-shield', next: expect.any(String) });
    await harness.startWorker();

    const applied = (run: ScheduleRun) => run.rolloutId !== undefined && run.status !== 'failed';
    const first = await waitFor('a first scheduled run', async () => (await schedules.runs('nightly')).find(applied));
    expect(first.message).toBe('re-applying 1 change(s): edge-shield in eu-west-1: create');
    expect((await harness.control.waitUntilSettled(first.rolloutId ?? '', { timeoutMs: 30_000 })).status).toBe('completed');

    // Someone turns remediation off by hand.
    const fms = fmsClient(harness.aws, 'eu-west-1');
    const live = await findPolicy(fms, 'edge-shield');
    await fms.send(new PutPolicyCommand({ Policy: { ...live?.output.Policy, RemediationEnabled: false } as never }));

    const corrected = await waitFor('a run that corrects the drift', async () =>
      (await schedules.runs('nightly')).find((run) => applied(run) && run.rolloutId !== first.rolloutId && run.message.includes('update')),
    );
    expect(corrected.message).toBe('re-applying 1 change(s): edge-shield in eu-west-1: update');
    expect((await harness.control.waitUntilSettled(corrected.rolloutId ?? '', { timeoutMs: 30_000 })).status).toBe('completed');
    const after = await fms.send(new GetPolicyCommand({ PolicyId: live?.summary.PolicyId }));
    expect(after.Policy?.RemediationEnabled).toBe(true);
    const plan = (await harness.control.view(corrected.rolloutId ?? '')).record.plan;
    expect(plan?.policies.find((change) => change.name === 'edge-shield')?.differences).toEqual([{ path: 'remediation', from: false, to: true }]);

    expect((await schedules.list()).map((schedule) => schedule.name)).toEqual(['nightly']);
    await schedules.remove('nightly');
    expect(await schedules.list()).toEqual([]);
    await expect(schedules.remove('nightly')).rejects.toThrow('there is no rollout schedule named "nightly"');
  });

  test('a scheduled rollout halted at its gate blocks later firings visibly, each a skip naming it, until an operator settles it', { timeout: 120_000 }, async ({ harness }) => {
    const schedules = new RolloutSchedules(harness.redis, harness.queues);
    const root = await writeTree({
      'waf.yaml': 'name: edge-waf\ntype: WAFV2\nresourceTypes: [alb, api-gateway-stage]\nregions: [eu-west-1]\nwebACLSource: RETROFIT_EXISTING\nrules:\n  defaultAction: ALLOW\n  firstRuleGroups:\n    - managedRuleGroup: { name: AWSManagedRulesCommonRuleSet }\n',
      'rollout.yaml': 'kind: Rollout\nname: nightly-waf\npolicies: [waf.yaml]\nwaves:\n  - { name: everyone, targets: { all: true }, mode: audit, gates: { maxNonCompliantAccounts: 0, timeout: 30s } }\n',
    });
    await schedules.set('nightly', { cron: '*/2 * * * * *' }, await readRolloutSource(join(root, 'rollout.yaml')));
    await harness.startWorker();

    const first = await waitFor('a first scheduled run', async () => (await schedules.runs('nightly')).find((run) => run.rolloutId !== undefined));
    const halted = await harness.control.waitUntilSettled(first.rolloutId ?? '', { timeoutMs: 60_000 });
    expect(halted.status).toBe('halted');

    // Later firings are skips that name the halted rollout and the way out.
    // A firing while it was still running is skipped as "still running"; those after the halt say halted.
    const skip = await waitFor('a firing skipped after the halt', async () =>
      (await schedules.runs('nightly')).find((run) => run.status === 'skipped' && Date.parse(run.at) > Date.parse(halted.at)),
    );
    expect(skip.blockedBy).toBe(first.rolloutId);
    expect(skip.message).toContain(`blocked by rollout ${first.rolloutId}, halted: wave everyone in eu-west-1 failed its gate`);
    expect(skip.message).toContain(`"orgshield rollout resume ${first.rolloutId}" continues it, "orgshield rollout abort ${first.rolloutId}" (or rollback) releases the schedule`);
    const [listed] = await schedules.list();
    expect(listed?.current).toEqual({ rolloutId: first.rolloutId, status: 'halted', message: halted.message, blocking: true });

    // Aborted by the operator: the next firing starts a new rollout.
    const abortedAt = (await schedules.runs('nightly')).length;
    await harness.control.abort(first.rolloutId ?? '');
    const next = await waitFor('a firing after the abort that starts a rollout', async () =>
      (await schedules.runs('nightly')).slice(abortedAt).find((run) => run.rolloutId !== undefined && run.rolloutId !== first.rolloutId),
    );
    expect(next.status).not.toBe('skipped');
    await schedules.remove('nightly');
    expect((await harness.control.waitUntilSettled(next.rolloutId ?? '', { timeoutMs: 60_000 })).status).toBe('halted');
    await harness.control.abort(next.rolloutId ?? '');
  });
});

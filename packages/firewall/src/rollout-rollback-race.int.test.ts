import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { harnessTest } from '../test/harness-fixture.js';
import { writeTree } from '../test/rollout-harness.js';
import { fmsClient, listPolicies } from './live-policies.js';
import { readRolloutSource } from './rollout-loader.js';

/**
 * Two workers race a rollback against a step under way: PutPolicy takes 1.5 s, and the rollback
 * comes while the step is between its guard and FMS's answer. The rollback waits for the step,
 * then restores; FMS ends as it was before the rollout (without the guard the step's write
 * landed after the restore, and the rollout read `rolled-back` while the policy was live).
 */
const test = harnessTest.override({
  sandboxOptions: { accounts: 40, ous: 8, seed: 3, timeScale: 0.001, faults: { operations: { 'fms:PutPolicy': { latencyMs: [1500, 1500] } } } },
});

describe('rollback racing a step under way', () => {
  test('waits for the step, and the final FMS state is the restored one', { timeout: 90_000 }, async ({ harness, sandbox }) => {
    const root = await writeTree({
      'shield.yaml': 'name: raced\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1]\n',
      'rollout.yaml': 'kind: Rollout\nname: race\npolicies: [shield.yaml]\nwaves:\n  - { name: all, targets: { all: true }, mode: remediate, gates: { timeout: 30s } }\n',
    });
    await harness.startWorker();
    await harness.startWorker();
    const { rolloutId } = await harness.control.submit(await readRolloutSource(join(root, 'rollout.yaml')));
    // The step notes its intent right before PutPolicy: from then on, FMS answers within 1.5 s.
    const intents = harness.control.store.runs.runKey(rolloutId, 'intents');
    while ((await harness.redis.hlen(intents)) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const putsBefore = sandbox.requests().filter((entry) => entry.operation === 'PutPolicy').length;
    await harness.control.rollback(rolloutId);

    const final = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 60_000, pollMs: 100, until: ['rolled-back', 'failed'] });
    expect(final.status).toBe('rolled-back');
    expect(putsBefore).toBe(0);
    // Once no job is running any more (a write still in flight has landed), FMS holds the restored state:
    // without the rollback's wait for the step, PutPolicy lands after the restore and the policy stays live.
    const queue = harness.queues.queue('firewall');
    while ((await queue.getActiveCount()) + (await queue.getWaitingCount()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await listPolicies(fmsClient(harness.aws, 'eu-west-1'))).map((policy) => policy.PolicyName)).not.toContain('raced');
    // The step's write was made, recorded, and then undone.
    expect(sandbox.requests().filter((entry) => entry.operation === 'PutPolicy')).toHaveLength(1);
    expect(sandbox.requests().filter((entry) => entry.operation === 'DeletePolicy')).toHaveLength(1);
    const { events } = await harness.control.store.events(rolloutId);
    const at = (text: string) => events.findIndex((event) => event.message.includes(text));
    expect(at('raced (')).toBeGreaterThanOrEqual(0);
    expect(at('raced (')).toBeLessThan(at('rollback: raced'));
  });
});

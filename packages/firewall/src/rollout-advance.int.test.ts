import { describe, expect } from 'vitest';
import { harnessTest } from '../test/harness-fixture.js';
import { writeTree } from '../test/rollout-harness.js';
import { stepJobId } from './rollout-advance.js';
import { readRolloutSource } from './rollout-loader.js';

/** A 20-account organization; FMS 1000x faster than real. */
const test = harnessTest.override({ sandboxOptions: { accounts: 20, ous: 4, seed: 3, timeScale: 0.001 } });

const ROLLOUT = `kind: Rollout
name: advance
policies: [waf.yaml]
waves:
  - { name: canary, targets: { tags: { env: dev } }, mode: audit, gates: { timeout: 30s } }
  - { name: everyone, targets: { all: true }, mode: remediate, gates: { timeout: 30s } }
`;
const WAF = 'name: waf\ntype: WAFV2\nresourceTypes: [alb]\nregions: [eu-west-1]\nwebACLSource: RETROFIT_EXISTING\nrules: { defaultAction: ALLOW }\n';

interface RedisInternals {
  sendCommand(command: { name: string; args: unknown[] }, stream?: unknown): Promise<unknown>;
  scriptsSet?: Record<string, { sha: string; lua: string }>;
}

describe('queuing what follows a step', () => {
  test('a write step decides and queues its next step from what its completion read: no read of the rollout after recording', { timeout: 60_000 }, async ({ harness }) => {
    const root = await writeTree({ 'waf.yaml': WAF, 'rollout.yaml': ROLLOUT });
    const source = await readRolloutSource(`${root}/rollout.yaml`);
    const { rolloutId } = await harness.control.submit(source);
    // Planned here rather than by a worker, so the one step below runs alone.
    await harness.executor.start({ rolloutId, source }, { jobId: 'start', final: true });
    const plan = (await harness.executor.store.record(rolloutId))?.plan;
    const [first, second] = plan?.steps ?? [];
    if (first?.kind !== 'put' || !second) throw new Error('the plan does not start with a put and a next step');

    // Every command the step sends, scripts by name.
    const commands: string[] = [];
    const internals = harness.redis as unknown as RedisInternals;
    const send = internals.sendCommand.bind(harness.redis);
    internals.sendCommand = (command, stream) => {
      const name = command.name.toLowerCase();
      const script = name === 'evalsha' || name === 'eval' ? Object.entries(internals.scriptsSet ?? {}).find(([, s]) => s.sha === command.args[0] || s.lua === command.args[0])?.[0] : undefined;
      commands.push((script ?? name).replace(/:.*$/, ''));
      return send(command, stream);
    };
    const outcome = await harness.executor.runStep({ rolloutId, step: first.id, generation: 0, check: 0 }, { jobId: 'step', final: true });
    internals.sendCommand = send;

    expect(outcome).toMatchObject({ outcome: 'created', status: 'running' });
    const completed = commands.indexOf('orgshieldRunComplete');
    expect(completed, commands.join(', ')).toBeGreaterThan(0);
    // Before: the state, the record (with its whole plan) and every step's result were read again here.
    expect(commands.slice(completed + 1)).toEqual(['addStandardJob']);
    const queued = await harness.queues.queue('firewall').getJob(stepJobId(rolloutId, second.id, 0));
    expect(queued?.data).toMatchObject({ rolloutId, step: second.id, generation: 0, check: 0 });
  });
});

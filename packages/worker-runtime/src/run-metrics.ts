import type { RedisClient } from '@orgshield/jobs';
import { DrillStore, SETTLED_DRILL_STATUSES } from '@orgshield/drills';
import { RELEASED_STATUSES, RolloutStore } from '@orgshield/firewall';

/** One gauge sample: how many accounts (rollouts) or servers (drills) of a run are in a state. */
export interface RunGaugeSample {
  run: string;
  state: string;
  count: number;
}

/** How many recent runs a scrape looks at: a scrape reads Redis, and must stay cheap. */
const RECENT_RUNS = 50;

/**
 * Accounts of each rollout still under way (not completed, aborted or rolled back), by state:
 * `applied-audit` and `applied-enforce` for waves whose steps are all done, `pending` for the
 * others, and `non-compliant` for accounts the latest gate reports found so.
 */
export async function rolloutAccountSamples(redis: RedisClient, prefix: string): Promise<RunGaugeSample[]> {
  const store = new RolloutStore(redis, prefix);
  const samples: RunGaugeSample[] = [];
  for (const id of await store.list(RECENT_RUNS)) {
    const [record, state] = await Promise.all([store.record(id), store.state(id)]);
    if (!record?.plan || !state || RELEASED_STATUSES.includes(state.status)) continue;
    const [steps, gates] = await Promise.all([store.steps(id), store.gates(id)]);
    const counts = { 'applied-audit': 0, 'applied-enforce': 0, pending: 0, 'non-compliant': 0 };
    for (const wave of record.plan.waves) {
      const done = record.plan.steps.filter((step) => step.wave === wave.name).every((step) => steps.has(step.id));
      counts[done ? (wave.mode === 'audit' ? 'applied-audit' : 'applied-enforce') : 'pending'] += wave.accounts.length;
    }
    counts['non-compliant'] = new Set([...gates.values()].flatMap((gate) => gate.nonCompliantAccounts)).size;
    samples.push(...Object.entries(counts).map(([name, count]) => ({ run: record.name, state: name, count })));
  }
  return samples;
}

/** Servers of each drill still under way, by their status (waiting, launching, checking, passed, failed, skipped). */
export async function drillServerSamples(redis: RedisClient, prefix: string): Promise<RunGaugeSample[]> {
  const store = new DrillStore(redis, prefix);
  const samples: RunGaugeSample[] = [];
  for (const id of await store.list(RECENT_RUNS)) {
    const state = await store.state(id);
    if (!state || SETTLED_DRILL_STATUSES.includes(state.status)) continue;
    const counts = new Map<string, number>();
    for (const run of await store.runs(id)) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
    samples.push(...[...counts].map(([status, count]) => ({ run: id, state: status, count })));
  }
  return samples;
}

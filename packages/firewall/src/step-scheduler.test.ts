import { describe, expect, it } from 'vitest';
import type { PlanStep } from './rollout-plan.js';
import { runnableSteps } from './step-scheduler.js';

/** Two waves over two regions, each region with one write and its gate. */
const steps = ['w1', 'w2'].flatMap((wave) =>
  ['eu-west-1', 'us-east-1'].flatMap((region) => [
    { kind: 'delete', id: `${wave}.${region}.write`, wave, region, policy: 'p', variant: 'audit', name: 'p-audit' },
    { kind: 'gate', id: `${wave}.${region}.gate`, wave, region },
  ]),
) as PlanStep[];

const ids = (list: PlanStep[]) => list.map((step) => step.id);

describe('runnableSteps', () => {
  it('runs a sequential plan one step at a time in its order', () => {
    const plan = { steps, concurrency: 'sequential' as const };
    expect(ids(runnableSteps(plan, new Set()))).toEqual(['w1.eu-west-1.write']);
    expect(ids(runnableSteps(plan, new Set(['w1.eu-west-1.write', 'w1.eu-west-1.gate'])))).toEqual(['w1.us-east-1.write']);
    expect(ids(runnableSteps(plan, new Set(ids(steps))))).toEqual([]);
  });

  it('runs the regions of a parallel plan side by side, holding the next wave until every region passed its gate', () => {
    const plan = { steps, concurrency: 'parallel' as const };
    expect(ids(runnableSteps(plan, new Set()))).toEqual(['w1.eu-west-1.write', 'w1.us-east-1.write']);
    const euDone = new Set(['w1.eu-west-1.write', 'w1.eu-west-1.gate', 'w1.us-east-1.write']);
    expect(ids(runnableSteps(plan, euDone))).toEqual(['w1.us-east-1.gate']);
    expect(ids(runnableSteps(plan, new Set([...euDone, 'w1.us-east-1.gate'])))).toEqual(['w2.eu-west-1.write', 'w2.us-east-1.write']);
  });
});

import { describe, expect, it } from 'vitest';
import { WorkPool, WorkTracker } from './work-pool.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('WorkPool', () => {
  it('keeps at most `concurrency` tasks running per pool, and is done when tasks added by tasks are done', async () => {
    const tracker = new WorkTracker();
    const pool = new WorkPool(2, tracker);
    let running = 0;
    let most = 0;
    let finished = 0;
    const task = (children: number) => async () => {
      running += 1;
      most = Math.max(most, running);
      await tick();
      for (let i = 0; i < children; i += 1) pool.add(task(children - 1));
      running -= 1;
      finished += 1;
    };
    pool.add(task(3));
    await tracker.done;
    // 1 + 3 + 3*2 + 3*2*1 tasks
    expect(finished).toBe(16);
    expect(most).toBe(2);
  });

  it('fails the walk on the first error and starts nothing after it', async () => {
    const tracker = new WorkTracker();
    const pool = new WorkPool(1, tracker);
    let started = 0;
    pool.add(async () => {
      started += 1;
      throw new Error('boom');
    });
    pool.add(async () => {
      started += 1;
    });
    await expect(tracker.done).rejects.toThrow('boom');
    expect(started).toBe(1);
  });
});

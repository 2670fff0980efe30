import { describe, expect, it } from 'vitest';
import { fanOutExitCode, runFanOut, toleratedFailures, type AccountRegionTask } from './account-fan-out.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const account = (n: number) => String(100000000000 + n);
function tasks(accounts: number, regions: readonly string[]): AccountRegionTask[] {
  return Array.from({ length: accounts }, (_, n) => regions.map((region) => ({ accountId: account(n), region }))).flat();
}

describe('runFanOut', () => {
  it('slides: a task starts as soon as another finishes, so one slow task never holds a batch', async () => {
    const starts: number[] = [];
    const t0 = performance.now();
    let inFlight = 0;
    let most = 0;
    const result = await runFanOut({
      tasks: tasks(40, ['eu-west-1']),
      concurrency: 4,
      perAccount: 1,
      run: async ({ accountId }) => {
        starts.push(performance.now() - t0);
        inFlight += 1;
        most = Math.max(most, inFlight);
        await sleep(accountId === account(0) ? 400 : 20);
        inFlight -= 1;
      },
    });
    expect(result.completed).toHaveLength(40);
    expect(most).toBe(4);
    // batch by batch, the batch with the 400 ms task would hold the other 36 for 400 ms
    expect(starts.filter((at) => at < 350).length).toBe(40);
  });

  it('shares the window fairly: a huge account never takes more than its share, the small ones go on', async () => {
    const regions = ['eu-west-1', 'us-east-1', 'us-west-2', 'ap-south-1'];
    let hugeRunning = 0;
    let hugeMost = 0;
    const smallDone: number[] = [];
    let hugeDoneAt = 0;
    const t0 = performance.now();
    // the huge account comes first, as it would in an org listing
    const result = await runFanOut({
      tasks: tasks(101, regions),
      concurrency: 8,
      run: async ({ accountId }) => {
        if (accountId === account(0)) {
          hugeRunning += 1;
          hugeMost = Math.max(hugeMost, hugeRunning);
          await sleep(300);
          hugeRunning -= 1;
          hugeDoneAt = performance.now() - t0;
        } else {
          await sleep(5);
          smallDone.push(performance.now() - t0);
        }
      },
    });
    expect(result.completed).toHaveLength(404);
    // a quarter of the window, and at most a spare slot more at the end, when every account with work left is at its share
    expect(hugeMost).toBeGreaterThanOrEqual(2);
    expect(hugeMost).toBeLessThanOrEqual(3);
    // 400 small tasks of ~5 ms on the 6 slots left finish before the huge account's 4 x 300 ms on its 2
    expect(Math.max(...smallDone)).toBeLessThan(hugeDoneAt);
  });

  it('lets an account use the whole window when no other account has work waiting', async () => {
    let running = 0;
    let most = 0;
    const result = await runFanOut({
      tasks: Array.from({ length: 8 }, (_, n) => ({ accountId: account(0), region: `r-${n}` })),
      concurrency: 8,
      run: async () => {
        running += 1;
        most = Math.max(most, running);
        await sleep(20);
        running -= 1;
      },
    });
    expect(result.completed).toHaveLength(8);
    expect(most).toBe(8);
  });

  it('records a failure and goes on until the region passes its tolerance, then stops only that region', async () => {
    const result = await runFanOut({
      tasks: tasks(20, ['eu-west-1', 'us-east-1']),
      concurrency: 1,
      tolerance: { count: 2 },
      run: async ({ accountId, region }) => {
        if (region === 'eu-west-1' && Number(accountId.slice(-2)) % 4 === 1) throw new Error(`AccessDenied in ${accountId}`);
      },
    });
    // eu-west-1 fails at accounts 1, 5, 9: the third is past the tolerance of 2
    expect(result.failed.map((f) => `${f.region}:${f.accountId.slice(-2)}:${f.reason}`)).toEqual([
      `eu-west-1:01:AccessDenied in ${account(1)}`,
      `eu-west-1:05:AccessDenied in ${account(5)}`,
      `eu-west-1:09:AccessDenied in ${account(9)}`,
    ]);
    expect(result.stoppedRegions).toEqual([{ region: 'eu-west-1', reason: 'stopped in eu-west-1 after 3 failed account(s), more than its tolerance of 2' }]);
    expect(result.completed.filter((c) => c.region === 'us-east-1')).toHaveLength(20);
    expect(result.completed.filter((c) => c.region === 'eu-west-1')).toHaveLength(7); // 0-9 less the three failed
    expect(result.notStarted.map((n) => n.accountId.slice(-2))).toEqual(['10', '11', '12', '13', '14', '15', '16', '17', '18', '19']);
    expect(result.notStarted.every((n) => n.region === 'eu-west-1' && n.reason.startsWith('stopped in eu-west-1'))).toBe(true);
    expect(fanOutExitCode(result)).toBe(1);
  });

  it('takes a percentage tolerance per region, and lists skipped and cancelled tasks', async () => {
    expect(toleratedFailures({ percentage: 10 }, 25)).toBe(2);
    expect(toleratedFailures({ count: 3 }, 25)).toBe(3);
    const controller = new AbortController();
    let started = 0;
    const result = await runFanOut({
      tasks: tasks(30, ['eu-west-1']),
      concurrency: 2,
      tolerance: { percentage: 10 },
      skip: ({ accountId }) => (accountId === account(3) ? 'account is SUSPENDED' : undefined),
      run: async ({ accountId }) => {
        started += 1;
        if (started === 10) controller.abort();
        if (accountId === account(1) || accountId === account(2)) throw new Error('throttled past every retry');
        await sleep(1);
      },
      signal: controller.signal,
    });
    expect(result.skipped).toEqual([{ accountId: account(3), region: 'eu-west-1', reason: 'account is SUSPENDED' }]);
    expect(result.failed).toHaveLength(2); // 10% of 29 is 2: within the tolerance
    expect(result.stoppedRegions).toEqual([]);
    expect(result.completed.length + result.failed.length).toBe(10);
    expect(result.notStarted).toHaveLength(19);
    expect(result.notStarted[0]?.reason).toBe('cancelled before it started');
    expect(fanOutExitCode(result)).toBe(1);
  });

  it('says done only when everything ran and completed; copes with 5,000 accounts x 4 regions', async () => {
    const result = await runFanOut({ tasks: tasks(5000, ['a-1', 'b-2', 'c-3', 'd-4']), concurrency: 64, run: async ({ accountId }) => accountId });
    expect(result.completed).toHaveLength(20_000);
    expect(new Set(result.completed.map((c) => `${c.accountId}/${c.region}`)).size).toBe(20_000);
    expect(fanOutExitCode(result)).toBe(0);
  });
});

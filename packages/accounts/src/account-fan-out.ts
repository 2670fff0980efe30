import { z } from 'zod';
import { EXIT_CODES, type ExitCode } from '@orgshield/errors';

/**
 * As StackSets has it: failure tolerance is per region, the number or percentage of the run's
 * accounts in that region that may fail before the run stops starting work there.
 */
export const failureToleranceSchema = z.union([
  z.strictObject({ count: z.number().int().nonnegative() }),
  z.strictObject({ percentage: z.number().min(0).max(100) }),
]);
export type FailureTolerance = z.output<typeof failureToleranceSchema>;

/** How many of `total` accounts may fail under a tolerance (a percentage rounds down). */
export function toleratedFailures(tolerance: FailureTolerance, total: number): number {
  return 'count' in tolerance ? tolerance.count : Math.floor((tolerance.percentage / 100) * total);
}

/** One unit of org-wide work: one account in one region. */
export interface AccountRegionTask {
  accountId: string;
  region: string;
}

export interface FanOutOptions<T> {
  tasks: readonly AccountRegionTask[];
  run: (task: AccountRegionTask) => Promise<T>;
  /** Tasks in flight at once, over all accounts and regions (the sliding window). */
  concurrency: number;
  /**
   * Tasks of one account in flight at once while other accounts wait (default a quarter of the
   * window, at least 1), so one account whose tasks are slow never holds the whole window.
   */
  perAccount?: number;
  /** Per region; default { count: 0 }: the first failure in a region stops new work there. */
  tolerance?: FailureTolerance;
  /** A reason to leave a task out (an account suspended, say), or undefined to run it. */
  skip?: (task: AccountRegionTask) => string | undefined;
  /** Stops starting tasks; those in flight finish and are reported. */
  signal?: AbortSignal;
  onSettled?: (settled: { task: AccountRegionTask; outcome: 'completed' | 'failed' }) => void;
}

export interface FanOutResult<T> {
  completed: (AccountRegionTask & { value: T })[];
  failed: (AccountRegionTask & { reason: string })[];
  skipped: (AccountRegionTask & { reason: string })[];
  notStarted: (AccountRegionTask & { reason: string })[];
  /** Regions where failures went past the tolerance, each with one sentence saying so. */
  stoppedRegions: { region: string; reason: string }[];
}

interface AccountQueue {
  accountId: string;
  tasks: AccountRegionTask[];
  running: number;
}

/**
 * Runs account x region tasks in a sliding window: as one finishes the next starts, never batch
 * by batch. The next task is taken round-robin over accounts (at most `perAccount` of one account
 * at once), so the window is shared fairly whatever the order or size of the accounts. A task
 * that fails is recorded with its reason and the others go on, until a region's failures pass
 * its tolerance: then that region starts nothing more, the other regions go on, and its
 * remaining tasks are reported as not started. Never throws for a task's failure.
 */
export async function runFanOut<T>(options: FanOutOptions<T>): Promise<FanOutResult<T>> {
  const result: FanOutResult<T> = { completed: [], failed: [], skipped: [], notStarted: [], stoppedRegions: [] };
  const window = Math.max(1, Math.floor(options.concurrency));
  const perAccount = Math.max(1, Math.floor(options.perAccount ?? window / 4));
  const tolerance = options.tolerance ?? { count: 0 };

  const queues = new Map<string, AccountQueue>();
  const totals = new Map<string, number>();
  for (const task of options.tasks) {
    const skipReason = options.skip?.(task);
    if (skipReason !== undefined) {
      result.skipped.push({ ...task, reason: skipReason });
      continue;
    }
    const queue = queues.get(task.accountId) ?? { accountId: task.accountId, tasks: [], running: 0 };
    queue.tasks.push(task);
    queues.set(task.accountId, queue);
    totals.set(task.region, (totals.get(task.region) ?? 0) + 1);
  }
  const failures = new Map<string, number>();
  const stopped = new Map<string, string>();
  // Accounts with tasks left, in turn order: the next task comes from the first that may start one.
  const ring: AccountQueue[] = [...queues.values()];

  const next = (): AccountRegionTask | undefined => {
    let capped: AccountQueue | undefined;
    for (let scanned = 0, length = ring.length; scanned < length; scanned += 1) {
      const queue = ring.shift()!;
      while (queue.tasks.length > 0 && stopped.has(queue.tasks[0]!.region)) {
        const task = queue.tasks.shift()!;
        result.notStarted.push({ ...task, reason: stopped.get(task.region)! });
      }
      if (queue.tasks.length === 0) continue; // done with this account: it leaves the ring
      ring.push(queue);
      if (queue.running >= perAccount) {
        capped ??= queue;
        continue;
      }
      return take(queue);
    }
    // Only accounts at their share have work left: the share is for fairness, not a limit, so
    // a window nobody else wants is theirs.
    return capped ? take(capped) : undefined;
  };
  const take = (queue: AccountQueue): AccountRegionTask => {
    queue.running += 1;
    return queue.tasks.shift()!;
  };

  const settle = (task: AccountRegionTask, error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    result.failed.push({ ...task, reason });
    const count = (failures.get(task.region) ?? 0) + 1;
    failures.set(task.region, count);
    const allowed = toleratedFailures(tolerance, totals.get(task.region) ?? 0);
    if (count > allowed && !stopped.has(task.region)) {
      const why = `stopped in ${task.region} after ${count} failed account(s), more than its tolerance of ${allowed}`;
      stopped.set(task.region, why);
      result.stoppedRegions.push({ region: task.region, reason: why });
    }
  };

  const runOne = async (task: AccountRegionTask): Promise<void> => {
    let outcome: 'completed' | 'failed';
    try {
      result.completed.push({ ...task, value: await options.run(task) });
      outcome = 'completed';
    } catch (error) {
      settle(task, error);
      outcome = 'failed';
    }
    try {
      options.onSettled?.({ task, outcome });
    } catch {
      // a progress callback's failure is not the task's
    }
  };

  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < window && !options.signal?.aborted) {
        const task = next();
        if (!task) break;
        inFlight += 1;
        void runOne(task).finally(() => {
          inFlight -= 1;
          queues.get(task.accountId)!.running -= 1;
          pump();
        });
      }
      if (inFlight === 0) resolve();
    };
    pump();
  });

  // Whatever is left was never started: cancelled, or in a region that was stopped.
  for (const queue of ring) {
    for (const task of queue.tasks) result.notStarted.push({ ...task, reason: stopped.get(task.region) ?? 'cancelled before it started' });
  }
  return result;
}

/** 0 when every task that ran completed and nothing was left unstarted; 1 otherwise. */
export function fanOutExitCode(result: Pick<FanOutResult<unknown>, 'failed' | 'notStarted'>): ExitCode {
  return result.failed.length > 0 || result.notStarted.length > 0 ? EXIT_CODES.failed : EXIT_CODES.done;
}

/**
 * Runs tasks with at most `concurrency` in flight per pool, and tells when every task of every
 * pool that shares the same `WorkTracker` is done. Tasks may add more tasks as they go (a tree
 * walk), so "done" means no task queued or running anywhere. The first failure stops new tasks
 * from starting and fails the whole walk.
 */
export class WorkTracker {
  private pending = 0;
  private failure: { error: unknown } | undefined;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  readonly done: Promise<void>;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A walk that fails before anyone awaits `done` must not count as an unhandled rejection.
    this.done.catch(() => undefined);
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  started(): void {
    this.pending += 1;
  }

  finished(): void {
    this.pending -= 1;
    if (this.pending === 0 && !this.failure) this.settle?.resolve();
  }

  fail(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.settle?.reject(error);
  }
}

export class WorkPool {
  private running = 0;
  private readonly queue: Array<() => Promise<void>> = [];

  constructor(
    private readonly concurrency: number,
    private readonly tracker: WorkTracker,
  ) {}

  add(task: () => Promise<void>): void {
    if (this.tracker.failed) return;
    this.tracker.started();
    this.queue.push(task);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0 && !this.tracker.failed) {
      const task = this.queue.shift()!;
      this.running += 1;
      task().then(
        () => {
          this.running -= 1;
          this.tracker.finished();
          this.pump();
        },
        (error: unknown) => {
          this.running -= 1;
          this.tracker.fail(error);
        },
      );
    }
  }
}

import type { ChildProcess } from 'node:child_process';

/**
 * The crash harness: kills a step at every one of its crash points in turn (see CrashPoints)
 * and checks that a fresh worker finishes the run as if nothing had happened. A domain plugs
 * in with a CrashScenario:
 *
 * - `setup` makes a fresh world for one run (a sandbox, a Redis prefix, the run's input);
 * - `spawn` starts the worker process that will die: a script that builds the domain's worker,
 *   wraps its Redis connection and its AWS factory's `onMutation` with `CrashPoints.fromEnv()`,
 *   and runs the step under test inside `crashPoints.scope(...)` (the env given here carries
 *   CRASH_AT); it prints `ready` when it listens;
 * - `start` submits the run once the worker is ready;
 * - `recover` starts a fresh worker, waits for the run to settle and asserts the end state and
 *   each mutating call exactly once (from the sandbox's request log);
 * - `teardown` closes what setup opened.
 *
 * First a run with no crash lists the step's points; they must equal `expectedPoints`, so a new
 * write cannot hide from the harness. Then, for each point k, a run whose worker dies right
 * after point k.
 */
export interface CrashScenario<C> {
  setup(): Promise<C>;
  spawn(context: C, env: Record<string, string>): ChildProcess;
  start(context: C): Promise<void>;
  recover(context: C, crash: { index: number; point: string } | undefined): Promise<void>;
  teardown(context: C): Promise<void>;
}

export interface CrashRun {
  /** The step's points, as the run with no crash hit them. */
  points: string[];
  /** Points at which the worker was killed (all of them, or those sampled, when the harness passes). */
  crashedAt: string[];
}

/** What a worker process printed: its points, whether its step finished, whether it was ready. */
interface ChildOutput {
  points: string[];
  ready: Promise<void>;
  scopeDone: Promise<void>;
  exited: Promise<NodeJS.Signals | number | null>;
}

function watchChild(child: ChildProcess): ChildOutput {
  const points: string[] = [];
  let buffered = '';
  let onReady!: () => void;
  let onScopeDone!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const scopeDone = new Promise<void>((resolve) => (onScopeDone = resolve));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') onReady();
      else if (line === 'crash-scope-done') onScopeDone();
      else if (line.startsWith('crash-point ')) points.push(line.split(' ').slice(2).join(' '));
    }
  });
  return { points, ready, scopeDone, exited };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function runOnce<C>(scenario: CrashScenario<C>, crashAt: number | undefined, timeoutMs: number): Promise<{ points: string[] }> {
  const context = await scenario.setup();
  let child: ChildProcess | undefined;
  try {
    child = scenario.spawn(context, crashAt === undefined ? {} : { CRASH_AT: String(crashAt) });
    const output = watchChild(child);
    await within(Promise.race([output.ready, output.exited.then((how) => Promise.reject(new Error(`the worker process ended (${how}) before it was ready`)))]), timeoutMs, 'starting the worker process');
    await scenario.start(context);
    if (crashAt === undefined) {
      await within(output.scopeDone, timeoutMs, 'the step under test');
      child.kill('SIGKILL');
    } else {
      const how = await within(output.exited, timeoutMs, `reaching crash point ${crashAt}`);
      if (how !== 'SIGKILL') throw new Error(`the worker process ended (${how}) instead of dying at crash point ${crashAt}`);
    }
    await output.exited;
    const point = crashAt === undefined ? undefined : output.points[crashAt];
    await scenario.recover(context, crashAt === undefined || point === undefined ? undefined : { index: crashAt, point });
    return { points: [...output.points] };
  } finally {
    child?.kill('SIGKILL');
    await scenario.teardown(context);
  }
}

/**
 * Runs the scenario once without a crash, then once per crash point; throws on the first failure.
 * `sample` picks the points to crash at (all by default): a suite too slow to kill at every point
 * in CI picks a deterministic subset there and all of them at full size; the points are listed
 * and checked against `expectedPoints` either way.
 */
export async function crashAtEveryPoint<C>(
  scenario: CrashScenario<C>,
  options: { expectedPoints: readonly string[]; timeoutMs?: number; sample?: (index: number, point: string) => boolean },
): Promise<CrashRun> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const { points } = await runOnce(scenario, undefined, timeoutMs);
  if (JSON.stringify(points) !== JSON.stringify(options.expectedPoints)) {
    throw new Error(`the step's crash points changed:\n  expected ${JSON.stringify(options.expectedPoints)}\n  found    ${JSON.stringify(points)}\nupdate expectedPoints if the new ones are meant, so each is tested.`);
  }
  const crashedAt: string[] = [];
  for (let index = 0; index < points.length; index++) {
    if (options.sample && !options.sample(index, points[index] ?? '')) continue;
    try {
      const run = await runOnce(scenario, index, timeoutMs);
      crashedAt.push(run.points[index] ?? '?');
    } catch (error) {
      throw new Error(`crash at point ${index} (${points[index]}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return { points, crashedAt };
}

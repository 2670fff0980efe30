import { AsyncLocalStorage } from 'node:async_hooks';
import { writeSync } from 'node:fs';
import type { RedisClient } from './redis-connection.js';

/**
 * Named crash points for the crash harness (see crash-harness.ts). Every Redis write a step
 * makes (found by wrapping the connection's sendCommand, not listed by hand) and every mutating
 * AWS call (the AWS client factory's `onMutation`, called by its middleware before and after
 * each call: the `after` phase, once the call has answered) is a point. Inside `scope`, each point is counted; at point number `crashAt` the
 * process kills itself with SIGKILL right after that write or call returned, before the step
 * sees the answer: the worst moment, where the change is made and nothing after it is.
 */

/** Commands that change Redis (scripts count as writes: ours and BullMQ's all write). */
const WRITE_COMMANDS = new Set([
  'set', 'setnx', 'getset', 'del', 'unlink', 'expire', 'pexpire', 'incr', 'incrby', 'hset', 'hsetnx', 'hdel', 'hincrby',
  'rpush', 'lpush', 'ltrim', 'lrem', 'zadd', 'zrem', 'zremrangebyscore', 'xadd', 'xtrim', 'sadd', 'srem', 'exec', 'evalsha', 'eval',
]);

/**
 * Scripts that only keep something alive (lock and guard renewals): they run on timers, so how
 * many run during a step depends on time, not on the step, and a crash there is a crash at the
 * point before.
 */
const HEARTBEATS = new Set(['orgshieldLockRenew', 'orgshieldRunRenewStep', 'extendLock', 'extendLocks']);

interface RedisInternals {
  /** A Cluster passes the node it picked as a third argument (a pipeline's, say): it is handed on as it came. */
  sendCommand(command: { name: string; args: unknown[] }, ...routing: unknown[]): Promise<unknown>;
  scriptsSet?: Record<string, { sha: string; lua: string }>;
}

export class CrashPoints {
  /** The points hit inside scope so far, in order. */
  readonly points: string[] = [];
  private readonly scoped = new AsyncLocalStorage<true>();
  /** The id of the run under test, named `<run>` in points so their names are the same every run. */
  private runId: string | undefined;
  private used = false;

  /**
   * `crashAt`: the index (from 0) of the point after which the process dies; none to only
   * count. `report` gets each point as it is hit (the child process prints it for the harness).
   */
  constructor(private readonly options: { crashAt?: number; report?: (index: number, name: string) => void } = {}) {}

  /** From CRASH_AT; each point is printed to stdout as `crash-point <index> <name>` before it can crash. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): CrashPoints {
    const crashAt = env['CRASH_AT'] === undefined || env['CRASH_AT'] === '' ? undefined : Number(env['CRASH_AT']);
    return new CrashPoints({
      ...(crashAt === undefined ? {} : { crashAt }),
      // Written synchronously: the process may be killed on the next line.
      report: (index, name) => writeSync(1, `crash-point ${index} ${name}\n`),
    });
  }

  /** Runs `work` as the step under test (of run `runId`): points count only inside it, and only in its first run. */
  async scope<T>(work: () => Promise<T>, options: { runId?: string } = {}): Promise<T> {
    if (this.used) return work();
    this.used = true;
    this.runId = options.runId;
    try {
      return await this.scoped.run(true, work);
    } finally {
      writeSync(1, 'crash-scope-done\n');
    }
  }

  /** A point named `name` is reached (its write or call has just answered). */
  hit(name: string): void {
    if (this.scoped.getStore() !== true) return;
    const index = this.points.push(this.runId ? name.replaceAll(this.runId, '<run>') : name) - 1;
    this.options.report?.(index, this.points[index] ?? name);
    if (index === this.options.crashAt) process.kill(process.pid, 'SIGKILL');
  }

  /** Makes every write on this connection (one Redis or a Cluster) a point, named by command (or script) and the last part of its first key. */
  instrumentRedis(redis: RedisClient): void {
    const internals = redis as unknown as RedisInternals;
    const send = internals.sendCommand.bind(redis);
    let inMulti = false;
    /** A transaction is named by its first command, e.g. `redis:multi hset intents`. */
    let multiName: string | undefined;
    internals.sendCommand = (command, ...routing) => {
      // Named before sending: a script's command turns from evalsha into eval as it is written.
      const name = command.name.toLowerCase();
      if (name === 'multi') [inMulti, multiName] = [true, undefined];
      const queued = inMulti && name !== 'multi' && name !== 'exec';
      if (queued) multiName ??= this.pointName(internals, name, command.args);
      if (name === 'exec' || name === 'discard') inMulti = false;
      const point =
        WRITE_COMMANDS.has(name) && !queued && this.scoped.getStore() === true
          ? name === 'exec'
            ? `redis:multi ${(multiName ?? '').replace(/^redis:/, '')}`
            : this.pointName(internals, name, command.args)
          : undefined;
      const reply = send(command, ...routing);
      if (point === undefined) return reply;
      // Attached before the caller's await, so it runs first when the reply comes.
      return reply.then((value) => {
        this.hit(point);
        return value;
      });
    };
  }

  private pointName(redis: RedisInternals, command: string, args: unknown[]): string | undefined {
    let what = command;
    let keyIndex = 0;
    if (command === 'evalsha' || command === 'eval') {
      const sha = String(args[0]);
      // BullMQ names its scripts `<name>:<version>`: the version is left out, so an upgrade renames no point.
      what = (Object.entries(redis.scriptsSet ?? {}).find(([, script]) => script.sha === sha || script.lua === sha)?.[0] ?? 'script').replace(/:.*$/, '');
      if (HEARTBEATS.has(what)) return undefined;
      keyIndex = 2;
    }
    const key = String(args[keyIndex] ?? '');
    return `redis:${what} ${key.split(':').at(-1) ?? ''}`;
  }
}

import type { DrillSource } from './drill-loader.js';
import type { ServerRun } from './drill-measure.js';
import type { DrillPlan } from './drill-plan.js';
import type { RedisClient } from '@orgshield/jobs';

export const DRILL_STATUSES = ['planning', 'refused', 'running', 'kept', 'cleaning', 'completed', 'failed'] as const;
export type DrillStatus = (typeof DRILL_STATUSES)[number];

/** Statuses after which nothing more happens unless an operator acts. */
export const SETTLED_DRILL_STATUSES: readonly DrillStatus[] = ['refused', 'completed', 'failed'];

export interface DrillRecord {
  id: string;
  name: string;
  createdAt: string;
  requestedBy?: string;
  schedule?: string;
  source: DrillSource;
  plan?: DrillPlan;
  /** Simulated seconds per real second when the drill ran on a time-scaled sandbox. */
  timeScale: number;
}

export interface DrillState {
  status: DrillStatus;
  message: string;
  at: string;
  /** When cleanup is due (ms) under `keep:`. */
  cleanupAt?: number;
}

/** One StartRecovery this drill sent (or found it had sent): how cleanup knows the drill's instances. */
export interface LaunchRecord {
  batch: string;
  wave: string;
  accountId: string;
  region: string;
  jobId: string;
  startedAt: number;
  sourceServerIds: string[];
}

/** One TerminateRecoveryInstances job of the cleanup. */
export interface TerminationRecord {
  accountId: string;
  region: string;
  jobId: string;
  recoveryInstanceIds: string[];
  at: number;
}

export interface DrillEvent {
  at: string;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** One server's result in one drill, as the history keeps it for the trend. */
export interface HistoryEntry {
  drillId: string;
  drill: string;
  at: string;
  accountId: string;
  sourceServerId: string;
  hostname?: string;
  status: string;
  rtoMs?: number;
  rpoMs?: number;
  rtoMet?: boolean;
  rpoMet?: boolean;
}

const COMPARE_AND_SET_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

interface StoreCommands {
  drillsCompareAndSet(key: string, expected: string, next: string): Promise<number>;
}

/** How many drills per server the history keeps. */
const HISTORY_PER_SERVER = 200;

/**
 * A drill's state in Redis: its record (source and plan), status, steps done, each server's
 * run, the DRS jobs it launched and terminated, events, and the per-server history of every
 * drill. A launch is recorded in one MULTI with its step's completion and its servers, so a
 * crash leaves either no trace of it (and the next attempt finds the job by its tags) or all.
 */
export class DrillStore {
  private readonly commands: StoreCommands;

  constructor(
    readonly redis: RedisClient,
    private readonly prefix = 'orgshield',
  ) {
    if (!('drillsCompareAndSet' in redis)) redis.defineCommand('drillsCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET_LUA });
    this.commands = redis as unknown as StoreCommands;
  }

  key(...parts: string[]): string {
    return [this.prefix, 'drills', ...parts].join(':');
  }

  /** Creates the record and its first state; false if a drill with this id exists. */
  async create(record: DrillRecord, state: DrillState): Promise<boolean> {
    const created = await this.redis.set(this.key('run', record.id), JSON.stringify(record), 'NX');
    if (created !== 'OK') return false;
    await this.redis
      .multi()
      .set(this.key('run', record.id, 'state'), JSON.stringify(state))
      .zadd(this.key('runs'), Date.parse(record.createdAt), record.id)
      .exec();
    return true;
  }

  /** Saves the plan and every server's first run in one step. */
  async savePlan(id: string, plan: DrillPlan, runs: readonly ServerRun[]): Promise<void> {
    const record = await this.record(id);
    if (!record) throw new Error(`drill ${id} has no record`);
    const multi = this.redis.multi().set(this.key('run', id), JSON.stringify({ ...record, plan }));
    for (const run of runs) multi.hset(this.key('run', id, 'servers'), serverField(run), JSON.stringify(run));
    await multi.exec();
  }

  async record(id: string): Promise<DrillRecord | undefined> {
    const text = await this.redis.get(this.key('run', id));
    return text ? (JSON.parse(text) as DrillRecord) : undefined;
  }

  async state(id: string): Promise<DrillState | undefined> {
    const text = await this.redis.get(this.key('run', id, 'state'));
    return text ? (JSON.parse(text) as DrillState) : undefined;
  }

  /** Changes the state when its status is one of `from`; undefined when another change came first. */
  async transition(id: string, from: readonly DrillStatus[], change: Partial<DrillState> & Pick<DrillState, 'status' | 'message'>): Promise<DrillState | undefined> {
    const key = this.key('run', id, 'state');
    for (let attempt = 0; attempt < 20; attempt++) {
      const text = await this.redis.get(key);
      if (!text) return undefined;
      const current = JSON.parse(text) as DrillState;
      if (!from.includes(current.status)) return undefined;
      const next: DrillState = { ...current, ...change, at: new Date().toISOString() };
      if ((await this.commands.drillsCompareAndSet(key, text, JSON.stringify(next))) === 1) return next;
    }
    throw new Error(`drill ${id}: its state kept changing while being updated`);
  }

  async isDone(id: string, step: string): Promise<boolean> {
    return (await this.redis.hexists(this.key('run', id, 'steps'), step)) === 1;
  }

  async markDone(id: string, step: string, runs: readonly ServerRun[] = []): Promise<void> {
    const multi = this.redis.multi().hset(this.key('run', id, 'steps'), step, new Date().toISOString());
    for (const run of runs) multi.hset(this.key('run', id, 'servers'), serverField(run), JSON.stringify(run));
    await multi.exec();
  }

  async saveRuns(id: string, runs: readonly ServerRun[]): Promise<void> {
    if (runs.length === 0) return;
    await this.redis.hset(this.key('run', id, 'servers'), Object.fromEntries(runs.map((run) => [serverField(run), JSON.stringify(run)])));
  }

  async runs(id: string): Promise<ServerRun[]> {
    const entries = await this.redis.hgetall(this.key('run', id, 'servers'));
    return Object.values(entries)
      .map((text) => JSON.parse(text) as ServerRun)
      .sort((a, b) => a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region) || a.sourceServerId.localeCompare(b.sourceServerId));
  }

  /**
   * Records a StartRecovery: the job, the launch step done and its servers as launching, in
   * one MULTI. A recorded launch is never sent again.
   */
  async recordLaunch(id: string, launch: LaunchRecord, runs: readonly ServerRun[]): Promise<void> {
    const multi = this.redis
      .multi()
      .hset(this.key('run', id, 'launches'), launch.batch, JSON.stringify(launch))
      .hset(this.key('run', id, 'steps'), `launch.${launch.batch}`, new Date().toISOString());
    for (const run of runs) multi.hset(this.key('run', id, 'servers'), serverField(run), JSON.stringify(run));
    await multi.exec();
  }

  async launches(id: string): Promise<LaunchRecord[]> {
    return Object.values(await this.redis.hgetall(this.key('run', id, 'launches'))).map((text) => JSON.parse(text) as LaunchRecord);
  }

  async recordTermination(id: string, termination: TerminationRecord): Promise<void> {
    await this.redis.hset(this.key('run', id, 'terminations'), termination.jobId, JSON.stringify(termination));
  }

  async terminations(id: string): Promise<TerminationRecord[]> {
    return Object.values(await this.redis.hgetall(this.key('run', id, 'terminations'))).map((text) => JSON.parse(text) as TerminationRecord);
  }

  async addEvent(id: string, event: Omit<DrillEvent, 'at'>): Promise<void> {
    const key = this.key('run', id, 'events');
    await this.redis.multi().rpush(key, JSON.stringify({ at: new Date().toISOString(), ...event })).ltrim(key, -10_000, -1).exec();
  }

  async events(id: string, offset = 0): Promise<DrillEvent[]> {
    return (await this.redis.lrange(this.key('run', id, 'events'), offset, -1)).map((text) => JSON.parse(text) as DrillEvent);
  }

  /** Drill ids, newest first. */
  async list(limit = 50): Promise<string[]> {
    return this.redis.zrevrange(this.key('runs'), 0, limit - 1);
  }

  /**
   * Adds a finished drill's results to each server's history, once per drill (a repeated
   * finish finds the drill's marker and adds nothing).
   */
  async addHistory(drillId: string, entries: readonly HistoryEntry[]): Promise<void> {
    if ((await this.redis.set(this.key('run', drillId, 'history-written'), '1', 'NX')) !== 'OK') return;
    const multi = this.redis.multi();
    for (const entry of entries) {
      const key = this.key('history', entry.accountId, entry.sourceServerId);
      multi.rpush(key, JSON.stringify(entry)).ltrim(key, -HISTORY_PER_SERVER, -1).zadd(this.key('history-servers'), Date.parse(entry.at), `${entry.accountId}:${entry.sourceServerId}`);
    }
    await multi.exec();
  }

  /** A server's drills, oldest first; `server` is `ACCOUNT:SOURCE_SERVER_ID` or a bare source server id. */
  async history(server: string): Promise<HistoryEntry[]> {
    const keys = server.includes(':') ? [server] : (await this.redis.zrange(this.key('history-servers'), 0, -1)).filter((entry) => entry.endsWith(`:${server}`));
    const lists = await Promise.all(keys.map((entry) => this.redis.lrange(this.key('history', ...entry.split(':')), 0, -1)));
    return lists.flat().map((text) => JSON.parse(text) as HistoryEntry).sort((a, b) => a.at.localeCompare(b.at));
  }

  /** When each server was last drilled (ms), keyed `ACCOUNT:SOURCE_SERVER_ID`. */
  async lastDrilled(): Promise<Map<string, number>> {
    const entries = await this.redis.zrange(this.key('history-servers'), 0, -1, 'WITHSCORES');
    const last = new Map<string, number>();
    for (let i = 0; i + 1 < entries.length; i += 2) last.set(entries[i] as string, Number(entries[i + 1]));
    return last;
  }
}

function serverField(run: Pick<ServerRun, 'accountId' | 'region' | 'sourceServerId'>): string {
  return `${run.accountId}|${run.region}|${run.sourceServerId}`;
}

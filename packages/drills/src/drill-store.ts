import { OrgshieldError } from '@orgshield/errors';
import { FencedLocks, RunStateStore, type CreateOutcome, type RedisClient, type RunRetention } from '@orgshield/jobs';
import type { DrillSource } from './drill-loader.js';
import type { ServerRun } from './drill-measure.js';
import type { DrillPlan } from './drill-plan.js';

export const DRILL_STATUSES = ['planning', 'refused', 'running', 'kept', 'cleaning', 'cleanup-failed', 'completed', 'failed'] as const;
export type DrillStatus = (typeof DRILL_STATUSES)[number];

/** Statuses after which nothing more happens unless an operator acts (`cleanup-failed`: `orgshield drill cleanup ID`). */
export const SETTLED_DRILL_STATUSES: readonly DrillStatus[] = ['refused', 'completed', 'failed', 'cleanup-failed'];

/**
 * Statuses that let go of the drill's name, so the same drill file may run again. A kept drill
 * holds it, and so does one whose cleanup failed: its instances may still be up, and a second
 * launch of the same servers would fight them.
 */
export const RELEASED_DRILL_STATUSES: readonly DrillStatus[] = ['refused', 'completed', 'failed'];

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
  /** The run-state layer's generation: drills never resume under a new one, so it stays 0. */
  generation: number;
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

/** How many drills per server the history keeps. */
const HISTORY_PER_SERVER = 200;

/**
 * Adds a drill's results to each server's history once: the drill's marker and every entry in
 * one step, so a crash leaves either all of them or none, and a repeated finish adds nothing.
 * KEYS: marker, servers index, then one list per entry. ARGV: ttl, cap, then per entry: json, score, member.
 */
const ADD_HISTORY_LUA = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 3, #KEYS do
  local at = (i - 3) * 3 + 3
  redis.call('RPUSH', KEYS[i], ARGV[at])
  redis.call('LTRIM', KEYS[i], -tonumber(ARGV[2]), -1)
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[at + 1], ARGV[at + 2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
`;

interface HistoryCommands {
  orgshieldDrillAddHistory(...args: (string | number)[]): Promise<number>;
}

/**
 * A drill's state in Redis, on the shared run-state layer (@orgshield/jobs): its record (source
 * and plan), status, steps done, each server's run, the DRS jobs it launched and terminated,
 * and events (a stream read by id). Creating a drill claims its name in the same step, so a
 * second run of the same drill file is refused with the first's id. Launches and terminations
 * are recorded by the step's guard as it leaves it (see DrillExecutor). Run data expires after
 * the run retention (ORGSHIELD_RETENTION_DAYS); the per-server history is kept on purpose
 * (ORGSHIELD_KEEP_DAYS).
 */
export class DrillStore {
  readonly runState: RunStateStore<DrillRecord, DrillState, DrillEvent>;
  /** The cleanup's lock: one look of a drill's cleanup at a time, so two never terminate the same instances. */
  readonly locks: FencedLocks;
  private readonly historyCommands: HistoryCommands;

  constructor(
    readonly redis: RedisClient,
    private readonly prefix = 'orgshield',
    options: { retention?: RunRetention } = {},
  ) {
    this.runState = new RunStateStore(redis, {
      keyPrefix: `${prefix}:drills`,
      kind: 'run',
      releasedStatuses: RELEASED_DRILL_STATUSES,
      ...(options.retention ? { retention: options.retention } : {}),
    });
    this.locks = new FencedLocks(redis, `${prefix}:drills`);
    if (!('orgshieldDrillAddHistory' in redis)) redis.defineCommand('orgshieldDrillAddHistory', { lua: ADD_HISTORY_LUA });
    this.historyCommands = redis as unknown as HistoryCommands;
  }

  private key(...parts: string[]): string {
    return [this.prefix, 'drills', ...parts].join(':');
  }

  /** Record, first state, index entry and the claim of the drill's name, in one step. */
  create(record: DrillRecord, state: DrillState): Promise<CreateOutcome> {
    return this.runState.create({ id: record.id, name: record.name, record, state, createdAt: Date.parse(record.createdAt) });
  }

  /** Saves the plan (and the time scale it runs under) and every server's first run in one step. */
  async savePlan(id: string, plan: DrillPlan, runs: readonly ServerRun[], timeScale: number): Promise<void> {
    const record = await this.record(id);
    if (!record) throw new OrgshieldError('UnknownDrill', `drill ${id} has no record in Redis (expired or never created).`);
    const ttl = this.runState.retention.runsMs;
    const multi = this.redis.multi().set(this.runState.runKey(id), JSON.stringify({ ...record, plan, timeScale }), 'PX', ttl);
    this.writeRuns(multi, id, runs);
    await multi.exec();
  }

  record(id: string): Promise<DrillRecord | undefined> {
    return this.runState.record(id);
  }

  state(id: string): Promise<DrillState | undefined> {
    return this.runState.state(id);
  }

  /**
   * Changes the state when its status is one of `from`, with its event (the new message, at
   * `level`) in the same step; undefined when another change came first.
   */
  transition(
    id: string,
    from: readonly DrillStatus[],
    change: Partial<DrillState> & Pick<DrillState, 'status' | 'message'>,
    options: { level?: DrillEvent['level']; releaseName?: boolean } = {},
  ): Promise<DrillState | undefined> {
    return this.runState.transition(id, from, () => ({ ...change, at: new Date().toISOString() }), {
      event: (next) => ({ level: options.level ?? 'info', message: next.message }),
      ...(options.releaseName ? { releaseName: true } : {}),
    });
  }

  async isDone(id: string, step: string): Promise<boolean> {
    return (await this.runState.field(id, 'steps', step)) !== undefined;
  }

  /** Marks a step done and saves the server runs it changed, in one step. */
  async markDone(id: string, step: string, runs: readonly ServerRun[] = []): Promise<void> {
    const steps = this.runState.runKey(id, 'steps');
    const multi = this.redis.multi().hset(steps, step, new Date().toISOString()).pexpire(steps, this.runState.retention.runsMs);
    this.writeRuns(multi, id, runs);
    await multi.exec();
  }

  /** Forgets that a step is done or failed, so it runs anew (an operator's `drill cleanup`). */
  async clearStep(id: string, step: string): Promise<void> {
    await this.redis.hdel(this.runState.runKey(id, 'steps'), step, failedField(step));
  }

  /** Marks a step failed for good, with why: what waits for it reads this, not the events. */
  async markFailed(id: string, step: string, message: string): Promise<void> {
    const steps = this.runState.runKey(id, 'steps');
    await this.redis.multi().hset(steps, failedField(step), message).pexpire(steps, this.runState.retention.runsMs).exec();
  }

  /** Why a step failed for good, if it did since it was last cleared. */
  failure(id: string, step: string): Promise<string | undefined> {
    return this.runState.field(id, 'steps', failedField(step));
  }

  async saveRuns(id: string, runs: readonly ServerRun[]): Promise<void> {
    if (runs.length === 0) return;
    const multi = this.redis.multi();
    this.writeRuns(multi, id, runs);
    await multi.exec();
  }

  private writeRuns(multi: ReturnType<RedisClient['multi']>, id: string, runs: readonly ServerRun[]): void {
    if (runs.length === 0) return;
    const key = this.runState.runKey(id, 'servers');
    multi.hset(key, Object.fromEntries(runs.map((run) => [serverField(run), JSON.stringify(run)]))).pexpire(key, this.runState.retention.runsMs);
  }

  async runs(id: string): Promise<ServerRun[]> {
    return Object.values(await this.runState.fields(id, 'servers'))
      .map((text) => JSON.parse(text) as ServerRun)
      .sort((a, b) => a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region) || a.sourceServerId.localeCompare(b.sourceServerId));
  }

  /** The StartRecovery jobs recorded, one per launch batch. */
  async launches(id: string): Promise<LaunchRecord[]> {
    return Object.values(await this.runState.fields(id, 'launches')).map((text) => JSON.parse(text) as LaunchRecord);
  }

  /** Records a StartRecovery found by its tags (sent by a worker that died before recording it); the first record of a batch wins. */
  async adoptLaunch(id: string, launch: LaunchRecord): Promise<void> {
    const key = this.runState.runKey(id, 'launches');
    await this.redis.multi().hsetnx(key, launch.batch, JSON.stringify(launch)).pexpire(key, this.runState.retention.runsMs).exec();
  }

  async terminations(id: string): Promise<TerminationRecord[]> {
    return Object.values(await this.runState.fields(id, 'terminations')).map((text) => JSON.parse(text) as TerminationRecord);
  }

  addEvent(id: string, event: Omit<DrillEvent, 'at'>): Promise<void> {
    return this.runState.addEvent(id, event);
  }

  /** Events after `cursor` (a stream id; from the first when absent) and the cursor to ask with next. */
  events(id: string, cursor?: string): Promise<{ events: DrillEvent[]; cursor: string | undefined }> {
    return this.runState.events(id, cursor);
  }

  /** Drill ids, newest first. */
  list(limit = 50): Promise<string[]> {
    return this.runState.list(limit);
  }

  /** Adds a finished drill's results to each server's history, once per drill. */
  async addHistory(drillId: string, entries: readonly HistoryEntry[]): Promise<void> {
    const keys = [this.runState.runKey(drillId, 'history-written'), this.key('history-servers'), ...entries.map((entry) => this.key('history', entry.accountId, entry.sourceServerId))];
    const args = entries.flatMap((entry) => [JSON.stringify(entry), Date.parse(entry.at), `${entry.accountId}:${entry.sourceServerId}`]);
    await this.historyCommands.orgshieldDrillAddHistory(keys.length, ...keys, this.runState.retention.keptMs, HISTORY_PER_SERVER, ...args);
  }

  /** A server's drills, oldest first; `server` is `ACCOUNT:SOURCE_SERVER_ID` or a bare source server id. */
  async history(server: string): Promise<HistoryEntry[]> {
    const keys = server.includes(':') ? [server] : (await this.redis.zrange(this.key('history-servers'), 0, -1)).filter((entry) => entry.endsWith(`:${server}`));
    const lists = await Promise.all(keys.map((entry) => this.redis.lrange(this.key('history', ...entry.split(':')), 0, -1)));
    return lists
      .flat()
      .map((text) => JSON.parse(text) as HistoryEntry)
      .sort((a, b) => a.at.localeCompare(b.at));
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

/** The steps field that says a step failed for good (a step's own field says it is done). */
function failedField(step: string): string {
  return `${step}:failed`;
}

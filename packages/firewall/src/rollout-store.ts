import type { Policy } from '@aws-sdk/client-fms';
import type { Redis } from 'ioredis';
import type { AccountCompliance, GateReport } from './compliance-gate.js';

export type CachedViolators = Pick<AccountCompliance, 'violators' | 'evaluationLimitExceeded'>;
import type { RolloutSource } from './rollout-loader.js';
import type { RolloutPlan } from './rollout-plan.js';

export const ROLLOUT_STATUSES = ['planning', 'running', 'paused', 'halted', 'aborted', 'failed', 'completed', 'rolling-back', 'rolled-back'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** Statuses after which nothing more happens unless an operator acts (resume, rollback). */
export const SETTLED_STATUSES: readonly RolloutStatus[] = ['halted', 'aborted', 'failed', 'completed', 'rolled-back'];

/**
 * Statuses that let go of the rollout's name. A halted or failed rollout keeps it: its waves
 * are half-applied, and another rollout of the same policies would fight it.
 */
const RELEASED_STATUSES: readonly RolloutStatus[] = ['aborted', 'completed', 'rolled-back'];

/** What a rollout is: fixed once planned. */
export interface RolloutRecord {
  id: string;
  name: string;
  createdAt: string;
  requestedBy?: string;
  /** The schedule that started it, for scheduled runs. */
  schedule?: string;
  source: RolloutSource;
  plan?: RolloutPlan;
}

/** Where a rollout stands: the one part that changes, swapped atomically. */
export interface RolloutState {
  status: RolloutStatus;
  /** One sentence on the last change of status. */
  message: string;
  at: string;
  /**
   * Bumped by every resume: step jobs carry it in their ids, so jobs queued before a pause are
   * recognised as superseded and the resumed ones get fresh ids.
   */
  generation: number;
  /** When the rollout last started or resumed (ms): gate timeouts count from here at the earliest. */
  runningSince: number;
}

export type StepOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent' | 'passed';

export interface StepRecord {
  step: string;
  outcome: StepOutcome;
  at: string;
  policyId?: string;
  /** When the step changed the policy (ms), for the gate's "evaluated after the change". */
  changedAt?: number;
}

/** A policy as it was before the rollout first changed it; `existed: false` if the rollout created it. */
export interface PreviousPolicy {
  region: string;
  name: string;
  existed: boolean;
  policy?: Policy;
  recordedAt: string;
}

export interface RolloutEvent {
  at: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  step?: string;
}

/** One firing of a rollout schedule: the rollout it started, or why it did not. */
export interface ScheduleRun {
  at: string;
  rolloutId?: string;
  status: string;
  message: string;
}

const COMPARE_AND_SET_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

const RELEASE_IF_HELD_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface StoreCommands {
  firewallCompareAndSet(key: string, expected: string, next: string): Promise<number>;
  firewallReleaseIfHeld(key: string, holder: string): Promise<number>;
}

/**
 * A rollout's state in Redis: its record (source and plan), its status, the steps done, the
 * gate reports, the policies as they were before it, and an event log. Step results are hash
 * fields, so steps in parallel regions record without contending.
 */
export class RolloutStore {
  private readonly commands: StoreCommands;

  constructor(
    readonly redis: Redis,
    private readonly prefix = 'orgshield',
  ) {
    if (!('firewallCompareAndSet' in redis)) {
      redis.defineCommand('firewallCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET_LUA });
      redis.defineCommand('firewallReleaseIfHeld', { numberOfKeys: 1, lua: RELEASE_IF_HELD_LUA });
    }
    this.commands = redis as unknown as StoreCommands;
  }

  key(...parts: string[]): string {
    return [this.prefix, 'firewall', ...parts].join(':');
  }

  /** Creates the record and its first state; false if a rollout with this id exists. */
  async create(record: RolloutRecord, state: RolloutState): Promise<boolean> {
    const created = await this.redis.set(this.key('rollout', record.id), JSON.stringify(record), 'NX');
    if (created !== 'OK') return false;
    await this.redis
      .multi()
      .set(this.key('rollout', record.id, 'state'), JSON.stringify(state))
      .zadd(this.key('rollouts'), Date.parse(record.createdAt), record.id)
      .exec();
    return true;
  }

  async savePlan(id: string, plan: RolloutPlan): Promise<void> {
    const record = await this.record(id);
    if (!record) throw new Error(`rollout ${id} has no record`);
    await this.redis.set(this.key('rollout', id), JSON.stringify({ ...record, plan }));
  }

  async record(id: string): Promise<RolloutRecord | undefined> {
    const text = await this.redis.get(this.key('rollout', id));
    return text ? (JSON.parse(text) as RolloutRecord) : undefined;
  }

  async state(id: string): Promise<RolloutState | undefined> {
    const text = await this.redis.get(this.key('rollout', id, 'state'));
    return text ? (JSON.parse(text) as RolloutState) : undefined;
  }

  /**
   * Changes the state when its status is one of `from`; returns the new state, or undefined
   * when the status was another (someone else moved it first).
   */
  async transition(
    id: string,
    from: readonly RolloutStatus[],
    change: (current: RolloutState) => Partial<RolloutState> & Pick<RolloutState, 'status' | 'message'>,
  ): Promise<RolloutState | undefined> {
    const key = this.key('rollout', id, 'state');
    for (let attempt = 0; attempt < 20; attempt++) {
      const text = await this.redis.get(key);
      if (!text) return undefined;
      const current = JSON.parse(text) as RolloutState;
      if (!from.includes(current.status)) return undefined;
      const next: RolloutState = { ...current, ...change(current), at: new Date().toISOString() };
      if ((await this.commands.firewallCompareAndSet(key, text, JSON.stringify(next))) === 1) return next;
    }
    throw new Error(`rollout ${id}: its state kept changing while being updated`);
  }

  async steps(id: string): Promise<Map<string, StepRecord>> {
    const entries = await this.redis.hgetall(this.key('rollout', id, 'steps'));
    return new Map(Object.entries(entries).map(([step, text]) => [step, JSON.parse(text) as StepRecord]));
  }

  async step(id: string, step: string): Promise<StepRecord | undefined> {
    const text = await this.redis.hget(this.key('rollout', id, 'steps'), step);
    return text ? (JSON.parse(text) as StepRecord) : undefined;
  }

  async markStep(id: string, record: StepRecord): Promise<void> {
    await this.redis.hset(this.key('rollout', id, 'steps'), record.step, JSON.stringify(record));
  }

  /**
   * Notes that a step is about to change a policy, right before the call. If the worker dies
   * before recording the step, its re-run finds the change made, and takes the change's time
   * from here: the gate then waits for an evaluation newer than the change, not the re-run.
   */
  async noteIntent(id: string, step: string, at: number): Promise<void> {
    await this.redis.hset(this.key('rollout', id, 'intents'), step, String(at));
  }

  async intent(id: string, step: string): Promise<number | undefined> {
    const at = await this.redis.hget(this.key('rollout', id, 'intents'), step);
    return at === null ? undefined : Number(at);
  }

  async saveGate(id: string, report: GateReport): Promise<void> {
    await this.redis.hset(this.key('rollout', id, 'gates'), report.step, JSON.stringify(report));
  }

  /**
   * Violators read for a gate, per evaluation (`policy|account|evaluatedAt`): a gate that looks
   * again at an evaluation it has seen reuses them instead of calling GetComplianceDetail again.
   */
  async cachedViolators(id: string, evaluations: readonly string[]): Promise<Map<string, CachedViolators>> {
    if (evaluations.length === 0) return new Map();
    const texts = await this.redis.hmget(this.key('rollout', id, 'violators'), ...evaluations);
    const found = new Map<string, CachedViolators>();
    texts.forEach((text, index) => {
      if (text !== null) found.set(evaluations[index]!, JSON.parse(text) as CachedViolators);
    });
    return found;
  }

  async cacheViolators(id: string, entries: ReadonlyMap<string, CachedViolators>): Promise<void> {
    if (entries.size === 0) return;
    const fields = [...entries].flatMap(([evaluation, value]) => [evaluation, JSON.stringify(value)]);
    await this.redis.hset(this.key('rollout', id, 'violators'), ...fields);
  }

  async gates(id: string): Promise<Map<string, GateReport>> {
    const entries = await this.redis.hgetall(this.key('rollout', id, 'gates'));
    return new Map(Object.entries(entries).map(([step, text]) => [step, JSON.parse(text) as GateReport]));
  }

  /** Keeps a policy's version from before the rollout's first change to it; later calls keep the first. */
  async keepPrevious(id: string, previous: PreviousPolicy): Promise<void> {
    const key = this.key('rollout', id, 'previous');
    const field = `${previous.region}|${previous.name}`;
    if ((await this.redis.hsetnx(key, field, JSON.stringify(previous))) === 1) {
      await this.redis.rpush(this.key('rollout', id, 'previous-order'), field);
    }
  }

  /** Previous versions in the order the rollout first changed them. */
  async previous(id: string): Promise<PreviousPolicy[]> {
    const [order, entries] = await Promise.all([
      this.redis.lrange(this.key('rollout', id, 'previous-order'), 0, -1),
      this.redis.hgetall(this.key('rollout', id, 'previous')),
    ]);
    return [...new Set(order)].flatMap((field) => (entries[field] ? [JSON.parse(entries[field]) as PreviousPolicy] : []));
  }

  async addEvent(id: string, event: Omit<RolloutEvent, 'at'>): Promise<void> {
    const key = this.key('rollout', id, 'events');
    await this.redis.multi().rpush(key, JSON.stringify({ at: new Date().toISOString(), ...event })).ltrim(key, -10_000, -1).exec();
  }

  /** Events from `offset` on (for `watch`, which asks for what it has not shown yet). */
  async events(id: string, offset = 0): Promise<RolloutEvent[]> {
    const entries = await this.redis.lrange(this.key('rollout', id, 'events'), offset, -1);
    return entries.map((text) => JSON.parse(text) as RolloutEvent);
  }

  /** Newest first. */
  async list(limit = 50): Promise<string[]> {
    return this.redis.zrevrange(this.key('rollouts'), 0, limit - 1);
  }

  /**
   * One rollout of a name at a time: claims the name for `id`, or returns the id holding it.
   * A holder that finished, or failed before its plan was made, no longer holds it.
   */
  async claimName(name: string, id: string): Promise<string | undefined> {
    const key = this.key('active', name);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.redis.set(key, id, 'NX')) === 'OK') return undefined;
      const holder = await this.redis.get(key);
      if (holder === id) return undefined;
      if (holder === null) continue;
      const [state, record] = await Promise.all([this.state(holder), this.record(holder)]);
      const released = !state || RELEASED_STATUSES.includes(state.status) || (state.status === 'failed' && !record?.plan);
      if (!released) return holder;
      await this.commands.firewallReleaseIfHeld(key, holder);
    }
    return (await this.redis.get(key)) ?? undefined;
  }

  async releaseName(name: string, id: string): Promise<void> {
    await this.commands.firewallReleaseIfHeld(this.key('active', name), id);
  }

  async recordScheduleRun(schedule: string, run: ScheduleRun): Promise<void> {
    const key = this.key('schedule', schedule, 'runs');
    await this.redis.multi().rpush(key, JSON.stringify(run)).ltrim(key, -200, -1).exec();
  }

  /** The schedule's runs, newest last. */
  async scheduleRuns(schedule: string): Promise<ScheduleRun[]> {
    return (await this.redis.lrange(this.key('schedule', schedule, 'runs'), 0, -1)).map((text) => JSON.parse(text) as ScheduleRun);
  }

  /**
   * Runs `work` holding a lock named `resource` (waiting for it), so work on a shared resource
   * is serialized across steps, rollouts and workers. The lock expires if its holder dies.
   */
  async withLock<T>(resource: string, holder: string, work: () => Promise<T>, options: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
    const key = this.key('lock', resource);
    const ttl = options.ttlMs ?? 120_000;
    const deadline = Date.now() + (options.waitMs ?? 300_000);
    while ((await this.redis.set(key, holder, 'PX', ttl, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`${resource} stayed locked by ${(await this.redis.get(key)) ?? 'someone'} for too long`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      return await work();
    } finally {
      await this.commands.firewallReleaseIfHeld(key, holder);
    }
  }
}

import type { Policy } from '@aws-sdk/client-fms';
import { FencedLocks, RunStateStore, type CreateOutcome, type RunRetention, type RedisClient } from '@orgshield/jobs';
import type { AccountCompliance, GateReport } from './compliance-gate.js';
import type { RolloutSource } from './rollout-loader.js';
import type { RolloutPlan } from './rollout-plan.js';
import type { DetailsPayload } from './rollout-step-queue.js';

export type CachedViolators = Pick<AccountCompliance, 'violators' | 'evaluationLimitExceeded'>;

/**
 * A gate's compliance read (ListComplianceStatus, violators empty), kept while the detail
 * batches it queued run: the look their last batch queues (look + 1) judges this read with the
 * violators from the cache, instead of reading every page again. `batches` are the batches' payloads under their job ids, so a rerun of the
 * look queues exactly the same ones again.
 */
export interface GateRead {
  generation: number;
  look: number;
  entries: AccountCompliance[];
  batches: { jobId: string; payload: DetailsPayload }[];
}

export const ROLLOUT_STATUSES = ['planning', 'running', 'paused', 'halted', 'aborted', 'failed', 'completed', 'rolling-back', 'rolled-back'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** Statuses after which nothing more happens unless an operator acts (resume, rollback). */
export const SETTLED_STATUSES: readonly RolloutStatus[] = ['halted', 'aborted', 'failed', 'completed', 'rolled-back'];

/**
 * Statuses that let go of the rollout's name. A halted or failed rollout keeps it: its waves
 * are half-applied, and another rollout of the same policies would fight it.
 */
export const RELEASED_STATUSES: readonly RolloutStatus[] = ['aborted', 'completed', 'rolled-back'];

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
  /** A skipped firing: the rollout that held the name. */
  blockedBy?: string;
}

/**
 * A rollout's state in Redis: its record (source and plan), its status, the steps done, the
 * gate reports, the policies as they were before it, and an event log. Step results are hash
 * fields, so steps in parallel regions record without contending. Every change that touches
 * several keys is one script of the run-state layer (@orgshield/jobs), and everything expires
 * after the retention unless written again.
 */
export class RolloutStore {
  readonly runs: RunStateStore<RolloutRecord, RolloutState, RolloutEvent>;
  readonly locks: FencedLocks;

  constructor(
    readonly redis: RedisClient,
    private readonly prefix = 'orgshield',
    options: { retention?: RunRetention } = {},
  ) {
    this.runs = new RunStateStore(redis, {
      keyPrefix: `${prefix}:firewall`,
      kind: 'rollout',
      releasedStatuses: RELEASED_STATUSES,
      ...(options.retention ? { retention: options.retention } : {}),
    });
    this.locks = new FencedLocks(redis, `${prefix}:firewall`);
  }

  key(...parts: string[]): string {
    return [this.prefix, 'firewall', ...parts].join(':');
  }

  /**
   * Creates the record and its first state and claims the rollout's name, all in one step:
   * `created`, or the id of the rollout holding the name, or `exists` for a rollout created before.
   */
  async create(record: RolloutRecord, state: RolloutState): Promise<CreateOutcome> {
    return this.runs.create({ id: record.id, name: record.name, record, state, createdAt: Date.parse(record.createdAt) });
  }

  async savePlan(id: string, plan: RolloutPlan): Promise<void> {
    const record = await this.record(id);
    if (!record) throw new Error(`rollout ${id} has no record`);
    await this.runs.saveRecord(id, { ...record, plan });
  }

  record(id: string): Promise<RolloutRecord | undefined> {
    return this.runs.record(id);
  }

  state(id: string): Promise<RolloutState | undefined> {
    return this.runs.state(id);
  }

  /**
   * Changes the state when its status is one of `from`, logging `event` (the new message by
   * default) in the same step; returns the new state, or undefined when the status was another
   * (someone else moved it first). `releaseName` lets go of the name (a rollout that failed
   * before it was planned changed nothing).
   */
  transition(
    id: string,
    from: readonly RolloutStatus[],
    change: (current: RolloutState) => Partial<RolloutState> & Pick<RolloutState, 'status' | 'message'>,
    options: { level?: RolloutEvent['level']; step?: string; event?: (next: RolloutState) => string; releaseName?: boolean } = {},
  ): Promise<RolloutState | undefined> {
    return this.runs.transition(id, from, (current) => ({ ...change(current), at: new Date().toISOString() }), {
      event: (next) => ({ level: options.level ?? 'info', message: options.event?.(next) ?? next.message, ...(options.step ? { step: options.step } : {}) }),
      ...(options.releaseName ? { releaseName: true } : {}),
    });
  }

  async steps(id: string): Promise<Map<string, StepRecord>> {
    const entries = await this.runs.fields(id, 'steps');
    return new Map(Object.entries(entries).map(([step, text]) => [step, JSON.parse(text) as StepRecord]));
  }

  async step(id: string, step: string): Promise<StepRecord | undefined> {
    const text = await this.runs.field(id, 'steps', step);
    return text ? (JSON.parse(text) as StepRecord) : undefined;
  }

  /** Records a step done outside any guard (a gate that passed: it changed nothing). */
  async markStep(id: string, record: StepRecord): Promise<void> {
    await this.runs.setField(id, 'steps', record.step, JSON.stringify(record));
  }

  /**
   * Notes that a step is about to change a policy, right before the call. If the worker dies
   * before recording the step, its re-run finds the change made, and takes the change's time
   * from here: the gate then waits for an evaluation newer than the change, not the re-run.
   */
  async noteIntent(id: string, step: string, at: number): Promise<void> {
    await this.runs.setField(id, 'intents', step, String(at));
  }

  async intent(id: string, step: string): Promise<number | undefined> {
    const at = await this.runs.field(id, 'intents', step);
    return at === undefined ? undefined : Number(at);
  }

  async saveGate(id: string, report: GateReport): Promise<void> {
    await this.runs.setField(id, 'gates', report.step, JSON.stringify(report));
  }

  /**
   * Violators read for a gate, per evaluation (`policy|account|evaluatedAt`): a gate that looks
   * again at an evaluation it has seen reuses them instead of calling GetComplianceDetail again.
   * Only the evaluations asked for are read, never the whole cache (a rollout's grows to tens
   * of thousands).
   */
  async cachedViolators(id: string, evaluations: readonly string[]): Promise<Map<string, CachedViolators>> {
    const values = await this.runs.someFields(id, 'violators', evaluations);
    const found = new Map<string, CachedViolators>();
    values.forEach((text, index) => {
      if (text !== undefined) found.set(evaluations[index] ?? '', JSON.parse(text) as CachedViolators);
    });
    return found;
  }

  async cacheViolators(id: string, entries: ReadonlyMap<string, CachedViolators>): Promise<void> {
    // Through the run's store, so the cache expires with the run's other records.
    await this.runs.setFields(id, 'violators', new Map([...entries].map(([evaluation, value]) => [evaluation, JSON.stringify(value)])));
  }

  /** How many evaluations each detail batch (by job id) read; undefined for a batch not done. */
  async batchesRead(id: string, batches: readonly string[]): Promise<(number | undefined)[]> {
    return (await this.runs.someFields(id, 'details', batches)).map((read) => (read === undefined ? undefined : Number(read)));
  }

  /** Notes a detail batch (its job id) queued for a gate, in the order first queued, across the gate's looks. */
  async noteGateBatch(id: string, step: string, batch: string): Promise<void> {
    await this.runs.addOnce(id, `batches:${step}`, batch, batch);
  }

  /** The detail batches queued for a gate (noteGateBatch), in the order first queued. */
  async gateBatches(id: string, step: string): Promise<string[]> {
    return this.runs.ordered(id, `batches:${step}`);
  }

  /** The compliance read a gate's look waits on while its detail batches run (see GateRead). */
  async gateRead(id: string, step: string): Promise<GateRead | undefined> {
    const text = await this.runs.field(id, 'reads', step);
    return text ? (JSON.parse(text) as GateRead) : undefined;
  }

  async saveGateRead(id: string, step: string, read: GateRead): Promise<void> {
    await this.runs.setField(id, 'reads', step, JSON.stringify(read));
  }

  async dropGateRead(id: string, step: string): Promise<void> {
    await this.runs.deleteField(id, 'reads', step);
  }

  async gates(id: string): Promise<Map<string, GateReport>> {
    const entries = await this.runs.fields(id, 'gates');
    return new Map(Object.entries(entries).map(([step, text]) => [step, JSON.parse(text) as GateReport]));
  }

  /** Keeps a policy's version from before the rollout's first change to it, stored and listed in one step; later calls keep the first. */
  async keepPrevious(id: string, previous: PreviousPolicy): Promise<void> {
    await this.runs.addOnce(id, 'previous', `${previous.region}|${previous.name}`, JSON.stringify(previous));
  }

  /** Previous versions in the order the rollout first changed them. */
  async previous(id: string): Promise<PreviousPolicy[]> {
    return (await this.runs.ordered(id, 'previous')).map((text) => JSON.parse(text) as PreviousPolicy);
  }

  async addEvent(id: string, event: Omit<RolloutEvent, 'at'>): Promise<void> {
    await this.runs.addEvent(id, event);
  }

  /** Events after `cursor` (a stream id from an earlier call; all when absent), for `watch`. */
  events(id: string, cursor?: string): Promise<{ events: RolloutEvent[]; cursor: string | undefined }> {
    return this.runs.events(id, cursor);
  }

  /** Newest first. */
  list(limit = 50): Promise<string[]> {
    return this.runs.list(limit);
  }

  async recordScheduleRun(schedule: string, run: ScheduleRun): Promise<void> {
    const key = this.key('schedule', schedule, 'runs');
    await this.redis.multi().rpush(key, JSON.stringify(run)).ltrim(key, -200, -1).pexpire(key, this.runs.retention.runsMs).exec();
  }

  /** The schedule's runs, newest last. */
  async scheduleRuns(schedule: string): Promise<ScheduleRun[]> {
    return (await this.redis.lrange(this.key('schedule', schedule, 'runs'), 0, -1)).map((text) => JSON.parse(text) as ScheduleRun);
  }
}

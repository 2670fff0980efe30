import { randomBytes } from 'node:crypto';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import type { JobQueues, RunRetention, RedisClient } from '@orgshield/jobs';
import type { GateReport } from './compliance-gate.js';
import { queueRunnableSteps } from './rollout-advance.js';
import { FIREWALL_QUEUE, firewallRolloutRollbackJob, firewallRolloutStartJob } from './rollout-jobs.js';
import { parseRolloutSource, type LoadedRollout, type RolloutSource } from './rollout-loader.js';
import type { RolloutStepQueue } from './rollout-step-queue.js';
import {
  RolloutStore,
  SETTLED_STATUSES,
  type RolloutEvent,
  type RolloutRecord,
  type RolloutState,
  type RolloutStatus,
  type StepRecord,
} from './rollout-store.js';

/** Everything `rollout status` shows about one rollout. */
export interface RolloutView {
  record: RolloutRecord;
  state: RolloutState;
  steps: StepRecord[];
  gates: GateReport[];
  done: number;
  total: number;
}

export interface RolloutSummary {
  id: string;
  name: string;
  status: RolloutStatus;
  message: string;
  createdAt: string;
  done: number;
  total: number;
}

/** The operator's side of rollouts: start, look, pause, resume, abort, roll back. */
export class RolloutControl {
  readonly store: RolloutStore;

  /** `steps` is where a resumed rollout queues its next steps (the worker runtime's BullMQ port). */
  constructor(
    redis: RedisClient,
    private readonly queues: JobQueues,
    private readonly steps: RolloutStepQueue,
    options: { retention?: RunRetention } = {},
  ) {
    this.store = new RolloutStore(redis, queues.prefix, options);
  }

  /**
   * Checks the rollout here first (a bad file never reaches the queue), makes sure no other
   * rollout of the same name is in progress, records it and queues its start.
   */
  async submit(source: RolloutSource, options: { requestedBy?: string } = {}): Promise<{ rolloutId: string; loaded: LoadedRollout }> {
    const loaded = parseRolloutSource(source);
    const rolloutId = `${loaded.rollout.name}-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const now = new Date();
    const created = await this.store.create(
      { id: rolloutId, name: loaded.rollout.name, createdAt: now.toISOString(), source, ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}) },
      { status: 'planning', message: 'queued to be planned by a worker', at: now.toISOString(), generation: 0, runningSince: now.getTime() },
    );
    if (!created.created) {
      const holder = created.exists ? rolloutId : created.holder;
      throw new OrgshieldError('RolloutInProgress', `rollout ${loaded.rollout.name} is already in progress as ${holder}: resume, abort or roll it back first.`, {
        exitCode: EXIT_CODES.failed,
      });
    }
    try {
      await this.queues.submit(
        firewallRolloutStartJob,
        { rolloutId, source, ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}) },
        { jobId: `${rolloutId}.start` },
      );
    } catch (error) {
      // Never queued, so never planned: it fails and lets go of its name in one step.
      await this.store.transition(rolloutId, ['planning'], () => ({ status: 'failed', message: `could not be queued: ${error instanceof Error ? error.message : String(error)}` }), {
        level: 'error',
        releaseName: true,
      });
      throw error;
    }
    return { rolloutId, loaded };
  }

  async view(rolloutId: string): Promise<RolloutView> {
    const [record, state, steps, gates] = await Promise.all([
      this.store.record(rolloutId),
      this.store.state(rolloutId),
      this.store.steps(rolloutId),
      this.store.gates(rolloutId),
    ]);
    if (!record || !state) throw unknownRollout(rolloutId);
    const order = new Map(record.plan?.steps.map((step, index) => [step.id, index]) ?? []);
    const byPlan = <T extends { step: string }>(items: Iterable<T>) => [...items].sort((a, b) => (order.get(a.step) ?? 0) - (order.get(b.step) ?? 0));
    return {
      record,
      state,
      steps: byPlan(steps.values()),
      gates: byPlan(gates.values()),
      done: steps.size,
      total: record.plan?.steps.length ?? 0,
    };
  }

  /** The latest rollouts, newest first. */
  async list(limit = 20): Promise<RolloutSummary[]> {
    const ids = await this.store.list(limit);
    const summaries = await Promise.all(
      ids.map(async (id) => {
        const [record, state, steps] = await Promise.all([this.store.record(id), this.store.state(id), this.store.steps(id)]);
        if (!record || !state) return undefined;
        return { id, name: record.name, status: state.status, message: state.message, createdAt: record.createdAt, done: steps.size, total: record.plan?.steps.length ?? 0 };
      }),
    );
    return summaries.filter((summary): summary is RolloutSummary => summary !== undefined);
  }

  /** Stops queuing steps; the step running now finishes. */
  async pause(rolloutId: string): Promise<RolloutState> {
    return this.move(rolloutId, ['running'], 'paused', 'paused by the operator', 'pause');
  }

  /**
   * Continues a paused, halted or failed rollout from its first unfinished step: a halted gate
   * is judged again (fresh compliance), a failed step is tried again. A rollout still `running`
   * with no worker connected to the firewall queue lost its owner (an in-process run killed
   * outright): resume takes it over. Call it before starting a worker in this process.
   */
  async resume(rolloutId: string): Promise<RolloutState> {
    const record = await this.store.record(rolloutId);
    if (!record) throw unknownRollout(rolloutId);
    if (!record.plan) throw new OrgshieldError('NotPlanned', `rollout ${rolloutId} was never planned; start the rollout file again.`, { exitCode: EXIT_CODES.badInput });
    const holder = await this.store.runs.nameHolder(record.name);
    if (holder !== undefined && holder !== rolloutId) {
      throw new OrgshieldError('RolloutInProgress', `rollout ${holder} of ${record.name} is in progress; it must settle before ${rolloutId} resumes.`, { exitCode: EXIT_CODES.failed });
    }
    const ownerless = (await this.queues.workerCount(FIREWALL_QUEUE)) === 0;
    const from: RolloutStatus[] = ownerless ? ['paused', 'halted', 'failed', 'running'] : ['paused', 'halted', 'failed'];
    const state = await this.move(rolloutId, from, 'running', 'resumed by the operator', 'resume', (current) => ({
      generation: current.generation + 1,
      runningSince: Date.now(),
      ...(current.status === 'running' ? { message: 'taken over by the operator: no worker was running it' } : {}),
    }));
    await queueRunnableSteps(this.store, this.steps, rolloutId);
    return state;
  }

  /** Stops the rollout for good, leaving FMS as it is (roll it back to undo). */
  async abort(rolloutId: string): Promise<RolloutState> {
    return this.move(rolloutId, ['planning', 'running', 'paused', 'halted'], 'aborted', 'aborted by the operator', 'abort');
  }

  /** Stops the rollout and queues putting back every policy it changed. */
  async rollback(rolloutId: string): Promise<RolloutState> {
    const state = await this.move(
      rolloutId,
      ['planning', 'running', 'paused', 'halted', 'aborted', 'failed', 'completed', 'rolling-back'],
      'rolling-back',
      'rolling back at the operator\'s request',
      'roll back',
    );
    await this.queues.submit(firewallRolloutRollbackJob, { rolloutId }, { jobId: `${rolloutId}.rollback.g${state.generation}` });
    return state;
  }

  /**
   * An in-process run was interrupted (Ctrl-C): the rollout is paused at once, so `resume`
   * continues it; returns the paused state, or undefined when it was not running.
   */
  async interrupt(rolloutId: string): Promise<RolloutState | undefined> {
    return this.store.transition(rolloutId, ['running'], () => ({
      status: 'paused',
      message: `interrupted; continue with "orgshield rollout resume ${rolloutId} --wait"`,
    }), { level: 'warn' });
  }

  /**
   * Waits until the rollout settles (completed, halted, aborted, failed, rolled back), passing
   * each event on after `fromEvent` (a cursor from lastEventCursor; all when absent); `until`
   * names other statuses to stop at. With `requireWorker`, a rollout that still has work to do
   * while no worker is connected to the firewall queue ends the wait with an error saying so,
   * instead of waiting for a worker that may never come.
   */
  async waitUntilSettled(
    rolloutId: string,
    options: {
      onEvent?: (event: RolloutEvent) => void;
      fromEvent?: string;
      pollMs?: number;
      timeoutMs?: number;
      until?: readonly RolloutStatus[];
      requireWorker?: boolean;
    } = {},
  ): Promise<RolloutState> {
    const until = options.until ?? SETTLED_STATUSES;
    const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
    let cursor = options.fromEvent;
    const pass = async () => {
      const read = await this.store.events(rolloutId, cursor);
      cursor = read.cursor;
      for (const event of read.events) options.onEvent?.(event);
    };
    let workerless = 0;
    for (;;) {
      await pass();
      const state = await this.store.state(rolloutId);
      if (!state) throw unknownRollout(rolloutId);
      if (until.includes(state.status)) {
        await pass();
        return state;
      }
      if (Date.now() > deadline) {
        throw new OrgshieldError('RolloutTimeout', `rollout ${rolloutId} is still ${state.status} after the wait; follow it with "orgshield rollout watch ${rolloutId}".`);
      }
      if (options.requireWorker && state.status !== 'paused') {
        // Two looks a poll apart, so a worker restarting in between is not taken for none.
        workerless = (await this.queues.workerCount(FIREWALL_QUEUE)) === 0 ? workerless + 1 : 0;
        if (workerless >= 2) {
          throw new OrgshieldError('NoWorker', `rollout ${rolloutId} is ${state.status} but no worker is connected to run it; start one ("orgshield worker") or take it over with "orgshield rollout resume ${rolloutId} --wait".`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
  }

  /** The latest event's cursor, to follow only what comes next. */
  lastEventCursor(rolloutId: string): Promise<string | undefined> {
    return this.store.runs.lastEventCursor(rolloutId);
  }

  private async move(
    rolloutId: string,
    from: readonly RolloutStatus[],
    to: RolloutStatus,
    message: string,
    verb: string,
    extra: (current: RolloutState) => Partial<RolloutState> = () => ({}),
  ): Promise<RolloutState> {
    const moved = await this.store.transition(rolloutId, from, (current) => ({ status: to, message, ...extra(current) }));
    if (!moved) {
      const current = await this.store.state(rolloutId);
      if (!current) throw unknownRollout(rolloutId);
      throw new OrgshieldError('InvalidRolloutState', `rollout ${rolloutId} is ${current.status}, so it cannot ${verb}; it can from ${from.join(', ')}.`, { exitCode: EXIT_CODES.badInput });
    }
    return moved;
  }
}

function unknownRollout(rolloutId: string): OrgshieldError {
  return new OrgshieldError('UnknownRollout', `there is no rollout ${rolloutId}; "orgshield rollout status" lists them.`, { exitCode: EXIT_CODES.badInput });
}

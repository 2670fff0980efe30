import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import type { JobQueues, RedisClient, RunRetention } from '@orgshield/jobs';
import { drillStartJob, drillStepJob } from './drill-contracts.js';
import { DRILL_ID, DrillInProgressError, newDrillRecord, newDrillState, stepJobId } from './drill-executor.js';
import { parseDrillSource, type DrillSource } from './drill-loader.js';
import { buildDrillReport, type DrillReport } from './drill-report.js';
import { DrillStore, SETTLED_DRILL_STATUSES, type DrillEvent, type DrillState, type DrillStatus } from './drill-store.js';

export interface DrillSummary {
  id: string;
  name: string;
  status: DrillStatus;
  createdAt: string;
  message: string;
  /** Recovery instances launched and not yet terminated, with when they launched (ISO). */
  stillUp: { sourceServerId: string; accountId: string; recoveryInstanceId?: string; since: string }[];
}

/** Where a wait stands: servers launched, checks passing, time elapsed. */
export interface DrillProgress {
  status: DrillStatus;
  launched: number;
  passed: number;
  failed: number;
  toLaunch: number;
  elapsedMs: number;
}

/**
 * The operator's side of drills (the CLI, the demo): queue one, follow it, read it, clean it
 * up. A drill file is checked before anything is written to Redis.
 */
export class DrillControl {
  readonly store: DrillStore;

  constructor(
    redis: RedisClient,
    private readonly queues: JobQueues,
    options: { retention?: RunRetention } = {},
  ) {
    this.store = new DrillStore(redis, queues.prefix, options);
  }

  /**
   * Checks the drill file here first (a bad one never reaches Redis), records the drill with
   * its name claimed in one step (a drill of the same file still in progress refuses it, naming
   * the first), and queues its start.
   */
  async submit(source: DrillSource, options: { requestedBy?: string; drillId?: string } = {}): Promise<{ drillId: string }> {
    const { drill } = parseDrillSource(source);
    const drillId = options.drillId ?? `${drill.name}-${Date.now().toString(36)}`;
    if (!DRILL_ID.test(drillId)) throw new OrgshieldError('InvalidDrillId', `"${drillId}" is not a drill id: use letters, digits, "-" and "_" (at most 128).`, { exitCode: 2 });
    const created = await this.store.create(
      newDrillRecord({ drillId, name: drill.name, source, now: Date.now(), ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}) }),
      newDrillState(Date.now(), 'queued to be planned by a worker'),
    );
    if (!created.created) throw new DrillInProgressError(drill.name, created.exists ? drillId : created.holder, EXIT_CODES.failed);
    try {
      await this.queues.submit(drillStartJob, { drillId, source, ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}) }, { jobId: `drill.${drillId}.start` });
    } catch (error) {
      // Never queued, so never planned: it fails and lets go of its name in one step.
      await this.store.transition(drillId, ['planning'], { status: 'failed', message: `could not be queued: ${error instanceof Error ? error.message : String(error)}` }, { level: 'error' });
      throw error;
    }
    return { drillId };
  }

  async state(drillId: string): Promise<DrillState> {
    const state = await this.store.state(drillId);
    if (!state) throw new OrgshieldError('UnknownDrill', `there is no drill ${drillId}; "orgshield drill status" lists them.`, { exitCode: 2 });
    return state;
  }

  async report(drillId: string): Promise<DrillReport> {
    const [record, state] = await Promise.all([this.store.record(drillId), this.state(drillId)]);
    if (!record) throw new OrgshieldError('UnknownDrill', `there is no drill ${drillId}; "orgshield drill status" lists them.`, { exitCode: 2 });
    return buildDrillReport(record, state, await this.store.runs(drillId));
  }

  async progress(drillId: string, since: number): Promise<DrillProgress> {
    const [state, runs] = await Promise.all([this.state(drillId), this.store.runs(drillId)]);
    return {
      status: state.status,
      launched: runs.filter((run) => run.launchedAt !== undefined).length,
      passed: runs.filter((run) => run.status === 'passed').length,
      failed: runs.filter((run) => run.status === 'failed').length,
      toLaunch: runs.filter((run) => run.status !== 'skipped').length,
      elapsedMs: Date.now() - since,
    };
  }

  /**
   * Waits until the drill settles (or reaches one of `until`), passing each new event and
   * the progress on; a drill that is refused or fails is settled too.
   */
  async waitUntilSettled(
    drillId: string,
    options: { onEvent?: (event: DrillEvent) => void; onProgress?: (progress: DrillProgress) => void; until?: readonly DrillStatus[]; pollMs?: number; timeoutMs?: number } = {},
  ): Promise<DrillState> {
    const until = options.until ?? SETTLED_DRILL_STATUSES;
    return this.waitFor(drillId, options, async (state) => until.includes(state.status));
  }

  /**
   * Waits for the cleanup `cleanup()` queued to end, whatever the drill's status: a refused or
   * failed drill keeps its status through its cleanup, so the cleanup step's own marks say when
   * it is over: done (cleaned), or failed for good (not cleaned, with why). `cleanup()` cleared
   * both before it queued the cleanup.
   */
  async waitForCleanup(drillId: string, options: { onEvent?: (event: DrillEvent) => void; pollMs?: number; timeoutMs?: number } = {}): Promise<{ cleaned: boolean; message: string }> {
    let failure: string | undefined;
    const state = await this.waitFor(drillId, options, async (current) => {
      failure = await this.store.failure(drillId, 'cleanup');
      return failure !== undefined || (current.status !== 'cleaning' && (await this.store.isDone(drillId, 'cleanup')));
    });
    if (failure !== undefined) return { cleaned: false, message: failure };
    return { cleaned: true, message: state.status === 'completed' ? state.message : `cleanup done: the drill left no recovery instance running; it stays ${state.status}` };
  }

  private async waitFor(
    drillId: string,
    options: { onEvent?: (event: DrillEvent) => void; onProgress?: (progress: DrillProgress) => void; pollMs?: number; timeoutMs?: number },
    settled: (state: DrillState) => Promise<boolean>,
  ): Promise<DrillState> {
    const started = Date.now();
    let cursor: string | undefined;
    for (;;) {
      const state = await this.store.state(drillId);
      const read = await this.store.events(drillId, cursor);
      cursor = read.cursor;
      for (const event of read.events) options.onEvent?.(event);
      if (state && options.onProgress) options.onProgress(await this.progress(drillId, started));
      if (state && (await settled(state))) return state;
      if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
        throw new OrgshieldError('DrillTimeout', `drill ${drillId} did not settle within ${Math.round(options.timeoutMs / 1000)}s; "orgshield drill status ${drillId}" shows where it is.`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
  }

  async list(limit = 50): Promise<DrillSummary[]> {
    const summaries: DrillSummary[] = [];
    for (const id of await this.store.list(limit)) {
      const [record, state, runs] = await Promise.all([this.store.record(id), this.store.state(id), this.store.runs(id)]);
      if (!record || !state) continue;
      summaries.push({
        id,
        name: record.name,
        status: state.status,
        createdAt: record.createdAt,
        message: state.message,
        stillUp: runs
          .filter((run) => run.launchedAt !== undefined && run.terminatedAt === undefined)
          .map((run) => ({ sourceServerId: run.sourceServerId, accountId: run.accountId, ...(run.recoveryInstanceId ? { recoveryInstanceId: run.recoveryInstanceId } : {}), since: new Date(run.launchedAt as number).toISOString() })),
      });
    }
    return summaries;
  }

  /**
   * Queues the drill's cleanup now, whatever its status (a kept drill, a failed one): the
   * cleanup step runs anew under a fresh job id, and terminates only the drill's own instances.
   */
  async cleanup(drillId: string): Promise<void> {
    await this.state(drillId);
    await this.store.clearStep(drillId, 'cleanup');
    await this.store.transition(drillId, ['kept', 'running', 'cleanup-failed'], { status: 'cleaning', message: 'cleanup requested' });
    // The request's time is the round that makes the cleanup job's id fresh.
    const round = Date.now();
    await this.queues.submit(drillStepJob, { drillId, step: 'cleanup', round }, { jobId: stepJobId(drillId, 'cleanup', round) });
  }
}

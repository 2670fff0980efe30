import { resolveSelector, runFanOut, type AccountRegionTask, type FanOutResult, type MemberCredentials, type OrganizationSnapshot } from '@orgshield/accounts';
import type { AwsClientFactory } from '@orgshield/aws';
import { OrgshieldError } from '@orgshield/errors';
import { StepGuardLostError, type JobProgress } from '@orgshield/jobs';
import { auditRecording, type AuditReport } from './recording-audit.js';
import type { FanOutSummary } from './recording-jobs.js';
import { parseRecordingSource } from './recording-loader.js';
import { RecordingRuns, SETTLED_RECORDING_STATUSES, type RecordingRunKind, type RecordingRunRecord, type RecordingRunState, type RecordingRunStatus } from './recording-runs.js';
import type { Recording } from './recording-schema.js';
import { runSetupStep, SETUP_STEPS, type SetupContext, type StepResult } from './recording-setup.js';
import { eraseUserRecordings, type UserRecordingsContext } from './user-recordings.js';

/**
 * Runs of session recording as a worker does them: setup and audit of every target in a sliding
 * window (runFanOut) with the file's failure tolerance per region, and the erasure of one person.
 * A setup works on a target only under that target's fenced lock, and records each step in the
 * run's state once it is done (under the run's guard and the lock's token), so a worker that dies
 * leaves a run the next attempt finishes without repeating a step that was recorded; a step that
 * was under way re-reads live state, so its changes are not made twice either.
 */

export interface RecordingRuntime {
  runs: RecordingRuns;
  clients: AwsClientFactory;
  members(): Promise<MemberCredentials>;
  organization(): Promise<OrganizationSnapshot>;
  /** How often to look at a builder, image or fleet changing state (default: a tenth of the wait, at most 10 s). */
  pollMs?: number;
  /** Lifetime of a target lock and a step's guard between renewals; a dead worker's hold lapses after it. */
  leaseMs?: number;
  /** How long a setup waits for another run's lock on the same target. */
  lockWaitMs?: number;
}

export type SetupRunResult = FanOutSummary & { runId: string; status: RecordingRunStatus; blocked: { account: string; region: string; reason: string }[] };
export type AuditRunResult = FanOutSummary & { runId: string; status: RecordingRunStatus; findings: number; report: AuditReport };
export interface EraseRunResult {
  runId: string;
  status: RecordingRunStatus;
  versions: number;
  pseudonyms: string[];
}

type Progress = (progress: JobProgress) => Promise<void> | void;

interface TargetSetup {
  steps: StepResult[];
  blocked?: string;
}

function summary<T>(fan: FanOutResult<T>): FanOutSummary {
  const plain = ({ accountId, region }: AccountRegionTask) => ({ account: accountId, region });
  return {
    completed: fan.completed.map(plain),
    failed: fan.failed.map((task) => ({ ...plain(task), reason: task.reason })),
    skipped: fan.skipped.map((task) => ({ ...plain(task), reason: task.reason })),
    notStarted: fan.notStarted.map((task) => ({ ...plain(task), reason: task.reason })),
  };
}

export class RecordingExecutor {
  constructor(private readonly runtime: RecordingRuntime) {}

  private get runs(): RecordingRuns {
    return this.runtime.runs;
  }

  /** A run's record and recording file, moved to running (a retried job finds it running already). */
  private async begin(runId: string, kind: RecordingRunKind): Promise<{ record: RecordingRunRecord; state: RecordingRunState; recording: Recording } | { settled: RecordingRunState }> {
    const record = await this.runs.record(runId);
    if (!record || record.kind !== kind) throw new OrgshieldError('UnknownRecordingRun', `recording ${kind} run ${runId} has no record in Redis (expired or never created).`, { exitCode: 2 });
    let state = await this.runs.state(runId);
    if (!state) throw new OrgshieldError('UnknownRecordingRun', `recording run ${runId} has no state in Redis (expired).`, { exitCode: 2 });
    if (SETTLED_RECORDING_STATUSES.includes(state.status)) return { settled: state };
    if (state.status === 'queued') state = (await this.runs.transition(runId, ['queued'], { status: 'running', message: `${kind} running` })) ?? (await this.runs.state(runId)) ?? state;
    const { recording } = parseRecordingSource(await this.runs.file(record.fileId));
    return { record, state, recording };
  }

  /** The targets of a recording: selected ACTIVE accounts x regions; selected accounts that are not active are skipped. */
  private async targets(recording: Recording): Promise<{ tasks: AccountRegionTask[]; inactive: Map<string, string> }> {
    const organization = await this.runtime.organization();
    const active = resolveSelector(organization, recording.targets);
    const everyone = resolveSelector({ ...organization, accounts: organization.accounts.map((account) => ({ ...account, status: 'ACTIVE' as const })) }, recording.targets);
    const inactive = new Map(everyone.filter((id) => !active.includes(id)).map((id) => [id, `account ${id} is ${organization.accounts.find((account) => account.id === id)?.status ?? 'not active'}`]));
    if (everyone.length === 0) throw new OrgshieldError('NoTargets', `the targets of recording ${recording.name} select no account of the organization; check targets.`, { exitCode: 2 });
    return { tasks: everyone.flatMap((accountId) => recording.regions.map((region) => ({ accountId, region }))), inactive };
  }

  /** `work` in every target, in the file's sliding window and tolerance; progress as each target settles. */
  private async fanOut<T>(recording: Recording, phase: string, progress: Progress | undefined, work: (target: { account: string; region: string }) => Promise<T>): Promise<FanOutResult<T>> {
    const { tasks, inactive } = await this.targets(recording);
    const total = tasks.filter((task) => !inactive.has(task.accountId)).length;
    let settled = 0;
    return runFanOut<T>({
      tasks,
      concurrency: recording.fanOut.concurrency,
      tolerance: recording.fanOut.failureTolerance,
      skip: (task) => inactive.get(task.accountId),
      run: (task) => work({ account: task.accountId, region: task.region }),
      onSettled: () => void progress?.({ phase, done: ++settled, total }),
    });
  }

  private async finish(runId: string, status: RecordingRunStatus, message: string, result: unknown): Promise<void> {
    await this.runs.saveResult(runId, result);
    await this.runs.transition(runId, ['queued', 'running'], { status, message, level: status === 'failed' ? 'error' : status === 'blocked' ? 'warn' : 'info' });
  }

  /** Marks a run failed (its job's last attempt failed); an erase forgets its subject. */
  async failed(runId: string, reason: string): Promise<void> {
    await this.runs.transition(runId, ['queued', 'running'], { status: 'failed', message: reason, level: 'error' });
    await this.runs.forgetSubject(runId);
  }

  private wait(record: RecordingRunRecord): SetupContext['wait'] {
    const timeoutMs = (record.waitSeconds ?? 1800) * 1000;
    return { pollMs: this.runtime.pollMs ?? Math.min(10_000, Math.max(50, timeoutMs / 10)), timeoutMs };
  }

  async setup(runId: string, progress: Progress = () => undefined): Promise<SetupRunResult> {
    const begun = await this.begin(runId, 'setup');
    if ('settled' in begun) return this.storedResult<SetupRunResult>(runId, begun.settled);
    const { record, state, recording } = begun;
    const members = await this.runtime.members();
    const context: SetupContext = { clients: this.runtime.clients, recording, targetFor: (account, region) => members.target(account, region), wait: this.wait(record) };
    const fan = await this.fanOut(recording, 'setting up', progress, (target) => this.setupTarget(runId, state.generation, context, target));
    const blocked = fan.completed.filter((task) => task.value.blocked).map((task) => ({ account: task.accountId, region: task.region, reason: task.value.blocked ?? '' }));
    const base = summary(fan);
    const result: SetupRunResult = { runId, ...base, completed: base.completed.filter((done) => !blocked.some((b) => b.account === done.account && b.region === done.region)), blocked, status: 'completed' };
    result.status = result.failed.length > 0 || result.notStarted.length > 0 ? 'failed' : blocked.length > 0 ? 'blocked' : 'completed';
    const message =
      result.status === 'completed'
        ? `recording is set up in ${result.completed.length} target(s)`
        : result.status === 'blocked'
          ? `${blocked.length} target(s) wait for their image (Image Assistant); run setup again once it is made`
          : `${result.failed.length} target(s) failed, ${result.notStarted.length} not started`;
    await this.finish(runId, result.status, message, result);
    return result;
  }

  /**
   * One target's steps under its fenced lock; steps recorded as done are not run again. A step's
   * record is written only while the run's guard and the lock are still this worker's.
   */
  private async setupTarget(runId: string, generation: number, context: SetupContext, target: { account: string; region: string }): Promise<TargetSetup> {
    const lockOptions = { ...(this.runtime.leaseMs ? { ttlMs: this.runtime.leaseMs } : {}), ...(this.runtime.lockWaitMs ? { waitMs: this.runtime.lockWaitMs } : {}) };
    return this.runs.locks.withLock(
      `target:${target.account}:${target.region}`,
      async (lease) => {
        const done = await this.runs.runs.fields(runId, 'steps');
        const steps: StepResult[] = [];
        for (const step of SETUP_STEPS) {
          const field = `${target.account}|${target.region}|${step}`;
          const recorded = done[field];
          if (recorded !== undefined) {
            steps.push(JSON.parse(recorded) as StepResult);
            continue;
          }
          const entered = await this.runs.runs.guarded(runId, { status: 'running', generation, member: field, ...(this.runtime.leaseMs ? { ttlMs: this.runtime.leaseMs } : {}) }, async (guard) => {
            const result = await runSetupStep({ ...context, beforeChange: () => lease.assertHeld() }, target, step, { dryRun: false });
            if (result.blocked) return result;
            if (!(await guard.complete({ part: 'steps', field, value: JSON.stringify(result), lease }))) throw new StepGuardLostError(runId, `step ${step} of ${target.account} ${target.region} lost its guard or lock`);
            return result;
          });
          if (!entered.entered) throw new OrgshieldError('RecordingRunMoved', `setup run ${runId} is ${entered.status}, so step ${step} did not run.`, { exitCode: 1 });
          steps.push(entered.value);
          if (entered.value.blocked) return { steps, blocked: entered.value.blocked };
        }
        return { steps };
      },
      lockOptions,
    );
  }

  /** The audit; a schedule's firing makes its run first (named from the firing, so a retry finds it). */
  async audit(payload: { runId: string } | { fileId: string; schedule: string }, options: { firedAt?: number; progress?: Progress } = {}): Promise<AuditRunResult> {
    let runId: string;
    if ('runId' in payload) runId = payload.runId;
    else {
      const { recording } = parseRecordingSource(await this.runs.file(payload.fileId));
      const id = `${recording.name}-audit-${payload.schedule}-${(options.firedAt ?? Date.now()).toString(36)}`.slice(0, 128);
      runId = (await this.runs.create({ id, kind: 'audit', recording: recording.name, fileId: payload.fileId, schedule: payload.schedule, requestedBy: `schedule ${payload.schedule}` })).runId;
    }
    const begun = await this.begin(runId, 'audit');
    if ('settled' in begun) return this.storedResult<AuditRunResult>(runId, begun.settled);
    const { record, recording } = begun;
    const members = await this.runtime.members();
    const to = new Date();
    const window = { from: new Date(to.getTime() - (record.days ?? 7) * 86_400_000), to };
    const fan = await this.fanOut(recording, 'auditing', options.progress, (target) =>
      auditRecording({ clients: this.runtime.clients, recording, targets: [target], targetFor: (account, region) => members.target(account, region) }, window),
    );
    const report: AuditReport = { fleets: [], sessionsWithoutRecording: [], sessionsChecked: 0 };
    for (const { value } of fan.completed) {
      report.fleets.push(...value.fleets);
      report.sessionsWithoutRecording.push(...value.sessionsWithoutRecording);
      report.sessionsChecked += value.sessionsChecked;
    }
    const findings = report.sessionsWithoutRecording.length + report.fleets.filter((fleet) => fleet.verdict !== 'recording').length;
    const base = summary(fan);
    const status: RecordingRunStatus = base.failed.length > 0 || base.notStarted.length > 0 ? 'failed' : 'completed';
    const result: AuditRunResult = { runId, ...base, status, findings, report };
    await this.finish(runId, status, `audit of ${base.completed.length} target(s): ${findings} finding(s)${status === 'failed' ? `, ${base.failed.length} target(s) failed` : ''}`, result);
    return result;
  }

  /**
   * Erases the run's subject's recordings in every target (every version and delete marker), keeps
   * the erasure's record under the pseudonyms, and forgets the subject. Repeating it erases nothing
   * more.
   */
  async erase(runId: string, progress: Progress = () => undefined): Promise<EraseRunResult> {
    const begun = await this.begin(runId, 'erase');
    if ('settled' in begun) {
      await this.runs.forgetSubject(runId);
      return this.storedResult<EraseRunResult>(runId, begun.settled);
    }
    const { record, recording } = begun;
    const subject = await this.runs.subject(runId);
    if (subject === undefined) throw new OrgshieldError('EraseSubjectGone', `erase run ${runId} no longer knows whose recordings to erase (its request expired before a worker took it); run the erase again.`, { exitCode: 2 });
    const members = await this.runtime.members();
    const { tasks, inactive } = await this.targets(recording);
    const targets = tasks.filter((task) => !inactive.has(task.accountId)).map((task) => ({ account: task.accountId, region: task.region }));
    await progress({ phase: 'erasing', done: 0, total: targets.length });
    const context: UserRecordingsContext = { clients: this.runtime.clients, recording, targets, targetFor: (account, region) => members.target(account, region) };
    const erasure = await eraseUserRecordings(context, subject, { dryRun: false, by: record.requestedBy ?? 'unknown' });
    await this.runs.keepErasure({
      runId,
      recording: recording.name,
      at: erasure.at,
      by: erasure.by,
      pseudonyms: erasure.pseudonyms,
      versions: erasure.versions.length,
      targets: targets.map((target) => ({ ...target, versions: erasure.versions.filter((v) => v.account === target.account && v.region === target.region).length })),
    });
    const result: EraseRunResult = { runId, status: 'completed', versions: erasure.versions.length, pseudonyms: erasure.pseudonyms };
    await this.finish(runId, 'completed', `${erasure.versions.length} object version(s) erased under ${erasure.pseudonyms.length} pseudonym(s)`, result);
    await this.runs.forgetSubject(runId);
    return result;
  }

  private async storedResult<T extends { status: RecordingRunStatus }>(runId: string, state: RecordingRunState): Promise<T> {
    const stored = await this.runs.result<T>(runId);
    if (stored) return stored;
    throw new OrgshieldError('RecordingRunSettled', `recording run ${runId} is ${state.status}: ${state.message}`, { exitCode: 1 });
  }
}

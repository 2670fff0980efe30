import { createHash, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { type AwsClientFactory } from '@orgshield/aws';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { LockLostError, StepGuardLostError, type LockLease, type RunAfterStep, type RunRetention, type RedisClient } from '@orgshield/jobs';
import type { OrganizationSnapshot } from '@orgshield/accounts';
import { evaluatedSince, judgeGate, needsViolators, soakEnd, waitingFrom, waitsWhateverTheRest, type AccountCompliance, type GateReport, type GateTiming } from './compliance-gate.js';
import { needsDetail, readComplianceStatus, readViolators } from './compliance-reader.js';
import { fmsClient, listPolicies } from './live-policies.js';
import { applyDelete, applyPut, restorePrevious } from './policy-writer.js';
import { queueRunnableSteps, stepJobId } from './rollout-advance.js';
import { firewallRolloutDetailsJob, firewallRolloutRollbackJob, firewallRolloutStartJob, firewallRolloutStepJob, firewallScheduledRolloutJob } from './rollout-jobs.js';
import { parseRolloutSource } from './rollout-loader.js';
import type { GateStep, RolloutPlan } from './rollout-plan.js';
import { RolloutPlanError } from './rollout-planner.js';
import { planAgainstAws } from './rollout-planning.js';
import { ensureNotificationChannel } from './rollout-preflight.js';
import type { DetailsPayload, RolloutStepQueue, StepPayload } from './rollout-step-queue.js';
import { RolloutStore, type GateRead, type RolloutState, type StepRecord } from './rollout-store.js';

/** What the rollout jobs need from the worker that runs them. */
export interface RolloutRuntime {
  redis: RedisClient;
  /** Prefix of the queues; it also prefixes the rollout state in Redis. */
  queuePrefix: string;
  /** Where the rollout queues its next steps. */
  steps: RolloutStepQueue;
  /** Clients in the caller's account, which must be the FMS administrator. */
  aws: AwsClientFactory;
  /** The organization to plan against (resolved at plan time, so tags mean today's accounts). */
  organization(): Promise<OrganizationSnapshot>;
  /**
   * Longest wait between two looks of a gate that is not ready; looks start 0.5 s apart and
   * double up to this (default 30 s), but wait at most half the time since the wave's last
   * change (0.5 s at least), so a quick evaluation is seen quickly and a slow one costs few
   * calls. A soaking gate looks again when the soak ends.
   */
  gatePollMs?: number;
  /** How long rollout state stays in Redis after its last write; default 30 days. */
  retention?: RunRetention;
  /**
   * Lifetime of a step's place in its rollout's guard and of shared locks between renewals: a
   * worker that died holds them at most this long (default 30 s).
   */
  leaseMs?: number;
}

export type StartPayload = z.infer<typeof firewallRolloutStartJob.payload>;

/** Where a job is in its attempts: the last failure of a step also fails the rollout. */
export interface JobAttempt {
  jobId: string;
  /** This is the job's last attempt, or the error cannot be retried away. */
  final: boolean;
}

/** What a firewall job is to the executor: BullMQ's Job, or anything shaped like it. */
export interface FirewallJob {
  id?: string | undefined;
  name: string;
  data: unknown;
  attemptsMade: number;
  timestamp: number;
  opts: { attempts?: number | undefined };
}

/** The attempt a job is on: on its last, a failing step also fails its rollout. */
export function jobAttempt(job: FirewallJob): JobAttempt {
  return { jobId: String(job.id), final: job.attemptsMade + 1 >= (job.opts.attempts ?? 1) };
}

/**
 * The worker side of rollouts: plans them (start), runs their steps one job at a time, and
 * rolls them back. Every method is safe to run again after a crash: state lives in Redis and
 * every write re-reads FMS first.
 */
export class RolloutExecutor {
  readonly store: RolloutStore;
  /** Plans of the rollouts this worker ran steps of lately: a plan is saved once, before its first step, and never changes. */
  private readonly plans = new Map<string, RolloutPlan>();

  constructor(private readonly runtime: RolloutRuntime) {
    this.store = new RolloutStore(runtime.redis, runtime.queuePrefix, runtime.retention ? { retention: runtime.retention } : {});
  }

  /** Plans the rollout against the organization and FMS as they are now, then queues its first steps. */
  async start(payload: StartPayload, attempt: JobAttempt): Promise<z.infer<typeof firewallRolloutStartJob.result>> {
    const loaded = parseRolloutSource(payload.source);
    const { rollout } = loaded;
    const now = new Date();
    const created = await this.store.create(
      {
        id: payload.rolloutId,
        name: rollout.name,
        createdAt: now.toISOString(),
        source: payload.source,
        ...(payload.requestedBy ? { requestedBy: payload.requestedBy } : {}),
        ...(payload.schedule ? { schedule: payload.schedule } : {}),
      },
      { status: 'planning', message: 'waiting to be planned', at: now.toISOString(), generation: 0, runningSince: now.getTime() },
    );
    if (!created.created && !created.exists) {
      throw new OrgshieldError('RolloutInProgress', `rollout ${rollout.name} is already in progress as ${created.holder}; resume, abort or roll it back first.`, {
        exitCode: EXIT_CODES.badInput,
      });
    }
    // Record and state are created together (with the name claimed), so a state is always there.
    const state = await this.store.state(payload.rolloutId);
    if (state?.status !== 'planning') {
      // A retried or repeated start: the rollout is under way (or over) already.
      await queueRunnableSteps(this.store, this.runtime.steps, payload.rolloutId);
      return { rolloutId: payload.rolloutId, status: state?.status ?? 'expired', steps: (await this.store.record(payload.rolloutId))?.plan?.steps.length ?? 0 };
    }

    try {
      const plan = await planAgainstAws(this.runtime.aws, loaded, () => this.runtime.organization());
      if (plan.problems.length > 0) throw new RolloutPlanError(plan);
      if (rollout.notifications) await ensureNotificationChannel(this.runtime.aws, rollout.notifications, plan.regions);
      await this.store.savePlan(payload.rolloutId, plan);
      const running = await this.store.transition(payload.rolloutId, ['planning'], () => ({
        status: 'running',
        message: `planned ${plan.steps.length} steps: ${plan.waves.length} waves over ${plan.regions.join(', ')}`,
        runningSince: Date.now(),
      }));
      await queueRunnableSteps(this.store, this.runtime.steps, payload.rolloutId);
      return { rolloutId: payload.rolloutId, status: running?.status ?? 'running', steps: plan.steps.length };
    } catch (error) {
      if (attempt.final || (error instanceof OrgshieldError && error.exitCode === EXIT_CODES.badInput)) {
        // Nothing was changed yet: the rollout fails and lets go of its name in one step.
        await this.fail(payload.rolloutId, ['planning'], `planning failed: ${messageOf(error)}`, { releaseName: true });
      }
      throw error;
    }
  }

  /**
   * Runs one step (or one look of a gate) and queues what may follow. A write step's checks
   * (running, this generation, not done already) are made as it enters the rollout's guard, and
   * its result and event are recorded as it leaves, in a script that also reads back the
   * rollout's state and steps done, from which (with the plan, read once per rollout) it queues
   * what follows: three round trips besides its own work (enter, leave, queue).
   */
  async runStep(payload: StepPayload, attempt: JobAttempt): Promise<z.infer<typeof firewallRolloutStepJob.result>> {
    const { rolloutId } = payload;
    const plan = await this.plan(rolloutId);
    const result = (outcome: string, status: string) => ({ rolloutId, step: payload.step, outcome, status });
    const step = plan.steps.find((candidate) => candidate.id === payload.step);
    if (!step) throw new OrgshieldError('UnknownStep', `rollout ${rolloutId} has no step ${payload.step}.`, { exitCode: EXIT_CODES.badInput });

    try {
      if (step.kind === 'gate') {
        const state = await this.store.state(rolloutId);
        if (!state) throw new OrgshieldError('UnknownRollout', `rollout ${rolloutId} has no state in Redis; start it again.`, { exitCode: EXIT_CODES.badInput });
        // Queued before a pause or halt: the resume that followed queued its own.
        if (state.generation !== payload.generation) return result('superseded', state.status);
        if (state.status !== 'running') return result('skipped', state.status);
        const done = await this.store.step(rolloutId, step.id);
        if (done) {
          await queueRunnableSteps(this.store, this.runtime.steps, rolloutId);
          return result(done.outcome, state.status);
        }
        return await this.runGate(plan, step, state, payload);
      }
      // Inside the rollout's guard: entered only while it is running at this generation and the
      // step is not done, so a rollback (which waits for the steps inside) never races its write.
      const leaseMs = this.runtime.leaseMs ?? 30_000;
      const what = step.kind === 'put' ? `${step.spec.name} (${step.accounts} accounts)` : step.name;
      // What the step's completion read of the rollout (its state and the steps done), to queue what follows from.
      let after: RunAfterStep<RolloutState> | undefined;
      const guarded = await this.store.runs.guarded(
        rolloutId,
        { status: 'running', generation: payload.generation, member: `${attempt.jobId}.${randomUUID()}`, ttlMs: leaseMs, done: { part: 'steps', field: step.id } },
        async (guard) => {
          const context = {
            fms: fmsClient(this.runtime.aws, step.region),
            store: this.store,
            rolloutId,
            leaseMs,
            commit: async (done: StepRecord, lease?: LockLease) => {
              const event = { level: 'info' as const, step: step.id, message: `${step.wave}/${step.region}: ${what} ${done.outcome}` };
              after = await guard.completeAndRead({ part: 'steps', field: done.step, value: JSON.stringify(done), event, ...(lease ? { lease } : {}) });
              if (after) return;
              throw lease ? new LockLostError(lease.resource, lease.token) : new StepGuardLostError(rolloutId, `step ${done.step} lost its place in the guard`);
            },
          };
          return step.kind === 'put' ? applyPut(step, context) : applyDelete(step, context);
        },
      );
      if (!guarded.entered) {
        if (guarded.done === undefined) return result(guarded.status === 'superseded' ? 'superseded' : 'skipped', guarded.status);
        await queueRunnableSteps(this.store, this.runtime.steps, rolloutId);
        return result((JSON.parse(guarded.done) as StepRecord).outcome, 'running');
      }
      await queueRunnableSteps(this.store, this.runtime.steps, rolloutId, after && { state: after.state, plan, done: new Set(after.fields) });
      return result(guarded.value.outcome, 'running');
    } catch (error) {
      if (attempt.final || (error instanceof OrgshieldError && error.exitCode === EXIT_CODES.badInput)) {
        await this.fail(rolloutId, ['running'], `step ${step.id} failed: ${messageOf(error)}`, { step: step.id });
      }
      throw error;
    }
  }

  /** The rollout's plan, read from Redis once per rollout and worker. */
  private async plan(rolloutId: string): Promise<RolloutPlan> {
    const known = this.plans.get(rolloutId);
    if (known) return known;
    const plan = (await this.store.record(rolloutId))?.plan;
    if (!plan) throw new OrgshieldError('UnknownRollout', `rollout ${rolloutId} has no plan in Redis; start it again.`, { exitCode: EXIT_CODES.badInput });
    // A few rollouts at a time is the usual; the oldest entry goes first.
    if (this.plans.size >= 32) this.plans.delete(this.plans.keys().next().value ?? '');
    this.plans.set(rolloutId, plan);
    return plan;
  }

  private async runGate(plan: RolloutPlan, step: GateStep, state: RolloutState, payload: StepPayload) {
    const { rolloutId } = payload;
    const timing = { now: Date.now(), changedAt: await this.changedAt(rolloutId, plan, step), waitingSince: state.runningSince };
    const { report, awaitingDetails } = await this.look(rolloutId, step, timing, payload);
    await this.store.saveGate(rolloutId, report);
    const result = (outcome: string, status: string) => ({ rolloutId, step: step.id, outcome, status });
    if (report.status === 'waiting') {
      if (payload.check === 0) await this.store.addEvent(rolloutId, { level: 'info', step: step.id, message: `${step.wave}/${step.region} gate: ${report.reason}` });
      // The last detail batch queues the next look.
      if (awaitingDetails) return result('waiting', 'running');
      const check = payload.check + 1;
      // Half the time since the change (or the gate's start) at most: FMS evaluates a while after
      // a change, and this looks about as soon after it as the time it has taken already.
      const sinceChange = Date.now() - waitingFrom(timing);
      const backoff = Math.min(this.runtime.gatePollMs ?? 30_000, Math.max(500, Math.min(500 * 2 ** Math.min(payload.check, 10), sinceChange / 2)));
      const delay = report.soakEndsAt ? Math.max(0, Date.parse(report.soakEndsAt) - Date.now()) + 50 : backoff;
      await this.runtime.steps.enqueueStep({ ...payload, check }, { jobId: stepJobId(rolloutId, step.id, payload.generation, check), delayMs: delay });
      return result('waiting', 'running');
    }
    if (report.status === 'passed') {
      await this.store.markStep(rolloutId, { step: step.id, outcome: 'passed', at: report.judgedAt });
      await this.store.addEvent(rolloutId, { level: 'info', step: step.id, message: `${step.wave}/${step.region} gate passed: ${report.reason}` });
      await queueRunnableSteps(this.store, this.runtime.steps, rolloutId);
      return result('passed', 'running');
    }
    const halted = await this.store.transition(
      rolloutId,
      ['running'],
      () => ({ status: 'halted', message: `wave ${step.wave} in ${step.region} failed its gate: ${report.reason}` }),
      { level: 'error', step: step.id },
    );
    return result('failed', halted?.status ?? 'halted');
  }

  /**
   * One look of a gate: the compliance of its accounts (against the policy each account is
   * under), judged; "after the change" means after this wave's last write to that policy here.
   * Counts come from ListComplianceStatus alone; violators (GetComplianceDetail per account) only
   * when the judgement needs them (needsViolators), once per evaluation of each account, read by
   * detail batches (jobs of their own, see readDetails; each finishing one moves the gate's
   * next ahead, see promoteNext). While they run the look waits; the last one queues the next
   * look, which judges the read this look kept, from the cache.
   *
   * When the gate halts on violation reasons and the soak is over, batches are queued as the
   * pages arrive (their evaluations will be wanted as soon as the count judgement is final), so
   * the detail reads, the bound of a large gate, start with the first page instead of the last.
   * While the wave soaks a look reads nothing, and a read stops at the first page after which
   * the gate waits whatever the rest say (waitsWhateverTheRest): a look before FMS has evaluated
   * the change, or has remediated, costs a page, not the whole (100 pages at 5,000 accounts).
   */
  private async look(rolloutId: string, step: GateStep, timing: GateTiming, payload: StepPayload): Promise<{ report: GateReport; awaitingDetails: boolean }> {
    const saved = await this.store.gateRead(rolloutId, step.id);
    if (saved && saved.generation === payload.generation && saved.look <= payload.check) {
      // The look before queued batches (or this look did, and is run again after a crash: its batches again, under the same ids).
      const rerun = saved.look === payload.check;
      if (rerun) for (const [index, batch] of saved.batches.entries()) await this.enqueueBatch(batch, index);
      return this.judgeRead(rolloutId, step, payload, { entries: saved.entries, timing, queued: rerun ? saved.batches : [], saved: true });
    }
    if (soakEnd(step, timing) !== undefined) {
      // Soaking: the gate waits for the soak's end whatever FMS says, so FMS is not read (a
      // read of a large org's compliance takes longer than a short soak, for nothing).
      return { report: judgeGate(step, [], timing), awaitingDetails: false };
    }
    const fms = fmsClient(this.runtime.aws, step.region);
    const policies = await listPolicies(fms);
    const early = step.gates.haltOnViolationReasons.length > 0;
    const entries: AccountCompliance[] = [];
    const queued: QueuedBatch[] = [];
    // The accounts read so far, and the policy and page where the read stopped, if it did.
    const read: AccountCompliance[] = [];
    let stoppedAt: { policy: string; page: number; why: string } | undefined;
    for (const check of step.checks) {
      // The gate waits already: the accounts of the policies not read count as not evaluated.
      if (stoppedAt) break;
      const policyId = policies.find((policy) => policy.PolicyName === check.name)?.PolicyId;
      // A policy missing now leaves its accounts unevaluated, and the gate times out on them.
      if (!policyId) continue;
      const changedAt = timing.changedAt[check.name];
      const fresh = (entry: AccountCompliance) => evaluatedSince(entry, changedAt);
      // Pages go in fixed groups, and a group is queued only when all of it is evaluated after
      // the change: so a later look mostly queues the same batches (the same ids: one job each).
      // Not always: accounts evaluated between two looks shift the pages, and the later look's
      // groups overlap the earlier look's batches, maybe still queued; their claims (readDetails)
      // keep each evaluation read once.
      let group: AccountCompliance[] = [];
      let pages = 0;
      const flush = async () => {
        const wanted = group.every(fresh) ? group.filter(needsDetail) : [];
        if (wanted.length > 0) await this.queueBatch(queued, detailBatch(rolloutId, step.id, payload.generation, policyId, wanted));
        group = [];
      };
      // Once the pages read say the gate waits whatever the later ones say (an account not
      // evaluated since the change, a remediation not done), the read stops: the next look reads afresh.
      const onPage = async (page: AccountCompliance[]) => {
        pages += 1;
        read.push(...page);
        const why = waitsWhateverTheRest(step, read, timing, read.length - page.length);
        if (why) {
          stoppedAt = { policy: check.name, page: pages, why };
          return false;
        }
        if (!early) return true;
        group.push(...page);
        if (pages % PAGES_PER_BATCH === 0) await flush();
        return true;
      };
      entries.push(...(await readComplianceStatus(fms, { id: policyId, name: check.name }, { accounts: check.accounts, onPage })));
      if (early && !stoppedAt) await flush();
    }
    const judged = await this.judgeRead(rolloutId, step, payload, { entries, timing, queued, saved: false, policies });
    if (!stoppedAt) return judged;
    const reason = `waiting: to page ${stoppedAt.page} of ${stoppedAt.policy}'s compliance, ${stoppedAt.why}, so the read stopped there`;
    return { ...judged, report: { ...judged.report, reason } };
  }

  /**
   * Judges a compliance read; when the judgement needs violators, fills them from the cache and
   * queues batches for those it lacks (but those already queued in this look), keeping the read
   * for the look the last batch queues.
   */
  private async judgeRead(
    rolloutId: string,
    step: GateStep,
    payload: StepPayload,
    read: { entries: AccountCompliance[]; timing: GateTiming; queued: QueuedBatch[]; saved: boolean; policies?: Awaited<ReturnType<typeof listPolicies>> },
  ): Promise<{ report: GateReport; awaitingDetails: boolean }> {
    const { entries, timing } = read;
    const counted = judgeGate(step, entries, timing);
    if (!needsViolators(step, counted)) return { report: counted, awaitingDetails: false };
    const wanted = entries.filter(needsDetail);
    const cached = await this.store.cachedViolators(rolloutId, wanted.map(evaluationOf));
    const unread = wanted.filter((entry) => {
      const hit = cached.get(evaluationOf(entry));
      if (!hit) return true;
      entry.violators = hit.violators;
      entry.evaluationLimitExceeded ||= hit.evaluationLimitExceeded;
      return false;
    });
    if (unread.length === 0) {
      // Judged: the next look reads FMS afresh.
      if (read.saved) await this.store.dropGateRead(rolloutId, step.id);
      return { report: judgeGate(step, entries, timing), awaitingDetails: false };
    }
    const batches = [...read.queued];
    const inBatches = new Set(batches.flatMap(({ payload: batch }) => batch.evaluations.map((evaluation) => evaluationOf({ policy: batch.policy, ...evaluation }))));
    // A fresh look has just listed the policies; a saved read (the look before's) lists them now.
    const policies = read.policies ?? (await listPolicies(fmsClient(this.runtime.aws, step.region)));
    for (const check of step.checks) {
      const policyId = policies.find((policy) => policy.PolicyName === check.name)?.PolicyId;
      const missing = unread.filter((entry) => entry.policy === check.name && !inBatches.has(evaluationOf(entry)));
      for (let from = 0; policyId && from < missing.length; from += DETAIL_BATCH) {
        await this.queueBatch(batches, detailBatch(rolloutId, step.id, payload.generation, policyId, missing.slice(from, from + DETAIL_BATCH)));
      }
    }
    await this.store.saveGateRead(rolloutId, step.id, {
      generation: payload.generation,
      look: payload.check,
      entries: entries.map((entry) => ({ ...entry, violators: [] })),
      batches,
    });
    // A batch that finished before the read was saved could not move the next ahead, nor the last queue the next look.
    await this.queueNextDetails(rolloutId, step.id, payload.generation);
    const reason = `reading the violators of ${unread.length} non-compliant account evaluation(s) in ${batches.length} batch(es)`;
    return { report: { ...counted, status: 'waiting', reason, breaches: [] }, awaitingDetails: true };
  }

  /** Queues `batch` as the next of a look's `batches` (enqueueBatch), adds it to them, and moves its gate's next batch ahead (promoteNext). */
  private async queueBatch(batches: QueuedBatch[], batch: QueuedBatch): Promise<void> {
    await this.enqueueBatch(batch, batches.length);
    batches.push(batch);
    await this.promoteNext(batch.payload.rolloutId, batch.payload.step, batch.payload.generation);
  }

  /**
   * Queues the `index`-th detail batch of a look behind every gate's next batch (promoteNext),
   * and notes it as one of its gate's. Noted once queued, so a batch noted is one that runs.
   */
  private async enqueueBatch(batch: QueuedBatch, index: number): Promise<void> {
    await this.runtime.steps.enqueueDetails(batch.payload, { jobId: batch.jobId, priority: FURTHER_BATCH_PRIORITY + index });
    await this.store.noteGateBatch(batch.payload.rolloutId, batch.payload.step, batch.jobId);
  }

  /**
   * Moves a gate's next detail batch ahead of every further batch: the first of the gate's
   * batches not done, across its looks in the order queued (a look that found the gate still
   * waiting leaves its batches queued, and the next look's, from shifted pages, may differ), and
   * only while none of the gate's batches is under way; a batch's end calls this again. So a gate
   * has one next at most, and a free slot takes the next of a region with none under way before a
   * second batch of a region that has one: two slots do not split one region's GetComplianceDetail
   * quota while another region's next waits with its quota unused; a slot nothing else wants still
   * takes a further batch, so with no quota in the way the slots stay busy. Among next batches the
   * gate with fewer batches done (that read anything) goes first.
   */
  private async promoteNext(rolloutId: string, step: string, generation: number): Promise<void> {
    const prefix = batchIdPrefix(rolloutId, step, generation);
    const batches = (await this.store.gateBatches(rolloutId, step)).filter((batch) => batch.startsWith(prefix));
    const read = await this.store.batchesRead(rolloutId, batches);
    const next = batches[read.indexOf(undefined)];
    if (next === undefined) return;
    // A batch under way is in the guard under `<job id>.<uuid>`.
    if ((await this.store.runs.stepsUnderWay(rolloutId)).some((member) => member.startsWith(prefix))) return;
    const done = read.filter((count) => count !== undefined && count > 0).length;
    await this.runtime.steps.prioritizeDetails(next, 1 + done);
  }

  /**
   * Moves a gate's detail reads on, as a batch ends or a look keeps its read: when every batch
   * of the read the gate keeps is done, the gate's next look is queued (once, by its id); else
   * the gate's next batch goes ahead (promoteNext).
   */
  private async queueNextDetails(rolloutId: string, step: string, generation: number): Promise<void> {
    const read = await this.store.gateRead(rolloutId, step);
    if (read?.generation === generation && (await this.store.batchesRead(rolloutId, read.batches.map((batch) => batch.jobId))).every((count) => count !== undefined)) {
      const check = read.look + 1;
      await this.runtime.steps.enqueueStep({ rolloutId, step, generation, check }, { jobId: stepJobId(rolloutId, step, generation, check) });
      return;
    }
    await this.promoteNext(rolloutId, step, generation);
  }

  /** When this wave last changed each policy in the gate's region (ms), by policy name. */
  private async changedAt(rolloutId: string, plan: RolloutPlan, step: GateStep): Promise<Record<string, number>> {
    const done = await this.store.steps(rolloutId);
    const changedAt: Record<string, number> = {};
    for (const planned of plan.steps) {
      if (planned.kind === 'gate' || planned.wave !== step.wave || planned.region !== step.region) continue;
      const at = done.get(planned.id)?.changedAt;
      const name = planned.kind === 'put' ? planned.spec.name : planned.name;
      if (at !== undefined) changedAt[name] = Math.max(changedAt[name] ?? 0, at);
    }
    return changedAt;
  }

  /**
   * One detail batch of a gate (see firewallRolloutDetailsJob): inside the rollout's guard, so a
   * pause, abort or rollback stops batches not yet started and waits for those under way, and
   * with its done field, so a rerun never reads a finished batch again. It reads only the
   * evaluations it claims as it enters: not in the cache already (a crash after the cache write,
   * a batch of an earlier look) and not claimed by another batch still inside the guard. Such
   * another batch exists when a look queued its batches early and the next look, its pages
   * shifted by accounts evaluated since, grouped the same evaluations differently, or when this
   * job runs again beside its first run (stalled, or re-queued after its record went): this one
   * waits for the other to cache them, or to lose its place, and reads only what is left. Nothing
   * is counted here, the gate counts from the cache, so nothing can be counted twice.
   */
  async readDetails(payload: DetailsPayload, attempt: JobAttempt): Promise<z.infer<typeof firewallRolloutDetailsJob.result>> {
    const { rolloutId, step: stepId } = payload;
    const result = (outcome: string, read = 0) => ({ rolloutId, step: stepId, outcome, read });
    try {
      const step = (await this.plan(rolloutId)).steps.find((candidate) => candidate.id === stepId);
      if (step?.kind !== 'gate') throw new OrgshieldError('UnknownStep', `rollout ${rolloutId} has no gate ${stepId}.`, { exitCode: EXIT_CODES.badInput });
      const batch = attempt.jobId;
      const entries = new Map(
        payload.evaluations.map((evaluation): [string, AccountCompliance] => {
          const entry: AccountCompliance = { ...evaluation, policy: payload.policy, status: 'NON_COMPLIANT', violatorCount: 0, evaluationLimitExceeded: false, violators: [] };
          return [evaluationOf(entry), entry];
        }),
      );
      const fms = fmsClient(this.runtime.aws, step.region);
      const guarded = await this.store.runs.guarded(
        rolloutId,
        {
          status: 'running',
          generation: payload.generation,
          member: `${batch}.${randomUUID()}`,
          ttlMs: this.runtime.leaseMs ?? 30_000,
          done: { part: 'details', field: batch },
          claims: { part: 'reading', doneIn: 'violators', fields: [...entries.keys()] },
        },
        async (guard) => {
          let read = 0;
          for (let claimed = guard.claimed; ; claimed = await guard.claim(claimed.taken)) {
            const held = claimed.held.flatMap((key) => entries.get(key) ?? []);
            await readViolators(fms, payload.policyId, held);
            await this.store.cacheViolators(rolloutId, new Map(held.map((entry) => [evaluationOf(entry), { violators: entry.violators, evaluationLimitExceeded: entry.evaluationLimitExceeded }])));
            read += held.length;
            if (claimed.taken.length === 0) break;
            await new Promise((resolve) => setTimeout(resolve, CLAIMED_POLL_MS));
          }
          if (!(await guard.complete({ part: 'details', field: batch, value: String(read) }))) {
            throw new StepGuardLostError(rolloutId, `detail batch ${batch} lost its place in the guard`);
          }
          return read;
        },
      );
      if (!guarded.entered && guarded.done === undefined) return result(guarded.status === 'superseded' ? 'superseded' : 'skipped');
      await this.queueNextDetails(rolloutId, stepId, payload.generation);
      return guarded.entered ? result('read', guarded.value) : result('done');
    } catch (error) {
      if (attempt.final || (error instanceof OrgshieldError && error.exitCode === EXIT_CODES.badInput)) {
        await this.fail(rolloutId, ['running'], `detail batch of ${stepId} failed: ${messageOf(error)}`, { step: stepId });
      }
      throw error;
    }
  }

  /** Puts every policy the rollout changed back as it was; safe to run again. */
  async rollback(payload: z.infer<typeof firewallRolloutRollbackJob.payload>, attempt: JobAttempt): Promise<z.infer<typeof firewallRolloutRollbackJob.result>> {
    const { rolloutId } = payload;
    const record = await this.store.record(rolloutId);
    if (!record) throw new OrgshieldError('UnknownRollout', `there is no rollout ${rolloutId}; list rollouts with "orgshield rollout status".`, { exitCode: EXIT_CODES.badInput });
    const counts = { restored: 0, deleted: 0, unchanged: 0 };
    try {
      // A step already inside the guard may still write: restore only after it is done.
      await this.store.runs.waitForSteps(rolloutId);
      for (const previous of (await this.store.previous(rolloutId)).reverse()) {
        const outcome = await restorePrevious(previous, fmsClient(this.runtime.aws, previous.region));
        counts[outcome]++;
        await this.store.addEvent(rolloutId, { level: 'info', message: `rollback: ${previous.name} in ${previous.region} ${outcome}` });
      }
    } catch (error) {
      if (attempt.final) await this.fail(rolloutId, ['rolling-back'], `rollback failed: ${messageOf(error)}; run "orgshield rollout rollback ${rolloutId}" again`);
      throw error;
    }
    // Rolled back lets go of the name, with its event, in the same step.
    await this.store.transition(rolloutId, ['rolling-back'], () => ({
      status: 'rolled-back',
      message: `rolled back: ${counts.restored} restored, ${counts.deleted} deleted, ${counts.unchanged} already as before`,
    }));
    return { rolloutId, ...counts };
  }

  /**
   * A scheduled run: a new rollout of the schedule's source, re-applying desired state (so
   * drift is corrected, and the plan it stores records what drifted). When the previous run of
   * the same rollout is still going, this run is skipped and says so.
   */
  async runScheduled(payload: ScheduledPayload, firedAt: number, attempt: JobAttempt) {
    const loaded = parseRolloutSource(payload.source);
    const rolloutId = scheduledRolloutId(loaded.rollout.name, payload.schedule, firedAt);
    const now = new Date();
    const created = await this.store.create(
      { id: rolloutId, name: loaded.rollout.name, createdAt: now.toISOString(), source: payload.source, requestedBy: `schedule ${payload.schedule}`, schedule: payload.schedule },
      { status: 'planning', message: 'waiting to be planned', at: now.toISOString(), generation: 0, runningSince: now.getTime() },
    );
    if (!created.created && !created.exists) {
      const reason = await this.blockedReason(created.holder);
      await this.store.recordScheduleRun(payload.schedule, { at: now.toISOString(), status: 'skipped', message: reason, blockedBy: created.holder });
      return { status: 'skipped', skipped: { reason, blockedBy: created.holder } };
    }
    let started: { status: string };
    try {
      started = await this.start({ rolloutId, source: payload.source, requestedBy: `schedule ${payload.schedule}`, schedule: payload.schedule }, attempt);
    } catch (error) {
      await this.store.recordScheduleRun(payload.schedule, { at: new Date().toISOString(), rolloutId, status: 'failed', message: messageOf(error) });
      throw error;
    }
    const plan = (await this.store.record(rolloutId))?.plan;
    const drift = plan?.policies.filter((change) => change.action !== 'unchanged').map((change) => `${change.name} in ${change.region}: ${change.action}`) ?? [];
    await this.store.recordScheduleRun(payload.schedule, {
      at: new Date().toISOString(),
      rolloutId,
      status: started.status,
      message: drift.length === 0 ? 'no drift: FMS already held the desired policies' : `re-applying ${drift.length} change(s): ${drift.join('; ')}`,
    });
    return { rolloutId, status: started.status };
  }

  /**
   * Settles the rollout of a firing that failed for good without its processor seeing it fail
   * (its workers died holding it): a rollout still planning changed nothing, so it fails and lets
   * go of its name (else every later firing would be skipped behind it), and the schedule's runs
   * say so. A rollout already planned goes on; a firing that never created one leaves nothing.
   */
  async settleScheduled(payload: ScheduledPayload, firedAt: number, reason: string): Promise<void> {
    let name: string;
    try {
      name = parseRolloutSource(payload.source).rollout.name;
    } catch {
      // A source that does not parse failed the firing before it created a rollout.
      return;
    }
    const rolloutId = scheduledRolloutId(name, payload.schedule, firedAt);
    const failed = await this.store.transition(
      rolloutId,
      ['planning'],
      () => ({
        status: 'failed',
        message: `${reason.replace(/\.$/, '')}; it changed nothing: the next firing of schedule ${payload.schedule} starts it again, "orgshield rollout start ${payload.source.file}" starts it now`,
      }),
      { level: 'error', releaseName: true },
    );
    if (failed) await this.store.recordScheduleRun(payload.schedule, { at: new Date().toISOString(), rolloutId, status: 'failed', message: failed.message });
  }

  /**
   * Why a firing cannot start while `holder` keeps the rollout's name, and the way out. A halted
   * or failed rollout keeps the name on purpose (its waves are half-applied, and a new run would
   * fight it): the schedule waits for an operator to resume it to its end, or to abort or roll
   * it back, and the next firing after that proceeds.
   */
  private async blockedReason(holder: string): Promise<string> {
    const state = await this.store.state(holder);
    const status = state?.status ?? 'unknown';
    const detail = state ? `${status}: ${state.message.replace(/\.$/, '')}` : 'of unknown status';
    if (status === 'halted' || status === 'failed' || status === 'paused') {
      return `blocked by rollout ${holder}, ${detail}; "orgshield rollout resume ${holder}" continues it, "orgshield rollout abort ${holder}" (or rollback) releases the schedule`;
    }
    return `rollout ${holder} is still ${detail}`;
  }

  private async fail(rolloutId: string, from: RolloutState['status'][], message: string, options: { step?: string; releaseName?: boolean } = {}): Promise<void> {
    await this.store.transition(rolloutId, from, () => ({ status: 'failed', message }), { level: 'error', ...options });
  }
}

type ScheduledPayload = z.infer<typeof firewallScheduledRolloutJob.payload>;

/**
 * The rollout a schedule's firing starts: named for the firing job's creation time, so every
 * attempt of the job, and the hook that settles it if it fails for good, name the same one.
 */
function scheduledRolloutId(rollout: string, schedule: string, firedAt: number): string {
  return `${rollout}-${schedule}-${firedAt.toString(36)}`.slice(0, 128);
}

/** Accounts' evaluations per detail batch: each batch is one job, so workers share a gate's reads this many at a time. */
const DETAIL_BATCH = 250;
/** How often a detail batch looks again at evaluations another batch is reading (a batch reads 250 in about a second). */
const CLAIMED_POLL_MS = 100;
/** Priorities of batches behind their gate's next: after every gate's next batch (a gate has far fewer batches than this). */
const FURTHER_BATCH_PRIORITY = 10_000;
/** ListComplianceStatus pages (100 accounts each) whose non-compliant accounts make one batch queued as the pages arrive. */
const PAGES_PER_BATCH = 3;

/** A detail batch as queued: its job id and payload. */
type QueuedBatch = GateRead['batches'][number];

/** One detail batch of a gate; its id is its content, so the same reads queued twice are one job. */
function detailBatch(rolloutId: string, step: string, generation: number, policyId: string, entries: readonly AccountCompliance[]): QueuedBatch {
  const payload: DetailsPayload = {
    rolloutId,
    step,
    generation,
    policyId,
    policy: entries[0]?.policy ?? '',
    evaluations: entries.map(({ account, evaluatedAt }) => (evaluatedAt === undefined ? { account } : { account, evaluatedAt })),
  };
  const digest = createHash('sha256').update(JSON.stringify([policyId, payload.evaluations])).digest('hex').slice(0, 16);
  return { jobId: `${batchIdPrefix(rolloutId, step, generation)}${digest}`, payload };
}

/** How the job ids of a gate's detail batches begin (and the members they enter its rollout's guard with). */
function batchIdPrefix(rolloutId: string, step: string, generation: number): string {
  return `${rolloutId}.${step}.g${generation}.d`;
}

/** The cache key of one evaluation of one account against one policy. */
function evaluationOf(entry: Pick<AccountCompliance, 'policy' | 'account' | 'evaluatedAt'>): string {
  return `${entry.policy}|${entry.account}|${entry.evaluatedAt ?? ''}`;
}

function messageOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}

import { StartRecoveryCommand, TerminateRecoveryInstancesCommand, type Job } from '@aws-sdk/client-drs';
import type { OrganizationSnapshot } from '@orgshield/accounts';
import { mapLimit } from '@orgshield/aws';
import { randomUUID } from 'node:crypto';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { StepGuardLostError, type LockLease, type RedisClient, type RunRetention } from '@orgshield/jobs';
import { checkName, runCheckOnce } from './check-runner.js';
import { parseDrillSource, type DrillSource } from './drill-loader.js';
import { initialRun, measureServer, SETTLED_SERVER, type ServerRun } from './drill-measure.js';
import type { DrillPlan, LaunchBatch } from './drill-plan.js';
import { DrillPlanError, planDrill } from './drill-planner.js';
import type { Drill } from './drill-schema.js';
import { DrillStore, type DrillRecord, type DrillState, type HistoryEntry, type LaunchRecord, type TerminationRecord } from './drill-store.js';
import { awsErrorName, chunks, describeJobs, describeRecoveryInstances, launchFailureReasons, privateAddressOf, readAndPlanDrill, readLiveRegion, type DrillClients } from './drs-live.js';

/** One step of a drill: `preflight.WAVE`, `launch.BATCH`, `watch.WAVE` or `cleanup`; `round` counts its looks. */
export interface DrillStepPayload {
  drillId: string;
  step: string;
  round: number;
}

/** The narrow port to the drills queue that the worker runtime implements. */
export interface DrillStepQueue {
  /** Queues a step under `jobId`; the same id queued twice is one job. */
  queueStep(payload: DrillStepPayload, options: { jobId: string; delay?: number }): Promise<void>;
}

export interface DrillRuntime {
  redis: RedisClient;
  /** Prefix of the drill state's Redis keys (the queue prefix). */
  prefix: string;
  queue: DrillStepQueue;
  /** DRS and EC2 clients in member accounts; `jobId` goes into the role session name. */
  clients(jobId?: string): DrillClients;
  organization(): Promise<OrganizationSnapshot>;
  /** Wait between two looks at launching servers and pending checks; default 2000 ms. */
  pollMs?: number;
  /** Simulated seconds per real second (a time-scaled sandbox); default 1. */
  timeScale?: number;
  /** How long a launch waits for another DRS job holding its servers; default 30 min (simulated). */
  holdTimeoutMs?: number;
  /** How long run data stays in Redis (ORGSHIELD_RETENTION_DAYS; the history: ORGSHIELD_KEEP_DAYS). */
  retention?: RunRetention;
  /** Lifetime of a step's place in the drill's guard between renewals: a dead worker holds it at most this long (default 30 s). */
  leaseMs?: number;
  now?: () => number;
}

/** Tags every StartRecovery of a drill carries (DRS puts them on the recovery job). */
export const DRILL_TAG = 'orgshield:drill';
export const DRILL_RUN_TAG = 'orgshield:drill-run';
export const DRILL_BATCH_TAG = 'orgshield:drill-batch';

export function stepJobId(drillId: string, step: string, round = 0): string {
  return `drill.${drillId}.${step}.r${round}`.replaceAll(':', '.');
}

/** Drill ids become job ids and Redis keys. */
export const DRILL_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * The worker side of drills: plans one (start), then runs it as steps, each its own job and
 * each safe to run again: per wave a preflight (live state re-read, isolation re-checked),
 * one launch per batch of at most 200 servers, a watch that follows the DRS jobs and runs the
 * checks until every server has passed or failed; and one cleanup for the whole drill.
 */
export class DrillExecutor {
  readonly store: DrillStore;
  private readonly timeScale: number;
  private readonly now: () => number;

  constructor(private readonly runtime: DrillRuntime) {
    this.store = new DrillStore(runtime.redis, runtime.prefix, runtime.retention ? { retention: runtime.retention } : {});
    this.timeScale = runtime.timeScale ?? 1;
    this.now = runtime.now ?? Date.now;
  }

  /** Reads DRS across the drill's accounts and regions and plans it; nothing is changed. */
  async plan(source: DrillSource, jobId?: string): Promise<DrillPlan> {
    return readAndPlanDrill({ drill: parseDrillSource(source).drill, organization: await this.runtime.organization(), clients: this.runtime.clients(jobId), now: this.now() });
  }

  /**
   * Plans the drill and queues its first wave; a drill with preflight problems is refused
   * before any launch. The drill is created here unless its submitter created it (a schedule
   * does not): a drill of the same name still in progress refuses this one, naming it.
   */
  async start(payload: { drillId: string; source: DrillSource; requestedBy?: string; schedule?: string }): Promise<{ drillId: string; status: string; servers: number }> {
    const { drillId } = payload;
    const { drill } = parseDrillSource(payload.source);
    const created = await this.store.create(newDrillRecord({ ...payload, name: drill.name, now: this.now(), timeScale: this.timeScale }), newDrillState(this.now(), 'waiting to be planned'));
    if (!created.created && !created.exists) throw new DrillInProgressError(drill.name, created.holder, EXIT_CODES.badInput);
    const state = await this.store.state(drillId);
    if (state?.status !== 'planning') {
      // A start retried after it planned (its worker died before queuing the first step): queue it again; the same id is one job.
      const plan = (await this.store.record(drillId))?.plan;
      if (state?.status === 'running' && plan) await this.queue(drillId, firstStep(plan));
      return { drillId, status: state?.status ?? 'unknown', servers: plan?.servers.length ?? 0 };
    }
    const plan = await this.plan(payload.source, drillId);
    if (plan.problems.length > 0) {
      await this.store.savePlan(drillId, plan, [], this.timeScale);
      const error = new DrillPlanError(plan);
      await this.store.transition(drillId, ['planning'], { status: 'refused', message: error.message }, { level: 'error' });
      throw error;
    }
    await this.store.savePlan(drillId, plan, plan.servers.map(initialRun), this.timeScale);
    const launching = plan.servers.filter((server) => server.action === 'launch').length;
    await this.store.transition(drillId, ['planning'], { status: 'running', message: `planned: ${launching} of ${plan.servers.length} servers to launch in ${plan.waves.length} waves` });
    for (const entry of plan.unavailable) await this.store.addEvent(drillId, { level: 'warn', message: `${entry.accountId}/${entry.region}: ${entry.reason}` });
    await this.queue(drillId, firstStep(plan));
    return { drillId, status: 'running', servers: plan.servers.length };
  }

  /** Runs one look of one step and queues what follows. */
  async runStep(payload: DrillStepPayload): Promise<{ drillId: string; step: string; outcome: string }> {
    const { drillId, step } = payload;
    const record = await this.store.record(drillId);
    const state = await this.store.state(drillId);
    if (!record?.plan || !state) throw new OrgshieldError('UnknownDrill', `drill ${drillId} has no plan in Redis; run it again.`, { exitCode: 2 });
    const result = (outcome: string) => ({ drillId, step, outcome });
    const { drill } = parseDrillSource(record.source);
    const [kind, ...rest] = step.split('.');
    const name = rest.join('.');
    if (await this.store.isDone(drillId, step)) {
      // Its worker may have died after recording it and before queuing what follows: queue that again.
      if (state.status === 'running') await this.afterStep(record, drill, step);
      else if (kind !== 'cleanup') await this.ensureCleanupQueued(drillId, state);
      return result('done before');
    }
    if (kind === 'cleanup') return result(await this.cleanup(record, state, payload));
    if (state.status !== 'running') {
      await this.ensureCleanupQueued(drillId, state);
      return result(`skipped: drill is ${state.status}`);
    }
    if (kind === 'preflight') return result(await this.preflight(record, drill, name));
    if (kind === 'launch') return result(await this.launch(record, drill, name, payload));
    if (kind === 'watch') return result(await this.watch(record, drill, name, payload));
    throw new OrgshieldError('UnknownStep', `drill ${drillId} has no step ${step}.`, { exitCode: 2 });
  }

  /**
   * Re-reads the wave's servers right before launching them: a launch template moved out of
   * isolation since the plan refuses the drill (nothing launched), a server no longer ready
   * is skipped with its reason.
   */
  private async preflight(record: DrillRecord, drill: Drill, wave: string): Promise<string> {
    const plan = record.plan as DrillPlan;
    const runs = await this.store.runs(record.id);
    const mine = runs.filter((run) => run.wave === wave && run.status === 'waiting');
    const clients = this.runtime.clients(record.id);
    const groups = groupBy(mine, (run) => `${run.accountId}|${run.region}`);
    const now = this.now();
    const live = await mapLimit([...groups.values()], 8, (group) => {
      const first = group[0] as ServerRun;
      return readLiveRegion(clients, first.accountId, first.region, { recoveryPoint: drill.recoveryPoint, now, sourceServerIds: group.map((run) => run.sourceServerId) });
    });
    const fresh = planDrill({ drill, accounts: plan.accounts, live, now });
    if (fresh.problems.length > 0) {
      const error = new DrillPlanError(fresh);
      await this.store.transition(record.id, ['running'], { status: 'refused', message: error.message }, { level: 'error' });
      // Earlier waves may have launched: their instances are cleaned up all the same.
      await this.queue(record.id, 'cleanup');
      return 'refused';
    }
    const byId = new Map(fresh.servers.map((server) => [`${server.accountId}|${server.sourceServerId}`, server]));
    const changed: ServerRun[] = [];
    for (const run of mine) {
      const now = byId.get(`${run.accountId}|${run.sourceServerId}`);
      if (now?.action === 'launch') continue;
      changed.push({ ...run, status: 'skipped', reason: now?.reason ?? `server ${run.sourceServerId} is no longer a DRS source server in ${run.accountId}` });
    }
    await this.store.markDone(record.id, `preflight.${wave}`, changed);
    for (const run of changed) await this.store.addEvent(record.id, { level: 'warn', message: `${wave}: ${run.reason}` });
    await this.store.addEvent(record.id, { level: 'info', message: `${wave}: preflight passed, ${mine.length - changed.length} servers to launch` });
    await this.afterStep(record, drill, `preflight.${wave}`);
    return `${mine.length - changed.length} to launch`;
  }

  /**
   * One StartRecovery. Never sent twice: a recorded launch is done; an unrecorded one first
   * looks for a DRS job carrying this drill's and batch's tags (a worker that died after
   * sending it) and records that instead. Servers another DRS job holds are waited for. The
   * call is made inside the drill's guard, entered only while the drill is running, and the
   * launch is recorded as the step leaves it: a cleanup requested meanwhile waits for it.
   */
  private async launch(record: DrillRecord, drill: Drill, batchId: string, payload: DrillStepPayload): Promise<string> {
    const plan = record.plan as DrillPlan;
    const batch = plan.waves.flatMap((wave) => wave.batches).find((candidate) => candidate.id === batchId);
    if (!batch) throw new OrgshieldError('UnknownStep', `drill ${record.id} has no launch batch ${batchId}.`, { exitCode: 2 });
    const recorded = (await this.store.launches(record.id)).find((launch) => launch.batch === batch.id);
    if (recorded) {
      await this.markLaunched(record, batch, recorded);
      return `recorded ${recorded.jobId}`;
    }
    const members = new Set(batch.servers.map((server) => server.sourceServerId));
    const mine = (await this.store.runs(record.id)).filter((run) => run.accountId === batch.accountId && run.region === batch.region && members.has(run.sourceServerId));
    const drs = this.runtime.clients(record.id).drs(batch.accountId, batch.region);

    const since = new Date(Date.parse(record.createdAt) - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const jobs = await describeJobs(drs, { fromDate: since });
    const sent = jobs.find((job) => job.tags?.[DRILL_RUN_TAG] === record.id && job.tags?.[DRILL_BATCH_TAG] === batch.id);
    if (sent?.jobID) {
      const launch = launchRecord(batch, { jobId: sent.jobID, startedAt: sent.creationDateTime ? Date.parse(sent.creationDateTime) : this.now(), servers: (sent.participatingServers ?? []).flatMap((server) => (server.sourceServerID ? [server.sourceServerID] : [])) });
      await this.store.adoptLaunch(record.id, launch);
      await this.store.addEvent(record.id, { level: 'warn', message: `${batch.id}: found job ${sent.jobID} already started for this batch; recorded it, not started again` });
      await this.markLaunched(record, batch, launch);
      return `adopted ${sent.jobID}`;
    }

    const ready = mine.filter((run) => run.status === 'waiting');
    const held = new Map<string, string>();
    for (const job of jobs) {
      if (!job.jobID || (job.status !== 'PENDING' && job.status !== 'STARTED')) continue;
      for (const server of job.participatingServers ?? []) if (server.sourceServerID && members.has(server.sourceServerID)) held.set(server.sourceServerID, job.jobID);
    }
    const holdDeadline = Date.parse(record.createdAt) + (this.runtime.holdTimeoutMs ?? 30 * 60_000) / this.timeScale;
    if (held.size > 0 && this.now() < holdDeadline) {
      if (payload.round === 0) await this.store.addEvent(record.id, { level: 'warn', message: `${batch.id}: waiting for DRS job ${[...new Set(held.values())].join(', ')}, which holds ${[...held.keys()].join(', ')}` });
      return this.again(record.id, `launch.${batch.id}`, payload.round, `held by ${[...new Set(held.values())].join(', ')}`);
    }
    const skipped = ready
      .filter((run) => held.has(run.sourceServerId))
      .map((run): ServerRun => ({ ...run, status: 'skipped', reason: `server ${run.sourceServerId} in ${run.accountId} stayed held by DRS job ${held.get(run.sourceServerId) ?? ''}, so it was not launched` }));
    const launching = ready.filter((run) => !held.has(run.sourceServerId));
    if (launching.length === 0) {
      await this.store.markDone(record.id, `launch.${batch.id}`, skipped);
      for (const run of skipped) await this.store.addEvent(record.id, { level: 'error', message: `${batch.id}: ${run.reason ?? ''}` });
      return 'nothing to launch';
    }

    const guarded = await this.store.runState.guarded(record.id, { status: 'running', generation: 0, member: this.guardMember(record.id, `launch.${batch.id}`, payload), ttlMs: this.runtime.leaseMs ?? 30_000 }, async (guard) => {
      const startedAt = this.now();
      let job: Job | undefined;
      try {
        job = (
          await drs.send(
            new StartRecoveryCommand({
              isDrill: true,
              sourceServers: launching.map((run) => ({ sourceServerID: run.sourceServerId, ...(run.recoveryPoint ? { recoverySnapshotID: run.recoveryPoint.snapshotId } : {}) })),
              tags: { [DRILL_TAG]: drill.name, [DRILL_RUN_TAG]: record.id, [DRILL_BATCH_TAG]: batch.id },
            }),
          )
        ).job;
      } catch (error) {
        // Another job took a server between our look and our call: serialize behind it.
        if (awsErrorName(error) === 'ConflictException' && this.now() < holdDeadline) return undefined;
        throw error;
      }
      if (!job?.jobID) throw new OrgshieldError('UnexpectedAwsAnswer', `DRS StartRecovery answered without a job for ${batch.id}; check the endpoint (AWS_ENDPOINT_URL).`);
      const launch = launchRecord(batch, { jobId: job.jobID, startedAt, servers: launching.map((run) => run.sourceServerId) });
      if (!(await guard.complete({ part: 'launches', field: batch.id, value: JSON.stringify(launch) }))) throw new StepGuardLostError(record.id, `launch ${batch.id} lost its place in the drill's guard`);
      return launch;
    });
    if (!guarded.entered) return `skipped: drill is ${guarded.status}`;
    if (!guarded.value) return this.again(record.id, `launch.${batch.id}`, payload.round, 'conflict');
    await this.markLaunched(record, batch, guarded.value, held);
    return `started ${guarded.value.jobId}`;
  }

  /**
   * The batch's servers after its launch, with the launch step done, in one step: those in the
   * job are launching, the others waiting for it were held by another DRS job and are skipped.
   */
  private async markLaunched(record: DrillRecord, batch: LaunchBatch, launch: LaunchRecord, held: ReadonlyMap<string, string> = new Map()): Promise<void> {
    const members = new Set(batch.servers.map((server) => server.sourceServerId));
    const inJob = new Set(launch.sourceServerIds);
    const changed = (await this.store.runs(record.id))
      .filter((run) => run.accountId === batch.accountId && run.region === batch.region && members.has(run.sourceServerId) && run.status === 'waiting')
      .map((run): ServerRun =>
        inJob.has(run.sourceServerId)
          ? { ...run, status: 'launching', batch: batch.id, jobId: launch.jobId, startedAt: launch.startedAt }
          : { ...run, status: 'skipped', reason: `server ${run.sourceServerId} in ${run.accountId} stayed held by DRS job ${held.get(run.sourceServerId) ?? 'another job'}, so it was not launched` },
      );
    await this.store.markDone(record.id, `launch.${batch.id}`, changed);
    await this.store.addEvent(record.id, { level: 'info', message: `${batch.id}: StartRecovery job ${launch.jobId} for ${launch.sourceServerIds.length} servers` });
  }

  /**
   * Follows the wave's DRS jobs and runs its checks. A job's COMPLETED is not success: each
   * server's launchStatus decides, and a failed one carries the job log's reason. Looks again
   * until every server of the wave has passed or failed, then moves to the next wave.
   */
  private async watch(record: DrillRecord, drill: Drill, wave: string, payload: DrillStepPayload): Promise<string> {
    const spec = drill.waves.find((candidate) => candidate.name === wave);
    if (!spec) throw new OrgshieldError('UnknownStep', `drill ${record.id} has no wave ${wave}.`, { exitCode: 2 });
    const launches = (await this.store.launches(record.id)).filter((launch) => launch.wave === wave);
    const runs = (await this.store.runs(record.id)).filter((run) => run.wave === wave);
    const clients = this.runtime.clients(record.id);
    const updated: ServerRun[] = [];
    const toCheck: { run: ServerRun; instance: Awaited<ReturnType<typeof describeRecoveryInstances>>[number] | undefined }[] = [];

    for (const [, group] of groupBy(launches, (launch) => `${launch.accountId}|${launch.region}`)) {
      const { accountId, region } = group[0] as LaunchRecord;
      const drs = clients.drs(accountId, region);
      const active = runs.filter((run) => run.accountId === accountId && run.region === region && (run.status === 'launching' || run.status === 'checking'));
      if (active.length === 0) continue;
      const jobs = new Map((await describeJobs(drs, { jobIDs: group.map((launch) => launch.jobId) })).map((job) => [job.jobID, job]));
      const instances = new Map<string, Awaited<ReturnType<typeof describeRecoveryInstances>>[number]>();
      for (const chunk of chunks(active.map((run) => run.sourceServerId), 200)) {
        for (const instance of await describeRecoveryInstances(drs, { sourceServerIDs: chunk })) {
          const ours = instance.isDrill === true && group.some((launch) => launch.jobId === instance.jobID);
          if (ours && instance.sourceServerID) instances.set(instance.sourceServerID, instance);
        }
      }
      const reasons = new Map<string, Map<string, string>>();
      for (const run of active) {
        let next = run;
        if (run.status === 'launching') {
          const job = jobs.get(run.jobId);
          const participant = job?.participatingServers?.find((server) => server.sourceServerID === run.sourceServerId);
          const status = participant?.launchStatus;
          if (status === 'LAUNCHED') {
            next = { ...run, status: 'checking', launchedAt: this.now(), ...(participant?.recoveryInstanceID ? { recoveryInstanceId: participant.recoveryInstanceID } : {}) };
          } else if (status === 'FAILED' || status === 'TERMINATED' || job?.status === 'COMPLETED') {
            if (!reasons.has(run.jobId ?? '')) reasons.set(run.jobId ?? '', await launchFailureReasons(drs, run.jobId ?? ''));
            const why = reasons.get(run.jobId ?? '')?.get(run.sourceServerId);
            next = { ...run, status: 'failed', reason: `server ${run.sourceServerId} in ${accountId} did not launch (launch status ${status ?? 'none'} in job ${run.jobId})${why ? `: ${why}` : ''}` };
          }
        }
        if (next.status === 'checking') toCheck.push({ run: next, instance: instances.get(run.sourceServerId) });
        else if (next !== run) updated.push(next);
      }
    }
    // Checks of all servers at once: one that never answers must not delay the others' RTO.
    updated.push(...(await mapLimit(toCheck, 64, ({ run, instance }) => this.check(run, spec, { clients, instance, caFiles: record.source.caFiles }))));
    await this.store.saveRuns(record.id, updated);
    for (const run of updated) {
      if (run.status === 'passed' || run.status === 'failed') await this.store.addEvent(record.id, { level: run.status === 'passed' ? 'info' : 'error', message: `${wave}: ${run.sourceServerId} ${run.status}${run.reason ? `: ${run.reason}` : ''}` });
    }

    const current = (await this.store.runs(record.id)).filter((run) => run.wave === wave);
    await this.queueLaunches(record, wave, current);
    const plan = record.plan as DrillPlan;
    const batches = plan.waves.find((candidate) => candidate.name === wave)?.batches ?? [];
    const launchesDone = await Promise.all(batches.map((batch) => this.store.isDone(record.id, `launch.${batch.id}`)));
    const settled = current.every((run) => SETTLED_SERVER.includes(run.status)) && launchesDone.every(Boolean);
    if (!settled) return this.again(record.id, `watch.${wave}`, payload.round, 'waiting', this.pollMs());

    await this.store.markDone(record.id, `watch.${wave}`);
    const passed = current.filter((run) => run.status === 'passed').length;
    await this.store.addEvent(record.id, { level: 'info', message: `${wave}: wave done, ${passed} passed, ${current.filter((run) => run.status === 'failed').length} failed` });
    return this.afterStep(record, drill, `watch.${wave}`);
  }

  /**
   * What follows a step once it is recorded done: after a preflight, the wave's launches and
   * its watch; after a watch, the next wave's preflight, or the finish. Each is safe to do
   * again (the same job id is one job; finish re-checks the state), so a step found done by its
   * re-run after a crash does it again.
   */
  private async afterStep(record: DrillRecord, drill: Drill, step: string): Promise<string> {
    const [kind, ...rest] = step.split('.');
    const wave = rest.join('.');
    if (kind === 'preflight') {
      await this.queueLaunches(record, wave);
      await this.queue(record.id, `watch.${wave}`, 0, this.pollMs());
      return 'launches queued';
    }
    if (kind !== 'watch') return 'nothing follows';
    const plan = record.plan as DrillPlan;
    const next = plan.waves[plan.waves.findIndex((candidate) => candidate.name === wave) + 1];
    if (next) {
      await this.queue(record.id, `preflight.${next.name}`);
      return 'wave done';
    }
    await this.finish(record, drill);
    return 'drill measured';
  }

  /** One try of each check not yet passed; the server passes when all have, fails at its deadline. */
  private async check(run: ServerRun, wave: Drill['waves'][number], context: { clients: DrillClients; instance: Awaited<ReturnType<typeof describeRecoveryInstances>>[number] | undefined; caFiles: Record<string, string> }): Promise<ServerRun> {
    if (wave.checks.length === 0) return { ...run, status: 'passed', checksPassedAt: run.launchedAt ?? this.now() };
    let next = run;
    if (!next.privateAddress && context.instance) {
      const address = await privateAddressOf(context.clients, run.accountId, run.region, context.instance);
      next = { ...next, ...(address ? { privateAddress: address } : {}), ...(context.instance.ec2InstanceID ? { ec2InstanceId: context.instance.ec2InstanceID } : {}), ...(context.instance.recoveryInstanceID ? { recoveryInstanceId: context.instance.recoveryInstanceID } : {}) };
    }
    const deadline = (run.launchedAt ?? this.now()) + Math.max(2000, wave.checkTimeout / this.timeScale);
    const results = [...next.checks];
    for (const check of wave.checks) {
      const name = checkName(check);
      const index = results.findIndex((result) => result.name === name);
      const previous = index >= 0 ? results[index] : undefined;
      if (previous?.passed) continue;
      const attempt = next.privateAddress
        ? await runCheckOnce(check, next.privateAddress, { timeoutMs: Math.max(200, Math.min(2000, deadline - this.now())), ...(check.type === 'https' && check.ca ? { ca: context.caFiles[check.ca] } : {}) })
        : { passed: false, detail: 'the recovery instance has no private address yet' };
      const result = { name, passed: attempt.passed, attempts: (previous?.attempts ?? 0) + 1, detail: attempt.detail, ...(attempt.passed ? { at: this.now() } : {}), ...(attempt.certificate ? { certificate: attempt.certificate } : {}) };
      if (index >= 0) results[index] = result;
      else results.push(result);
    }
    next = { ...next, checks: results };
    if (results.every((result) => result.passed)) return { ...next, status: 'passed', checksPassedAt: Math.max(...results.map((result) => result.at ?? 0)) };
    if (this.now() < deadline) return next;
    const failing = results.filter((result) => !result.passed).map((result) => `${result.name} (${result.detail}, ${result.attempts} tries)`);
    return { ...next, status: 'failed', reason: `check ${failing.join(', ')} did not pass within ${Math.round(wave.checkTimeout / 1000)}s of launch` };
  }

  /** Queues the wave's launch batches the concurrency allows now; queuing one twice is one job. */
  private async queueLaunches(record: DrillRecord, wave: string, known?: ServerRun[]): Promise<void> {
    const plan = record.plan as DrillPlan;
    const wavePlan = plan.waves.find((candidate) => candidate.name === wave);
    if (!wavePlan) return;
    const runs = known ?? (await this.store.runs(record.id)).filter((run) => run.wave === wave);
    let inFlight = runs.filter((run) => run.status === 'launching' || run.status === 'checking').length;
    const launched = new Set((await this.store.launches(record.id)).map((launch) => launch.batch));
    for (const batch of wavePlan.batches) {
      if (launched.has(batch.id) || (await this.store.isDone(record.id, `launch.${batch.id}`))) continue;
      if (inFlight > 0 && inFlight + batch.servers.length > wavePlan.concurrency) break;
      inFlight += batch.servers.length;
      await this.queue(record.id, `launch.${batch.id}`);
    }
  }

  /** Every wave measured: the history gets each server's RTO and RPO, then cleanup runs now or when `keep` lapses. */
  private async finish(record: DrillRecord, drill: Drill): Promise<void> {
    const plan = record.plan as DrillPlan;
    const runs = await this.store.runs(record.id);
    const at = new Date(this.now()).toISOString();
    const entries: HistoryEntry[] = runs.map((run) => {
      const measure = measureServer(run, plan, record.timeScale);
      return { drillId: record.id, drill: record.name, at, accountId: run.accountId, sourceServerId: run.sourceServerId, ...(run.hostname ? { hostname: run.hostname } : {}), status: run.status, ...measure };
    });
    await this.store.addHistory(record.id, entries);
    if (drill.cleanup === 'terminate') {
      await this.store.transition(record.id, ['running'], { status: 'cleaning', message: 'every wave measured; terminating the drill instances' });
      await this.queue(record.id, 'cleanup');
      return;
    }
    const delay = drill.cleanup.keep / this.timeScale;
    await this.store.transition(record.id, ['running'], { status: 'kept', message: `every wave measured; instances kept until ${new Date(this.now() + delay).toISOString()}`, cleanupAt: this.now() + delay });
    await this.queue(record.id, 'cleanup', 0, delay);
  }

  /** One look of the cleanup under its lock: terminations sent now, and whether any is still under way. */
  private async terminateOnce(record: DrillRecord, state: DrillState, payload: DrillStepPayload, lease: LockLease): Promise<{ waiting: boolean; terminated: string[]; skipped?: string }> {
    const launches = await this.store.launches(record.id);
    const ourJobs = new Set(launches.map((launch) => launch.jobId));
    const terminations = await this.store.terminations(record.id);
    const clients = this.runtime.clients(record.id);
    let waiting = false;
    const terminated: string[] = [];
    for (const [, group] of groupBy(launches, (launch) => `${launch.accountId}|${launch.region}`)) {
      const { accountId, region } = group[0] as LaunchRecord;
      const drs = clients.drs(accountId, region);
      const servers = [...new Set(group.flatMap((launch) => launch.sourceServerIds))];
      // The terminate jobs first, the instances after: a job that ends between the two reads has
      // terminated its instances by then. Read the other way round, an instance read while shutting
      // down and its job read once COMPLETED looked like one nobody was terminating: sent twice.
      const since = new Date(Date.parse(record.createdAt) - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const terminateJobs = (await describeJobs(drs, { fromDate: since })).filter((job) => job.type === 'TERMINATE');
      const ours: string[] = [];
      for (const chunk of chunks(servers, 200)) {
        for (const instance of await describeRecoveryInstances(drs, { sourceServerIDs: chunk })) {
          const ec2State = instance.ec2InstanceState ?? '';
          if (instance.isDrill === true && instance.jobID && ourJobs.has(instance.jobID) && instance.recoveryInstanceID && ec2State !== 'TERMINATED' && ec2State !== 'NOT_FOUND') ours.push(instance.recoveryInstanceID);
        }
      }
      // A termination in flight (recorded, or sent by a worker that died before recording it) is waited for, not repeated.
      const running = terminateJobs.filter((job) => job.status !== 'COMPLETED' && (terminations.some((entry) => entry.jobId === job.jobID) || (job.participatingServers ?? []).some((server) => server.recoveryInstanceID && ours.includes(server.recoveryInstanceID))));
      if (running.length > 0) {
        waiting = true;
        continue;
      }
      terminated.push(...group.flatMap((launch) => launch.sourceServerIds.map((id) => `${accountId}|${id}`)));
      if (ours.length === 0) continue;
      for (const chunk of chunks(ours, 200)) {
        const guarded = await this.store.runState.guarded(record.id, { status: state.status, generation: state.generation, member: this.guardMember(record.id, 'cleanup', payload), ttlMs: this.runtime.leaseMs ?? 30_000 }, async (guard) => {
          await lease.assertHeld();
          const job = (await drs.send(new TerminateRecoveryInstancesCommand({ recoveryInstanceIDs: chunk }))).job;
          if (!job?.jobID) throw new OrgshieldError('UnexpectedAwsAnswer', `DRS TerminateRecoveryInstances answered without a job in ${accountId}/${region}; check the endpoint (AWS_ENDPOINT_URL).`);
          const termination: TerminationRecord = { accountId, region, jobId: job.jobID, recoveryInstanceIds: chunk, at: this.now() };
          if (!(await guard.complete({ part: 'terminations', field: job.jobID, value: JSON.stringify(termination), lease }))) throw new StepGuardLostError(record.id, `cleanup lost its place in the drill's guard after job ${job.jobID}`);
          return termination;
        });
        // Another cleanup (an operator's) moved the drill on: it carries on from here.
        if (!guarded.entered) return { waiting, terminated, skipped: `skipped: drill is ${guarded.status}` };
        await this.store.addEvent(record.id, { level: 'info', message: `cleanup: TerminateRecoveryInstances job ${guarded.value.jobId} for ${chunk.length} instances in ${accountId}/${region}` });
      }
      waiting = true;
    }
    return { waiting, terminated };
  }

  /**
   * Terminates exactly this drill's recovery instances: drills (`isDrill`) launched by a job
   * this drill recorded, never another's, and follows each termination job to its end. Safe
   * to run again: it re-reads the instances and DRS's terminate jobs before it sends one. It
   * first waits for launches under way (a launch records its job as it leaves the guard), and
   * each TerminateRecoveryInstances is sent inside the guard, only while the drill's status is
   * still the one this look started from.
   */
  private async cleanup(record: DrillRecord, state: DrillState, payload: DrillStepPayload): Promise<string> {
    await this.store.runState.waitForSteps(record.id, { pollMs: Math.min(200, this.pollMs()) });
    // One look at a time: a second cleanup (an operator's, or one queued again after a crash)
    // waits here, then re-reads the instances and DRS's terminate jobs the first one left.
    const look = await this.store.locks.withLock(`cleanup:${record.id}`, (lease) => this.terminateOnce(record, state, payload, lease), { ttlMs: this.runtime.leaseMs ?? 30_000 });
    if (look.skipped) return look.skipped;
    const { waiting, terminated } = look;
    if (waiting) return this.again(record.id, 'cleanup', payload.round, 'terminating', this.pollMs());

    const runs = await this.store.runs(record.id);
    const done = new Set(terminated);
    const at = this.now();
    await this.store.markDone(
      record.id,
      'cleanup',
      runs.filter((run) => run.jobId !== undefined && done.has(`${run.accountId}|${run.sourceServerId}`) && run.terminatedAt === undefined).map((run) => ({ ...run, terminatedAt: at })),
    );
    const message = 'cleanup done: the drill left no recovery instance running';
    const completed = await this.store.transition(record.id, ['cleaning', 'kept', 'running'], { status: 'completed', message });
    if (!completed) await this.store.addEvent(record.id, { level: 'info', message: `${message} (after it stopped as ${state.status})` });
    return 'cleaned up';
  }

  /**
   * A drill that stopped running (measured, refused, failed) has its cleanup queued, or kept
   * for `keep:`; the worker that moved it may have died before queuing it. The same job id is
   * one job, so queuing it again is harmless.
   */
  private async ensureCleanupQueued(drillId: string, state: DrillState): Promise<void> {
    if (state.status === 'kept') await this.queue(drillId, 'cleanup', 0, Math.max(1, (state.cleanupAt ?? 0) - this.now()));
    else if (state.status === 'cleaning' || state.status === 'refused' || state.status === 'failed') await this.queue(drillId, 'cleanup');
  }

  /**
   * Marks a drill failed after a step's last attempt; its launched instances are still cleaned
   * up. A cleanup that failed says so, why, and how to run it again, in a mark on the step
   * (what `drill cleanup --wait` reads); a drill that had failed or been refused before keeps
   * that status, and its events say the cleanup failed.
   */
  async failed(drillId: string, step: string, reason: string): Promise<void> {
    if (step === 'cleanup') {
      const message = `cleanup failed: ${reason}; "orgshield drill cleanup ${drillId}" runs it again`;
      await this.store.markFailed(drillId, 'cleanup', message);
      const marked = await this.store.transition(drillId, ['cleaning', 'kept', 'running'], { status: 'cleanup-failed', message }, { level: 'error' });
      if (!marked) await this.store.addEvent(drillId, { level: 'error', message });
      return;
    }
    const failed = await this.store.transition(drillId, ['planning', 'running', 'kept'], { status: 'failed', message: `step ${step} failed: ${reason}` }, { level: 'error' });
    if (failed) await this.queue(drillId, 'cleanup');
  }

  /** Who is inside the drill's guard: the step's job and this attempt. */
  private guardMember(drillId: string, step: string, payload: DrillStepPayload): string {
    return `${stepJobId(drillId, step, payload.round)}.${randomUUID()}`;
  }

  private pollMs(): number {
    return this.runtime.pollMs ?? 2000;
  }

  private async queue(drillId: string, step: string, round = 0, delay?: number): Promise<void> {
    await this.runtime.queue.queueStep({ drillId, step, round }, { jobId: stepJobId(drillId, step, round), ...(delay ? { delay } : {}) });
  }

  private async again(drillId: string, step: string, round: number, outcome: string, delay = this.pollMs()): Promise<string> {
    await this.queue(drillId, step, round + 1, delay);
    return outcome;
  }
}

function firstStep(plan: DrillPlan): string {
  const first = plan.waves[0];
  return first ? `preflight.${first.name}` : 'cleanup';
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

function launchRecord(batch: LaunchBatch, launch: { jobId: string; startedAt: number; servers: string[] }): LaunchRecord {
  return { batch: batch.id, wave: batch.wave, accountId: batch.accountId, region: batch.region, jobId: launch.jobId, startedAt: launch.startedAt, sourceServerIds: launch.servers };
}

/** A drill's record before it is planned. */
export function newDrillRecord(drill: { drillId: string; name: string; source: DrillSource; now: number; timeScale?: number; requestedBy?: string; schedule?: string }): DrillRecord {
  return {
    id: drill.drillId,
    name: drill.name,
    createdAt: new Date(drill.now).toISOString(),
    source: drill.source,
    timeScale: drill.timeScale ?? 1,
    ...(drill.requestedBy ? { requestedBy: drill.requestedBy } : {}),
    ...(drill.schedule ? { schedule: drill.schedule } : {}),
  };
}

export function newDrillState(now: number, message: string): DrillState {
  return { status: 'planning', message, at: new Date(now).toISOString(), generation: 0 };
}

/** Another drill of the same name (the same drill file) is still in progress. */
export class DrillInProgressError extends OrgshieldError {
  constructor(name: string, holder: string, exitCode: typeof EXIT_CODES.failed | typeof EXIT_CODES.badInput) {
    super('DrillInProgress', `drill ${name} is already in progress as ${holder}: wait for it to settle or run "orgshield drill cleanup ${holder}".`, { exitCode });
  }
}

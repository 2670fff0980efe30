import type { World } from '../world/world.js';
import { hashLabel, mulberry32, randomInt, randomString, type Random } from '../world/prng.js';
import { drsPlan, HEALTHY_BODY_PREFIX, type SeededSourceServer } from '../world/seeded-drs.js';
import { defineWorldState } from '../world/world.js';
import type { RecoverySnapshotRecord } from './drs-snapshots.js';
import { startInstanceListeners, type InstanceListeners, type ListenerTls } from './recovery-listeners.js';

/**
 * DRS's jobs and recovery instances, as the service documents them: a LAUNCH job (StartRecovery)
 * goes PENDING -> STARTED -> COMPLETED; each participating server goes PENDING -> IN_PROGRESS ->
 * LAUNCHED or FAILED, through the log events a real launch writes (JOB_START,
 * USING_PREVIOUS_SNAPSHOT or SNAPSHOT_START/END, CONVERSION_START/END, LAUNCH_START, LAUNCH_FAILED,
 * JOB_END). A job's COMPLETED says it ended, not that its servers launched. A TERMINATE job
 * (TerminateRecoveryInstances) shuts its instances down (CLEANUP_START/END) and then drops them
 * from DescribeRecoveryInstances. A server in a job that has not COMPLETED is held: another job
 * for it is a ConflictException. Delays are simulated minutes, run through world.clock.scale.
 *
 * Not modelled: launching a server that already has a recovery instance does not terminate the
 * previous one (DRS would); post-launch actions; failback.
 */

export type LaunchStatus = 'PENDING' | 'IN_PROGRESS' | 'LAUNCHED' | 'FAILED' | 'TERMINATED';
export type InstanceState = 'PENDING' | 'RUNNING' | 'SHUTTING-DOWN' | 'TERMINATED';

export interface JobLogItem {
  logDateTime: Date;
  event: string;
  eventData?: { sourceServerID?: string; conversionServerID?: string; targetInstanceID?: string; rawError?: string };
}

export interface Participant {
  sourceServerID: string;
  recoveryInstanceID?: string;
  launchStatus: LaunchStatus;
}

export interface DrsJob {
  jobID: string;
  arn: string;
  accountId: string;
  region: string;
  type: 'LAUNCH' | 'TERMINATE';
  initiatedBy: 'START_RECOVERY' | 'START_DRILL' | 'TERMINATE_RECOVERY_INSTANCES';
  createdAt: Date;
  endedAt?: Date;
  status: 'PENDING' | 'STARTED' | 'COMPLETED';
  tags: Record<string, string>;
  participants: Participant[];
  log: JobLogItem[];
}

export interface RecoveryInstanceRecord {
  recoveryInstanceID: string;
  arn: string;
  accountId: string;
  region: string;
  sourceServerID: string;
  jobID: string;
  isDrill: boolean;
  state: InstanceState;
  /** In 127.0.0.0/8, bound by the instance's listeners; empty until they are. */
  privateIp: string;
  macAddress: string;
  pointInTime: Date;
  launchedAt: Date;
  subnetId: string;
  securityGroupIds: string[];
  instanceType: string;
  tags: Record<string, string>;
}

/** What a server's last launch left on it (SourceServer.lifeCycle.lastLaunch, lastLaunchResult). */
export interface ServerLaunchRecord {
  jobID: string;
  type: 'RECOVERY' | 'DRILL';
  apiCallDateTime: Date;
  status: LaunchStatus;
  recoveryInstanceID?: string;
}

const MINUTE_MS = 60_000;
const HEX = '0123456789abcdef';
/** Simulated delays of a job, from its creation. */
const START_MS = 30_000;
const SNAPSHOT_MS = MINUTE_MS;
const CONVERSION_START_MS = 3 * MINUTE_MS;
const CONVERSION_END_MS = 6 * MINUTE_MS;
const LAUNCH_START_MS = 7 * MINUTE_MS;
const LAUNCHED_MS = 9 * MINUTE_MS;
const CLEANUP_START_MS = MINUTE_MS;
const TERMINATED_MS = 3 * MINUTE_MS;
/** Servers do not all take the same time: up to this much more, per server. */
const SPREAD_MS = 3 * MINUTE_MS;
const END_MS = 10_000;

interface ScheduledStep {
  at: number;
  run: () => void;
}

/** Everything DRS keeps that changes: jobs, recovery instances, launch records, failures to inject. */
export class DrsRuntime {
  readonly jobs = new Map<string, DrsJob>();
  readonly instances = new Map<string, RecoveryInstanceRecord>();
  readonly lastLaunch = new Map<string, ServerLaunchRecord>();
  /** Per source server: a launch failure injected by a test, on top of the seeded ones. */
  readonly injectedFailures = new Map<string, string>();
  /** Source servers a test holds (holdDrsServer): a job with one of them does not COMPLETE until released. */
  readonly heldByTest = new Set<string>();
  /** Account:region pairs initialized by InitializeService, beyond the seeded ones. */
  readonly initialized = new Set<string>();
  /** Tags set through TagResource on source servers (seeded tags are the starting point). */
  readonly serverTags = new Map<string, Record<string, string>>();
  /** What HTTPS ports of recovery instances answer with (the sandbox's `drs.tls` option); without it they are closed. */
  tls: ListenerTls | undefined;
  private readonly listeners = new Map<string, Promise<InstanceListeners>>();
  private readonly ending = new Set<string>();
  private steps: ScheduledStep[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextTimerAt = Infinity;
  private closed = false;
  private readonly random: Random;

  constructor(private readonly world: World) {
    this.random = world.random('drs:runtime');
    world.onClose(() => this.close());
  }

  /** Runs every step that is due; each DRS request calls it first, so answers never lag the timers. */
  advance(): void {
    const now = this.world.clock.now().getTime();
    for (;;) {
      const due = this.steps.filter((step) => step.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.steps.splice(this.steps.indexOf(due), 1);
      due.run();
    }
    this.arm();
  }

  /** Server ids held by a job that has not completed. */
  heldServers(accountId: string, region: string): Map<string, string> {
    const held = new Map<string, string>();
    for (const job of this.jobs.values()) {
      if (job.status === 'COMPLETED' || job.accountId !== accountId || job.region !== region) continue;
      for (const p of job.participants) held.set(p.sourceServerID, job.jobID);
    }
    return held;
  }

  startLaunch(options: {
    accountId: string;
    region: string;
    isDrill: boolean;
    tags: Record<string, string>;
    servers: { server: SeededSourceServer; snapshot: RecoverySnapshotRecord | undefined; missingSnapshotID?: string }[];
  }): DrsJob {
    const job = this.newJob({ accountId: options.accountId, region: options.region, type: 'LAUNCH', initiatedBy: options.isDrill ? 'START_DRILL' : 'START_RECOVERY', tags: options.tags });
    job.participants = options.servers.map(({ server }) => ({ sourceServerID: server.sourceServerID, launchStatus: 'PENDING' }));
    const t0 = job.createdAt.getTime();
    this.schedule(t0, START_MS, () => {
      job.status = 'STARTED';
      this.log(job, 'JOB_START');
      for (const p of job.participants) p.launchStatus = 'IN_PROGRESS';
    });
    for (const { server, snapshot, missingSnapshotID } of options.servers) {
      const participant = job.participants.find((p) => p.sourceServerID === server.sourceServerID) as Participant;
      this.lastLaunch.set(server.sourceServerID, { jobID: job.jobID, type: options.isDrill ? 'DRILL' : 'RECOVERY', apiCallDateTime: job.createdAt, status: 'PENDING' });
      this.scheduleServerLaunch({ job, participant, server, snapshot, missingSnapshotID, isDrill: options.isDrill });
    }
    return job;
  }

  startTermination(options: { accountId: string; region: string; instances: RecoveryInstanceRecord[] }): DrsJob {
    const job = this.newJob({ accountId: options.accountId, region: options.region, type: 'TERMINATE', initiatedBy: 'TERMINATE_RECOVERY_INSTANCES', tags: {} });
    job.participants = options.instances.map((i) => ({ sourceServerID: i.sourceServerID, recoveryInstanceID: i.recoveryInstanceID, launchStatus: 'PENDING' }));
    const t0 = job.createdAt.getTime();
    this.schedule(t0, START_MS, () => {
      job.status = 'STARTED';
      this.log(job, 'JOB_START');
      for (const p of job.participants) p.launchStatus = 'IN_PROGRESS';
    });
    for (const instance of options.instances) {
      const participant = job.participants.find((p) => p.recoveryInstanceID === instance.recoveryInstanceID) as Participant;
      const spread = this.spread(`${job.jobID}:${instance.recoveryInstanceID}`);
      this.schedule(t0, CLEANUP_START_MS, () => {
        instance.state = 'SHUTTING-DOWN';
        this.log(job, 'CLEANUP_START', { sourceServerID: instance.sourceServerID, targetInstanceID: instance.recoveryInstanceID });
      });
      this.schedule(t0, TERMINATED_MS + spread, () => {
        instance.state = 'TERMINATED';
        participant.launchStatus = 'TERMINATED';
        void this.stopListeners(instance.recoveryInstanceID);
        this.log(job, 'CLEANUP_END', { sourceServerID: instance.sourceServerID, targetInstanceID: instance.recoveryInstanceID });
        const last = this.lastLaunch.get(instance.sourceServerID);
        if (last?.recoveryInstanceID === instance.recoveryInstanceID) last.recoveryInstanceID = undefined;
        this.finishWhenDone(job);
      });
    }
    this.finishWhenDone(job);
    return job;
  }

  /** A recovery instance that was running before the sandbox started, with its completed job. */
  async seedRecovery(options: { server: SeededSourceServer; isDrill: boolean; jobID: string; recoveryInstanceID: string; tags: Record<string, string>; launchedAt: Date; pointInTime: Date }): Promise<void> {
    const { server } = options;
    const created = new Date(options.launchedAt.getTime() - LAUNCHED_MS);
    const job: DrsJob = {
      jobID: options.jobID,
      arn: `arn:aws:drs:${server.region}:${server.accountId}:job/${options.jobID}`,
      accountId: server.accountId,
      region: server.region,
      type: 'LAUNCH',
      initiatedBy: options.isDrill ? 'START_DRILL' : 'START_RECOVERY',
      createdAt: created,
      endedAt: new Date(options.launchedAt.getTime() + END_MS),
      status: 'COMPLETED',
      tags: options.tags,
      participants: [{ sourceServerID: server.sourceServerID, recoveryInstanceID: options.recoveryInstanceID, launchStatus: 'LAUNCHED' }],
      log: [],
    };
    const at = (ms: number) => new Date(created.getTime() + ms);
    job.log.push(
      { logDateTime: at(START_MS), event: 'JOB_START' },
      { logDateTime: at(SNAPSHOT_MS), event: 'USING_PREVIOUS_SNAPSHOT', eventData: { sourceServerID: server.sourceServerID } },
      { logDateTime: at(LAUNCH_START_MS), event: 'LAUNCH_START', eventData: { sourceServerID: server.sourceServerID, targetInstanceID: options.recoveryInstanceID } },
      { logDateTime: at(LAUNCHED_MS + END_MS), event: 'JOB_END' },
    );
    this.jobs.set(job.jobID, job);
    const instance = this.newInstance({ job, server, recoveryInstanceID: options.recoveryInstanceID, isDrill: options.isDrill, pointInTime: options.pointInTime });
    instance.launchedAt = options.launchedAt;
    instance.state = 'RUNNING';
    this.lastLaunch.set(server.sourceServerID, {
      jobID: job.jobID,
      type: options.isDrill ? 'DRILL' : 'RECOVERY',
      apiCallDateTime: created,
      status: 'LAUNCHED',
      recoveryInstanceID: instance.recoveryInstanceID,
    });
    instance.privateIp = (await this.startListeners(instance, server)).address;
  }

  private scheduleServerLaunch(options: {
    job: DrsJob;
    participant: Participant;
    server: SeededSourceServer;
    snapshot: RecoverySnapshotRecord | undefined;
    missingSnapshotID?: string;
    isDrill: boolean;
  }): void {
    const { job, participant, server, snapshot, isDrill } = options;
    const id = server.sourceServerID;
    const t0 = job.createdAt.getTime();
    const spread = this.spread(`${job.jobID}:${id}`);
    const fail = (rawError: string) => {
      participant.launchStatus = 'FAILED';
      const last = this.lastLaunch.get(id);
      if (last?.jobID === job.jobID) last.status = 'FAILED';
      this.log(job, 'LAUNCH_FAILED', { sourceServerID: id, rawError });
      this.finishWhenDone(job);
    };
    // Without a recovery snapshot DRS takes one on demand, which needs replication running.
    let pointInTime: Date | undefined = snapshot?.timestamp;
    if (options.missingSnapshotID !== undefined) {
      this.schedule(t0, SNAPSHOT_MS, () => fail(`Recovery snapshot ${options.missingSnapshotID} was not found for source server ${id}.`));
      return;
    }
    if (snapshot) {
      this.schedule(t0, SNAPSHOT_MS, () => this.log(job, 'USING_PREVIOUS_SNAPSHOT', { sourceServerID: id }));
    } else {
      this.schedule(t0, SNAPSHOT_MS, () => this.log(job, 'SNAPSHOT_START', { sourceServerID: id }));
      if (server.replication !== 'CONTINUOUS') {
        this.schedule(t0, 2 * SNAPSHOT_MS, () => {
          this.log(job, 'SNAPSHOT_FAIL', { sourceServerID: id, rawError: `Source server ${id} is not replicating (${server.replication}); an on-demand snapshot cannot be taken.` });
          fail(`Failed to take a snapshot of source server ${id}.`);
        });
        return;
      }
      this.schedule(t0, 2 * SNAPSHOT_MS, () => {
        pointInTime = this.world.clock.now();
        this.log(job, 'SNAPSHOT_END', { sourceServerID: id });
      });
    }
    const conversionServerID = `i-${randomString(this.random, 17, HEX)}`;
    const recoveryInstanceID = `i-${randomString(this.random, 17, HEX)}`;
    this.schedule(t0, CONVERSION_START_MS + spread, () => this.log(job, 'CONVERSION_START', { sourceServerID: id, conversionServerID }));
    this.schedule(t0, CONVERSION_END_MS + spread, () => this.log(job, 'CONVERSION_END', { sourceServerID: id, conversionServerID }));
    let instance: RecoveryInstanceRecord | undefined;
    this.schedule(t0, LAUNCH_START_MS + spread, () => {
      this.log(job, 'LAUNCH_START', { sourceServerID: id, targetInstanceID: recoveryInstanceID });
      const failure = this.injectedFailures.get(id) ?? server.launchFailure;
      if (failure !== undefined) return;
      instance = this.newInstance({ job, server, recoveryInstanceID, isDrill, pointInTime: pointInTime ?? this.world.clock.now() });
      void this.startListeners(instance, server).then((listeners) => {
        if (instance) instance.privateIp = listeners.address;
      });
    });
    const launched = () => {
      const failure = this.injectedFailures.get(id) ?? server.launchFailure;
      if (failure !== undefined || !instance) {
        // A failure injected while the instance was booting takes it down with it.
        if (instance) {
          instance.state = 'TERMINATED';
          void this.stopListeners(instance.recoveryInstanceID);
        }
        return fail(failure ?? `Failed to launch recovery instance ${recoveryInstanceID}.`);
      }
      // The instance is up once its application listens: wait for the bind if it is not done.
      if (instance.privateIp === '') {
        this.steps.push({ at: this.world.clock.now().getTime() + 10, run: launched });
        return;
      }
      instance.state = 'RUNNING';
      participant.launchStatus = 'LAUNCHED';
      participant.recoveryInstanceID = instance.recoveryInstanceID;
      const last = this.lastLaunch.get(id);
      if (last?.jobID === job.jobID) {
        last.status = 'LAUNCHED';
        last.recoveryInstanceID = instance.recoveryInstanceID;
      }
      this.finishWhenDone(job);
    };
    this.schedule(t0, LAUNCHED_MS + spread, launched);
  }

  private newJob(options: Pick<DrsJob, 'accountId' | 'region' | 'type' | 'initiatedBy' | 'tags'>): DrsJob {
    const jobID = `drsjob-${randomString(this.random, 17, HEX)}`;
    const job: DrsJob = {
      ...options,
      jobID,
      arn: `arn:aws:drs:${options.region}:${options.accountId}:job/${jobID}`,
      createdAt: this.world.clock.now(),
      status: 'PENDING',
      participants: [],
      log: [],
    };
    this.jobs.set(jobID, job);
    return job;
  }

  private newInstance(options: { job: DrsJob; server: SeededSourceServer; recoveryInstanceID: string; isDrill: boolean; pointInTime: Date }): RecoveryInstanceRecord {
    const { job, server } = options;
    const instance: RecoveryInstanceRecord = {
      recoveryInstanceID: options.recoveryInstanceID,
      arn: `arn:aws:drs:${server.region}:${server.accountId}:recovery-instance/${options.recoveryInstanceID}`,
      accountId: server.accountId,
      region: server.region,
      sourceServerID: server.sourceServerID,
      jobID: job.jobID,
      isDrill: options.isDrill,
      state: 'PENDING',
      privateIp: '',
      macAddress: macOf(options.recoveryInstanceID),
      pointInTime: options.pointInTime,
      launchedAt: this.world.clock.now(),
      subnetId: server.launchTemplate.subnetId,
      securityGroupIds: server.launchTemplate.securityGroupIds,
      instanceType: server.launchTemplate.instanceType,
      // DRS copies the source server's tags (copyTags) and marks what it launched.
      tags: { ...server.tags, AWSElasticDisasterRecoveryManaged: 'drs.amazonaws.com', AWSElasticDisasterRecoverySourceServerID: server.sourceServerID },
    };
    this.instances.set(instance.recoveryInstanceID, instance);
    return instance;
  }

  private startListeners(instance: RecoveryInstanceRecord, server: SeededSourceServer): Promise<InstanceListeners> {
    const started = startInstanceListeners(server.ports, `${HEALTHY_BODY_PREFIX} ${server.hostname}\n`, this.tls);
    this.listeners.set(instance.recoveryInstanceID, started);
    // A sandbox closed while binding still closes what bound.
    void started.then((listeners) => (this.closed ? listeners.close() : undefined), () => undefined);
    return started;
  }

  private async stopListeners(recoveryInstanceID: string): Promise<void> {
    const listeners = this.listeners.get(recoveryInstanceID);
    this.listeners.delete(recoveryInstanceID);
    await (await listeners?.catch(() => undefined))?.close();
  }

  /** Ends the jobs a released server was keeping open (see holdDrsServer). */
  release(sourceServerID: string): void {
    this.heldByTest.delete(sourceServerID);
    for (const job of this.jobs.values()) if (job.status !== 'COMPLETED' && job.participants.some((p) => p.sourceServerID === sourceServerID)) this.finishWhenDone(job);
  }

  /** Ends the job shortly after its last server reached LAUNCHED, FAILED or TERMINATED (and no server of it is held by a test). */
  private finishWhenDone(job: DrsJob): void {
    if (this.ending.has(job.jobID) || job.participants.some((p) => p.launchStatus === 'PENDING' || p.launchStatus === 'IN_PROGRESS' || this.heldByTest.has(p.sourceServerID))) return;
    this.ending.add(job.jobID);
    this.schedule(Math.max(this.world.clock.now().getTime(), job.createdAt.getTime() + this.world.clock.scale(START_MS)), END_MS, () => {
      job.status = 'COMPLETED';
      job.endedAt = this.world.clock.now();
      this.log(job, 'JOB_END');
    });
  }

  private log(job: DrsJob, event: string, eventData?: JobLogItem['eventData']): void {
    job.log.push({ logDateTime: this.world.clock.now(), event, eventData });
  }

  private spread(label: string): number {
    return randomInt(mulberry32(hashLabel(`${this.world.seed}:${label}`)), 0, SPREAD_MS);
  }

  /** `simulatedMs` after `from` (epoch ms), in real time. */
  private schedule(from: number, simulatedMs: number, run: () => void): void {
    this.steps.push({ at: from + this.world.clock.scale(simulatedMs), run });
    this.arm();
  }

  private arm(): void {
    if (this.closed) return;
    const next = Math.min(...this.steps.map((s) => s.at));
    if (next === Infinity || next >= this.nextTimerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextTimerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextTimerAt = Infinity;
      this.advance();
    }, Math.max(0, next - this.world.clock.now().getTime()));
  }

  private async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.steps = [];
    await Promise.all([...this.listeners.keys()].map((id) => this.stopListeners(id)));
  }
}

const runtimes = defineWorldState('drs:runtime', (world) => new DrsRuntime(world));

export function drsRuntime(world: World): DrsRuntime {
  return world.state(runtimes);
}

/**
 * Lays out the DRS world and starts the listeners of the recovery instances that were running
 * before the sandbox started (a real recovery and another drill's, in each drill account).
 */
export async function seedDrs(world: World): Promise<void> {
  const plan = drsPlan(world);
  const runtime = drsRuntime(world);
  for (const recovery of plan.recoveries) {
    const server = plan.servers.find((s) => s.sourceServerID === recovery.sourceServerID);
    if (!server) continue;
    const pointInTime = new Date(Math.floor((recovery.launchedAt.getTime() - 15 * MINUTE_MS) / (10 * MINUTE_MS)) * 10 * MINUTE_MS);
    await runtime.seedRecovery({ server, isDrill: recovery.isDrill, jobID: recovery.jobID, recoveryInstanceID: recovery.recoveryInstanceID, tags: recovery.tags, launchedAt: recovery.launchedAt, pointInTime });
  }
}

/**
 * Makes every later launch of `sourceServerID` fail with `rawError` in the job log, as a
 * capacity or permission problem would (seeded failures exist too: drsPlan().named.launchFailure).
 */
export function injectDrsLaunchFailure(world: World, options: { sourceServerID: string; rawError: string }): void {
  drsRuntime(world).injectedFailures.set(options.sourceServerID, options.rawError);
}

/**
 * Keeps every DRS job of `sourceServerID`, started before or after, from COMPLETING until
 * releaseDrsServer: its servers still launch, but the job stays STARTED and holds the server (a
 * StartRecovery for it is a ConflictException), as a long launch someone else runs would. Lets a
 * test hold a server for exactly as long as it needs, whatever the load.
 */
export function holdDrsServer(world: World, options: { sourceServerID: string }): void {
  drsRuntime(world).heldByTest.add(options.sourceServerID);
}

/** Lets the jobs holdDrsServer kept open end: each COMPLETES shortly after (once its servers are done). */
export function releaseDrsServer(world: World, options: { sourceServerID: string }): void {
  drsRuntime(world).release(options.sourceServerID);
}

function macOf(id: string): string {
  const h = hashLabel(id);
  return ['02', ...[h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255, hashLabel(`${id}:mac`) & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

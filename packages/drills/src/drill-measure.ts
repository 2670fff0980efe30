import type { ChosenRecoveryPoint, DrillPlan } from './drill-plan.js';

/** Where a server is in a drill run. */
export type ServerStatus = 'skipped' | 'waiting' | 'launching' | 'checking' | 'passed' | 'failed';

export interface CheckResult {
  name: string;
  passed: boolean;
  /** ms: when it first passed, or when it was given up. */
  at?: number;
  attempts: number;
  detail: string;
  certificate?: 'verified' | 'not verified';
}

/** One server's run: what happened to it and when (ms since the epoch, real time). */
export interface ServerRun {
  accountId: string;
  region: string;
  sourceServerId: string;
  hostname?: string;
  wave?: string;
  status: ServerStatus;
  reason?: string;
  notes: string[];
  recoveryPoint?: ChosenRecoveryPoint;
  batch?: string;
  jobId?: string;
  /** Just before its StartRecovery was sent. */
  startedAt?: number;
  launchedAt?: number;
  recoveryInstanceId?: string;
  ec2InstanceId?: string;
  privateAddress?: string;
  checks: CheckResult[];
  checksPassedAt?: number;
  terminatedAt?: number;
}

export interface ServerMeasure {
  /** StartRecovery to LAUNCHED. */
  rtoLaunchMs?: number;
  /** StartRecovery to the last check passing: the RTO judged against the objective. */
  rtoMs?: number;
  rpoMs?: number;
  rtoMet?: boolean;
  rpoMet?: boolean;
}

export interface WaveMeasure {
  name: string;
  servers: number;
  launched: number;
  passed: number;
  failed: number;
  skipped: number;
  /** First StartRecovery of the wave to its last server's last check passing. */
  rtoMs?: number;
  rtoMet?: boolean;
}

/**
 * RTO and RPO of one server. StartRecovery to LAUNCHED is scaled by `timeScale` (a sandbox
 * running DRS faster reports simulated time); launch to the last check passing is real time
 * (the checks connect to real listeners); the RPO is the reference time minus the snapshot's
 * own timestamp, both DRS's clock, so never scaled.
 */
export function measureServer(server: ServerRun, plan: Pick<DrillPlan, 'referenceTime' | 'objectives'>, timeScale = 1): ServerMeasure {
  const measure: ServerMeasure = {};
  if (server.recoveryPoint && server.status !== 'skipped') {
    measure.rpoMs = Math.max(0, Date.parse(plan.referenceTime) - Date.parse(server.recoveryPoint.at));
    measure.rpoMet = measure.rpoMs <= plan.objectives.rpoMs;
  }
  if (server.startedAt !== undefined && server.launchedAt !== undefined) measure.rtoLaunchMs = (server.launchedAt - server.startedAt) * timeScale;
  if (measure.rtoLaunchMs !== undefined && server.status === 'passed') {
    // Checks talk to real listeners in real time, so their part of the RTO is never scaled.
    measure.rtoMs = measure.rtoLaunchMs + Math.max(0, (server.checksPassedAt ?? server.launchedAt ?? 0) - (server.launchedAt ?? 0));
    measure.rtoMet = measure.rtoMs <= plan.objectives.rtoMs;
  }
  if (server.status === 'failed') measure.rtoMet = false;
  return measure;
}

export function measureWave(name: string, servers: readonly ServerRun[], plan: Pick<DrillPlan, 'objectives' | 'referenceTime'>, timeScale = 1): WaveMeasure {
  const mine = servers.filter((server) => server.wave === name);
  const started = mine.flatMap((server) => (server.startedAt !== undefined ? [server.startedAt] : []));
  const failed = mine.filter((server) => server.status === 'failed').length;
  const wave: WaveMeasure = {
    name,
    servers: mine.length,
    launched: mine.filter((server) => server.launchedAt !== undefined).length,
    passed: mine.filter((server) => server.status === 'passed').length,
    failed,
    skipped: mine.filter((server) => server.status === 'skipped').length,
  };
  // The wave's first StartRecovery to its last server passing, each server's part scaled as measureServer scales it.
  const first = Math.min(...started);
  const ends = mine.flatMap((server) => {
    const rto = measureServer(server, plan, timeScale).rtoMs;
    return rto === undefined || server.startedAt === undefined ? [] : [(server.startedAt - first) * timeScale + rto];
  });
  if (ends.length > 0) {
    wave.rtoMs = Math.max(...ends);
    wave.rtoMet = failed === 0 && wave.rtoMs <= plan.objectives.rtoMs;
  }
  return wave;
}

/** A server's run as the plan starts it: skipped with its reason, or waiting for its wave. */
export function initialRun(server: DrillPlan['servers'][number]): ServerRun {
  return {
    accountId: server.accountId,
    region: server.region,
    sourceServerId: server.sourceServerId,
    ...(server.hostname ? { hostname: server.hostname } : {}),
    ...(server.wave ? { wave: server.wave } : {}),
    status: server.action === 'launch' ? 'waiting' : 'skipped',
    ...(server.reason ? { reason: server.reason } : {}),
    notes: server.notes,
    ...(server.recoveryPoint ? { recoveryPoint: server.recoveryPoint } : {}),
    checks: [],
  };
}

/** Statuses after which a server's wave no longer waits for it. */
export const SETTLED_SERVER: readonly ServerStatus[] = ['skipped', 'passed', 'failed'];

/**
 * What DRS and EC2 say about one source server, reduced to what a drill decides on. The
 * planner reads nothing else, so tests hand it these directly.
 */
export interface LiveSourceServer {
  accountId: string;
  region: string;
  sourceServerId: string;
  hostname?: string;
  /** identificationHints.fqdn; a drill file's hostnames match either. */
  fqdn?: string;
  tags: Record<string, string>;
  /** DataReplicationInfo.dataReplicationState; absent when DRS has none (never replicated). */
  replicationState?: string;
  /** DataReplicationInfo.lagDuration in ms. */
  lagMs?: number;
  /** The EC2 launch template DRS launches the server with; absent when it has no launch configuration. */
  launchTemplate?: { id: string; subnetIds: string[]; securityGroupIds: string[] };
  /** Point-in-time snapshots as DRS lists them (any order). */
  snapshots: LiveSnapshot[];
  /** DRS jobs still PENDING or STARTED that hold the server (another drill, a recovery). */
  activeJobIds: string[];
}

export interface LiveSnapshot {
  snapshotId: string;
  /** When the snapshot was really taken; absent while it is not. */
  timestamp?: string;
  expectedTimestamp: string;
}

/** An account and region as read: its servers, or why there are none to read. */
export interface LiveRegion {
  accountId: string;
  region: string;
  servers: LiveSourceServer[];
  /** DRS is not initialized here (UninitializedAccountException), or the read failed: one sentence. */
  unavailable?: string;
}

export interface ChosenRecoveryPoint {
  snapshotId: string;
  /** The snapshot's own timestamp (ISO). */
  at: string;
}

export interface PlannedServer {
  accountId: string;
  region: string;
  sourceServerId: string;
  hostname?: string;
  wave?: string;
  action: 'launch' | 'skip';
  /** Why a server is skipped, in one sentence. */
  reason?: string;
  /** Things to know that do not stop the launch (lag over the RPO, a job still holding it). */
  notes: string[];
  recoveryPoint?: ChosenRecoveryPoint;
  /** Reference time minus the recovery point, ms. */
  plannedRpoMs?: number;
  subnetIds: string[];
  securityGroupIds: string[];
  replicationState?: string;
  lagMs?: number;
}

/** One StartRecovery call: servers of one account and region, at most 200. */
export interface LaunchBatch {
  /** Deterministic: part of the launch step's job id. */
  id: string;
  wave: string;
  accountId: string;
  region: string;
  servers: { sourceServerId: string; recoverySnapshotId: string }[];
}

export interface WavePlan {
  name: string;
  /** Most servers recovering at once in this wave. */
  concurrency: number;
  batches: LaunchBatch[];
}

export interface PlaceProblem {
  accountId: string;
  region: string;
  reason: string;
}

export interface DrillPlan {
  drill: string;
  plannedAt: string;
  /** The time RPO is measured against: now, or the recovery point's `before`. */
  referenceTime: string;
  objectives: { rtoMs: number; rpoMs: number };
  accounts: string[];
  regions: string[];
  servers: PlannedServer[];
  waves: WavePlan[];
  /** Accounts and regions that could not take part, with the reason. */
  unavailable: { accountId: string; region: string; reason: string }[];
  /**
   * The org-wide read of DRS, per account and region: read, failed (with the reason: left out
   * of the drill, within the failure tolerance), or never started (its region went past the
   * tolerance, and the drill is refused). Absent for a plan made from given live state.
   */
  reads?: { completed: number; failed: PlaceProblem[]; notStarted: PlaceProblem[] };
  notes: string[];
  /** Reasons the drill must not run at all (a server that would land outside isolation). */
  problems: string[];
}

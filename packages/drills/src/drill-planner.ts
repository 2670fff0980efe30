import { OrgshieldError } from '@orgshield/errors';
import type { DrillPlan, LaunchBatch, LiveRegion, LiveSourceServer, PlannedServer, WavePlan } from './drill-plan.js';
import { MAX_SERVERS_PER_START, type Drill, type ServerSelector } from './drill-schema.js';
import { chooseRecoveryPoint, formatDuration } from './recovery-point.js';

export interface DrillPlanInput {
  drill: Drill;
  /** The accounts the drill's targets pick, as resolveSelector gives them. */
  accounts: readonly string[];
  /** What DRS and EC2 hold in each (account, region) of the drill. */
  live: readonly LiveRegion[];
  now: number;
}

/** A drill that must not run: a plan with problems (a server would land outside isolation). */
export class DrillPlanError extends OrgshieldError {
  constructor(readonly plan: DrillPlan) {
    const [first] = plan.problems;
    const more = plan.problems.length > 1 ? ` (and ${plan.problems.length - 1} more)` : '';
    super('DrillRefused', `drill ${plan.drill} is refused in preflight: ${first ?? 'unknown problem'}${more}.`, { exitCode: 2 });
  }
}

/** Replication states a drill can launch from; the others are reported and the server skipped. */
const NOT_READY: Record<string, string> = {
  STALLED: 'replication is stalled',
  DISCONNECTED: 'the replication agent is disconnected',
  STOPPED: 'replication is stopped',
  PAUSED: 'replication is paused',
  INITIATING: 'replication has never completed its initial sync',
  INITIAL_SYNC: 'replication has never completed its initial sync',
  BACKLOG: 'replication is catching up on a backlog',
  CREATING_SNAPSHOT: 'replication is creating a snapshot',
  RESCAN: 'replication is rescanning its disks',
};

/**
 * The plan of a drill: a pure function of the drill, its accounts and what DRS holds. Every
 * server of the targets the drill selects is in it, launched or skipped with its reason; the
 * chosen recovery point, the launch template's network and the StartRecovery batches (per
 * account and region, at most 200 servers and at most the wave's concurrency each) too.
 */
export function planDrill(input: DrillPlanInput): DrillPlan {
  const { drill, now } = input;
  const referenceTime = drill.recoveryPoint !== 'latest' && 'before' in drill.recoveryPoint ? drill.recoveryPoint.before : new Date(now).toISOString();
  const reference = Date.parse(referenceTime);
  const accounts = new Set(input.accounts);
  const regions = new Set(drill.regions);
  const live = input.live.filter((entry) => accounts.has(entry.accountId) && regions.has(entry.region));
  const problems: string[] = [];
  const notes: string[] = [];

  const candidates = live
    .flatMap((entry) => entry.servers)
    .filter((server) => drill.servers === undefined || matches(drill.servers, server))
    .sort(byPlace);
  const servers: PlannedServer[] = candidates.map((server) => {
    const planned = planServer(server, { drill, now, reference });
    if (planned.action === 'launch') problems.push(...isolationProblems(planned, drill));
    return planned;
  });
  notes.push(...unfoundSelections(drill, live));

  const waves: WavePlan[] = drill.waves.map((wave) => {
    const concurrency = wave.concurrency ?? Number.MAX_SAFE_INTEGER;
    const launching = servers.filter((server) => server.wave === wave.name && server.action === 'launch');
    return { name: wave.name, concurrency: Math.min(concurrency, 1_000_000), batches: batchesOf(wave.name, launching, Math.min(MAX_SERVERS_PER_START, concurrency)) };
  });

  return {
    drill: drill.name,
    plannedAt: new Date(now).toISOString(),
    referenceTime,
    objectives: { rtoMs: drill.objectives.rto, rpoMs: drill.objectives.rpo },
    accounts: [...accounts].sort(),
    regions: [...regions],
    servers,
    waves,
    unavailable: live.flatMap((entry) => (entry.unavailable ? [{ accountId: entry.accountId, region: entry.region, reason: entry.unavailable }] : [])),
    notes,
    problems,
  };
}

function planServer(server: LiveSourceServer, context: { drill: Drill; now: number; reference: number }): PlannedServer {
  const { drill } = context;
  const name = serverName(server);
  const wave = drill.waves.find((candidate) => candidate.servers === undefined || matches(candidate.servers, server));
  const planned: PlannedServer = {
    accountId: server.accountId,
    region: server.region,
    sourceServerId: server.sourceServerId,
    ...(server.hostname ? { hostname: server.hostname } : {}),
    ...(wave ? { wave: wave.name } : {}),
    action: 'skip',
    notes: [],
    subnetIds: server.launchTemplate?.subnetIds ?? [],
    securityGroupIds: server.launchTemplate?.securityGroupIds ?? [],
    ...(server.replicationState ? { replicationState: server.replicationState } : {}),
    ...(server.lagMs !== undefined ? { lagMs: server.lagMs } : {}),
  };
  const skip = (reason: string): PlannedServer => ({ ...planned, reason });

  if (!wave) return skip(`server ${name} is in none of the drill's waves`);
  if (server.replicationState !== 'CONTINUOUS') {
    const why = server.replicationState ? (NOT_READY[server.replicationState] ?? `replication is ${server.replicationState}`) : 'replication has never started';
    return skip(`server ${name} is not launched: ${why}`);
  }
  if (!server.launchTemplate) return skip(`server ${name} has no launch configuration (no EC2 launch template), so it is not launched`);

  const choice = chooseRecoveryPoint(server.snapshots, drill.recoveryPoint, { now: context.now, server: name });
  if (!choice.ok) return skip(choice.reason);

  if (server.lagMs !== undefined && server.lagMs > drill.objectives.rpo) {
    planned.notes.push(`replication lags ${formatDuration(server.lagMs)}, more than the ${formatDuration(drill.objectives.rpo)} RPO`);
  }
  if (server.activeJobIds.length > 0) planned.notes.push(`DRS job ${server.activeJobIds.join(', ')} holds the server; its launch waits for it`);
  return { ...planned, action: 'launch', recoveryPoint: choice.point, plannedRpoMs: Math.max(0, context.reference - Date.parse(choice.point.at)) };
}

/** A drill never lands outside its isolation: every subnet and security group must be the drill's. */
function isolationProblems(server: PlannedServer, drill: Drill): string[] {
  const name = serverName(server);
  const problems: string[] = [];
  if (server.subnetIds.length === 0) problems.push(`server ${name}'s launch template names no subnet, so it would land in the default one, outside the drill's isolation subnets`);
  for (const subnet of server.subnetIds) {
    if (!drill.isolation.subnets.includes(subnet)) {
      problems.push(`server ${name}'s launch template puts it in subnet ${subnet}, which is not one of the drill's isolation subnets (${drill.isolation.subnets.join(', ')})`);
    }
  }
  if (server.securityGroupIds.length === 0) problems.push(`server ${name}'s launch template names no security group, so it would get the VPC's default one, not one of the drill's`);
  for (const group of server.securityGroupIds) {
    if (!drill.isolation.securityGroups.includes(group)) {
      problems.push(`server ${name}'s launch template gives it security group ${group}, which is not one of the drill's isolation security groups (${drill.isolation.securityGroups.join(', ')})`);
    }
  }
  return problems;
}

/** Servers of one account and region go together (StartRecovery works in one), in chunks of `size`. */
function batchesOf(wave: string, servers: readonly PlannedServer[], size: number): LaunchBatch[] {
  const groups = new Map<string, PlannedServer[]>();
  for (const server of servers) {
    const key = `${server.accountId}|${server.region}`;
    groups.set(key, [...(groups.get(key) ?? []), server]);
  }
  const batches: LaunchBatch[] = [];
  for (const group of groups.values()) {
    for (let start = 0, index = 1; start < group.length; start += size, index++) {
      const chunk = group.slice(start, start + size);
      const first = chunk[0];
      if (!first) continue;
      batches.push({
        id: `${wave}.${first.accountId}.${first.region}.${index}`,
        wave,
        accountId: first.accountId,
        region: first.region,
        servers: chunk.map((server) => ({ sourceServerId: server.sourceServerId, recoverySnapshotId: server.recoveryPoint?.snapshotId ?? '' })),
      });
    }
  }
  return batches;
}

/** A server matches a selector by any of its ids, any of its hostnames, or by carrying every tag. */
export function matches(selector: ServerSelector, server: Pick<LiveSourceServer, 'sourceServerId' | 'hostname' | 'fqdn' | 'tags'>): boolean {
  if (selector.ids?.includes(server.sourceServerId)) return true;
  const names = [server.hostname, server.fqdn].flatMap((name) => (name ? [name.toLowerCase()] : []));
  if (selector.hostnames?.some((candidate) => names.includes(candidate.toLowerCase()))) return true;
  return selector.tags !== undefined && Object.entries(selector.tags).every(([key, value]) => server.tags[key] === value);
}

/** Ids and hostnames a drill names that no target account holds: likely a typo, said as a note. */
function unfoundSelections(drill: Drill, live: readonly LiveRegion[]): string[] {
  const ids = new Set(live.flatMap((entry) => entry.servers.map((server) => server.sourceServerId)));
  const hostnames = new Set(live.flatMap((entry) => entry.servers.flatMap((server) => [server.hostname, server.fqdn].flatMap((name) => (name ? [name.toLowerCase()] : [])))));
  const selectors = [drill.servers, ...drill.waves.map((wave) => wave.servers)].filter((selector) => selector !== undefined);
  const missing = new Set<string>();
  for (const selector of selectors) {
    for (const id of selector.ids ?? []) if (!ids.has(id)) missing.add(`source server ${id}`);
    for (const hostname of selector.hostnames ?? []) if (!hostnames.has(hostname.toLowerCase())) missing.add(`hostname ${hostname}`);
  }
  return [...missing].map((what) => `${what} is named in the drill file but no target account and region has it`);
}

export function serverName(server: { sourceServerId: string; hostname?: string; accountId: string }): string {
  return `${server.sourceServerId}${server.hostname ? ` (${server.hostname})` : ''} in ${server.accountId}`;
}

function byPlace(a: LiveSourceServer, b: LiveSourceServer): number {
  return a.accountId.localeCompare(b.accountId) || a.region.localeCompare(b.region) || a.sourceServerId.localeCompare(b.sourceServerId);
}

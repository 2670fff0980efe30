import {
  DescribeJobLogItemsCommand,
  DescribeJobsCommand,
  DescribeRecoveryInstancesCommand,
  DescribeRecoverySnapshotsCommand,
  DescribeSourceServersCommand,
  DrsClient,
  GetLaunchConfigurationCommand,
  type Job,
  type RecoveryInstance,
  type SourceServer,
} from '@aws-sdk/client-drs';
import { DescribeInstancesCommand, DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { resolveSelector, runFanOut, type MemberCredentials, type OrganizationSnapshot } from '@orgshield/accounts';
import { AwsCallError, mapLimit, type AwsClientFactory } from '@orgshield/aws';
import type { DrillPlan, LiveRegion, LiveSnapshot, LiveSourceServer, PlaceProblem } from './drill-plan.js';
import { planDrill } from './drill-planner.js';
import type { Drill, RecoveryPoint } from './drill-schema.js';

/** The DRS and EC2 clients of a drill, in member accounts through their credentials. */
export interface DrillClients {
  drs(accountId: string, region: string): DrsClient;
  ec2(accountId: string, region: string): EC2Client;
}

export function drillClients(factory: AwsClientFactory, members: MemberCredentials, jobId?: string): DrillClients {
  return {
    drs: (accountId, region) => factory.client(DrsClient, members.target(accountId, region, jobId)),
    ec2: (accountId, region) => factory.client(EC2Client, members.target(accountId, region, jobId)),
  };
}

/** The AWS error name, whether @orgshield/aws wrapped it or not. */
export function awsErrorName(error: unknown): string | undefined {
  if (error instanceof AwsCallError) return error.awsCode;
  return typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string' ? (error as { name: string }).name : undefined;
}

/** Job statuses that still hold their servers. */
const ACTIVE_JOB_STATUSES = new Set(['PENDING', 'STARTED']);

/** `PT1M30S` (DRS's lagDuration) in ms; undefined when it is not a duration. */
export function parseIsoDuration(text: string | undefined): number | undefined {
  const match = text ? /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text) : null;
  if (!match) return undefined;
  const [, d = '0', h = '0', m = '0', s = '0'] = match;
  return ((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Math.round(Number(s) * 1000);
}

/** Source servers, all or those named (DRS takes at most 200 ids a call). */
export async function describeSourceServers(drs: DrsClient, sourceServerIDs?: string[]): Promise<SourceServer[]> {
  const servers: SourceServer[] = [];
  const filters = sourceServerIDs ? chunks(sourceServerIDs, 200).map((ids) => ({ sourceServerIDs: ids })) : [undefined];
  for (const filter of filters) {
    let nextToken: string | undefined;
    do {
      const page = await drs.send(new DescribeSourceServersCommand({ ...(filter ? { filters: filter } : {}), maxResults: 200, ...(nextToken ? { nextToken } : {}) }));
      servers.push(...(page.items ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return servers;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function describeJobs(drs: DrsClient, filters: { jobIDs?: string[]; fromDate?: string } = {}): Promise<Job[]> {
  const jobs: Job[] = [];
  let nextToken: string | undefined;
  do {
    const page = await drs.send(new DescribeJobsCommand({ filters, maxResults: 200, ...(nextToken ? { nextToken } : {}) }));
    jobs.push(...(page.items ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return jobs;
}

export async function describeRecoveryInstances(drs: DrsClient, filters: { recoveryInstanceIDs?: string[]; sourceServerIDs?: string[] } = {}): Promise<RecoveryInstance[]> {
  const instances: RecoveryInstance[] = [];
  let nextToken: string | undefined;
  do {
    const page = await drs.send(new DescribeRecoveryInstancesCommand({ filters, maxResults: 200, ...(nextToken ? { nextToken } : {}) }));
    instances.push(...(page.items ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return instances;
}

/** The reason a server failed to launch, from the job's log: its LAUNCH_FAILED (or other *_FAIL*) entry. */
export async function launchFailureReasons(drs: DrsClient, jobID: string): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  let nextToken: string | undefined;
  do {
    const page = await drs.send(new DescribeJobLogItemsCommand({ jobID, maxResults: 500, ...(nextToken ? { nextToken } : {}) }));
    for (const item of page.items ?? []) {
      const server = item.eventData?.sourceServerID;
      if (!server || !item.event || !/FAIL/.test(item.event)) continue;
      reasons.set(server, `${item.event}${item.eventData?.rawError ? `: ${item.eventData.rawError}` : ''}`);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return reasons;
}

/**
 * The snapshots a recovery point can come from, newest first and paged. DRS filters on the
 * expected time; reading stops once a page holds a snapshot the choice can take, since every
 * later page is older.
 */
async function recoverySnapshots(drs: DrsClient, sourceServerID: string, point: RecoveryPoint, now: number): Promise<LiveSnapshot[]> {
  const filters =
    point === 'latest' ? undefined : 'before' in point ? { toDateTime: point.before } : { fromDateTime: new Date(now - point.maxAge).toISOString().replace(/\.\d+Z$/, 'Z') };
  const before = point !== 'latest' && 'before' in point ? Date.parse(point.before) : Number.POSITIVE_INFINITY;
  const snapshots: LiveSnapshot[] = [];
  let nextToken: string | undefined;
  do {
    const page = await drs.send(new DescribeRecoverySnapshotsCommand({ sourceServerID, order: 'DESC', maxResults: 100, ...(filters ? { filters } : {}), ...(nextToken ? { nextToken } : {}) }));
    for (const item of page.items ?? []) {
      if (!item.snapshotID || !item.expectedTimestamp) continue;
      snapshots.push({ snapshotId: item.snapshotID, expectedTimestamp: item.expectedTimestamp, ...(item.timestamp ? { timestamp: item.timestamp } : {}) });
    }
    if (snapshots.some((snapshot) => snapshot.timestamp !== undefined && Date.parse(snapshot.timestamp) < before)) break;
    nextToken = page.nextToken;
  } while (nextToken);
  return snapshots;
}

/** The launch template DRS launches a server with: its subnets and security groups. */
async function launchTemplateOf(clients: DrillClients, accountId: string, region: string, sourceServerID: string): Promise<LiveSourceServer['launchTemplate']> {
  let templateId: string | undefined;
  try {
    templateId = (await clients.drs(accountId, region).send(new GetLaunchConfigurationCommand({ sourceServerID }))).ec2LaunchTemplateID;
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
  if (!templateId) return undefined;
  const versions = await clients.ec2(accountId, region).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Versions: ['$Default'] }));
  const data = versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData;
  if (!data) return undefined;
  const interfaces = data.NetworkInterfaces ?? [];
  return {
    id: templateId,
    subnetIds: [...new Set(interfaces.flatMap((nic) => (nic.SubnetId ? [nic.SubnetId] : [])))],
    securityGroupIds: [...new Set([...interfaces.flatMap((nic) => nic.Groups ?? []), ...(data.SecurityGroupIds ?? [])])],
  };
}

export interface ReadRegionOptions {
  recoveryPoint: RecoveryPoint;
  now: number;
  /** Only these servers (a step re-reading its own); default every source server. */
  sourceServerIds?: string[];
  /** Calls in flight per account and region; default 8. */
  concurrency?: number;
}

/**
 * What DRS holds in one account and region, as the planner takes it. An account where DRS
 * is not initialized is reported as unavailable, not thrown: the rest of the drill goes on.
 */
export async function readLiveRegion(clients: DrillClients, accountId: string, region: string, options: ReadRegionOptions): Promise<LiveRegion> {
  const drs = clients.drs(accountId, region);
  let sourceServers: SourceServer[];
  let jobs: Job[];
  try {
    sourceServers = await describeSourceServers(drs, options.sourceServerIds);
    jobs = await describeJobs(drs, { fromDate: new Date(options.now - 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z') });
  } catch (error) {
    if (awsErrorName(error) === 'UninitializedAccountException') {
      return { accountId, region, servers: [], unavailable: 'Elastic Disaster Recovery is not initialized in this account and region' };
    }
    throw error;
  }
  const holding = new Map<string, string[]>();
  for (const job of jobs) {
    if (!job.jobID || !ACTIVE_JOB_STATUSES.has(job.status ?? '')) continue;
    for (const server of job.participatingServers ?? []) {
      if (server.sourceServerID) holding.set(server.sourceServerID, [...(holding.get(server.sourceServerID) ?? []), job.jobID]);
    }
  }
  const servers = await mapLimit(sourceServers, options.concurrency ?? 8, async (server): Promise<LiveSourceServer | undefined> => {
    const id = server.sourceServerID;
    if (!id) return undefined;
    const replication = server.dataReplicationInfo;
    const hostname = server.sourceProperties?.identificationHints?.hostname;
    const fqdn = server.sourceProperties?.identificationHints?.fqdn;
    const lagMs = parseIsoDuration(replication?.lagDuration);
    return {
      accountId,
      region,
      sourceServerId: id,
      ...(hostname ? { hostname } : {}),
      ...(fqdn ? { fqdn } : {}),
      tags: server.tags ?? {},
      ...(replication?.dataReplicationState ? { replicationState: replication.dataReplicationState } : {}),
      ...(lagMs !== undefined ? { lagMs } : {}),
      launchTemplate: await launchTemplateOf(clients, accountId, region, id),
      snapshots: await recoverySnapshots(drs, id, options.recoveryPoint, options.now),
      activeJobIds: holding.get(id) ?? [],
    };
  });
  return { accountId, region, servers: servers.filter((server): server is LiveSourceServer => server !== undefined) };
}

/** A recovery instance's private address: from DRS's view of its network, else from EC2. */
export async function privateAddressOf(clients: DrillClients, accountId: string, region: string, instance: RecoveryInstance): Promise<string | undefined> {
  const nics = instance.recoveryInstanceProperties?.networkInterfaces ?? [];
  const primary = nics.find((nic) => nic.isPrimary) ?? nics[0];
  const fromDrs = primary?.ips?.[0];
  if (fromDrs) return fromDrs;
  if (!instance.ec2InstanceID) return undefined;
  const answer = await clients.ec2(accountId, region).send(new DescribeInstancesCommand({ InstanceIds: [instance.ec2InstanceID] }));
  return answer.Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress;
}

/**
 * Reads DRS and EC2 in every target account and region of a drill (a few at a time) and
 * plans it. Reads only: this is `drill plan`, and the start of `drill run`.
 */
export async function readAndPlanDrill(input: { drill: Drill; organization: OrganizationSnapshot; clients: DrillClients; now: number; concurrency?: number }): Promise<DrillPlan> {
  const { drill, now } = input;
  const accounts = resolveSelector(input.organization, drill.targets);
  // A sliding window over account x region reads, fair across accounts; a failed read is the
  // account's, not the drill's, until its region passes the drill's failure tolerance.
  const read = await runFanOut({
    tasks: accounts.flatMap((accountId) => drill.regions.map((region) => ({ accountId, region }))),
    run: ({ accountId, region }) => readLiveRegion(input.clients, accountId, region, { recoveryPoint: drill.recoveryPoint, now }),
    concurrency: input.concurrency ?? 8,
    tolerance: drill.failureTolerance,
  });
  const place = ({ accountId, region, reason }: PlaceProblem): PlaceProblem => ({ accountId, region, reason });
  const plan = planDrill({ drill, accounts, live: read.completed.map((entry) => entry.value), now });
  return {
    ...plan,
    reads: { completed: read.completed.length, failed: read.failed.map(place), notStarted: read.notStarted.map(place) },
    problems: [...plan.problems, ...read.stoppedRegions.map((stopped) => `reading DRS ${stopped.reason}; the drill is not run on part of its accounts: ${read.failed.filter((entry) => entry.region === stopped.region).map((entry) => `${entry.accountId}: ${entry.reason}`).join('; ')}`)],
  };
}

import type {
  DescribeJobLogItemsRequest,
  DescribeJobsRequest,
  DescribeRecoveryInstancesRequest,
  DescribeRecoverySnapshotsRequest,
  DescribeSourceServersRequest,
  GetLaunchConfigurationRequest,
  ListTagsForResourceRequest,
  StartRecoveryRequest,
  TagResourceRequest,
  TerminateRecoveryInstancesRequest,
  UntagResourceRequest,
} from '@aws-sdk/client-drs';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { drsPlan, drsServerIn, drsServersIn, type SeededSourceServer } from '../world/seeded-drs.js';
import { drsRuntime, type DrsJob, type DrsRuntime, type RecoveryInstanceRecord } from './drs-jobs.js';
import { recoverySnapshotById, recoverySnapshotsOf, type RecoverySnapshotRecord } from './drs-snapshots.js';

/**
 * AWS Elastic Disaster Recovery (restJson): source servers with their replication state and lag,
 * point-in-time recovery snapshots (drs-snapshots.ts), launch configurations, recovery jobs and
 * recovery instances (drs-jobs.ts), tags. What the world holds is laid out in seeded-drs.ts.
 *
 * Modelled beyond the model, following the DRS API reference: every operation in an account and
 * region where DRS is not initialized is UninitializedAccountException (InitializeService
 * initializes it, with no servers); list operations page with opaque tokens (a bad one is a
 * ValidationException) and a default page of 100; DescribeRecoverySnapshots filters on the
 * snapshot's `timestamp`, ascending unless `order` is DESC; DescribeJobs filters on creation
 * time, newest first; a terminated recovery instance leaves DescribeRecoveryInstances; a
 * StartRecovery or TerminateRecoveryInstances touching a server another unfinished job holds is a
 * ConflictException (nothing is started). Simplified: an unknown source server id in
 * StartRecovery is skipped (SERVER_SKIPPED in the job log) and an unknown recovery instance id in
 * TerminateRecoveryInstances is ignored; a recoverySnapshotID the server does not have fails
 * that server's launch.
 */
export const drs = defineService({
  signingName: 'drs',
  loggedResources: {
    StartRecovery: (input: StartRecoveryRequest) => (input.sourceServers ?? []).map((s) => s.sourceServerID ?? ''),
    TerminateRecoveryInstances: (input: TerminateRecoveryInstancesRequest) => input.recoveryInstanceIDs ?? [],
  },
  handlers: {
    InitializeService(_input: object, ctx) {
      drsRuntime(ctx.world).initialized.add(`${ctx.accountId}:${ctx.region}`);
      return {};
    },

    DescribeSourceServers(input: DescribeSourceServersRequest, ctx) {
      const runtime = initializedRuntime(ctx);
      const ids = input.filters?.sourceServerIDs;
      const hardwareId = input.filters?.hardwareId;
      const staging = input.filters?.stagingAccountIDs;
      const servers = drsServersIn(ctx.world, ctx.accountId, ctx.region).filter(
        (s) =>
          (ids === undefined || ids.length === 0 || ids.includes(s.sourceServerID)) &&
          (hardwareId === undefined || hardwareId === s.sourceInstanceId) &&
          // No server here replicates through a staging account.
          (staging === undefined || staging.length === 0),
      );
      const listing = `drs:DescribeSourceServers:${ctx.accountId}:${ctx.region}:${JSON.stringify(input.filters ?? {})}`;
      const { items, nextToken } = page(ctx, listing, servers, input);
      return { items: items.map((s) => sourceServerView(ctx, runtime, s)), nextToken };
    },

    DescribeRecoverySnapshots(input: DescribeRecoverySnapshotsRequest, ctx) {
      initializedRuntime(ctx);
      const server = drsServerIn(ctx.world, { accountId: ctx.accountId, region: ctx.region, sourceServerID: input.sourceServerID ?? '' });
      const from = parseTime(input.filters?.fromDateTime, 'fromDateTime');
      const to = parseTime(input.filters?.toDateTime, 'toDateTime');
      const snapshots = (server ? recoverySnapshotsOf(server, ctx.world.clock.now()) : []).filter(
        (s) => (from === undefined || s.timestamp.getTime() >= from.getTime()) && (to === undefined || s.timestamp.getTime() <= to.getTime()),
      );
      if (input.order === 'DESC') snapshots.reverse();
      // Snapshots come and go with the clock: a token holds the last snapshot's time, not an offset.
      const listing = `drs:DescribeRecoverySnapshots:${ctx.accountId}:${ctx.region}:${input.sourceServerID}:${JSON.stringify(input.filters ?? {})}:${input.order ?? 'ASC'}`;
      const descending = input.order === 'DESC';
      const { items, nextToken } = pageAfterKey(ctx, listing, snapshots, input, {
        keyOf: (snapshot) => String(snapshot.expectedTimestamp.getTime()),
        isAfter: (snapshot, key) => (descending ? snapshot.expectedTimestamp.getTime() < Number(key) : snapshot.expectedTimestamp.getTime() > Number(key)),
      });
      return { items: items.map(snapshotView), nextToken };
    },

    GetLaunchConfiguration(input: GetLaunchConfigurationRequest, ctx) {
      initializedRuntime(ctx);
      const server = serverOrNotFound(ctx, input.sourceServerID);
      return {
        sourceServerID: server.sourceServerID,
        name: server.hostname.split('.')[0],
        ec2LaunchTemplateID: server.launchTemplate.id,
        launchDisposition: 'STARTED',
        targetInstanceTypeRightSizingMethod: 'NONE',
        copyPrivateIp: false,
        copyTags: true,
        licensing: { osByol: true },
        postLaunchEnabled: false,
      };
    },

    StartRecovery(input: StartRecoveryRequest, ctx) {
      const runtime = initializedRuntime(ctx);
      const held = runtime.heldServers(ctx.accountId, ctx.region);
      const requested = input.sourceServers ?? [];
      for (const { sourceServerID } of requested) {
        const holder = held.get(sourceServerID ?? '');
        if (holder !== undefined) {
          throw new ServiceError('ConflictException', `Source server ${sourceServerID} is already participating in job ${holder}.`, {
            fields: { code: 'CONFLICT', resourceId: sourceServerID, resourceType: 'SOURCE_SERVER' },
          });
        }
      }
      const now = ctx.world.clock.now();
      const launches: { server: SeededSourceServer; snapshot: RecoverySnapshotRecord | undefined; missingSnapshotID?: string }[] = [];
      const skipped: string[] = [];
      for (const { sourceServerID, recoverySnapshotID } of requested) {
        const server = drsServerIn(ctx.world, { accountId: ctx.accountId, region: ctx.region, sourceServerID: sourceServerID ?? '' });
        if (!server || launches.some((l) => l.server === server)) {
          skipped.push(sourceServerID ?? '');
          continue;
        }
        const snapshot = recoverySnapshotID === undefined ? undefined : recoverySnapshotById(server, recoverySnapshotID, now);
        launches.push({ server, snapshot, missingSnapshotID: recoverySnapshotID !== undefined && !snapshot ? recoverySnapshotID : undefined });
      }
      const job = runtime.startLaunch({ accountId: ctx.accountId, region: ctx.region, isDrill: input.isDrill === true, tags: input.tags ?? {}, servers: launches });
      for (const id of skipped) job.log.push({ logDateTime: now, event: 'SERVER_SKIPPED', eventData: { sourceServerID: id } });
      return { job: jobView(job) };
    },

    DescribeJobs(input: DescribeJobsRequest, ctx) {
      const runtime = initializedRuntime(ctx);
      const ids = input.filters?.jobIDs;
      const from = parseTime(input.filters?.fromDate, 'fromDate');
      const to = parseTime(input.filters?.toDate, 'toDate');
      const jobs = [...runtime.jobs.values()]
        .filter(
          (j) =>
            j.accountId === ctx.accountId &&
            j.region === ctx.region &&
            (ids === undefined || ids.length === 0 || ids.includes(j.jobID)) &&
            (from === undefined || j.createdAt.getTime() >= from.getTime()) &&
            (to === undefined || j.createdAt.getTime() <= to.getTime()),
        )
        .sort((a, b) => (jobOrderKey(a) < jobOrderKey(b) ? -1 : 1));
      const listing = `drs:DescribeJobs:${ctx.accountId}:${ctx.region}:${JSON.stringify(input.filters ?? {})}`;
      // Newest first: a job started between two pages must not shift the next page.
      const { items, nextToken } = pageAfterKey(ctx, listing, jobs, input, {
        keyOf: jobOrderKey,
        isAfter: (job, key) => jobOrderKey(job) > key,
      });
      return { items: items.map(jobView), nextToken };
    },

    DescribeJobLogItems(input: DescribeJobLogItemsRequest, ctx) {
      const runtime = initializedRuntime(ctx);
      const job = runtime.jobs.get(input.jobID ?? '');
      const log = job && job.accountId === ctx.accountId && job.region === ctx.region ? job.log : [];
      const { items, nextToken } = page(ctx, `drs:DescribeJobLogItems:${input.jobID}`, log, input);
      return {
        items: items.map((item) => ({ logDateTime: item.logDateTime.toISOString(), event: item.event, eventData: item.eventData })),
        nextToken,
      };
    },

    DescribeRecoveryInstances(input: DescribeRecoveryInstancesRequest, ctx) {
      const runtime = initializedRuntime(ctx);
      const ids = input.filters?.recoveryInstanceIDs;
      const servers = input.filters?.sourceServerIDs;
      const instances = [...runtime.instances.values()]
        .filter(
          (i) =>
            i.accountId === ctx.accountId &&
            i.region === ctx.region &&
            i.state !== 'TERMINATED' &&
            (ids === undefined || ids.length === 0 || ids.includes(i.recoveryInstanceID)) &&
            (servers === undefined || servers.length === 0 || servers.includes(i.sourceServerID)),
        )
        .sort((a, b) => (a.recoveryInstanceID < b.recoveryInstanceID ? -1 : 1));
      const listing = `drs:DescribeRecoveryInstances:${ctx.accountId}:${ctx.region}:${JSON.stringify(input.filters ?? {})}`;
      const { items, nextToken } = page(ctx, listing, instances, input);
      return { items: items.map((i) => recoveryInstanceView(ctx, i)), nextToken };
    },

    TerminateRecoveryInstances(input: TerminateRecoveryInstancesRequest, ctx) {
      const runtime = initializedRuntime(ctx);
      const held = runtime.heldServers(ctx.accountId, ctx.region);
      const instances: RecoveryInstanceRecord[] = [];
      for (const id of new Set(input.recoveryInstanceIDs ?? [])) {
        const instance = runtime.instances.get(id);
        if (!instance || instance.accountId !== ctx.accountId || instance.region !== ctx.region || instance.state === 'TERMINATED') continue;
        const holder = held.get(instance.sourceServerID);
        if (holder !== undefined) {
          throw new ServiceError('ConflictException', `Recovery instance ${id} cannot be terminated while job ${holder} is running for its source server.`, {
            fields: { code: 'CONFLICT', resourceId: id, resourceType: 'RECOVERY_INSTANCE' },
          });
        }
        instances.push(instance);
      }
      return { job: jobView(runtime.startTermination({ accountId: ctx.accountId, region: ctx.region, instances })) };
    },

    ListTagsForResource(input: ListTagsForResourceRequest, ctx) {
      return { tags: { ...tagsOf(ctx, input.resourceArn ?? '') } };
    },

    TagResource(input: TagResourceRequest, ctx) {
      Object.assign(tagsOf(ctx, input.resourceArn ?? ''), input.tags ?? {});
      return {};
    },

    UntagResource(input: UntagResourceRequest, ctx) {
      const tags = tagsOf(ctx, input.resourceArn ?? '');
      for (const key of input.tagKeys ?? []) delete tags[key];
      return {};
    },
  },
});

/** The runtime, once DRS is known to be initialized here and due steps have run. */
function initializedRuntime(ctx: RequestContext): DrsRuntime {
  const runtime = drsRuntime(ctx.world);
  const plan = drsPlan(ctx.world);
  const seeded = plan.initializedAccountIds.includes(ctx.accountId) && plan.regions.includes(ctx.region);
  if (!seeded && !runtime.initialized.has(`${ctx.accountId}:${ctx.region}`)) {
    throw new ServiceError('UninitializedAccountException', 'Account not initialized for Elastic Disaster Recovery in this region. Call InitializeService first.', {
      fields: { code: 'UNINITIALIZED_ACCOUNT' },
    });
  }
  runtime.advance();
  return runtime;
}

function serverOrNotFound(ctx: RequestContext, sourceServerID: string | undefined): SeededSourceServer {
  const server = drsServerIn(ctx.world, { accountId: ctx.accountId, region: ctx.region, sourceServerID: sourceServerID ?? '' });
  if (!server) {
    throw new ServiceError('ResourceNotFoundException', `Source server ${sourceServerID} not found.`, {
      fields: { code: 'RESOURCE_NOT_FOUND', resourceId: sourceServerID, resourceType: 'SOURCE_SERVER' },
    });
  }
  return server;
}

/** A resource's mutable tag map: source servers and jobs of the caller's account and region. */
function tagsOf(ctx: RequestContext, arn: string): Record<string, string> {
  const runtime = drsRuntime(ctx.world);
  const match = /^arn:aws:drs:([a-z0-9-]+):(\d{12}):(source-server|job|recovery-instance)\/(.+)$/.exec(arn);
  const notFound = () =>
    new ServiceError('ResourceNotFoundException', `Resource ${arn} not found.`, { fields: { code: 'RESOURCE_NOT_FOUND', resourceId: arn } });
  if (!match || match[1] !== ctx.region || match[2] !== ctx.accountId) throw notFound();
  const id = match[4] ?? '';
  switch (match[3]) {
    case 'source-server': {
      const server = drsServerIn(ctx.world, { accountId: ctx.accountId, region: ctx.region, sourceServerID: id });
      if (!server) throw notFound();
      let tags = runtime.serverTags.get(id);
      if (!tags) {
        tags = { ...server.tags };
        runtime.serverTags.set(id, tags);
      }
      return tags;
    }
    case 'job': {
      const job = runtime.jobs.get(id);
      if (!job || job.accountId !== ctx.accountId || job.region !== ctx.region) throw notFound();
      return job.tags;
    }
    default: {
      const instance = runtime.instances.get(id);
      if (!instance || instance.accountId !== ctx.accountId || instance.region !== ctx.region) throw notFound();
      return instance.tags;
    }
  }
}

function parseTime(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new ServiceError('ValidationException', `${name} ${value} is not an ISO 8601 date and time.`, { fields: { reason: 'cannotParse' } });
  return parsed;
}

const DEFAULT_PAGE = 100;

function page<T>(ctx: RequestContext, listing: string, items: T[], input: { maxResults?: number; nextToken?: string }): { items: T[]; nextToken?: string } {
  const { items: slice, next } = ctx.world.pageTokens.page(listing, items, input.nextToken, input.maxResults ?? DEFAULT_PAGE, () =>
    new ServiceError('ValidationException', 'The pagination token is invalid.', { fields: { reason: 'cannotParse' } }),
  );
  return { items: slice, nextToken: next };
}

/** Sorts newest first, then by id, as plain strings. */
function jobOrderKey(job: DrsJob): string {
  return `${String(9_000_000_000_000_000 - job.createdAt.getTime()).padStart(16, '0')}:${job.jobID}`;
}

/**
 * A page that starts after the item whose key the token holds, for listings that change between
 * calls (items come and go at either end). `isAfter` says an item comes after a key in this order.
 */
function pageAfterKey<T>(
  ctx: RequestContext,
  listing: string,
  items: T[],
  input: { maxResults?: number; nextToken?: string },
  order: { keyOf: (item: T) => string; isAfter: (item: T, key: string) => boolean },
): { items: T[]; nextToken?: string } {
  let start = 0;
  if (input.nextToken !== undefined && input.nextToken !== '') {
    const key = ctx.world.pageTokens.decode(listing, input.nextToken);
    if (key === undefined) throw new ServiceError('ValidationException', 'The pagination token is invalid.', { fields: { reason: 'cannotParse' } });
    start = items.findIndex((item) => order.isAfter(item, key));
    if (start < 0) start = items.length;
  }
  const slice = items.slice(start, start + (input.maxResults ?? DEFAULT_PAGE));
  const last = slice.at(-1);
  const more = start + slice.length < items.length;
  return { items: slice, nextToken: more && last !== undefined ? ctx.world.pageTokens.encode(listing, order.keyOf(last)) : undefined };
}

/** ISO 8601 duration of a lag, as DRS reports it (PT5S, PT3H12M4S, P1DT2H). */
function isoDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds || (!hours && !minutes) ? `${seconds}S` : ''}`;
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}

function sourceServerView(ctx: RequestContext, runtime: DrsRuntime, s: SeededSourceServer) {
  const now = ctx.world.clock.now();
  const last = runtime.lastLaunch.get(s.sourceServerID);
  const replicating = s.replication === 'CONTINUOUS';
  const lastSeen = s.stoppedAt ?? now;
  // A continuous server lags by seconds; a stopped one by everything since it stopped.
  const lagMs = s.replication === 'INITIAL_SYNC' ? undefined : replicating ? 1000 + (parseInt(s.sourceServerID.slice(-2), 16) % 20) * 1000 : now.getTime() - (s.stoppedAt?.getTime() ?? now.getTime());
  const bytes = s.disks.reduce((sum, d) => sum + d.bytes, 0);
  const synced = s.replication === 'INITIAL_SYNC' ? Math.floor(bytes * 0.37) : bytes;
  return {
    sourceServerID: s.sourceServerID,
    arn: s.arn,
    tags: { ...(runtime.serverTags.get(s.sourceServerID) ?? s.tags) },
    recoveryInstanceId: last?.recoveryInstanceID,
    lastLaunchResult: last === undefined ? 'NOT_STARTED' : last.status === 'LAUNCHED' ? 'SUCCEEDED' : last.status === 'FAILED' ? 'FAILED' : 'PENDING',
    dataReplicationInfo: {
      lagDuration: lagMs === undefined ? undefined : isoDuration(lagMs),
      etaDateTime: s.replication === 'INITIAL_SYNC' ? new Date(now.getTime() + 2 * 3_600_000).toISOString() : undefined,
      dataReplicationState: s.replication,
      replicatedDisks: s.disks.map((d) => ({ deviceName: d.deviceName, totalStorageBytes: d.bytes, replicatedStorageBytes: Math.round((d.bytes * synced) / bytes), rescannedStorageBytes: 0, backloggedStorageBytes: 0 })),
      dataReplicationError:
        s.replication === 'STALLED'
          ? { error: 'SNAPSHOTS_FAILURE', rawError: 'Replication stalled: the replication server could not take EBS snapshots.' }
          : s.replication === 'DISCONNECTED'
            ? { error: 'AGENT_NOT_SEEN', rawError: 'The AWS Replication Agent on the source server has not been seen by the service.' }
            : undefined,
      stagingAvailabilityZone: `${s.region}a`,
    },
    lifeCycle: {
      addedToServiceDateTime: s.addedAt.toISOString(),
      firstByteDateTime: s.firstSnapshotAt ? new Date(s.addedAt.getTime() + 5 * 60_000).toISOString() : undefined,
      elapsedReplicationDuration: isoDuration(lastSeen.getTime() - s.addedAt.getTime()),
      lastSeenByServiceDateTime: (s.replication === 'DISCONNECTED' ? lastSeen : now).toISOString(),
      lastLaunch:
        last === undefined
          ? undefined
          : { initiated: { apiCallDateTime: last.apiCallDateTime.toISOString(), jobID: last.jobID, type: last.type }, status: last.status },
    },
    sourceProperties: {
      lastUpdatedDateTime: s.addedAt.toISOString(),
      recommendedInstanceType: s.instanceType,
      identificationHints: { hostname: s.hostname.split('.')[0], fqdn: s.hostname, awsInstanceID: s.sourceInstanceId },
      networkInterfaces: [{ macAddress: `0a:${s.sourceServerID.slice(2, 12).match(/../g)?.join(':')}`, ips: [s.sourceIp], isPrimary: true }],
      disks: s.disks,
      cpus: [{ cores: s.cpus, modelName: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz' }],
      ramBytes: s.ramBytes,
      os: { fullString: s.os },
      supportsNitroInstances: true,
    },
    replicationDirection: 'FAILOVER',
    agentVersion: '4.7.1033.0',
  };
}

function snapshotView(s: RecoverySnapshotRecord) {
  return {
    snapshotID: s.snapshotID,
    sourceServerID: s.sourceServerID,
    expectedTimestamp: s.expectedTimestamp.toISOString(),
    timestamp: s.timestamp.toISOString(),
    ebsSnapshots: s.ebsSnapshots,
  };
}

function jobView(job: DrsJob) {
  return {
    jobID: job.jobID,
    arn: job.arn,
    type: job.type,
    initiatedBy: job.initiatedBy,
    creationDateTime: job.createdAt.toISOString(),
    endDateTime: job.endedAt?.toISOString(),
    status: job.status,
    participatingServers: job.participants.map((p) => ({ sourceServerID: p.sourceServerID, recoveryInstanceID: p.recoveryInstanceID, launchStatus: p.launchStatus })),
    tags: { ...job.tags },
  };
}

function recoveryInstanceView(ctx: RequestContext, i: RecoveryInstanceRecord) {
  const server = drsServerIn(ctx.world, { accountId: i.accountId, region: i.region, sourceServerID: i.sourceServerID });
  return {
    ec2InstanceID: i.recoveryInstanceID,
    ec2InstanceState: i.state,
    jobID: i.jobID,
    recoveryInstanceID: i.recoveryInstanceID,
    sourceServerID: i.sourceServerID,
    arn: i.arn,
    tags: { ...i.tags },
    isDrill: i.isDrill,
    pointInTimeSnapshotDateTime: i.pointInTime.toISOString(),
    originEnvironment: 'AWS',
    originAvailabilityZone: `${i.region}a`,
    dataReplicationInfo: { dataReplicationState: 'NOT_STARTED' },
    recoveryInstanceProperties: {
      lastUpdatedDateTime: i.launchedAt.toISOString(),
      identificationHints: { hostname: server?.hostname.split('.')[0], fqdn: server?.hostname, awsInstanceID: i.recoveryInstanceID },
      networkInterfaces: [{ macAddress: i.macAddress, ips: i.privateIp === '' ? [] : [i.privateIp], isPrimary: true }],
      disks: server?.disks.map((d) => ({ internalDeviceName: d.deviceName, bytes: d.bytes })),
      cpus: server ? [{ cores: server.cpus, modelName: 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz' }] : undefined,
      ramBytes: server?.ramBytes,
      os: server ? { fullString: server.os } : undefined,
    },
  };
}

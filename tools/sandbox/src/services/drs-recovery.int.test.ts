import { connect } from 'node:net';
import {
  ConflictException,
  DescribeJobLogItemsCommand,
  DescribeJobsCommand,
  DescribeRecoveryInstancesCommand,
  DescribeRecoverySnapshotsCommand,
  DescribeSourceServersCommand,
  DrsClient,
  type Job,
  ListTagsForResourceCommand,
  type RecoveryInstance,
  StartRecoveryCommand,
  TerminateRecoveryInstancesCommand,
  ValidationException,
} from '@aws-sdk/client-drs';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { drsPlan, HEALTHY_BODY_PREFIX, type DrsPlan, type SeededSourceServer } from '../world/seeded-drs.js';
import { World } from '../world/world.js';
import { injectDrsLaunchFailure } from './drs-jobs.js';

/**
 * Recovery jobs, recovery instances and their listeners, through the real SDK clients: what a
 * drill launches, waits for, checks over TCP and HTTP, and cleans up.
 */
const REGION = 'us-east-1';
const admin = { accessKeyId: 'AKIADRSTEST000000002', secretAccessKey: 'test' };
let sandbox: RunningSandbox;
let plan: DrsPlan;
const destroyers: (() => void)[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, accounts: 30, ous: 5, seed: 11, timeScale: 0.001 });
  plan = drsPlan(sandbox.world);
});
afterAll(async () => {
  for (const destroy of destroyers) destroy();
  await sandbox.close();
});

async function clientsIn(accountId: string, target: RunningSandbox = sandbox) {
  const sts = new STSClient({ endpoint: target.url, region: REGION, credentials: admin });
  const session = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'drill' }))).Credentials;
  sts.destroy();
  const config = {
    endpoint: target.url,
    region: REGION,
    maxAttempts: 1,
    credentials: { accessKeyId: session?.AccessKeyId ?? '', secretAccessKey: session?.SecretAccessKey ?? '', sessionToken: session?.SessionToken ?? '' },
  };
  const drs = new DrsClient(config);
  const ec2 = new EC2Client(config);
  destroyers.push(() => drs.destroy(), () => ec2.destroy());
  return { drs, ec2 };
}

function server(name: string): SeededSourceServer {
  const found = plan.servers.find((s) => s.tags['Name'] === name);
  if (!found) throw new Error(`no seeded server ${name}`);
  return found;
}

/** Polls DescribeJobs until the job completes, keeping every status it was seen in. */
async function untilCompleted(drs: DrsClient, jobID: string): Promise<{ job: Job; statuses: string[] }> {
  const statuses: string[] = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    const job = (await drs.send(new DescribeJobsCommand({ filters: { jobIDs: [jobID] } }))).items?.[0];
    if (!job) throw new Error(`job ${jobID} is not described`);
    if (statuses.at(-1) !== job.status) statuses.push(job.status ?? '');
    if (job.status === 'COMPLETED') return { job, statuses };
    if (Date.now() > deadline) throw new Error(`job ${jobID} still ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function instancesOf(drs: DrsClient, sourceServerIDs: string[]): Promise<RecoveryInstance[]> {
  return (await drs.send(new DescribeRecoveryInstancesCommand({ filters: { sourceServerIDs } }))).items ?? [];
}

function tcpConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const ipOf = (instance: RecoveryInstance | undefined): string => instance?.recoveryInstanceProperties?.networkInterfaces?.[0]?.ips?.[0] ?? '';

describe('a drill launch', () => {
  it('goes PENDING -> STARTED -> COMPLETED, launches every server on the snapshot asked for, and the applications answer', async () => {
    const [web, db, shop] = [server('web-0'), server('db-0'), server('shop-0')];
    const { drs, ec2 } = await clientsIn(web.accountId);
    const newest = (await drs.send(new DescribeRecoverySnapshotsCommand({ sourceServerID: web.sourceServerID, order: 'DESC', maxResults: 1 }))).items?.[0];
    const started = await drs.send(
      new StartRecoveryCommand({
        isDrill: true,
        tags: { 'orgshield:drill': 'q4-drill' },
        sourceServers: [{ sourceServerID: web.sourceServerID, recoverySnapshotID: newest?.snapshotID }, { sourceServerID: db.sourceServerID }, { sourceServerID: shop.sourceServerID }],
      }),
    );
    expect(started.job).toMatchObject({ type: 'LAUNCH', initiatedBy: 'START_DRILL', status: 'PENDING', tags: { 'orgshield:drill': 'q4-drill' } });
    expect(started.job?.participatingServers?.map((p) => p.launchStatus)).toEqual(['PENDING', 'PENDING', 'PENDING']);
    const jobID = started.job?.jobID ?? '';
    // Another job for a server this one holds is refused, and starts nothing.
    const before = (await drs.send(new DescribeJobsCommand({}))).items?.length;
    await expect(drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [{ sourceServerID: db.sourceServerID }] }))).rejects.toBeInstanceOf(ConflictException);
    expect((await drs.send(new DescribeJobsCommand({}))).items?.length).toBe(before);

    const { job, statuses } = await untilCompleted(drs, jobID);
    expect(statuses).toEqual(['PENDING', 'STARTED', 'COMPLETED'].slice(statuses[0] === 'PENDING' ? 0 : 1));
    expect(statuses).toContain('COMPLETED');
    expect(job.endDateTime).toBeDefined();
    expect(job.participatingServers?.map((p) => p.launchStatus)).toEqual(['LAUNCHED', 'LAUNCHED', 'LAUNCHED']);
    expect((await drs.send(new ListTagsForResourceCommand({ resourceArn: job.arn ?? '' }))).tags).toEqual({ 'orgshield:drill': 'q4-drill' });

    const log = [];
    let nextToken: string | undefined;
    do {
      const page = await drs.send(new DescribeJobLogItemsCommand({ jobID, maxResults: 4, nextToken }));
      log.push(...(page.items ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const events = log.map((item) => `${item.event}${item.eventData?.sourceServerID ? `:${item.eventData.sourceServerID}` : ''}`);
    expect(events[0]).toBe('JOB_START');
    expect(events.at(-1)).toBe('JOB_END');
    expect(events).toContain(`USING_PREVIOUS_SNAPSHOT:${web.sourceServerID}`);
    expect(events).toContain(`SNAPSHOT_END:${db.sourceServerID}`);
    for (const s of [web, db, shop]) expect(events).toContain(`LAUNCH_START:${s.sourceServerID}`);

    const instances = await instancesOf(drs, [web.sourceServerID, db.sourceServerID, shop.sourceServerID]);
    expect(instances).toHaveLength(3);
    for (const instance of instances) expect(instance).toMatchObject({ isDrill: true, jobID, ec2InstanceState: 'RUNNING', ec2InstanceID: instance.recoveryInstanceID });
    const byServer = new Map(instances.map((i) => [i.sourceServerID, i]));
    expect(byServer.get(web.sourceServerID)?.pointInTimeSnapshotDateTime).toBe(newest?.timestamp);
    const ips = instances.map(ipOf);
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) expect(ip).toMatch(/^127\.\d+\.\d+\.\d+$/);

    const webIp = ipOf(byServer.get(web.sourceServerID));
    const answer = await fetch(`http://${webIp}:8080/health`);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe(`${HEALTHY_BODY_PREFIX} ${web.hostname}\n`);
    expect((await fetch(`http://${ipOf(byServer.get(shop.sourceServerID))}:8080/`)).status).toBe(500);
    expect(await tcpConnects(ipOf(byServer.get(db.sourceServerID)), 5432)).toBe(true);

    const ec2Instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [byServer.get(web.sourceServerID)?.ec2InstanceID ?? ''] }))).Reservations?.[0]?.Instances?.[0];
    expect(ec2Instance).toMatchObject({ PrivateIpAddress: webIp, SubnetId: web.launchTemplate.subnetId, State: { Name: 'running' } });
    const source = (await drs.send(new DescribeSourceServersCommand({ filters: { sourceServerIDs: [web.sourceServerID] } }))).items?.[0];
    expect(source).toMatchObject({ lastLaunchResult: 'SUCCEEDED', recoveryInstanceId: byServer.get(web.sourceServerID)?.recoveryInstanceID, lifeCycle: { lastLaunch: { initiated: { jobID, type: 'DRILL' } } } });
  });

  it('reports a server that fails to launch in its launchStatus and the job log, though the job COMPLETES', async () => {
    const [render, web, batch] = [server('render-2'), server('web-2'), server('batch-2')];
    injectDrsLaunchFailure(sandbox.world, { sourceServerID: web.sourceServerID, rawError: 'Failed to launch recovery instance: UnauthorizedOperation: not authorized to perform ec2:RunInstances' });
    const { drs } = await clientsIn(render.accountId);
    const started = await drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [render, web, batch].map((s) => ({ sourceServerID: s.sourceServerID })) }));
    const { job } = await untilCompleted(drs, started.job?.jobID ?? '');
    expect(job.participatingServers?.map((p) => p.launchStatus)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    const log = (await drs.send(new DescribeJobLogItemsCommand({ jobID: job.jobID }))).items ?? [];
    const failure = (id: string) => log.find((item) => item.event === 'LAUNCH_FAILED' && item.eventData?.sourceServerID === id)?.eventData?.rawError;
    expect(failure(render.sourceServerID)).toMatch(/InsufficientInstanceCapacity/);
    expect(failure(web.sourceServerID)).toMatch(/UnauthorizedOperation/);
    expect(log.some((item) => item.event === 'SNAPSHOT_FAIL' && item.eventData?.sourceServerID === batch.sourceServerID)).toBe(true);
    expect(await instancesOf(drs, [render.sourceServerID, web.sourceServerID, batch.sourceServerID])).toEqual([]);
  });

  it('launches a server whose application accepts and never answers', async () => {
    const queue = server('queue-1');
    const { drs } = await clientsIn(queue.accountId);
    const started = await drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [{ sourceServerID: queue.sourceServerID }] }));
    await untilCompleted(drs, started.job?.jobID ?? '');
    const ip = ipOf((await instancesOf(drs, [queue.sourceServerID]))[0]);
    expect(await tcpConnects(ip, 8080)).toBe(true);
    await expect(fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
  });

  it('takes at most 200 servers a call: 250 fleet servers launch as two jobs', async () => {
    const fleet = plan.named.fleet.slice(0, 250);
    const { drs } = await clientsIn(plan.fleetAccountId ?? '');
    await expect(drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: plan.named.fleet.slice(0, 201).map((sourceServerID) => ({ sourceServerID })) }))).rejects.toBeInstanceOf(ValidationException);
    const jobs = await Promise.all([fleet.slice(0, 200), fleet.slice(200)].map((part) => drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: part.map((sourceServerID) => ({ sourceServerID })) }))));
    const done = await Promise.all(jobs.map((j) => untilCompleted(drs, j.job?.jobID ?? '')));
    expect(done.flatMap(({ job }) => job.participatingServers?.map((p) => p.launchStatus) ?? []).filter((s) => s === 'LAUNCHED')).toHaveLength(250);
    const instances: RecoveryInstance[] = [];
    let nextToken: string | undefined;
    do {
      const page = await drs.send(new DescribeRecoveryInstancesCommand({ nextToken }));
      instances.push(...(page.items ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(instances).toHaveLength(250);
    expect(new Set(instances.map(ipOf)).size).toBe(250);
  });
});

describe('termination', () => {
  it('is a TERMINATE job that shuts the instance down, closes its listener and drops it, leaving the others alone', async () => {
    const api = server('api-1');
    const { drs, ec2 } = await clientsIn(api.accountId);
    const launch = await drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [{ sourceServerID: api.sourceServerID }] }));
    await untilCompleted(drs, launch.job?.jobID ?? '');
    const [instance] = await instancesOf(drs, [api.sourceServerID]);
    const ip = ipOf(instance);
    expect((await fetch(`http://${ip}:9090/`)).status).toBe(200);
    const seeded = plan.recoveries.filter((r) => r.accountId === api.accountId);
    expect(seeded.map((r) => r.isDrill).sort()).toEqual([false, true]);

    const terminate = await drs.send(new TerminateRecoveryInstancesCommand({ recoveryInstanceIDs: [instance?.recoveryInstanceID ?? ''] }));
    expect(terminate.job).toMatchObject({ type: 'TERMINATE', initiatedBy: 'TERMINATE_RECOVERY_INSTANCES', status: 'PENDING' });
    // A second launch of a server being terminated is a conflict.
    await expect(drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [{ sourceServerID: api.sourceServerID }] }))).rejects.toBeInstanceOf(ConflictException);
    const { job, statuses } = await untilCompleted(drs, terminate.job?.jobID ?? '');
    expect(statuses.at(-1)).toBe('COMPLETED');
    expect(job.participatingServers).toEqual([{ sourceServerID: api.sourceServerID, recoveryInstanceID: instance?.recoveryInstanceID, launchStatus: 'TERMINATED' }]);
    expect((await drs.send(new DescribeJobLogItemsCommand({ jobID: job.jobID }))).items?.map((i) => i.event)).toEqual(['JOB_START', 'CLEANUP_START', 'CLEANUP_END', 'JOB_END']);
    expect(await instancesOf(drs, [api.sourceServerID])).toEqual([]);
    expect(await tcpConnects(ip, 9090)).toBe(false);
    const ec2Instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instance?.ec2InstanceID ?? ''] }))).Reservations?.[0]?.Instances?.[0];
    expect(ec2Instance?.State?.Name).toBe('terminated');

    // The request log names what was terminated: only this drill's instance.
    const terminations = sandbox.requests().filter((r) => r.operation === 'TerminateRecoveryInstances' && r.account === api.accountId);
    expect(terminations.map((r) => [r.status, r.resources])).toEqual([[200, [instance?.recoveryInstanceID]]]);
    // The real recovery and the other drill's instance are still up and answering.
    const others = await instancesOf(drs, seeded.map((r) => r.sourceServerID));
    expect(others.map((i) => [i.recoveryInstanceID, i.isDrill, i.ec2InstanceState]).sort()).toEqual(seeded.map((r) => [r.recoveryInstanceID, r.isDrill, 'RUNNING']).sort());
    for (const other of others) expect((await fetch(`http://${ipOf(other)}:8080/`)).status).toBe(200);
    const otherJob = (await drs.send(new DescribeJobsCommand({ filters: { jobIDs: [seeded.find((r) => r.isDrill)?.jobID ?? ''] } }))).items?.[0];
    expect(otherJob).toMatchObject({ status: 'COMPLETED', initiatedBy: 'START_DRILL', tags: plan.otherDrillTags });
  });

  it('ends with the sandbox: closing it closes every listener', async () => {
    const own = await startSandbox({ port: 0, accounts: 8, ous: 2, seed: 3, timeScale: 0.001 });
    const ownPlan = drsPlan(own.world);
    const seeded = ownPlan.recoveries[0];
    if (!seeded) throw new Error('a seeded recovery');
    const { drs } = await clientsIn(seeded.accountId, own);
    const ip = ipOf((await instancesOf(drs, [seeded.sourceServerID]))[0]);
    expect(await tcpConnects(ip, 8080)).toBe(true);
    await own.close();
    expect(await tcpConnects(ip, 8080)).toBe(false);
  });
});

describe('launch failures from the faults config', () => {
  it('fails the named servers’ launches, by id or Name tag, and refuses a name no server has', async () => {
    // The same seed lays out the same servers: find their ids before the sandbox starts.
    const probe = drsPlan(new World({ accounts: 8, ous: 2, seed: 3, timeScale: 0.001 }));
    const web = probe.servers.find((s) => s.tags['Name'] === 'web-1');
    const own = await startSandbox({ port: 0, accounts: 8, ous: 2, seed: 3, timeScale: 0.001, faults: { operations: {}, drsLaunchFailures: { 'api-1': 'capacity', [web?.sourceServerID ?? '']: 'denied' } } });
    try {
      const { drs } = await clientsIn(web?.accountId ?? '', own);
      const api = probe.servers.find((s) => s.tags['Name'] === 'api-1');
      const db = probe.servers.find((s) => s.tags['Name'] === 'db-1');
      const started = await drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [web, api, db].map((s) => ({ sourceServerID: s?.sourceServerID })) }));
      const { job } = await untilCompleted(drs, started.job?.jobID ?? '');
      expect(job.participatingServers?.map((p) => p.launchStatus)).toEqual(['FAILED', 'FAILED', 'LAUNCHED']);
    } finally {
      await own.close();
    }
    await expect(startSandbox({ port: 0, accounts: 8, ous: 2, seed: 3, faults: { operations: {}, drsLaunchFailures: { 'no-such-server': 'x' } } })).rejects.toThrow(
      /drsLaunchFailures: "no-such-server" is no source server/,
    );
  });
});

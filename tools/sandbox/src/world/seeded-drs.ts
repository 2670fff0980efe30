import { pick, randomInt, randomString, type Random } from './prng.js';
import { defineWorldState, type World } from './world.js';

/**
 * What Elastic Disaster Recovery holds in the seeded organization, laid out so a drill has
 * everything to find: healthy servers, broken applications, replication in trouble, snapshot
 * gaps, a launch that fails, a launch template in a production subnet, a 260-server fleet, and
 * recovery instances a cleanup must never touch (a real recovery and another drill's).
 *
 * - Management account: DRS uninitialized (UninitializedAccountException everywhere).
 * - The first three active member accounts (`drillAccountIds`), in DRILL_REGION: per account
 *   `web-N` (HTTP 8080), `api-N` (HTTP 9090) and `db-N` (TCP 5432), all healthy; `erp-N` with a
 *   real recovery instance (isDrill false) and `crm-N` with another drill's instance, both
 *   running since before the sandbox started. Then one trouble case each:
 *   account 0: `shop-0` answers HTTP 500, `stalled-0` (STALLED three hours ago),
 *   `edge-0` whose launch template points at the production subnet;
 *   account 1: `queue-1` accepts and never answers, `legacy-1` (DISCONNECTED a day ago),
 *   `new-1` (added three hours ago: no snapshot older than that);
 *   account 2: `batch-2` never synced (INITIAL_SYNC), `report-2` with no snapshot between 30 and
 *   80 hours ago, `render-2` whose every launch fails.
 *   Their EC2 instances: the original of each server, tagged RECOVERABLE_TAG, plus `billing-N`
 *   (tagged, replicated by nothing: `unprotectedInstanceIds`) and `scratch-N` (untagged).
 * - The fourth active member (`fleetAccountId`): 260 healthy servers `fleet-001`... in DRILL_REGION.
 * - Every other active member: every third uninitialized, the others with 1-4 servers in each
 *   of DRS_REGIONS, mostly CONTINUOUS.
 * Any account in a region outside DRS_REGIONS is uninitialized.
 */

export const DRS_REGIONS = ['us-east-1', 'us-west-2'] as const;
export const DRILL_REGION = 'us-east-1';
/** What a healthy recovery instance's HTTP listener answers, after the server's hostname. */
export const HEALTHY_BODY_PREFIX = 'orgshield-sandbox ok';
/** The tag a drill file may name as "must be recoverable": the drill accounts' EC2 instances carry it. */
export const RECOVERABLE_TAG = { key: 'dr:recoverable', value: 'true' } as const;
/** Source servers of the fleet account: more than one StartRecovery takes (200). */
export const FLEET_SIZE = 260;

const HEX = '0123456789abcdef';
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

export type ReplicationState = 'CONTINUOUS' | 'STALLED' | 'DISCONNECTED' | 'INITIAL_SYNC';
/** healthy: answers (HTTP 200 with the known body); error: HTTP 500; silent: accepts and never answers. */
export type ListenerBehaviour = 'healthy' | 'error' | 'silent';

export interface ServicePort {
  port: number;
  /** https answers with the certificate the sandbox was given (`drs.tls`), and is not listened on without one. */
  protocol: 'http' | 'https' | 'tcp';
  behaviour: ListenerBehaviour;
}

export interface RecoveryNetwork {
  vpcId: string;
  /** The drill's isolated subnet and security group. */
  isolatedSubnet: SeededSubnet;
  isolatedSecurityGroup: { id: string; name: string };
  /** Where a real recovery lands: a drill must never launch here. */
  productionSubnet: SeededSubnet;
  productionSecurityGroup: { id: string; name: string };
}

export interface SeededSubnet {
  id: string;
  name: string;
  cidr: string;
  availabilityZone: string;
}

export interface SeededLaunchTemplate {
  id: string;
  name: string;
  subnetId: string;
  securityGroupIds: string[];
  instanceType: string;
}

export interface SeededSourceServer {
  sourceServerID: string;
  arn: string;
  accountId: string;
  region: string;
  hostname: string;
  tags: Record<string, string>;
  replication: ReplicationState;
  addedAt: Date;
  /** The first snapshot, once the initial sync finished; undefined: never synced. */
  firstSnapshotAt?: Date;
  /** STALLED or DISCONNECTED: replication stopped here, and so did the snapshots. */
  stoppedAt?: Date;
  /** No snapshot was taken in [from, to). */
  gap?: { from: Date; to: Date };
  ports: ServicePort[];
  launchTemplate: SeededLaunchTemplate;
  /** Every launch of this server fails with this error (the job log's rawError). */
  launchFailure?: string;
  /** The EC2 instance replicated (identificationHints.awsInstanceID) and its address. */
  sourceInstanceId: string;
  sourceIp: string;
  instanceType: string;
  disks: { deviceName: string; bytes: number }[];
  cpus: number;
  ramBytes: number;
  os: string;
}

/**
 * An EC2 instance in a drill account: the original a source server replicates (its
 * identificationHints.awsInstanceID), or one that carries RECOVERABLE_TAG and is replicated by
 * nothing (`sourceServerID` undefined), or one that needs no recovery.
 */
export interface SeededSourceInstance {
  instanceId: string;
  accountId: string;
  region: string;
  name: string;
  privateIp: string;
  instanceType: string;
  launchTime: Date;
  tags: Record<string, string>;
  sourceServerID: string | undefined;
}

/** A recovery instance that was running before the sandbox started. */
export interface SeededRecovery {
  sourceServerID: string;
  accountId: string;
  region: string;
  isDrill: boolean;
  jobID: string;
  recoveryInstanceID: string;
  /** The job's tags. */
  tags: Record<string, string>;
  launchedAt: Date;
}

export interface DrsPlan {
  /** When the plan was laid out (the world's clock at the first DRS request or sandbox start). */
  anchor: Date;
  regions: readonly string[];
  drillRegion: string;
  /** Accounts with DRS initialized in every region of `regions`. */
  initializedAccountIds: string[];
  /** Active accounts where DRS was never initialized, the management account first. */
  uninitializedAccountIds: string[];
  drillAccountIds: string[];
  fleetAccountId: string | undefined;
  servers: SeededSourceServer[];
  /** Source server ids by what they are for. */
  named: {
    healthy: string[];
    httpError: string[];
    silent: string[];
    stalled: string[];
    disconnected: string[];
    neverSynced: string[];
    recentlyAdded: string[];
    snapshotGap: string[];
    launchFailure: string[];
    productionSubnet: string[];
    realRecovery: string[];
    otherDrill: string[];
    fleet: string[];
  };
  recoveries: SeededRecovery[];
  /** The drill accounts' EC2 instances, replicated or not (coverage: what would we lose today?). */
  sourceInstances: SeededSourceInstance[];
  /** Instances carrying RECOVERABLE_TAG that no source server replicates. */
  unprotectedInstanceIds: string[];
  /** The tags of the other drill's jobs. */
  otherDrillTags: Record<string, string>;
  networkOf(accountId: string, region: string): RecoveryNetwork;
}

const plans = defineWorldState('drs:plan', (world): DrsPlan => buildPlan(world));

export function drsPlan(world: World): DrsPlan {
  return world.state(plans);
}

/** The source server with that id, in that account and region. */
export function drsServerIn(world: World, where: { accountId: string; region: string; sourceServerID: string }): SeededSourceServer | undefined {
  const server = serverIndex(world).get(where.sourceServerID);
  return server && server.accountId === where.accountId && server.region === where.region ? server : undefined;
}

export function drsServersIn(world: World, accountId: string, region: string): SeededSourceServer[] {
  return drsPlan(world).servers.filter((s) => s.accountId === accountId && s.region === region);
}

const indexes = defineWorldState('drs:server-index', (world) => new Map(drsPlan(world).servers.map((s) => [s.sourceServerID, s])));

function serverIndex(world: World): Map<string, SeededSourceServer> {
  return world.state(indexes);
}

const OTHER_DRILL_TAGS = { 'orgshield:drill': 'payments-quarterly', owner: 'platform-team' };
const OSES = ['Linux - Amazon Linux 2023', 'Linux - Ubuntu 22.04.4 LTS', 'Microsoft Windows Server 2022 Datacenter'];
const INSTANCE_TYPES = ['t3.medium', 'm5.large', 'c6i.xlarge', 'r6i.large'];

interface ServerDraft {
  role: string;
  ports: ServicePort[];
  replication?: ReplicationState;
  addedAgoMs?: number;
  stoppedAgoMs?: number;
  gapAgoMs?: { from: number; to: number };
  launchFailure?: string;
  productionSubnet?: boolean;
  tags?: Record<string, string>;
}

const healthyHttp = (port: number): ServicePort[] => [{ port, protocol: 'http', behaviour: 'healthy' }];

/** The trouble cases of the first, second and third drill account, and the `named` list each joins. */
const TROUBLE_CASES: readonly (readonly [keyof DrsPlan['named'], ServerDraft])[][] = [
  [
    ['httpError', { role: 'shop-0', ports: [{ port: 8080, protocol: 'http', behaviour: 'error' }] }],
    ['stalled', { role: 'stalled-0', ports: healthyHttp(8080), replication: 'STALLED', stoppedAgoMs: 3 * HOUR_MS }],
    ['productionSubnet', { role: 'edge-0', ports: healthyHttp(8080), productionSubnet: true }],
  ],
  [
    ['silent', { role: 'queue-1', ports: [{ port: 8080, protocol: 'http', behaviour: 'silent' }] }],
    ['disconnected', { role: 'legacy-1', ports: healthyHttp(8080), replication: 'DISCONNECTED', stoppedAgoMs: DAY_MS }],
    ['recentlyAdded', { role: 'new-1', ports: healthyHttp(8080), addedAgoMs: 3 * HOUR_MS }],
  ],
  [
    ['neverSynced', { role: 'batch-2', ports: healthyHttp(8080), replication: 'INITIAL_SYNC', addedAgoMs: 40 * MINUTE_MS }],
    ['snapshotGap', { role: 'report-2', ports: healthyHttp(8080), gapAgoMs: { from: 80 * HOUR_MS, to: 30 * HOUR_MS } }],
    [
      'launchFailure',
      {
        role: 'render-2',
        ports: healthyHttp(8080),
        launchFailure: 'Failed to launch recovery instance: InsufficientInstanceCapacity: We currently do not have sufficient r6i.large capacity in the Availability Zone you requested.',
      },
    ],
  ],
];

function buildPlan(world: World): DrsPlan {
  const anchor = new Date(Math.floor(world.clock.now().getTime() / 1000) * 1000);
  const management = world.org.managementAccountId;
  const members = [...world.org.accounts.values()].filter((a) => a.id !== management && a.status === 'ACTIVE').map((a) => a.id);
  const drillAccountIds = members.slice(0, 3);
  const fleetAccountId = members[3];
  const others = members.slice(4);
  const uninitialized = [management, ...others.filter((_, i) => i % 3 === 2)];
  const initialized = members.filter((id) => !uninitialized.includes(id));
  const networks = new Map<string, RecoveryNetwork>();
  const networkOf = (accountId: string, region: string): RecoveryNetwork => {
    const key = `${accountId}:${region}`;
    let network = networks.get(key);
    if (!network) {
      network = seededNetwork(world.random(`drs:network:${key}`), region);
      networks.set(key, network);
    }
    return network;
  };
  const named: DrsPlan['named'] = {
    healthy: [], httpError: [], silent: [], stalled: [], disconnected: [], neverSynced: [], recentlyAdded: [],
    snapshotGap: [], launchFailure: [], productionSubnet: [], realRecovery: [], otherDrill: [], fleet: [],
  };
  const servers: SeededSourceServer[] = [];
  const recoveries: SeededRecovery[] = [];
  const sourceInstances: SeededSourceInstance[] = [];
  const unprotectedInstanceIds: string[] = [];
  const add = (accountId: string, region: string, random: Random, draft: ServerDraft): SeededSourceServer => {
    const server = seededServer({ random, anchor, accountId, region, network: networkOf(accountId, region), draft });
    servers.push(server);
    return server;
  };

  drillAccountIds.forEach((accountId, n) => {
    const random = world.random(`drs:drill-account:${accountId}`);
    for (const draft of [
      { role: `web-${n}`, ports: [...healthyHttp(8080), { port: 8443, protocol: 'https', behaviour: 'healthy' } as const] },
      { role: `api-${n}`, ports: healthyHttp(9090) },
      { role: `db-${n}`, ports: [{ port: 5432, protocol: 'tcp', behaviour: 'healthy' } as const] },
    ]) named.healthy.push(add(accountId, DRILL_REGION, random, draft).sourceServerID);
    const erp = add(accountId, DRILL_REGION, random, { role: `erp-${n}`, ports: healthyHttp(8080), tags: { tier: 'critical' } });
    named.realRecovery.push(erp.sourceServerID);
    recoveries.push(seededRecovery(random, erp, { isDrill: false, tags: { incident: 'INC-2041' }, launchedAt: new Date(anchor.getTime() - 2 * DAY_MS) }));
    const crm = add(accountId, DRILL_REGION, random, { role: `crm-${n}`, ports: healthyHttp(8080) });
    named.otherDrill.push(crm.sourceServerID);
    recoveries.push(seededRecovery(random, crm, { isDrill: true, tags: OTHER_DRILL_TAGS, launchedAt: new Date(anchor.getTime() - 5 * HOUR_MS) }));
    for (const [kind, draft] of TROUBLE_CASES[n] ?? []) named[kind].push(add(accountId, DRILL_REGION, random, draft).sourceServerID);
    for (const s of servers.filter((x) => x.accountId === accountId)) {
      sourceInstances.push(sourceInstance(random, { server: s, accountId, name: s.tags['Name'] ?? s.hostname, recoverable: true }));
    }
    const unprotected = sourceInstance(random, { accountId, name: `billing-${n}`, recoverable: true });
    sourceInstances.push(unprotected, sourceInstance(random, { accountId, name: `scratch-${n}`, recoverable: false }));
    unprotectedInstanceIds.push(unprotected.instanceId);
  });

  if (fleetAccountId !== undefined) {
    const random = world.random(`drs:fleet:${fleetAccountId}`);
    for (let i = 1; i <= FLEET_SIZE; i++) {
      named.fleet.push(add(fleetAccountId, DRILL_REGION, random, { role: `fleet-${String(i).padStart(3, '0')}`, ports: healthyHttp(8080), tags: { fleet: 'render-farm' } }).sourceServerID);
    }
  }

  for (const accountId of others.filter((id) => initialized.includes(id))) {
    for (const region of DRS_REGIONS) {
      const random = world.random(`drs:servers:${accountId}:${region}`);
      const count = randomInt(random, 1, 4);
      for (let i = 1; i <= count; i++) {
        const draw = random();
        const replication: ReplicationState = draw < 0.8 ? 'CONTINUOUS' : draw < 0.9 ? 'STALLED' : draw < 0.95 ? 'DISCONNECTED' : 'INITIAL_SYNC';
        const draft: ServerDraft = { role: `${pick(random, ['app', 'files', 'db', 'web'])}-${i}`, ports: healthyHttp(8080), replication };
        if (replication === 'STALLED' || replication === 'DISCONNECTED') draft.stoppedAgoMs = randomInt(random, 1, 48) * HOUR_MS;
        if (replication === 'INITIAL_SYNC') draft.addedAgoMs = randomInt(random, 10, 300) * MINUTE_MS;
        add(accountId, region, random, draft);
      }
    }
  }

  return {
    anchor,
    regions: DRS_REGIONS,
    drillRegion: DRILL_REGION,
    initializedAccountIds: initialized,
    uninitializedAccountIds: uninitialized,
    drillAccountIds,
    fleetAccountId,
    servers,
    named,
    recoveries,
    sourceInstances,
    unprotectedInstanceIds,
    otherDrillTags: OTHER_DRILL_TAGS,
    networkOf,
  };
}

function seededNetwork(random: Random, region: string): RecoveryNetwork {
  const octet = randomInt(random, 100, 250);
  const id = (prefix: string) => `${prefix}-${randomString(random, 17, HEX)}`;
  return {
    vpcId: id('vpc'),
    isolatedSubnet: { id: id('subnet'), name: 'drs-drill-isolated', cidr: `10.${octet}.200.0/24`, availabilityZone: `${region}a` },
    isolatedSecurityGroup: { id: id('sg'), name: 'drs-drill-isolated' },
    productionSubnet: { id: id('subnet'), name: 'prod-app', cidr: `10.${octet}.10.0/24`, availabilityZone: `${region}a` },
    productionSecurityGroup: { id: id('sg'), name: 'prod-app' },
  };
}

function seededServer(options: { random: Random; anchor: Date; accountId: string; region: string; network: RecoveryNetwork; draft: ServerDraft }): SeededSourceServer {
  const { random, anchor, accountId, region, network, draft } = options;
  const sourceServerID = `s-${randomString(random, 17, HEX)}`;
  const replication = draft.replication ?? 'CONTINUOUS';
  const addedAt = new Date(anchor.getTime() - (draft.addedAgoMs ?? randomInt(random, 30, 400) * DAY_MS));
  // The initial sync of a server takes a while; a server added lately has no older snapshot.
  const firstSnapshotAt = replication === 'INITIAL_SYNC' ? undefined : new Date(addedAt.getTime() + randomInt(random, 20, 50) * MINUTE_MS);
  const instanceType = pick(random, INSTANCE_TYPES);
  const production = draft.productionSubnet === true;
  const server: SeededSourceServer = {
    sourceServerID,
    arn: `arn:aws:drs:${region}:${accountId}:source-server/${sourceServerID}`,
    accountId,
    region,
    hostname: `${draft.role}.corp.example.com`,
    tags: { Name: draft.role, app: draft.role.replace(/-\d+$/, ''), ...draft.tags },
    replication,
    addedAt,
    firstSnapshotAt,
    stoppedAt: draft.stoppedAgoMs === undefined ? undefined : new Date(anchor.getTime() - draft.stoppedAgoMs),
    gap: draft.gapAgoMs === undefined ? undefined : { from: new Date(anchor.getTime() - draft.gapAgoMs.from), to: new Date(anchor.getTime() - draft.gapAgoMs.to) },
    ports: draft.ports,
    launchTemplate: {
      id: `lt-${randomString(random, 17, HEX)}`,
      name: `drs-${sourceServerID}`,
      subnetId: production ? network.productionSubnet.id : network.isolatedSubnet.id,
      securityGroupIds: [production ? network.productionSecurityGroup.id : network.isolatedSecurityGroup.id],
      instanceType,
    },
    launchFailure: draft.launchFailure,
    sourceInstanceId: `i-${randomString(random, 17, HEX)}`,
    sourceIp: `10.20.${randomInt(random, 0, 255)}.${randomInt(random, 1, 254)}`,
    instanceType,
    disks: [{ deviceName: '/dev/xvda', bytes: randomInt(random, 2, 50) * 8 * 2 ** 30 }],
    cpus: pick(random, [2, 4, 8]),
    ramBytes: pick(random, [4, 8, 16, 32]) * 2 ** 30,
    os: pick(random, OSES),
  };
  return server;
}

function sourceInstance(random: Random, options: { server?: SeededSourceServer; accountId: string; name: string; recoverable: boolean }): SeededSourceInstance {
  const tags: Record<string, string> = { Name: options.name };
  if (options.recoverable) tags[RECOVERABLE_TAG.key] = RECOVERABLE_TAG.value;
  return {
    instanceId: options.server?.sourceInstanceId ?? `i-${randomString(random, 17, HEX)}`,
    accountId: options.accountId,
    region: DRILL_REGION,
    name: options.name,
    privateIp: options.server?.sourceIp ?? `10.20.${randomInt(random, 0, 255)}.${randomInt(random, 1, 254)}`,
    instanceType: options.server?.instanceType ?? pick(random, INSTANCE_TYPES),
    launchTime: new Date(Date.UTC(2025, randomInt(random, 0, 11), randomInt(random, 1, 28))),
    tags,
    sourceServerID: options.server?.sourceServerID,
  };
}

function seededRecovery(random: Random, server: SeededSourceServer, options: { isDrill: boolean; tags: Record<string, string>; launchedAt: Date }): SeededRecovery {
  return {
    sourceServerID: server.sourceServerID,
    accountId: server.accountId,
    region: server.region,
    isDrill: options.isDrill,
    jobID: `drsjob-${randomString(random, 17, HEX)}`,
    recoveryInstanceID: `i-${randomString(random, 17, HEX)}`,
    tags: options.tags,
    launchedAt: options.launchedAt,
  };
}

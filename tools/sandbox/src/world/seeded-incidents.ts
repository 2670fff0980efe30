import { gzipSync } from 'node:zlib';
import { flowLogText, type PlantedIncident } from '../flow-logs.js';
import { createS3Bucket } from '../services/s3.js';
import { hashLabel, pick, randomInt, randomString, type Random } from './prng.js';
import { defineRegionState, defineWorldState, type World } from './world.js';

/**
 * EC2 instances in every active account and region, and on a few of them the security
 * incidents that GuardDuty reports, Detective investigates and the VPC flow logs show. One
 * plan serves all three services and the log-archive bucket, so what a finding says is what
 * the flows hold: the TorClient finding's remote is the address the instance uploads to, the
 * port probe's scanner is the one that walks the ports, and so on.
 *
 * The incidents sit in the first active member accounts (one each) in INCIDENT_REGION, within
 * the six hours before the sandbox started, so "the last 24 hours" covers them. Their flow
 * logs (with a clean neighbour instance in the same files, as one VPC flow log delivers) are
 * objects of a log-archive bucket the whole organization may read; each object is generated
 * from the world seed the first time it is listed or read.
 */

export const INCIDENT_REGION = 'us-east-1';
const HEX = '0123456789abcdef';
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** VPC flow logs deliver every 10 minutes at most (MaxAggregationInterval 600). */
const DELIVERY_MS = 10 * MINUTE_MS;
const RECORDS_PER_MINUTE = 60;

export interface SeededInstance {
  instanceId: string;
  accountId: string;
  region: string;
  name: string;
  imageId: string;
  instanceType: string;
  launchTime: Date;
  availabilityZone: string;
  vpcId: string;
  subnetId: string;
  networkInterfaceId: string;
  macAddress: string;
  privateIp: string;
  publicIp?: string;
  securityGroup: { id: string; name: string };
  instanceProfile: { name: string; id: string; arn: string };
  roleName: string;
  roleArn: string;
}

export type IncidentKind = 'tor-client' | 'port-probe' | 'ssh-brute-force' | 'dos-tcp';

/** Where a remote address is, as GuardDuty's RemoteIpDetails and Detective's indicators say. */
export interface RemoteLocation {
  country: string;
  countryCode: string;
  city: string;
  lat: number;
  lon: number;
  asn: string;
  asnOrg: string;
  isp: string;
}

export interface SeededIncident {
  kind: IncidentKind;
  findingType: string;
  severity: number;
  title: string;
  description: string;
  instance: SeededInstance;
  /** The clean instance whose flows share the incident instance's flow-log files. */
  neighbour: SeededInstance;
  remoteIp: string;
  remote: RemoteLocation;
  direction: 'INBOUND' | 'OUTBOUND';
  /** Ports as GuardDuty reports them: local and remote of the connection, or the probed ports. */
  localPort?: number;
  remotePort?: number;
  probedPorts?: number[];
  at: Date;
  end: Date;
  /** What the flow-log generator plants. */
  planted: PlantedIncident;
  /** 32 hex characters, the GuardDuty finding id. */
  findingId: string;
  /** Flow logs cover [from, to) for both instances. */
  flowLogs: { from: Date; to: Date };
}

export interface IncidentPlan {
  /** The hour the incidents are laid out from: six hours before the sandbox started. */
  anchor: Date;
  incidents: SeededIncident[];
  /** The central log-archive bucket, owned by the management account, readable by the organization. */
  bucket: string;
}

const TOR_EXIT: RemoteLocation = { country: 'Netherlands', countryCode: 'NL', city: 'Amsterdam', lat: 52.37, lon: 4.89, asn: '64496', asnOrg: 'Example Onion Hosting', isp: 'Example Onion Hosting' };
const SCANNER: RemoteLocation = { country: 'Romania', countryCode: 'RO', city: 'Bucharest', lat: 44.43, lon: 26.1, asn: '64497', asnOrg: 'Example Bulletproof Networks', isp: 'Example Bulletproof Networks' };
const BRUTE_FORCER: RemoteLocation = { country: 'Brazil', countryCode: 'BR', city: 'Sao Paulo', lat: -23.55, lon: -46.63, asn: '64498', asnOrg: 'Example Broadband', isp: 'Example Broadband' };
const DOS_TARGET: RemoteLocation = { country: 'United States', countryCode: 'US', city: 'Ashburn', lat: 39.04, lon: -77.49, asn: '64499', asnOrg: 'Example Gaming Services', isp: 'Example Gaming Services' };

/**
 * What an incident VPC holds besides its primary 10.x.0.0/16: secondary IPv4 blocks, one
 * since disassociated (DescribeVpcs still lists it, in state `disassociated`), and an
 * Amazon-provided IPv6 /56.
 */
interface VpcExtras {
  secondary?: string[];
  disassociated?: string[];
  ipv6?: boolean;
}

/** The incidents, in the order their accounts are chosen. Offsets are from the plan's anchor. */
const SCENARIOS: readonly {
  kind: IncidentKind;
  offsetMinutes: number;
  vpc: VpcExtras;
  build: (at: Date) => Omit<SeededIncident, 'instance' | 'neighbour' | 'findingId' | 'flowLogs' | 'at' | 'end' | 'title' | 'description'> & { durationSeconds: number };
}[] = [
  {
    kind: 'tor-client',
    offsetMinutes: 30,
    // Pods of an EKS cluster on the shared address space, as EKS custom networking advises.
    vpc: { secondary: ['100.64.0.0/16'], ipv6: true },
    // The instance uploads 3 GiB to a Tor relay's OR port over half an hour.
    build: (at) => ({
      kind: 'tor-client', findingType: 'UnauthorizedAccess:EC2/TorClient', severity: 8, remoteIp: '198.51.100.23', remote: TOR_EXIT,
      direction: 'OUTBOUND', localPort: 49152, remotePort: 9001, durationSeconds: 1800,
      planted: { kind: 'exfiltration', remoteIp: '198.51.100.23', at, remotePort: 9001, bytes: 3 * 2 ** 30, durationSeconds: 1800 },
    }),
  },
  {
    kind: 'port-probe',
    offsetMinutes: 90,
    // A block outside RFC 1918 that the company routes internally (unannounced 11.0.0.0/8 space).
    vpc: { secondary: ['11.48.0.0/16'], disassociated: ['172.31.0.0/16'] },
    // A scanner walks ports 1-500 in two minutes; 22 and 443 answer.
    build: (at) => ({
      kind: 'port-probe', findingType: 'Recon:EC2/PortProbeUnprotectedPort', severity: 5, remoteIp: '203.0.113.45', remote: SCANNER,
      direction: 'INBOUND', probedPorts: [22, 443], durationSeconds: 120,
      planted: { kind: 'port-scan', remoteIp: '203.0.113.45', at, ports: 500, durationSeconds: 120 },
    }),
  },
  {
    kind: 'ssh-brute-force',
    offsetMinutes: 150,
    vpc: {},
    build: (at) => ({
      kind: 'ssh-brute-force', findingType: 'UnauthorizedAccess:EC2/SSHBruteForce', severity: 2, remoteIp: '192.0.2.77', remote: BRUTE_FORCER,
      direction: 'INBOUND', localPort: 22, remotePort: 41000, durationSeconds: 600,
      planted: { kind: 'brute-force', remoteIp: '192.0.2.77', at, port: 22, attempts: 300, durationSeconds: 600 },
    }),
  },
  {
    kind: 'dos-tcp',
    offsetMinutes: 210,
    vpc: { secondary: ['10.254.0.0/20'], ipv6: true },
    // The instance's outbound volume jumps eightfold for ten minutes.
    build: (at) => ({
      kind: 'dos-tcp', findingType: 'Backdoor:EC2/DenialOfService.Tcp', severity: 8, remoteIp: '198.51.100.200', remote: DOS_TARGET,
      direction: 'OUTBOUND', localPort: 443, remotePort: 80, durationSeconds: 600,
      planted: { kind: 'spike', at, factor: 8, durationSeconds: 600 },
    }),
  },
];

const INSTANCE_TYPES = ['t3.micro', 't3.medium', 'm5.large', 'c6i.xlarge', 'r6i.large'];
const ROLES_OF_INSTANCES = ['web', 'api', 'worker', 'batch', 'bastion'];

const plans = defineWorldState('incidents:plan', (world): IncidentPlan => buildPlan(world));

/** Clean instances per account and region; the incident instances of the region come on top. */
const regionInstances = defineRegionState('ec2:instances', ({ world, accountId, region }): SeededInstance[] => {
  const account = world.org.accounts.get(accountId);
  if (!account || account.status !== 'ACTIVE') return [];
  const random = world.random(`ec2:instances:${accountId}:${region}`);
  const network = seededNetwork(world, accountId, region);
  const count = randomInt(random, 1, 3);
  const clean = Array.from({ length: count }, (_, i) => seededInstance(world, random, { accountId, region, network, role: pick(random, ROLES_OF_INSTANCES), index: i + 1 }));
  const planted = world.state(plans).incidents.filter((incident) => incident.instance.accountId === accountId && incident.instance.region === region);
  return [...planted.flatMap((incident) => [incident.instance, incident.neighbour]), ...clean];
});

export function incidentPlan(world: World): IncidentPlan {
  return world.state(plans);
}

/** Every instance of an account in a region, incident instances first. */
export function instancesOf(world: World, accountId: string, region: string): SeededInstance[] {
  return world.account(accountId).region(region).state(regionInstances);
}

/** The VPC flow log of an account's VPC in a region: one per VPC, delivered to the log-archive bucket. */
export function flowLogOf(world: World, accountId: string, region: string): { flowLogId: string; vpcId: string; creationTime: Date } {
  const network = seededNetwork(world, accountId, region);
  const random = world.random(`ec2:flow-log:${accountId}:${region}`);
  return { flowLogId: `fl-${randomString(random, 17, HEX)}`, vpcId: network.vpcId, creationTime: new Date(Date.UTC(2024, 0, 15)) };
}

export interface VpcCidrAssociation {
  associationId: string;
  cidr: string;
  state: 'associated' | 'disassociated';
}

export interface SeededVpc {
  vpcId: string;
  cidrBlocks: VpcCidrAssociation[];
  ipv6Blocks: VpcCidrAssociation[];
}

/**
 * The VPC of an active account's seeded instances in a region: its primary 10.x.0.0/16 and,
 * in an incident account, the scenario's other blocks. Undefined where no instance is seeded.
 */
export function seededVpcOf(world: World, accountId: string, region: string): SeededVpc | undefined {
  if (instancesOf(world, accountId, region).length === 0) return undefined;
  const network = seededNetwork(world, accountId, region);
  const incident = region === INCIDENT_REGION ? world.state(plans).incidents.find((i) => i.instance.accountId === accountId) : undefined;
  const extras = SCENARIOS.find((scenario) => scenario.kind === incident?.kind)?.vpc ?? {};
  const random = world.random(`ec2:vpc:${accountId}:${region}`);
  const association = (cidr: string, state: VpcCidrAssociation['state'] = 'associated'): VpcCidrAssociation => ({
    associationId: `vpc-cidr-assoc-${randomString(random, 17, HEX)}`,
    cidr,
    state,
  });
  // Amazon's pool hands out /56s; leading digits of 1-f keep the text in RFC 5952 form.
  const lead = () => randomString(random, 1, HEX.slice(1));
  const ipv6 = `2600:1f18:${lead()}${randomString(random, 3, HEX)}:${lead()}${randomString(random, 1, HEX)}00::/56`;
  return {
    vpcId: network.vpcId,
    cidrBlocks: [
      association(`10.${network.octet}.0.0/16`),
      ...(extras.secondary ?? []).map((cidr) => association(cidr)),
      ...(extras.disassociated ?? []).map((cidr) => association(cidr, 'disassociated')),
    ],
    ipv6Blocks: extras.ipv6 ? [association(ipv6)] : [],
  };
}

/**
 * Creates the log-archive bucket and lists every flow-log object of the incident instances
 * in it. Cheap: an object's content is generated (and gzipped) the first time S3 needs its
 * size or its bytes, from the world seed, so startup stays fast and reads are deterministic.
 */
export function seedIncidentFlowLogs(world: World): void {
  const plan = world.state(plans);
  const bucket = createS3Bucket(world, { name: plan.bucket, accountId: world.org.managementAccountId, region: INCIDENT_REGION, readAccess: 'organization' });
  for (const incident of plan.incidents) {
    const { instance } = incident;
    const { flowLogId } = flowLogOf(world, instance.accountId, instance.region);
    for (let start = incident.flowLogs.from.getTime(), index = 0; start < incident.flowLogs.to.getTime(); start += DELIVERY_MS, index++) {
      const slice = { from: new Date(start), to: new Date(start + DELIVERY_MS) };
      // S3 files a delivery under the day and the minute it was written: the slice's end.
      const stamp = slice.to.toISOString();
      const key = `AWSLogs/${instance.accountId}/vpcflowlogs/${instance.region}/${stamp.slice(0, 4)}/${stamp.slice(5, 7)}/${stamp.slice(8, 10)}/${instance.accountId}_vpcflowlogs_${instance.region}_${flowLogId}_${stamp.slice(0, 16).replace(/[-:]/g, '')}Z_${hashHex(`${flowLogId}:${index}`)}.log.gz`;
      let content: Buffer | undefined;
      const generate = (): Buffer => (content ??= flowLogObject(world, incident, slice));
      bucket.objects.set(key, {
        key,
        get body() {
          return generate();
        },
        get size() {
          return generate().length;
        },
        etag: `"${hashHex(key).padEnd(32, '0')}"`,
        lastModified: new Date(slice.to.getTime() + 2 * MINUTE_MS),
        contentType: 'application/octet-stream',
        metadata: {},
      });
    }
  }
  bucket.sortedKeys = undefined;
}

/** One delivery: the default format's header, the incident instance's records, then its neighbour's. */
function flowLogObject(world: World, incident: SeededIncident, slice: { from: Date; to: Date }): Buffer {
  const text: string[] = [];
  const scenario = (instance: SeededInstance, planted: PlantedIncident[]) => ({
    seed: (world.seed ^ hashLabel(instance.instanceId)) >>> 0,
    from: incident.flowLogs.from,
    to: incident.flowLogs.to,
    recordsPerMinute: RECORDS_PER_MINUTE,
    localIp: instance.privateIp,
    accountId: instance.accountId,
    region: instance.region,
    interfaceId: instance.networkInterfaceId,
    webClients: 400,
    incidents: planted,
  });
  text.push(...flowLogText(scenario(incident.instance, [incident.planted]), { ...slice, header: true }));
  text.push(...flowLogText(scenario(incident.neighbour, []), { ...slice, header: false }));
  return gzipSync(text.join(''));
}

function buildPlan(world: World): IncidentPlan {
  const anchor = new Date(Math.floor(world.clock.now().getTime() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS);
  const members = [...world.org.accounts.values()].filter((a) => a.id !== world.org.managementAccountId && a.status === 'ACTIVE');
  const incidents = SCENARIOS.slice(0, members.length).map((scenario, i): SeededIncident => {
    const accountId = (members[i] as { id: string }).id;
    const random = world.random(`incidents:${scenario.kind}:${accountId}`);
    const network = seededNetwork(world, accountId, INCIDENT_REGION);
    const instance = seededInstance(world, random, { accountId, region: INCIDENT_REGION, network, role: scenario.kind === 'tor-client' ? 'web' : 'api', index: 0, publicIp: true });
    const neighbour = seededInstance(world, random, { accountId, region: INCIDENT_REGION, network, role: 'worker', index: 0 });
    const at = new Date(anchor.getTime() + scenario.offsetMinutes * MINUTE_MS);
    const { durationSeconds, ...rest } = scenario.build(at);
    const end = new Date(at.getTime() + durationSeconds * 1000);
    return {
      ...rest,
      ...describe(rest.kind, instance, rest.remoteIp),
      instance,
      neighbour,
      at,
      end,
      findingId: randomString(random, 32, HEX),
      flowLogs: { from: new Date(at.getTime() - HOUR_MS), to: new Date(Math.ceil((end.getTime() + 45 * MINUTE_MS) / DELIVERY_MS) * DELIVERY_MS) },
    };
  });
  return { anchor, incidents, bucket: `aws-flow-logs-archive-${world.org.managementAccountId}` };
}

function describe(kind: IncidentKind, instance: SeededInstance, remoteIp: string): { title: string; description: string } {
  const id = instance.instanceId;
  switch (kind) {
    case 'tor-client':
      return { title: `The EC2 instance ${id} is communicating with a Tor entry node.`, description: `The EC2 instance ${id} is communicating with IP address ${remoteIp} on the Tor Anonymizing Proxy network marked as an entry node.` };
    case 'port-probe':
      return { title: `Unprotected port on EC2 instance ${id} is being probed.`, description: `EC2 instance has an unprotected port which is being probed by a known malicious host.` };
    case 'ssh-brute-force':
      return { title: `${remoteIp} is performing SSH brute force attacks against ${id}.`, description: `${remoteIp} is performing SSH brute force attacks against ${id}. Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password.` };
    case 'dos-tcp':
      return { title: `The EC2 instance ${id} is behaving in a manner indicating it is being used to perform a DoS attack.`, description: `The EC2 instance ${id} is behaving in a manner that may indicate it is being used to perform a Denial of Service (DoS) attack using the TCP protocol against ${remoteIp}.` };
  }
}

interface SeededNetwork {
  vpcId: string;
  subnetId: string;
  /** Second octet of the VPC's 10.x.0.0/16. */
  octet: number;
  securityGroup: { id: string; name: string };
}

function seededNetwork(world: World, accountId: string, region: string): SeededNetwork {
  const random = world.random(`ec2:network:${accountId}:${region}`);
  return {
    vpcId: `vpc-${randomString(random, 17, HEX)}`,
    subnetId: `subnet-${randomString(random, 17, HEX)}`,
    octet: randomInt(random, 0, 255),
    securityGroup: { id: `sg-${randomString(random, 17, HEX)}`, name: 'app-servers' },
  };
}

function seededInstance(
  world: World,
  random: Random,
  where: { accountId: string; region: string; network: SeededNetwork; role: string; index: number; publicIp?: boolean },
): SeededInstance {
  const { accountId, region, network, role } = where;
  const name = `${role}-${where.index === 0 ? randomString(random, 4) : where.index}`;
  const host = randomInt(random, 10, 250);
  const third = randomInt(random, 1, 15);
  const profileName = `${role}-app`;
  const iam = world.account(accountId);
  const roleArn = iam.roles.get(profileName)?.arn ?? iam.putRole({ name: profileName, maxSessionDurationSeconds: 3600, trustedAccountIds: [] }).arn;
  return {
    instanceId: `i-${randomString(random, 17, HEX)}`,
    accountId,
    region,
    name,
    imageId: `ami-${randomString(random, 17, HEX)}`,
    instanceType: pick(random, INSTANCE_TYPES),
    launchTime: new Date(Date.UTC(2025, randomInt(random, 0, 11), randomInt(random, 1, 28), randomInt(random, 0, 23))),
    availabilityZone: `${region}a`,
    vpcId: network.vpcId,
    subnetId: network.subnetId,
    networkInterfaceId: `eni-${randomString(random, 17, HEX)}`,
    macAddress: Array.from({ length: 6 }, () => randomString(random, 2, HEX)).join(':'),
    privateIp: `10.${network.octet}.${third}.${host}`,
    publicIp: where.publicIp ? `54.${randomInt(random, 80, 240)}.${randomInt(random, 0, 255)}.${randomInt(random, 1, 254)}` : undefined,
    securityGroup: network.securityGroup,
    instanceProfile: { name: profileName, id: `AIPA${randomString(random, 17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`, arn: `arn:aws:iam::${accountId}:instance-profile/${profileName}` },
    roleName: profileName,
    roleArn,
  };
}

function hashHex(text: string): string {
  return hashLabel(text).toString(16).padStart(8, '0');
}

import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { InvalidInputError } from '@orgshield/errors';
import { z } from 'zod';
import type { NormalizedFinding } from './finding-normalize.js';
import { errorName, parseAwsAnswer, withFreshCredentials } from './investigation-aws.js';

/** What an investigation is asked about, before anything is looked up. */
export type InvestigationSubject =
  | { kind: 'finding'; finding: NormalizedFinding }
  | { kind: 'instance'; instanceId: string }
  | { kind: 'ip'; ip: string }
  | { kind: 'principal'; arn: string };

export interface EntityNetworkInterface {
  id: string;
  privateIps: string[];
  publicIp?: string;
  vpcId?: string;
  subnetId?: string;
}

/** The subject, resolved: the addresses its flows use and the IAM principal Detective can investigate. */
export interface ResolvedEntity {
  kind: 'instance' | 'ip' | 'iam-role' | 'iam-user';
  accountId: string;
  region: string;
  instanceId?: string;
  instanceProfileArn?: string;
  networkInterfaces: EntityNetworkInterface[];
  /** The instance's own addresses (or the IP asked about): "local" in the flow analysis. */
  localIps: string[];
  /** The IAM role or user Detective investigations are about. */
  principalArn?: string;
  principalSource?: 'request' | 'finding' | 'instance-profile';
  /** What could not be looked up and what was assumed instead, one sentence each. */
  notes: string[];
}

export interface EntityLookup {
  /** EC2 in the member account; `fresh` re-acquires its credentials. */
  ec2: (fresh: boolean) => EC2Client;
  accountId: string;
  region: string;
}

// The parts of DescribeInstances / DescribeNetworkInterfaces answers resolution relies on.
const Ipv6 = z.array(z.object({ Ipv6Address: z.string().optional() })).optional();
const PrivateIps = z.array(z.object({ PrivateIpAddress: z.string().optional() })).optional();
/** What we read of an ENI, as DescribeInstances and DescribeNetworkInterfaces both return it. */
const NetworkInterfaceSchema = z.object({
  NetworkInterfaceId: z.string(),
  PrivateIpAddress: z.string().optional(),
  PrivateIpAddresses: PrivateIps,
  Ipv6Addresses: Ipv6,
  Association: z.object({ PublicIp: z.string().optional() }).optional(),
  VpcId: z.string().optional(),
  SubnetId: z.string().optional(),
});
const InstanceSchema = z.object({
  InstanceId: z.string(),
  IamInstanceProfile: z.object({ Arn: z.string().optional() }).optional(),
  NetworkInterfaces: z
    .array(
      NetworkInterfaceSchema,
    )
    .optional(),
});
const DescribeInstancesSchema = z.object({ Reservations: z.array(z.object({ Instances: z.array(InstanceSchema).optional() })).optional() });
const DescribeNetworkInterfacesSchema = z.object({
  NetworkInterfaces: z
    .array(
      NetworkInterfaceSchema.extend({ Attachment: z.object({ InstanceId: z.string().optional() }).optional() }),
    )
    .optional(),
});

/**
 * orgshield has no IAM client, so an instance's role is not read with GetInstanceProfile:
 * it follows the convention the console and most templates use, a profile named (and pathed)
 * like its role. The entity's notes say so whenever this is used.
 */
export function roleArnFromInstanceProfile(profileArn: string): string | undefined {
  const match = /^arn:(aws[a-z-]*):iam::(\d{12}):instance-profile\/(.+)$/.exec(profileArn);
  return match ? `arn:${match[1]}:iam::${match[2]}:role/${match[3]}` : undefined;
}

export async function resolveEntity(subject: InvestigationSubject, lookup: EntityLookup): Promise<ResolvedEntity> {
  const base = { accountId: lookup.accountId, region: lookup.region, networkInterfaces: [], localIps: [], notes: [] };
  switch (subject.kind) {
    case 'principal':
      return { ...base, kind: subject.arn.includes(':user/') ? 'iam-user' : 'iam-role', principalArn: subject.arn, principalSource: 'request' };
    case 'instance': {
      const instance = await describeInstance(lookup, subject.instanceId);
      if (!instance) {
        throw new InvalidInputError(
          `Instance ${subject.instanceId} does not exist in account ${lookup.accountId} region ${lookup.region}; check --instance, --account and --region.`,
        );
      }
      return fromInstance(base, instance);
    }
    case 'ip':
      return resolveIp(base, subject.ip, lookup);
    case 'finding':
      return resolveFinding(base, subject.finding, lookup);
  }
}

type Base = Pick<ResolvedEntity, 'accountId' | 'region' | 'networkInterfaces' | 'localIps' | 'notes'>;
type Instance = z.infer<typeof InstanceSchema>;

async function resolveIp(base: Base, ip: string, lookup: EntityLookup): Promise<ResolvedEntity> {
  const eni =
    (await findInterface(lookup, 'addresses.private-ip-address', ip)) ??
    (await findInterface(lookup, 'association.public-ip', ip)) ??
    (ip.includes(':') ? await findInterface(lookup, 'ipv6-addresses.ipv6-address', ip) : undefined);
  if (!eni) {
    return {
      ...base,
      kind: 'ip',
      localIps: [ip],
      notes: [`No network interface in account ${lookup.accountId} ${lookup.region} has ${ip}; flows are analysed with ${ip} as the local address.`],
    };
  }
  const instanceId = eni.Attachment?.InstanceId;
  const instance = instanceId ? await describeInstance(lookup, instanceId) : undefined;
  if (instance) return { ...fromInstance(base, instance), kind: 'ip' };
  const networkInterface = interfaceOf(eni);
  return { ...base, kind: 'ip', networkInterfaces: [networkInterface], localIps: addressesOf([networkInterface]) };
}

async function resolveFinding(base: Base, finding: NormalizedFinding, lookup: EntityLookup): Promise<ResolvedEntity> {
  const principalArn = finding.resource.principal?.arn;
  const fromPrincipal = principalArn
    ? { principalArn, principalSource: 'finding' as const, kind: principalArn.includes(':user/') ? ('iam-user' as const) : ('iam-role' as const) }
    : undefined;
  const instanceId = finding.resource.instanceId;
  if (!instanceId) return { ...base, kind: fromPrincipal?.kind ?? 'ip', ...fromPrincipal, localIps: finding.localIps };

  const instance = await describeInstance(lookup, instanceId);
  if (instance) return { ...fromInstance(base, instance), ...fromPrincipal };

  // A compromised instance is often terminated before anyone investigates: the finding
  // still carries its interfaces and profile.
  const networkInterfaces = finding.resource.networkInterfaces.flatMap((eni) =>
    eni.id ? [{ id: eni.id, privateIps: eni.privateIps, publicIp: eni.publicIp, vpcId: eni.vpcId, subnetId: eni.subnetId }] : [],
  );
  const withProfile = withInstanceProfile(
    { ...base, kind: 'instance', instanceId, networkInterfaces, localIps: finding.localIps },
    finding.resource.instanceProfileArn,
  );
  withProfile.notes.unshift(`Instance ${instanceId} no longer exists; its interfaces and profile are taken from the finding.`);
  return { ...withProfile, ...fromPrincipal };
}

function fromInstance(base: Base, instance: Instance): ResolvedEntity {
  const networkInterfaces = (instance.NetworkInterfaces ?? []).map(interfaceOf);
  return withInstanceProfile(
    { ...base, kind: 'instance', instanceId: instance.InstanceId, networkInterfaces, localIps: addressesOf(networkInterfaces) },
    instance.IamInstanceProfile?.Arn,
  );
}

function withInstanceProfile(entity: ResolvedEntity, profileArn: string | undefined): ResolvedEntity {
  if (!profileArn) return { ...entity, notes: [...entity.notes, `Instance ${entity.instanceId} has no instance profile, so there is no IAM role for Detective to investigate.`] };
  const roleArn = roleArnFromInstanceProfile(profileArn);
  if (!roleArn) return { ...entity, instanceProfileArn: profileArn, notes: [...entity.notes, `Instance profile ${profileArn} is not an IAM instance-profile ARN.`] };
  return {
    ...entity,
    instanceProfileArn: profileArn,
    principalArn: roleArn,
    principalSource: 'instance-profile',
    notes: [...entity.notes, `Role ${roleArn} is assumed from instance profile ${profileArn} by name (no IAM lookup).`],
  };
}

function interfaceOf(eni: {
  NetworkInterfaceId: string;
  PrivateIpAddress?: string;
  PrivateIpAddresses?: { PrivateIpAddress?: string }[];
  Ipv6Addresses?: { Ipv6Address?: string }[];
  Association?: { PublicIp?: string };
  VpcId?: string;
  SubnetId?: string;
}): EntityNetworkInterface {
  const privateIps = [
    eni.PrivateIpAddress,
    ...(eni.PrivateIpAddresses ?? []).map((entry) => entry.PrivateIpAddress),
    ...(eni.Ipv6Addresses ?? []).map((entry) => entry.Ipv6Address),
  ].filter((ip): ip is string => ip !== undefined);
  return { id: eni.NetworkInterfaceId, privateIps: [...new Set(privateIps)], publicIp: eni.Association?.PublicIp, vpcId: eni.VpcId, subnetId: eni.SubnetId };
}

function addressesOf(interfaces: EntityNetworkInterface[]): string[] {
  return [...new Set(interfaces.flatMap((eni) => [...eni.privateIps, ...(eni.publicIp ? [eni.publicIp] : [])]))];
}

async function describeInstance(lookup: EntityLookup, instanceId: string): Promise<Instance | undefined> {
  try {
    const answer = await withFreshCredentials(lookup.ec2, (ec2) => ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })));
    const parsed = parseAwsAnswer('EC2', 'DescribeInstances', DescribeInstancesSchema, answer);
    return parsed.Reservations?.flatMap((reservation) => reservation.Instances ?? []).find((instance) => instance.InstanceId === instanceId);
  } catch (error) {
    if (errorName(error) === 'InvalidInstanceID.NotFound') return undefined;
    if (errorName(error) === 'InvalidInstanceID.Malformed') {
      throw new InvalidInputError(`Instance id ${instanceId} is malformed; use the form i-0123456789abcdef0.`, { cause: error });
    }
    throw error;
  }
}

async function findInterface(lookup: EntityLookup, filter: string, ip: string) {
  const answer = await withFreshCredentials(lookup.ec2, (ec2) =>
    ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: filter, Values: [ip] }] })),
  );
  return parseAwsAnswer('EC2', 'DescribeNetworkInterfaces', DescribeNetworkInterfacesSchema, answer).NetworkInterfaces?.[0];
}

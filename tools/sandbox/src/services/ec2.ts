import type {
  DescribeFlowLogsRequest,
  DescribeFlowLogsResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeLaunchTemplateVersionsRequest,
  DescribeLaunchTemplateVersionsResult,
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  DescribeSubnetsRequest,
  DescribeSubnetsResult,
  DescribeVpcsRequest,
  DescribeVpcsResult,
  Filter,
} from '@aws-sdk/client-ec2';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { drsPlan, drsServersIn, type SeededSourceInstance, type SeededSourceServer } from '../world/seeded-drs.js';
import { flowLogOf, incidentPlan, INCIDENT_REGION, instancesOf, type SeededInstance, type SeededVpc, seededVpcOf } from '../world/seeded-incidents.js';
import { drsRuntime, type RecoveryInstanceRecord } from './drs-jobs.js';

/** The default format of a VPC flow log (version 2), as DescribeFlowLogs reports it. */
const DEFAULT_LOG_FORMAT =
  '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}';

type Values = (string | undefined)[];

type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated';
const STATE_CODES: Record<InstanceStateName, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };

/** An instance as EC2 describes it: a seeded one, or a recovery instance DRS launched. */
interface InstanceRecord {
  instanceId: string;
  accountId: string;
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
  securityGroups: { id: string; name: string }[];
  instanceProfile?: { id: string; arn: string };
  state: InstanceStateName;
  tags: Record<string, string>;
}
type FilterFields<T> = Record<string, (item: T) => Values>;

const INSTANCE_FILTERS: FilterFields<InstanceRecord> = {
  'instance-id': (i) => [i.instanceId],
  'instance-state-name': (i) => [i.state],
  'instance-type': (i) => [i.instanceType],
  'vpc-id': (i) => [i.vpcId],
  'subnet-id': (i) => [i.subnetId],
  'private-ip-address': (i) => [i.privateIp],
  'ip-address': (i) => [i.publicIp],
  'network-interface.network-interface-id': (i) => [i.networkInterfaceId],
  'network-interface.addresses.private-ip-address': (i) => [i.privateIp],
  'iam-instance-profile.arn': (i) => [i.instanceProfile?.arn],
  'availability-zone': (i) => [i.availabilityZone],
  'tag-key': (i) => Object.keys(i.tags),
};

const INTERFACE_FILTERS: FilterFields<InstanceRecord> = {
  'network-interface-id': (i) => [i.networkInterfaceId],
  'addresses.private-ip-address': (i) => [i.privateIp],
  'private-ip-address': (i) => [i.privateIp],
  'association.public-ip': (i) => [i.publicIp],
  'attachment.instance-id': (i) => [i.instanceId],
  'attachment.status': () => ['attached'],
  'vpc-id': (i) => [i.vpcId],
  'subnet-id': (i) => [i.subnetId],
  status: () => ['in-use'],
  'mac-address': (i) => [i.macAddress],
  'ipv6-addresses.ipv6-address': () => [],
};

interface FlowLogView {
  flowLogId: string;
  resourceId: string;
  destination: string;
  creationTime: Date;
}

const FLOW_LOG_FILTERS: FilterFields<FlowLogView> = {
  'flow-log-id': (f) => [f.flowLogId],
  'resource-id': (f) => [f.resourceId],
  'log-destination-type': () => ['s3'],
  'deliver-log-status': () => ['SUCCESS'],
  'traffic-type': () => ['ALL'],
};

/**
 * EC2 (the EC2 query protocol): the seeded instances of each account and region and the recovery
 * instances DRS launched (pending, running, shutting-down, terminated), their network interfaces,
 * the subnets, the VPCs (primary, secondary and IPv6 blocks, with their association states), DRS's launch templates (one version each, as DRS manages them) and the VPC flow
 * logs of the accounts with planted incidents. Read-only. Modelled
 * beyond the model, as EC2 answers: InvalidInstanceID/InvalidNetworkInterfaceID errors for ids
 * that are malformed or absent, MaxResults bounds and its exclusion with explicit ids, filter
 * names checked, `*` and `?` wildcards in filter values, one reservation per instance.
 */
export const ec2 = defineService({
  signingName: 'ec2',
  handlers: {
    DescribeInstances(input: DescribeInstancesRequest, ctx): DescribeInstancesResult {
      const ids = input.InstanceIds ?? [];
      if (ids.length > 0 && input.MaxResults !== undefined) {
        throw ec2Error('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
      }
      checkMaxResults(input.MaxResults, 5, 1000);
      for (const id of ids) if (!/^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) throw ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
      const all = instanceRecords(ctx);
      const missing = ids.filter((id) => !all.some((i) => i.instanceId === id));
      if (missing.length > 0) {
        throw ec2Error(
          'InvalidInstanceID.NotFound',
          missing.length === 1 ? `The instance ID '${missing[0]}' does not exist` : `The instance IDs '${missing.join(', ')}' do not exist`,
        );
      }
      const matching = all.filter((i) => (ids.length === 0 || ids.includes(i.instanceId)) && matches(i, input.Filters, INSTANCE_FILTERS, tagFilter));
      const { items, nextToken } = page(ctx, 'ec2:DescribeInstances', input, matching, (i) => i.instanceId);
      return {
        Reservations: items.map((i) => ({ ReservationId: `r-${i.instanceId.slice(2)}`, OwnerId: i.accountId, Groups: [], Instances: [instanceView(i)] })),
        NextToken: nextToken,
      };
    },

    DescribeNetworkInterfaces(input: DescribeNetworkInterfacesRequest, ctx): DescribeNetworkInterfacesResult {
      const ids = input.NetworkInterfaceIds ?? [];
      checkMaxResults(input.MaxResults, 5, 1000);
      const all = instanceRecords(ctx).filter((i) => i.state !== 'terminated');
      for (const id of ids) {
        if (!/^eni-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) throw ec2Error('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
        if (!all.some((i) => i.networkInterfaceId === id)) throw ec2Error('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
      }
      const matching = all.filter((i) => (ids.length === 0 || ids.includes(i.networkInterfaceId)) && matches(i, input.Filters, INTERFACE_FILTERS));
      const { items, nextToken } = page(ctx, 'ec2:DescribeNetworkInterfaces', input, matching, (i) => i.networkInterfaceId);
      return {
        NetworkInterfaces: items.map((i) => ({
          ...interfaceView(i),
          AvailabilityZone: i.availabilityZone,
          InterfaceType: 'interface',
          RequesterManaged: false,
          TagSet: [],
        })),
        NextToken: nextToken,
      };
    },

    DescribeSubnets(input: DescribeSubnetsRequest, ctx): DescribeSubnetsResult {
      const ids = input.SubnetIds ?? [];
      if (ids.length > 0 && input.MaxResults !== undefined) throw ec2Error('InvalidParameterCombination', 'The parameter subnetIds cannot be used with the parameter maxResults');
      checkMaxResults(input.MaxResults, 5, 1000);
      const all = subnetsOf(ctx);
      for (const id of ids) {
        if (!/^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) throw ec2Error('InvalidSubnetID.Malformed', `Invalid id: "${id}"`);
        if (!all.some((subnet) => subnet.id === id)) throw ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
      }
      const matching = all.filter((subnet) => (ids.length === 0 || ids.includes(subnet.id)) && matches(subnet, input.Filters, SUBNET_FILTERS, (sub, key) => (key === 'Name' ? [sub.name] : [])));
      const { items, nextToken } = page(ctx, 'ec2:DescribeSubnets', input, matching, (subnet) => subnet.id);
      return {
        Subnets: items.map((subnet) => ({
          SubnetId: subnet.id,
          SubnetArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:subnet/${subnet.id}`,
          VpcId: subnet.vpcId,
          OwnerId: ctx.accountId,
          CidrBlock: subnet.cidr,
          AvailabilityZone: subnet.availabilityZone,
          AvailableIpAddressCount: 200,
          State: 'available',
          DefaultForAz: false,
          MapPublicIpOnLaunch: false,
          Tags: [{ Key: 'Name', Value: subnet.name }],
        })),
        NextToken: nextToken,
      };
    },

    DescribeVpcs(input: DescribeVpcsRequest, ctx): DescribeVpcsResult {
      const ids = input.VpcIds ?? [];
      checkMaxResults(input.MaxResults, 5, 1000);
      const all = vpcsOf(ctx);
      for (const id of ids) if (!/^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) throw ec2Error('InvalidVpcID.Malformed', `Invalid id: "${id}"`);
      const missing = ids.filter((id) => !all.some((vpc) => vpc.vpcId === id));
      if (missing.length > 0) {
        throw ec2Error('InvalidVpcID.NotFound', missing.length === 1 ? `The vpc ID '${missing[0]}' does not exist` : `The vpc IDs '${missing.join(', ')}' do not exist`);
      }
      const matching = all.filter((vpc) => (ids.length === 0 || ids.includes(vpc.vpcId)) && matches(vpc, input.Filters, VPC_FILTERS, () => []));
      const { items, nextToken } = page(ctx, 'ec2:DescribeVpcs', input, matching, (vpc) => vpc.vpcId);
      return {
        Vpcs: items.map((vpc) => ({
          VpcId: vpc.vpcId,
          OwnerId: ctx.accountId,
          State: 'available',
          CidrBlock: vpc.cidrBlocks[0]?.cidr,
          DhcpOptionsId: `dopt-${vpc.vpcId.slice(4)}`,
          InstanceTenancy: 'default',
          IsDefault: false,
          CidrBlockAssociationSet: vpc.cidrBlocks.map((block) => ({ AssociationId: block.associationId, CidrBlock: block.cidr, CidrBlockState: { State: block.state } })),
          Ipv6CidrBlockAssociationSet: vpc.ipv6Blocks.map((block) => ({
            AssociationId: block.associationId,
            Ipv6CidrBlock: block.cidr,
            Ipv6CidrBlockState: { State: block.state },
            NetworkBorderGroup: ctx.region,
            Ipv6Pool: 'Amazon',
          })),
          Tags: [],
        })),
        NextToken: nextToken,
      };
    },

    DescribeLaunchTemplateVersions(input: DescribeLaunchTemplateVersionsRequest, ctx): DescribeLaunchTemplateVersionsResult {
      if (input.LaunchTemplateId === undefined && input.LaunchTemplateName === undefined) {
        throw ec2Error('MissingParameter', 'The request must contain the parameter launchTemplateName or launchTemplateId');
      }
      if (input.LaunchTemplateId !== undefined && !/^lt-[0-9a-f]{17}$/.test(input.LaunchTemplateId)) {
        throw ec2Error('InvalidLaunchTemplateId.Malformed', `The specified ID for the launch template, ${input.LaunchTemplateId}, is malformed.`);
      }
      const server = drsServersIn(ctx.world, ctx.accountId, ctx.region).find(
        (s) => s.launchTemplate.id === input.LaunchTemplateId || s.launchTemplate.name === input.LaunchTemplateName,
      );
      if (!server) {
        throw input.LaunchTemplateId !== undefined
          ? ec2Error('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${input.LaunchTemplateId}, does not exist.`)
          : ec2Error('InvalidLaunchTemplateName.NotFoundException', `The specified launch template, with template name ${input.LaunchTemplateName}, does not exist.`);
      }
      // DRS keeps one version of each launch template it manages; $Latest and $Default are it.
      const versions = input.Versions ?? [];
      const wanted = versions.length === 0 || versions.some((v) => v === '$Latest' || v === '$Default' || v === '1');
      return { LaunchTemplateVersions: wanted ? [launchTemplateVersion(server)] : [] };
    },

    DescribeFlowLogs(input: DescribeFlowLogsRequest, ctx): DescribeFlowLogsResult {
      checkMaxResults(input.MaxResults, 1, 1000);
      const flowLogs = flowLogsOf(ctx).filter(
        (f) => (input.FlowLogIds === undefined || input.FlowLogIds.length === 0 || input.FlowLogIds.includes(f.flowLogId)) && matches(f, input.Filter, FLOW_LOG_FILTERS),
      );
      const { items, nextToken } = page(ctx, 'ec2:DescribeFlowLogs', input, flowLogs, (f) => f.flowLogId);
      return {
        FlowLogs: items.map((f) => ({
          FlowLogId: f.flowLogId,
          ResourceId: f.resourceId,
          CreationTime: f.creationTime,
          FlowLogStatus: 'ACTIVE',
          DeliverLogsStatus: 'SUCCESS',
          TrafficType: 'ALL',
          LogDestinationType: 's3',
          LogDestination: f.destination,
          LogFormat: DEFAULT_LOG_FORMAT,
          MaxAggregationInterval: 600,
          DestinationOptions: { FileFormat: 'plain-text', HiveCompatiblePartitions: false, PerHourPartition: false },
          Tags: [],
        })),
        NextToken: nextToken,
      };
    },
  },
});

/** Only the VPCs of the incident accounts have a flow log: to the organization's log-archive bucket. */
function flowLogsOf(ctx: RequestContext): FlowLogView[] {
  const plan = incidentPlan(ctx.world);
  if (ctx.region !== INCIDENT_REGION || !plan.incidents.some((incident) => incident.instance.accountId === ctx.accountId)) return [];
  const flowLog = flowLogOf(ctx.world, ctx.accountId, ctx.region);
  return [{ flowLogId: flowLog.flowLogId, resourceId: flowLog.vpcId, destination: `arn:aws:s3:::${plan.bucket}`, creationTime: flowLog.creationTime }];
}

function instanceView(i: InstanceRecord) {
  return {
    InstanceId: i.instanceId,
    ImageId: i.imageId,
    State: { Code: STATE_CODES[i.state], Name: i.state },
    PrivateDnsName: privateDns(i),
    PublicDnsName: i.publicIp ? `ec2-${i.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com` : '',
    InstanceType: i.instanceType as never,
    LaunchTime: i.launchTime,
    Placement: { AvailabilityZone: i.availabilityZone, Tenancy: 'default' as const },
    Monitoring: { State: 'disabled' as const },
    SubnetId: i.subnetId,
    VpcId: i.vpcId,
    PrivateIpAddress: i.privateIp,
    PublicIpAddress: i.publicIp,
    Architecture: 'x86_64' as const,
    RootDeviceType: 'ebs' as const,
    RootDeviceName: '/dev/xvda',
    IamInstanceProfile: i.instanceProfile ? { Arn: i.instanceProfile.arn, Id: i.instanceProfile.id } : undefined,
    SecurityGroups: i.securityGroups.map((g) => ({ GroupId: g.id, GroupName: g.name })),
    Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
    NetworkInterfaces: i.state === 'terminated' ? [] : [interfaceView(i)],
  };
}

/** The seeded instances, then the recovery instances DRS launched here (terminated ones included, as EC2 shows them for a while). */
function instanceRecords(ctx: RequestContext): InstanceRecord[] {
  const seeded = instancesOf(ctx.world, ctx.accountId, ctx.region).map(seededRecord);
  const originals = drsPlan(ctx.world)
    .sourceInstances.filter((i) => i.accountId === ctx.accountId && i.region === ctx.region)
    .map((i) => sourceRecord(ctx, i));
  const recovered = [...drsRuntime(ctx.world).instances.values()]
    .filter((r) => r.accountId === ctx.accountId && r.region === ctx.region && r.privateIp !== '')
    .map((r) => recoveryRecord(ctx, r));
  return [...seeded, ...originals, ...recovered];
}

function seededRecord(i: SeededInstance): InstanceRecord {
  return { ...i, securityGroups: [i.securityGroup], state: 'running', tags: { Name: i.name } };
}

/** A drill account's own instance (replicated by DRS or not): in the production subnet. */
function sourceRecord(ctx: RequestContext, i: SeededSourceInstance): InstanceRecord {
  const network = drsPlan(ctx.world).networkOf(i.accountId, i.region);
  return drsNetworkRecord(ctx, {
    ...i,
    subnetId: network.productionSubnet.id,
    securityGroupIds: [network.productionSecurityGroup.id],
    macAddress: `0a:${i.instanceId.slice(2, 12).match(/../g)?.join(':')}`,
    state: 'running',
  });
}

function recoveryRecord(ctx: RequestContext, r: RecoveryInstanceRecord): InstanceRecord {
  const state: InstanceStateName = r.state === 'PENDING' ? 'pending' : r.state === 'RUNNING' ? 'running' : r.state === 'SHUTTING-DOWN' ? 'shutting-down' : 'terminated';
  return drsNetworkRecord(ctx, { ...r, instanceId: r.recoveryInstanceID, launchTime: r.launchedAt, state });
}

/** An instance in a DRS recovery network (its VPC, one of its subnets and security groups). */
function drsNetworkRecord(
  ctx: RequestContext,
  i: Pick<InstanceRecord, 'instanceId' | 'accountId' | 'instanceType' | 'launchTime' | 'subnetId' | 'macAddress' | 'privateIp' | 'state' | 'tags'> & { region: string; securityGroupIds: string[] },
): InstanceRecord {
  const network = drsPlan(ctx.world).networkOf(i.accountId, i.region);
  const groups = [network.isolatedSecurityGroup, network.productionSecurityGroup];
  return {
    instanceId: i.instanceId,
    accountId: i.accountId,
    imageId: `ami-${i.instanceId.slice(2)}`,
    instanceType: i.instanceType,
    launchTime: i.launchTime,
    availabilityZone: `${i.region}a`,
    vpcId: network.vpcId,
    subnetId: i.subnetId,
    networkInterfaceId: `eni-${i.instanceId.slice(2)}`,
    macAddress: i.macAddress,
    privateIp: i.privateIp,
    securityGroups: groups.filter((g) => i.securityGroupIds.includes(g.id)),
    state: i.state,
    tags: i.tags,
  };
}

interface SubnetRecord {
  id: string;
  vpcId: string;
  name: string;
  cidr: string;
  availabilityZone: string;
}

const SUBNET_FILTERS: FilterFields<SubnetRecord> = {
  'subnet-id': (s) => [s.id],
  'vpc-id': (s) => [s.vpcId],
  'cidr-block': (s) => [s.cidr],
  'availability-zone': (s) => [s.availabilityZone],
  state: () => ['available'],
  'tag-key': () => ['Name'],
};

/** The subnets of the seeded instances, and where DRS serves, its drill and production subnets. */
function subnetsOf(ctx: RequestContext): SubnetRecord[] {
  const subnets = new Map<string, SubnetRecord>();
  for (const i of instancesOf(ctx.world, ctx.accountId, ctx.region)) {
    subnets.set(i.subnetId, { id: i.subnetId, vpcId: i.vpcId, name: 'app', cidr: `${i.privateIp.split('.').slice(0, 2).join('.')}.0.0/20`, availabilityZone: i.availabilityZone });
  }
  if (drsServersIn(ctx.world, ctx.accountId, ctx.region).length > 0) {
    const network = drsPlan(ctx.world).networkOf(ctx.accountId, ctx.region);
    for (const subnet of [network.isolatedSubnet, network.productionSubnet]) subnets.set(subnet.id, { ...subnet, vpcId: network.vpcId });
  }
  return [...subnets.values()];
}

const VPC_FILTERS: FilterFields<SeededVpc> = {
  'vpc-id': (v) => [v.vpcId],
  cidr: (v) => [v.cidrBlocks[0]?.cidr],
  'cidr-block-association.cidr-block': (v) => v.cidrBlocks.map((b) => b.cidr),
  'cidr-block-association.association-id': (v) => v.cidrBlocks.map((b) => b.associationId),
  'cidr-block-association.state': (v) => v.cidrBlocks.map((b) => b.state),
  'ipv6-cidr-block-association.ipv6-cidr-block': (v) => v.ipv6Blocks.map((b) => b.cidr),
  'ipv6-cidr-block-association.association-id': (v) => v.ipv6Blocks.map((b) => b.associationId),
  'ipv6-cidr-block-association.state': (v) => v.ipv6Blocks.map((b) => b.state),
  'ipv6-cidr-block-association.ipv6-pool': (v) => v.ipv6Blocks.map(() => 'Amazon'),
  'dhcp-options-id': (v) => [`dopt-${v.vpcId.slice(4)}`],
  'is-default': () => ['false'],

  state: () => ['available'],
  'tag-key': () => [],
};

/** The VPC of the seeded instances, and where DRS serves, its recovery network's (a 10.x.0.0/16 without other blocks). */
function vpcsOf(ctx: RequestContext): SeededVpc[] {
  const vpcs = new Map<string, SeededVpc>();
  const seeded = seededVpcOf(ctx.world, ctx.accountId, ctx.region);
  if (seeded) vpcs.set(seeded.vpcId, seeded);
  if (drsServersIn(ctx.world, ctx.accountId, ctx.region).length > 0) {
    const network = drsPlan(ctx.world).networkOf(ctx.accountId, ctx.region);
    const cidr = network.productionSubnet.cidr.replace(/\.\d+\.0\/24$/, '.0.0/16');
    vpcs.set(network.vpcId, { vpcId: network.vpcId, cidrBlocks: [{ associationId: `vpc-cidr-assoc-${network.vpcId.slice(4)}`, cidr, state: 'associated' }], ipv6Blocks: [] });
  }
  return [...vpcs.values()];
}

function launchTemplateVersion(server: SeededSourceServer) {
  const template = server.launchTemplate;
  return {
    LaunchTemplateId: template.id,
    LaunchTemplateName: template.name,
    VersionNumber: 1,
    VersionDescription: 'Created by AWS Elastic Disaster Recovery',
    CreateTime: server.addedAt,
    CreatedBy: `arn:aws:sts::${server.accountId}:assumed-role/AWSServiceRoleForElasticDisasterRecovery/drs`,
    DefaultVersion: true,
    LaunchTemplateData: {
      InstanceType: template.instanceType as never,
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: template.subnetId, Groups: template.securityGroupIds, AssociatePublicIpAddress: false, DeleteOnTermination: true }],
      TagSpecifications: [{ ResourceType: 'instance' as const, Tags: [{ Key: 'AWSElasticDisasterRecoveryManaged', Value: 'drs.amazonaws.com' }] }],
    },
  };
}

function interfaceView(i: InstanceRecord) {
  const association = i.publicIp ? { PublicIp: i.publicIp, IpOwnerId: 'amazon' } : undefined;
  return {
    NetworkInterfaceId: i.networkInterfaceId,
    SubnetId: i.subnetId,
    VpcId: i.vpcId,
    OwnerId: i.accountId,
    Status: 'in-use' as const,
    MacAddress: i.macAddress,
    PrivateIpAddress: i.privateIp,
    PrivateDnsName: privateDns(i),
    SourceDestCheck: true,
    Groups: i.securityGroups.map((g) => ({ GroupId: g.id, GroupName: g.name })),
    Attachment: {
      AttachmentId: `eni-attach-${i.networkInterfaceId.slice(4)}`,
      InstanceId: i.instanceId,
      InstanceOwnerId: i.accountId,
      DeviceIndex: 0,
      NetworkCardIndex: 0,
      Status: 'attached' as const,
      AttachTime: i.launchTime,
      DeleteOnTermination: true,
    },
    Association: association,
    PrivateIpAddresses: [{ PrivateIpAddress: i.privateIp, PrivateDnsName: privateDns(i), Primary: true, Association: association }],
    Ipv6Addresses: [],
  };
}

function privateDns(i: { privateIp: string }): string {
  return `ip-${i.privateIp.replaceAll('.', '-')}.ec2.internal`;
}

/** Every filter must match (AND); within one, any value may (OR); `*` and `?` are wildcards; `tag:<key>` through `tagValues`. */
function matches<T>(item: T, filters: Filter[] | undefined, fields: FilterFields<T>, tagValues?: (item: T, key: string) => Values): boolean {
  for (const filter of filters ?? []) {
    const name = filter.Name ?? '';
    const field = name.startsWith('tag:') && tagValues ? (i: T) => tagValues(i, name.slice(4)) : fields[name];
    if (!field) throw ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    const patterns = (filter.Values ?? []).map(globToRegExp);
    const values = field(item).filter((v): v is string => v !== undefined);
    if (!values.some((value) => patterns.some((pattern) => pattern.test(value)))) return false;
  }
  return true;
}

function tagFilter(i: InstanceRecord, key: string): Values {
  return [i.tags[key]];
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${escaped}$`);
}

function checkMaxResults(value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (value < min || value > max)) {
    throw ec2Error('InvalidParameterValue', `Value ( ${value} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`);
  }
}

/** Pages in a stable order with EC2's opaque NextToken; without MaxResults everything comes back. */
function page<T>(ctx: RequestContext, listing: string, input: { MaxResults?: number; NextToken?: string }, items: T[], idOf: (item: T) => string) {
  const sorted = [...items].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  const scope = `${listing}:${ctx.accountId}:${ctx.region}`;
  let start = 0;
  if (input.NextToken !== undefined) {
    const after = ctx.world.pageTokens.decode(scope, input.NextToken);
    if (after === undefined) throw ec2Error('InvalidParameterValue', `The value ('${input.NextToken}') for parameter nextToken is invalid.`);
    start = sorted.findIndex((item) => idOf(item) > after);
    if (start < 0) start = sorted.length;
  }
  const size = input.MaxResults ?? sorted.length;
  const slice = sorted.slice(start, start + size);
  const last = slice.at(-1);
  const nextToken = start + size < sorted.length && last ? ctx.world.pageTokens.encode(scope, idOf(last)) : undefined;
  return { items: slice, nextToken };
}

/** EC2 declares no error shapes: every error is a 400 with its code. */
function ec2Error(code: string, message: string): ServiceError {
  return new ServiceError(code, message, { status: 400 });
}

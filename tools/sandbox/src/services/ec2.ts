import type {
  DescribeFlowLogsRequest,
  DescribeFlowLogsResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  DescribeNetworkInterfacesRequest,
  DescribeNetworkInterfacesResult,
  Filter,
} from '@aws-sdk/client-ec2';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { flowLogOf, incidentPlan, INCIDENT_REGION, instancesOf, type SeededInstance } from '../world/seeded-incidents.js';

/** The default format of a VPC flow log (version 2), as DescribeFlowLogs reports it. */
const DEFAULT_LOG_FORMAT =
  '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}';

type Values = (string | undefined)[];
type FilterFields<T> = Record<string, (item: T) => Values>;

const INSTANCE_FILTERS: FilterFields<SeededInstance> = {
  'instance-id': (i) => [i.instanceId],
  'instance-state-name': () => ['running'],
  'instance-type': (i) => [i.instanceType],
  'vpc-id': (i) => [i.vpcId],
  'subnet-id': (i) => [i.subnetId],
  'private-ip-address': (i) => [i.privateIp],
  'ip-address': (i) => [i.publicIp],
  'network-interface.network-interface-id': (i) => [i.networkInterfaceId],
  'network-interface.addresses.private-ip-address': (i) => [i.privateIp],
  'iam-instance-profile.arn': (i) => [i.instanceProfile.arn],
  'availability-zone': (i) => [i.availabilityZone],
  'tag:Name': (i) => [i.name],
};

const INTERFACE_FILTERS: FilterFields<SeededInstance> = {
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
 * EC2 (the EC2 query protocol): the seeded instances of each account and region, their network
 * interfaces and the VPC flow logs of the accounts with planted incidents. Read-only. Modelled
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
      const all = instancesOf(ctx.world, ctx.accountId, ctx.region);
      const missing = ids.filter((id) => !all.some((i) => i.instanceId === id));
      if (missing.length > 0) {
        throw ec2Error(
          'InvalidInstanceID.NotFound',
          missing.length === 1 ? `The instance ID '${missing[0]}' does not exist` : `The instance IDs '${missing.join(', ')}' do not exist`,
        );
      }
      const matching = all.filter((i) => (ids.length === 0 || ids.includes(i.instanceId)) && matches(i, input.Filters, INSTANCE_FILTERS));
      const { items, nextToken } = page(ctx, 'ec2:DescribeInstances', input, matching, (i) => i.instanceId);
      return {
        Reservations: items.map((i) => ({ ReservationId: `r-${i.instanceId.slice(2)}`, OwnerId: i.accountId, Groups: [], Instances: [instanceView(i)] })),
        NextToken: nextToken,
      };
    },

    DescribeNetworkInterfaces(input: DescribeNetworkInterfacesRequest, ctx): DescribeNetworkInterfacesResult {
      const ids = input.NetworkInterfaceIds ?? [];
      checkMaxResults(input.MaxResults, 5, 1000);
      const all = instancesOf(ctx.world, ctx.accountId, ctx.region);
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

function instanceView(i: SeededInstance) {
  return {
    InstanceId: i.instanceId,
    ImageId: i.imageId,
    State: { Code: 16, Name: 'running' as const },
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
    IamInstanceProfile: { Arn: i.instanceProfile.arn, Id: i.instanceProfile.id },
    SecurityGroups: [{ GroupId: i.securityGroup.id, GroupName: i.securityGroup.name }],
    Tags: [{ Key: 'Name', Value: i.name }],
    NetworkInterfaces: [interfaceView(i)],
  };
}

function interfaceView(i: SeededInstance) {
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
    Groups: [{ GroupId: i.securityGroup.id, GroupName: i.securityGroup.name }],
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

function privateDns(i: SeededInstance): string {
  return `ip-${i.privateIp.replaceAll('.', '-')}.ec2.internal`;
}

/** Every filter must match (AND); within one, any value may (OR); `*` and `?` are wildcards. */
function matches<T>(item: T, filters: Filter[] | undefined, fields: FilterFields<T>): boolean {
  for (const filter of filters ?? []) {
    const name = filter.Name ?? '';
    const field = fields[name];
    if (!field) throw ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    const patterns = (filter.Values ?? []).map(globToRegExp);
    const values = field(item).filter((v): v is string => v !== undefined);
    if (!values.some((value) => patterns.some((pattern) => pattern.test(value)))) return false;
  }
  return true;
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

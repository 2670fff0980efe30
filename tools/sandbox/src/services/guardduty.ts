import type {
  Condition,
  Finding,
  GetDetectorRequest,
  GetDetectorResponse,
  GetFindingsRequest,
  GetFindingsResponse,
  ListDetectorsRequest,
  ListDetectorsResponse,
  ListFindingsRequest,
  ListFindingsResponse,
  SortCriteria,
} from '@aws-sdk/client-guardduty';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { pick, randomInt, randomString } from '../world/prng.js';
import { incidentPlan, type SeededIncident } from '../world/seeded-incidents.js';
import { delegatedAdministrator } from '../world/delegated-administrator.js';
import { defineWorldState, type World } from '../world/world.js';

const LIST_CAP = 50;
const PORT_NAMES: Record<number, string> = { 22: 'SSH', 80: 'HTTP', 443: 'HTTPS', 3389: 'RDP' };

/** Every active account has one GuardDuty detector per region, created long ago. */
export function detectorIdOf(world: World, accountId: string, region: string): string {
  return randomString(world.random(`guardduty:detector:${accountId}:${region}`), 32, '0123456789abcdef');
}

export function findingArnOf(world: World, incident: SeededIncident): string {
  const { accountId, region } = incident.instance;
  return `arn:aws:guardduty:${region}:${accountId}:detector/${detectorIdOf(world, accountId, region)}/finding/${incident.findingId}`;
}

const administrator = delegatedAdministrator('guardduty');

/**
 * Makes `administratorAccountId` the organization's delegated GuardDuty administrator (as
 * EnableOrganizationAdminAccount would): its detector then lists the findings of every member
 * account in its region, as the management account's did before.
 */
export const configureGuardDuty = administrator.configure;
export const guardDutyAdministratorOf = administrator.of;

/** Findings added by plantGuardDutyFindings, on top of the incidents' own. */
const plantedFindings = defineWorldState('guardduty:planted-findings', (): Finding[] => []);

const PLANTED_TYPES = [
  'Recon:EC2/PortProbeUnprotectedPort',
  'Recon:EC2/Portscan',
  'UnauthorizedAccess:EC2/SSHBruteForce',
  'UnauthorizedAccess:EC2/TorClient',
  'CryptoCurrency:EC2/BitcoinTool.B!DNS',
  'Backdoor:EC2/DenialOfService.Tcp',
] as const;

/**
 * Plants `count` findings of routine noise in `region` (default us-east-1), spread over the
 * organization's active member accounts, for tests of listing at scale: seeded types and
 * severities (fractional ones too), one a minute back from now, a tenth of them archived. They
 * are a finding's required fields and little more, and back no flow log. Returns them.
 */
export function plantGuardDutyFindings(world: World, options: { count: number; region?: string }): Finding[] {
  const region = options.region ?? 'us-east-1';
  const planted = world.state(plantedFindings);
  const random = world.random(`guardduty:planted:${region}:${planted.length}`);
  const accounts = world.snapshot().accounts.filter((account) => account.status === 'ACTIVE' && account.id !== world.org.managementAccountId);
  const now = world.clock.now().getTime();
  const added = Array.from({ length: options.count }, (_, i): Finding => {
    const accountId = accounts[i % accounts.length]?.id ?? world.org.managementAccountId;
    const id = randomString(random, 32, '0123456789abcdef');
    const at = new Date(now - (planted.length + i + 1) * 60_000).toISOString();
    const type = pick(random, PLANTED_TYPES);
    return {
      SchemaVersion: '2.0',
      AccountId: accountId,
      Region: region,
      Partition: 'aws',
      Id: id,
      Arn: `arn:aws:guardduty:${region}:${accountId}:detector/${detectorIdOf(world, accountId, region)}/finding/${id}`,
      Type: type,
      Title: `${type} on an instance of ${accountId}`,
      Severity: randomInt(random, 10, 89) / 10,
      CreatedAt: at,
      UpdatedAt: at,
      Resource: { ResourceType: 'Instance' },
      Service: { ServiceName: 'guardduty', DetectorId: detectorIdOf(world, accountId, region), Archived: randomInt(random, 1, 10) === 1, Count: 1 },
    };
  });
  planted.push(...added);
  return added;
}

/** Values of the finding attributes FindingCriteria and SortCriteria may name. */
const ATTRIBUTES: Record<string, (f: Finding) => string | number | boolean | undefined> = {
  id: (f) => f.Id,
  type: (f) => f.Type,
  severity: (f) => f.Severity,
  accountId: (f) => f.AccountId,
  region: (f) => f.Region,
  confidence: (f) => f.Confidence,
  createdAt: (f) => (f.CreatedAt ? Date.parse(f.CreatedAt) : undefined),
  updatedAt: (f) => (f.UpdatedAt ? Date.parse(f.UpdatedAt) : undefined),
  'resource.resourceType': (f) => f.Resource?.ResourceType,
  'resource.instanceDetails.instanceId': (f) => f.Resource?.InstanceDetails?.InstanceId,
  'resource.instanceDetails.imageId': (f) => f.Resource?.InstanceDetails?.ImageId,
  'service.archived': (f) => f.Service?.Archived,
  'service.action.actionType': (f) => f.Service?.Action?.ActionType,
  'service.resourceRole': (f) => f.Service?.ResourceRole,
};

/**
 * GuardDuty (restJson): a detector per active account and region, and one finding per planted
 * incident (seeded-incidents.ts) in its account, in the shape GetFindings returns. The
 * organization's GuardDuty administrator (the management account, or the one
 * configureGuardDuty delegates to) sees its members' findings of the region through its own
 * detector, as GuardDuty's administrator accounts do. Modelled beyond the model: detectors
 * belong to their account (another account's id is a BadRequestException), FindingCriteria on the common attributes with every condition
 * operator, SortCriteria, MaxResults capped at 50 with opaque NextTokens. Findings are not
 * archived, updated or created by requests: the world's incidents are fixed (plantGuardDutyFindings
 * adds noise for tests).
 */
export const guardduty = defineService({
  signingName: 'guardduty',
  handlers: {
    ListDetectors(input: ListDetectorsRequest, ctx): ListDetectorsResponse {
      checkMaxResults(input.MaxResults);
      // One detector fits on the first page, so no token was ever handed out.
      if (input.NextToken !== undefined && input.NextToken !== '') throw badRequest('The request is rejected because the provided nextToken is invalid.');
      return { DetectorIds: hasDetector(ctx) ? [detectorIdOf(ctx.world, ctx.accountId, ctx.region)] : [] };
    },

    GetDetector(input: GetDetectorRequest, ctx): GetDetectorResponse {
      ownDetector(ctx, input.DetectorId);
      return {
        CreatedAt: '2024-01-15T09:30:00.000Z',
        UpdatedAt: '2024-01-15T09:30:00.000Z',
        FindingPublishingFrequency: 'FIFTEEN_MINUTES',
        ServiceRole: `arn:aws:iam::${ctx.accountId}:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty`,
        Status: 'ENABLED',
        Tags: {},
      };
    },

    ListFindings(input: ListFindingsRequest, ctx): ListFindingsResponse {
      ownDetector(ctx, input.DetectorId);
      checkMaxResults(input.MaxResults);
      const criterion = input.FindingCriteria?.Criterion ?? {};
      const selected = sorted(findingsOf(ctx).filter((f) => Object.entries(criterion).every(([attribute, condition]) => meets(f, attribute, condition))), input.SortCriteria);
      const listing = `guardduty:ListFindings:${ctx.accountId}:${ctx.region}:${JSON.stringify(input.FindingCriteria ?? {})}:${JSON.stringify(input.SortCriteria ?? {})}`;
      const { items, next } = ctx.world.pageTokens.page(listing, selected, input.NextToken, input.MaxResults ?? LIST_CAP, () =>
        badRequest('The request is rejected because the provided nextToken is invalid.'));
      return { FindingIds: items.map((f) => f.Id as string), NextToken: next ?? '' };
    },

    GetFindings(input: GetFindingsRequest, ctx): GetFindingsResponse {
      ownDetector(ctx, input.DetectorId);
      const ids = input.FindingIds ?? [];
      if (ids.length > LIST_CAP) throw badRequest(`The request is rejected because findingIds has more than ${LIST_CAP} elements.`);
      const wanted = new Set(ids);
      return { Findings: sorted(findingsOf(ctx).filter((f) => wanted.has(f.Id as string)), input.SortCriteria) };
    },
  },
});

function hasDetector(ctx: RequestContext): boolean {
  return ctx.world.org.accounts.get(ctx.accountId)?.status === 'ACTIVE';
}

function ownDetector(ctx: RequestContext, detectorId: string | undefined): void {
  if (!hasDetector(ctx) || detectorId !== detectorIdOf(ctx.world, ctx.accountId, ctx.region)) {
    throw badRequest('The request is rejected because the input detectorId is not owned by the current account.');
  }
}

function checkMaxResults(value: number | undefined): void {
  if (value !== undefined && (value < 1 || value > LIST_CAP)) {
    throw badRequest(`The request is rejected because the value of maxResults is out of range; it must be between 1 and ${LIST_CAP}.`);
  }
}

/** The findings the caller's detector shows: its account's own, or every member's for the administrator. */
function findingsOf(ctx: RequestContext): Finding[] {
  const administrator = guardDutyAdministratorOf(ctx.world) === ctx.accountId;
  const incidents = incidentPlan(ctx.world)
    .incidents.filter((incident) => (administrator || incident.instance.accountId === ctx.accountId) && incident.instance.region === ctx.region)
    .map((incident) => findingOf(ctx.world, incident));
  const planted = ctx.world.state(plantedFindings).filter((finding) => (administrator || finding.AccountId === ctx.accountId) && finding.Region === ctx.region);
  return [...incidents, ...planted];
}

function meets(finding: Finding, attribute: string, condition: Condition): boolean {
  const read = ATTRIBUTES[attribute];
  if (!read) throw badRequest(`The request is rejected because ${attribute} is not a supported finding criterion.`);
  const value = read(finding);
  const asText = value === undefined ? undefined : String(value);
  const equals = [...(condition.Eq ?? []), ...(condition.Equals ?? [])];
  const notEquals = [...(condition.Neq ?? []), ...(condition.NotEquals ?? [])];
  if (equals.length > 0 && (asText === undefined || !equals.includes(asText))) return false;
  if (notEquals.length > 0 && asText !== undefined && notEquals.includes(asText)) return false;
  const number = typeof value === 'number' ? value : undefined;
  const bounds: [number | undefined, (a: number, b: number) => boolean][] = [
    [condition.Gt ?? condition.GreaterThan, (a, b) => a > b],
    [condition.Gte ?? condition.GreaterThanOrEqual, (a, b) => a >= b],
    [condition.Lt ?? condition.LessThan, (a, b) => a < b],
    [condition.Lte ?? condition.LessThanOrEqual, (a, b) => a <= b],
  ];
  for (const [bound, test] of bounds) {
    if (bound !== undefined && (number === undefined || !test(number, Number(bound)))) return false;
  }
  return true;
}

function sorted(findings: Finding[], sort: SortCriteria | undefined): Finding[] {
  const attribute = sort?.AttributeName;
  if (!attribute) return findings;
  const read = ATTRIBUTES[attribute];
  if (!read) throw badRequest(`The request is rejected because ${attribute} is not a supported sort attribute.`);
  const direction = sort.OrderBy === 'DESC' ? -1 : 1;
  return [...findings].sort((a, b) => {
    const x = read(a) ?? '';
    const y = read(b) ?? '';
    return (x < y ? -1 : x > y ? 1 : 0) * direction;
  });
}

/** The finding GuardDuty raised for a planted incident: what the flows of the incident show. */
function findingOf(world: World, incident: SeededIncident): Finding {
  const { instance } = incident;
  const detectorId = detectorIdOf(world, instance.accountId, instance.region);
  const remoteIpDetails = {
    IpAddressV4: incident.remoteIp,
    City: { CityName: incident.remote.city },
    Country: { CountryCode: incident.remote.countryCode, CountryName: incident.remote.country },
    GeoLocation: { Lat: incident.remote.lat, Lon: incident.remote.lon },
    Organization: { Asn: incident.remote.asn, AsnOrg: incident.remote.asnOrg, Isp: incident.remote.isp, Org: incident.remote.asnOrg },
  };
  const localIpDetails = { IpAddressV4: instance.privateIp };
  const port = (value: number | undefined) => (value === undefined ? undefined : { Port: value, PortName: PORT_NAMES[value] ?? 'Unknown' });
  const action =
    incident.kind === 'port-probe'
      ? {
          ActionType: 'PORT_PROBE',
          PortProbeAction: {
            Blocked: false,
            PortProbeDetails: (incident.probedPorts ?? []).map((probed) => ({ LocalPortDetails: port(probed), LocalIpDetails: localIpDetails, RemoteIpDetails: remoteIpDetails })),
          },
        }
      : {
          ActionType: 'NETWORK_CONNECTION',
          NetworkConnectionAction: {
            Blocked: false,
            ConnectionDirection: incident.direction,
            Protocol: 'TCP',
            LocalPortDetails: port(incident.localPort),
            RemotePortDetails: port(incident.remotePort),
            LocalIpDetails: localIpDetails,
            RemoteIpDetails: remoteIpDetails,
          },
        };
  const minutes = Math.max(1, Math.round((incident.end.getTime() - incident.at.getTime()) / 60_000));
  return {
    SchemaVersion: '2.0',
    AccountId: instance.accountId,
    Region: instance.region,
    Partition: 'aws',
    Id: incident.findingId,
    Arn: findingArnOf(world, incident),
    Type: incident.findingType,
    Title: incident.title,
    Description: incident.description,
    Severity: incident.severity,
    Confidence: incident.severity,
    CreatedAt: new Date(incident.at.getTime() + 5 * 60_000).toISOString(),
    UpdatedAt: new Date(incident.end.getTime() + 5 * 60_000).toISOString(),
    Resource: {
      ResourceType: 'Instance',
      InstanceDetails: {
        AvailabilityZone: instance.availabilityZone,
        IamInstanceProfile: { Arn: instance.instanceProfile.arn, Id: instance.instanceProfile.id },
        ImageId: instance.imageId,
        ImageDescription: 'Amazon Linux 2023 AMI',
        InstanceId: instance.instanceId,
        InstanceState: 'running',
        InstanceType: instance.instanceType,
        LaunchTime: instance.launchTime.toISOString(),
        NetworkInterfaces: [
          {
            NetworkInterfaceId: instance.networkInterfaceId,
            PrivateDnsName: `ip-${instance.privateIp.replaceAll('.', '-')}.ec2.internal`,
            PrivateIpAddress: instance.privateIp,
            PrivateIpAddresses: [{ PrivateDnsName: `ip-${instance.privateIp.replaceAll('.', '-')}.ec2.internal`, PrivateIpAddress: instance.privateIp }],
            PublicIp: instance.publicIp,
            SecurityGroups: [{ GroupId: instance.securityGroup.id, GroupName: instance.securityGroup.name }],
            SubnetId: instance.subnetId,
            VpcId: instance.vpcId,
            Ipv6Addresses: [],
          },
        ],
        ProductCodes: [],
        Tags: [{ Key: 'Name', Value: instance.name }],
      },
    },
    Service: {
      ServiceName: 'guardduty',
      DetectorId: detectorId,
      Archived: false,
      Count: incident.kind === 'ssh-brute-force' ? 300 : minutes,
      EventFirstSeen: incident.at.toISOString(),
      EventLastSeen: incident.end.toISOString(),
      ResourceRole: incident.direction === 'OUTBOUND' ? 'ACTOR' : 'TARGET',
      Action: action,
      Evidence:
        incident.kind === 'tor-client' ? { ThreatIntelligenceDetails: [{ ThreatListName: 'Amazon', ThreatNames: ['TorEntryNode'] }] } : undefined,
    },
  };
}

function badRequest(message: string): ServiceError {
  return new ServiceError('BadRequestException', message, { fields: { Type: 'InvalidInputException' } });
}

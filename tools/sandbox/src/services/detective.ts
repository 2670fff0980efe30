import type {
  Administrator,
  BatchGetGraphMemberDatasourcesRequest,
  BatchGetGraphMemberDatasourcesResponse,
  DatasourcePackage,
  DatasourcePackageIngestState,
  GetInvestigationRequest,
  GetInvestigationResponse,
  GetMembersRequest,
  GetMembersResponse,
  Indicator,
  InvestigationDetail,
  ListDatasourcePackagesRequest,
  ListDatasourcePackagesResponse,
  ListGraphsRequest,
  ListGraphsResponse,
  ListIndicatorsRequest,
  ListIndicatorsResponse,
  ListInvestigationsRequest,
  ListInvestigationsResponse,
  ListMembersRequest,
  ListMembersResponse,
  ListOrganizationAdminAccountsRequest,
  ListOrganizationAdminAccountsResponse,
  MemberDetail,
  Severity,
  StartInvestigationRequest,
  StartInvestigationResponse,
  UpdateInvestigationStateRequest,
} from '@aws-sdk/client-detective';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { randomInt, randomString } from '../world/prng.js';
import { incidentPlan, type SeededIncident } from '../world/seeded-incidents.js';
import { defineRegionState, defineWorldState, type World } from '../world/world.js';
import { findingArnOf } from './guardduty.js';

/** Detective needs a few minutes to run an investigation; scaled by the sandbox's --time-scale. */
const INVESTIGATION_RUN_MS = 2 * 60_000;
const GRAPH_CREATED = new Date(Date.UTC(2024, 1, 1, 12));
const INDICATORS_DEFAULT_PAGE = 50;
const INVESTIGATIONS_DEFAULT_PAGE = 50;
const MEMBERS_DEFAULT_PAGE = 100;
const ENTITY_ARN = /^arn:aws:iam::(\d{12}):(role|user)\/[\w+=,.@/-]+$/;

type IngestHistory = Partial<Record<DatasourcePackage, Partial<Record<DatasourcePackageIngestState, Date>>>>;

interface GraphMember {
  accountId: string;
  email: string;
  status: NonNullable<MemberDetail['Status']>;
  disabledReason?: MemberDetail['DisabledReason'];
  invitedTime: Date;
  updatedTime: Date;
  ingest: IngestHistory;
}

interface Investigation {
  id: string;
  entityArn: string;
  entityType: 'IAM_ROLE' | 'IAM_USER';
  createdTime: Date;
  scopeStart: Date;
  scopeEnd: Date;
  state: 'ACTIVE' | 'ARCHIVED';
  /** Wall-clock ms when it turns SUCCESSFUL. */
  readyAt: number;
  severity: Severity;
  indicators: Indicator[];
}

interface BehaviorGraph {
  arn: string;
  adminAccountId: string;
  createdTime: Date;
  adminIngest: IngestHistory;
  members: Map<string, GraphMember>;
  investigations: Map<string, Investigation>;
  nextInvestigation: number;
}

/** Which account administers Detective for the organization: the management account unless delegated. */
const settings = defineWorldState('detective:settings', (): { administratorAccountId?: string } => ({}));

/**
 * Makes `administratorAccountId` the organization's delegated Detective administrator (as
 * EnableOrganizationAdminAccount would): its graphs then hold the members, and the management
 * account has none of its own. Call it before the first Detective request.
 */
export function configureDetective(world: World, options: { administratorAccountId?: string }): void {
  const account = options.administratorAccountId === undefined ? undefined : world.org.accounts.get(options.administratorAccountId);
  if (options.administratorAccountId !== undefined && account?.status !== 'ACTIVE') {
    throw new Error(`configureDetective: ${options.administratorAccountId} is not an active account of the sandbox organization`);
  }
  world.state(settings).administratorAccountId = options.administratorAccountId;
}

function administratorOf(world: World): string {
  return world.state(settings).administratorAccountId ?? world.org.managementAccountId;
}

/**
 * The behavior graph of a region, kept in the administrator's (the management account's, or
 * the delegated administrator's) state: every active member account, mostly ENABLED with DETECTIVE_CORE ingesting since it
 * joined, a few INVITED, disabled for volume or with ingest stopped lately. Accounts with a
 * planted incident are always ENABLED and ingesting, and the TorClient instance's role has an
 * older investigation whose scope ends before the incident.
 */
const graphs = defineRegionState('detective:graph', ({ world, accountId, region }): BehaviorGraph => {
  const random = world.random(`detective:graph:${region}`);
  const arn = `arn:aws:detective:${region}:${accountId}:graph:${randomString(random, 32, '0123456789abcdef')}`;
  const plan = incidentPlan(world);
  const incidentAccounts = new Set(plan.incidents.map((incident) => incident.instance.accountId));
  const members = new Map<string, GraphMember>();
  for (const account of world.org.accounts.values()) {
    if (account.id === accountId || account.status !== 'ACTIVE') continue;
    const invitedTime = new Date(GRAPH_CREATED.getTime() + randomInt(random, 0, 200) * 86_400_000);
    const draw = incidentAccounts.has(account.id) ? 1 : random();
    const member: GraphMember = {
      accountId: account.id,
      email: account.email,
      status: draw < 0.02 ? 'INVITED' : draw < 0.03 ? 'ACCEPTED_BUT_DISABLED' : 'ENABLED',
      invitedTime,
      updatedTime: invitedTime,
      ingest: {},
    };
    if (member.status === 'ACCEPTED_BUT_DISABLED') member.disabledReason = 'VOLUME_TOO_HIGH';
    if (member.status === 'ENABLED') {
      member.ingest = { DETECTIVE_CORE: { STARTED: invitedTime }, ASFF_SECURITYHUB_FINDING: { STARTED: invitedTime } };
      if (random() < 0.5) member.ingest.EKS_AUDIT = { STARTED: invitedTime };
      // A few members stopped sending core data a day before the incidents.
      if (draw < 0.06) member.ingest.DETECTIVE_CORE = { STARTED: invitedTime, STOPPED: new Date(plan.anchor.getTime() - 86_400_000) };
    }
    members.set(account.id, member);
  }
  const graph: BehaviorGraph = {
    arn,
    adminAccountId: accountId,
    createdTime: GRAPH_CREATED,
    adminIngest: { DETECTIVE_CORE: { STARTED: GRAPH_CREATED }, ASFF_SECURITYHUB_FINDING: { STARTED: GRAPH_CREATED } },
    members,
    investigations: new Map(),
    nextInvestigation: 1,
  };
  const tor = plan.incidents.find((incident) => incident.kind === 'tor-client' && incident.instance.region === region);
  if (tor) {
    const scopeEnd = new Date(plan.anchor.getTime() - 2 * 86_400_000);
    addInvestigation(world, graph, tor.instance.roleArn, new Date(scopeEnd.getTime() - 86_400_000), scopeEnd, scopeEnd, 0);
  }
  return graph;
});

/**
 * Amazon Detective (restJson): one behavior graph per region, administered by the management
 * account or a delegated administrator, with member accounts, datasource packages and their
 * ingest history, and investigations of IAM roles and users whose indicators come from the
 * incidents planted in the world. Modelled beyond the model: only the administrator sees and queries its graph
 * (others get no graph, or ResourceNotFoundException), ListOrganizationAdminAccounts answers
 * the management account only, naming the administrator (configureDetective delegates it), investigations run RUNNING -> SUCCESSFUL in 2 simulated
 * minutes, the page caps (ListInvestigations and ListIndicators 100, members 200) with opaque
 * tokens, and StartInvestigation's checks on the entity and its scope.
 */
export const detective = defineService({
  signingName: 'detective',
  handlers: {
    ListGraphs(_input: ListGraphsRequest, ctx): ListGraphsResponse {
      if (!isAdministrator(ctx)) return { GraphList: [] };
      const graph = graphOf(ctx);
      return { GraphList: [{ Arn: graph.arn, CreatedTime: graph.createdTime }] };
    },

    ListOrganizationAdminAccounts(_input: ListOrganizationAdminAccountsRequest, ctx): ListOrganizationAdminAccountsResponse {
      if (ctx.accountId !== ctx.world.org.managementAccountId) {
        throw accessDenied('ListOrganizationAdminAccounts is only available to the organization management account.');
      }
      const graph = graphOf(ctx);
      const admin: Administrator = { AccountId: graph.adminAccountId, GraphArn: graph.arn, DelegationTime: graph.createdTime };
      return { Administrators: [admin] };
    },

    GetMembers(input: GetMembersRequest, ctx): GetMembersResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const found: MemberDetail[] = [];
      const unprocessed: { AccountId: string; Reason: string }[] = [];
      for (const accountId of input.AccountIds ?? []) {
        const member = graph.members.get(accountId);
        if (member) found.push(memberDetail(graph, member));
        else unprocessed.push({ AccountId: accountId, Reason: 'The account is not a member of the behavior graph.' });
      }
      return { MemberDetails: found, UnprocessedAccounts: unprocessed };
    },

    ListMembers(input: ListMembersRequest, ctx): ListMembersResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const members = [...graph.members.values()].sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
      const { items, nextToken } = page(ctx, `detective:ListMembers:${graph.arn}`, members, input.NextToken, input.MaxResults ?? MEMBERS_DEFAULT_PAGE);
      return { MemberDetails: items.map((member) => memberDetail(graph, member)), NextToken: nextToken };
    },

    BatchGetGraphMemberDatasources(input: BatchGetGraphMemberDatasourcesRequest, ctx): BatchGetGraphMemberDatasourcesResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const found: BatchGetGraphMemberDatasourcesResponse['MemberDatasources'] = [];
      const unprocessed: { AccountId: string; Reason: string }[] = [];
      for (const accountId of input.AccountIds ?? []) {
        const ingest = accountId === graph.adminAccountId ? graph.adminIngest : graph.members.get(accountId)?.ingest;
        if (ingest) found.push({ AccountId: accountId, GraphArn: graph.arn, DatasourcePackageIngestHistory: ingestHistory(ingest) });
        else unprocessed.push({ AccountId: accountId, Reason: 'The account is not a member of the behavior graph.' });
      }
      return { MemberDatasources: found, UnprocessedAccounts: unprocessed };
    },

    ListDatasourcePackages(input: ListDatasourcePackagesRequest, ctx): ListDatasourcePackagesResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const packages: ListDatasourcePackagesResponse['DatasourcePackages'] = {};
      for (const [name, changes] of Object.entries(graph.adminIngest)) {
        const latest = Object.entries(changes).sort(([, a], [, b]) => b.getTime() - a.getTime())[0];
        if (!latest) continue;
        packages[name as DatasourcePackage] = {
          DatasourcePackageIngestState: latest[0] as DatasourcePackageIngestState,
          LastIngestStateChange: Object.fromEntries(Object.entries(changes).map(([state, at]) => [state, { Timestamp: at }])),
        };
      }
      return { DatasourcePackages: packages };
    },

    StartInvestigation(input: StartInvestigationRequest, ctx): StartInvestigationResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const entityArn = input.EntityArn ?? '';
      const entity = ENTITY_ARN.exec(entityArn);
      if (!entity) throw validation(`The entity ARN ${entityArn} is not an IAM role or IAM user ARN.`);
      const entityAccount = entity[1] ?? '';
      if (entityAccount !== graph.adminAccountId && graph.members.get(entityAccount)?.status !== 'ENABLED') {
        throw validation(`The account ${entityAccount} of the entity is not an enabled member of the behavior graph.`);
      }
      const start = input.ScopeStartTime;
      const end = input.ScopeEndTime;
      const now = ctx.world.clock.now().getTime();
      if (!start || !end || start.getTime() >= end.getTime()) throw validation('The scope start time must be before the scope end time.');
      if (end.getTime() > now + 60_000) throw validation('The scope end time cannot be in the future.');
      if (start.getTime() < now - 365 * 86_400_000) throw validation('The scope start time cannot be more than one year in the past.');
      const investigation = addInvestigation(ctx.world, graph, entityArn, start, end, new Date(now), ctx.world.clock.scale(INVESTIGATION_RUN_MS));
      return { InvestigationId: investigation.id };
    },

    GetInvestigation(input: GetInvestigationRequest, ctx): GetInvestigationResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const investigation = investigationOf(graph, input.InvestigationId);
      return {
        GraphArn: graph.arn,
        InvestigationId: investigation.id,
        EntityArn: investigation.entityArn,
        EntityType: investigation.entityType,
        CreatedTime: investigation.createdTime,
        ScopeStartTime: investigation.scopeStart,
        ScopeEndTime: investigation.scopeEnd,
        ...progress(investigation),
        State: investigation.state,
      };
    },

    ListInvestigations(input: ListInvestigationsRequest, ctx): ListInvestigationsResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const filter = input.FilterCriteria;
      const details: InvestigationDetail[] = [...graph.investigations.values()]
        .map((investigation) => ({
          InvestigationId: investigation.id,
          EntityArn: investigation.entityArn,
          EntityType: investigation.entityType,
          CreatedTime: investigation.createdTime,
          State: investigation.state,
          ...progress(investigation),
        }))
        .filter(
          (detail) =>
            (!filter?.EntityArn || detail.EntityArn === filter.EntityArn.Value) &&
            (!filter?.Status || detail.Status === filter.Status.Value) &&
            (!filter?.Severity || detail.Severity === filter.Severity.Value) &&
            (!filter?.State || detail.State === filter.State.Value) &&
            (!filter?.CreatedTime ||
              (detail.CreatedTime.getTime() >= (filter.CreatedTime.StartInclusive?.getTime() ?? -Infinity) &&
                detail.CreatedTime.getTime() <= (filter.CreatedTime.EndInclusive?.getTime() ?? Infinity))),
        );
      const order = input.SortCriteria?.SortOrder === 'ASC' ? 1 : -1;
      const field = input.SortCriteria?.Field ?? 'CREATED_TIME';
      const severityRank = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
      const key = (d: (typeof details)[number]) =>
        field === 'SEVERITY' ? severityRank.indexOf(d.Severity ?? '') : field === 'STATUS' ? (d.Status ?? '') : d.CreatedTime?.getTime() ?? 0;
      details.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return (x < y ? -1 : x > y ? 1 : (a.InvestigationId ?? '') < (b.InvestigationId ?? '') ? -1 : 1) * order;
      });
      const listing = `detective:ListInvestigations:${graph.arn}:${JSON.stringify(filter ?? {})}:${field}:${order}`;
      const { items, nextToken } = page(ctx, listing, details, input.NextToken, input.MaxResults ?? INVESTIGATIONS_DEFAULT_PAGE);
      return { InvestigationDetails: items, NextToken: nextToken };
    },

    ListIndicators(input: ListIndicatorsRequest, ctx): ListIndicatorsResponse {
      const graph = administeredGraph(ctx, input.GraphArn);
      const investigation = investigationOf(graph, input.InvestigationId);
      // A running investigation has found nothing yet.
      const indicators = progress(investigation).Status === 'SUCCESSFUL' ? investigation.indicators : [];
      const selected = input.IndicatorType ? indicators.filter((indicator) => indicator.IndicatorType === input.IndicatorType) : indicators;
      const listing = `detective:ListIndicators:${graph.arn}:${investigation.id}:${input.IndicatorType ?? ''}`;
      const { items, nextToken } = page(ctx, listing, selected, input.NextToken, input.MaxResults ?? INDICATORS_DEFAULT_PAGE);
      return { GraphArn: graph.arn, InvestigationId: investigation.id, Indicators: items, NextToken: nextToken };
    },

    UpdateInvestigationState(input: UpdateInvestigationStateRequest, ctx) {
      const graph = administeredGraph(ctx, input.GraphArn);
      investigationOf(graph, input.InvestigationId).state = input.State ?? 'ACTIVE';
      return {};
    },
  },
});

/** One account administers Detective for the organization, in every region. */
function isAdministrator(ctx: RequestContext): boolean {
  return ctx.accountId === administratorOf(ctx.world);
}

function graphOf(ctx: RequestContext): BehaviorGraph {
  return ctx.world.account(administratorOf(ctx.world)).region(ctx.region).state(graphs);
}

function administeredGraph(ctx: RequestContext, graphArn: string | undefined): BehaviorGraph {
  const graph = isAdministrator(ctx) ? graphOf(ctx) : undefined;
  if (!graph || graph.arn !== graphArn) throw new ServiceError('ResourceNotFoundException', 'The request refers to a nonexistent resource.');
  return graph;
}

function investigationOf(graph: BehaviorGraph, id: string | undefined): Investigation {
  const investigation = graph.investigations.get(id ?? '');
  if (!investigation) throw new ServiceError('ResourceNotFoundException', 'The request refers to a nonexistent resource.');
  return investigation;
}

function progress(investigation: Investigation): { Status: 'RUNNING' | 'SUCCESSFUL'; Severity?: Severity } {
  return Date.now() >= investigation.readyAt ? { Status: 'SUCCESSFUL', Severity: investigation.severity } : { Status: 'RUNNING' };
}

function memberDetail(graph: BehaviorGraph, member: GraphMember): MemberDetail {
  return {
    AccountId: member.accountId,
    EmailAddress: member.email,
    GraphArn: graph.arn,
    MasterId: graph.adminAccountId,
    AdministratorId: graph.adminAccountId,
    Status: member.status,
    DisabledReason: member.disabledReason,
    InvitedTime: member.invitedTime,
    UpdatedTime: member.updatedTime,
    InvitationType: 'ORGANIZATION',
    DatasourcePackageIngestStates: Object.fromEntries(
      Object.entries(member.ingest).map(([name, changes]) => [name, Object.entries(changes).sort(([, a], [, b]) => b.getTime() - a.getTime())[0]?.[0]]),
    ),
  };
}

function ingestHistory(ingest: IngestHistory) {
  return Object.fromEntries(
    Object.entries(ingest).map(([name, changes]) => [name, Object.fromEntries(Object.entries(changes).map(([state, at]) => [state, { Timestamp: at }]))]),
  );
}

function addInvestigation(world: World, graph: BehaviorGraph, entityArn: string, scopeStart: Date, scopeEnd: Date, createdTime: Date, runMs: number): Investigation {
  // Detective's ids are 21 digits.
  const id = String(100_000_000_000_000_000_000n + BigInt(graph.nextInvestigation++) * 7_919n + BigInt(world.seed));
  const planted = incidentPlan(world).incidents.filter(
    (incident) => incident.instance.roleArn === entityArn && incident.at.getTime() < scopeEnd.getTime() && incident.end.getTime() > scopeStart.getTime(),
  );
  const indicators = planted.flatMap((incident) => indicatorsOf(world, incident));
  const investigation: Investigation = {
    id,
    entityArn,
    entityType: entityArn.includes(':user/') ? 'IAM_USER' : 'IAM_ROLE',
    createdTime,
    scopeStart,
    scopeEnd,
    state: 'ACTIVE',
    readyAt: createdTime.getTime() + runMs,
    severity: severityOf(planted),
    indicators,
  };
  graph.investigations.set(id, investigation);
  return investigation;
}

function severityOf(incidents: SeededIncident[]): Severity {
  const kinds = new Set(incidents.map((incident) => incident.kind));
  if (kinds.has('tor-client')) return 'CRITICAL';
  if (kinds.has('dos-tcp')) return 'HIGH';
  if (kinds.has('ssh-brute-force') || kinds.has('port-probe')) return 'MEDIUM';
  return 'INFORMATIONAL';
}

/**
 * API calls the TorClient instance's role made through the Tor relay, by service, with the
 * MITRE ATT&CK tactic, technique and procedure Detective reports for them (its TTP indicators).
 */
const DISCOVERY_CALLS: readonly { service: string; tactic: string; technique: string; procedure: string; apis: readonly string[] }[] = [
  { service: 's3', tactic: 'Collection', technique: 'Data from Cloud Storage', procedure: 'Read objects of S3 buckets', apis: ['ListBuckets', 'GetBucketPolicy', 'GetBucketAcl', 'ListObjectsV2', 'GetObject', 'GetBucketLocation', 'GetBucketVersioning', 'GetBucketLogging', 'GetBucketEncryption', 'GetPublicAccessBlock'] },
  { service: 'iam', tactic: 'Discovery', technique: 'Account Discovery', procedure: 'Enumerated IAM principals and policies', apis: ['ListUsers', 'ListRoles', 'ListPolicies', 'GetAccountAuthorizationDetails', 'ListAccessKeys', 'ListAttachedRolePolicies', 'GetRole', 'ListGroups', 'ListInstanceProfiles', 'GetAccountSummary'] },
  { service: 'ec2', tactic: 'Discovery', technique: 'Cloud Infrastructure Discovery', procedure: 'Enumerated compute resources', apis: ['DescribeInstances', 'DescribeSecurityGroups', 'DescribeVpcs', 'DescribeSubnets', 'DescribeSnapshots', 'DescribeImages', 'DescribeVolumes', 'DescribeKeyPairs', 'DescribeRegions', 'DescribeAddresses'] },
  { service: 'sts', tactic: 'Credential Access', technique: 'Steal Application Access Token', procedure: 'Used instance credentials outside the instance', apis: ['GetCallerIdentity', 'GetSessionToken', 'GetAccessKeyInfo', 'DecodeAuthorizationMessage', 'AssumeRole', 'GetFederationToken', 'AssumeRoleWithWebIdentity', 'TagSession', 'GetServiceBearerToken', 'SetSourceIdentity'] },
  { service: 'kms', tactic: 'Discovery', technique: 'Cloud Service Discovery', procedure: 'Enumerated KMS keys', apis: ['ListKeys', 'ListAliases', 'DescribeKey', 'GetKeyPolicy', 'ListGrants', 'Decrypt', 'GenerateDataKey', 'ListKeyPolicies', 'GetKeyRotationStatus', 'ListResourceTags'] },
  { service: 'secretsmanager', tactic: 'Credential Access', technique: 'Credentials from Password Stores', procedure: 'Read secrets', apis: ['ListSecrets', 'GetSecretValue', 'DescribeSecret', 'GetResourcePolicy', 'ListSecretVersionIds', 'BatchGetSecretValue', 'GetRandomPassword', 'ValidateResourcePolicy', 'DescribeSecretRotation', 'ListTagsForSecret'] },
  { service: 'lambda', tactic: 'Discovery', technique: 'Cloud Service Discovery', procedure: 'Enumerated Lambda functions', apis: ['ListFunctions', 'GetFunction', 'GetPolicy', 'ListLayers', 'GetFunctionConfiguration', 'ListAliases', 'ListEventSourceMappings', 'GetAccountSettings', 'ListVersionsByFunction', 'ListTags'] },
  { service: 'rds', tactic: 'Discovery', technique: 'Cloud Infrastructure Discovery', procedure: 'Enumerated databases', apis: ['DescribeDBInstances', 'DescribeDBClusters', 'DescribeDBSnapshots', 'DescribeDBSubnetGroups', 'DescribeDBParameterGroups', 'DescribeEventSubscriptions', 'DescribeDBClusterSnapshots', 'DescribeOptionGroups', 'DescribeDBProxies', 'ListTagsForResource'] },
  { service: 'dynamodb', tactic: 'Collection', technique: 'Data from Information Repositories', procedure: 'Scanned DynamoDB tables', apis: ['ListTables', 'DescribeTable', 'Scan', 'ListBackups', 'DescribeContinuousBackups', 'ListGlobalTables', 'DescribeLimits', 'ListStreams', 'DescribeEndpoints', 'ListTagsOfResource'] },
  { service: 'ssm', tactic: 'Credential Access', technique: 'Unsecured Credentials', procedure: 'Read SSM parameters', apis: ['DescribeParameters', 'GetParameter', 'GetParametersByPath', 'DescribeInstanceInformation', 'ListDocuments', 'ListCommands', 'DescribeSessions', 'GetInventory', 'ListAssociations', 'DescribeMaintenanceWindows'] },
  { service: 'cloudtrail', tactic: 'Defense Evasion', technique: 'Impair Defenses', procedure: 'Inspected CloudTrail configuration', apis: ['DescribeTrails', 'GetTrailStatus', 'LookupEvents', 'GetEventSelectors', 'ListTrails', 'GetInsightSelectors', 'ListEventDataStores', 'GetTrail', 'ListChannels', 'ListImports'] },
  { service: 'logs', tactic: 'Discovery', technique: 'Log Enumeration', procedure: 'Read CloudWatch Logs', apis: ['DescribeLogGroups', 'DescribeLogStreams', 'FilterLogEvents', 'GetLogEvents', 'DescribeSubscriptionFilters', 'DescribeMetricFilters', 'DescribeDestinations', 'DescribeQueries', 'DescribeResourcePolicies', 'ListTagsForResource'] },
];

/** What Detective would find about the instance role of an incident's instance. */
function indicatorsOf(world: World, incident: SeededIncident): Indicator[] {
  const related: Indicator = {
    IndicatorType: 'RELATED_FINDING',
    IndicatorDetail: { RelatedFindingDetail: { Arn: findingArnOf(world, incident), Type: incident.findingType, IpAddress: incident.remoteIp } },
  };
  const flagged: Indicator = {
    IndicatorType: 'FLAGGED_IP_ADDRESS',
    IndicatorDetail: { FlaggedIpAddressDetail: { IpAddress: incident.remoteIp, Reason: 'AWS_THREAT_INTELLIGENCE' } },
  };
  if (incident.kind !== 'tor-client') return [related, flagged];
  const random = world.random(`detective:ttp:${incident.findingId}`);
  const ttps: Indicator[] = DISCOVERY_CALLS.flatMap(({ service, tactic, technique, procedure, apis }) =>
    apis.map((api): Indicator => {
      return {
        IndicatorType: 'TTP_OBSERVED',
        IndicatorDetail: {
          TTPsObservedDetail: {
            Tactic: tactic,
            Technique: technique,
            Procedure: procedure,
            IpAddress: incident.remoteIp,
            APIName: `${service}:${api}`,
            APISuccessCount: randomInt(random, 1, 40),
            APIFailureCount: randomInt(random, 0, 12),
          },
        },
      };
    }),
  );
  return [
    related,
    flagged,
    {
      IndicatorType: 'NEW_GEOLOCATION',
      IndicatorDetail: { NewGeolocationDetail: { Location: `${incident.remote.city}, ${incident.remote.countryCode}`, IpAddress: incident.remoteIp, IsNewForEntireAccount: true } },
    },
    { IndicatorType: 'NEW_ASO', IndicatorDetail: { NewAsoDetail: { Aso: incident.remote.asnOrg, IsNewForEntireAccount: true } } },
    { IndicatorType: 'NEW_USER_AGENT', IndicatorDetail: { NewUserAgentDetail: { UserAgent: 'aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64', IsNewForEntireAccount: false } } },
    ...ttps,
  ];
}

/** Opaque tokens over a stable order; a token from another listing is a ValidationException. */
function page<T>(ctx: RequestContext, listing: string, items: T[], token: string | undefined, size: number): { items: T[]; nextToken?: string } {
  const { items: slice, next } = ctx.world.pageTokens.page(listing, items, token, size, () => validation('The pagination token is invalid.'));
  return { items: slice, nextToken: next };
}

function validation(message: string): ServiceError {
  return new ServiceError('ValidationException', message);
}

function accessDenied(message: string): ServiceError {
  return new ServiceError('AccessDeniedException', message);
}

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
  StartInvestigationRequest,
  StartInvestigationResponse,
  UpdateInvestigationStateRequest,
} from '@aws-sdk/client-detective';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { administratorOf, behaviorGraphs, type BehaviorGraph, ingestHistory, memberDetail } from './detective-graph.js';
import { addInvestigation, INVESTIGATION_RUN_MS, type Investigation, investigationProgress } from './detective-investigations.js';

const INDICATORS_DEFAULT_PAGE = 50;
const INVESTIGATIONS_DEFAULT_PAGE = 50;
const MEMBERS_DEFAULT_PAGE = 100;
const ENTITY_ARN = /^arn:aws:iam::(\d{12}):(role|user)\/[\w+=,.@/-]+$/;

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
      const investigation = addInvestigation(ctx.world, graph, { entityArn, scopeStart: start, scopeEnd: end, createdTime: new Date(now), runMs: ctx.world.clock.scale(INVESTIGATION_RUN_MS) });
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
        ...investigationProgress(investigation, ctx.world.clock.now()),
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
          ...investigationProgress(investigation, ctx.world.clock.now()),
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
      const indicators = investigationProgress(investigation, ctx.world.clock.now()).Status === 'SUCCESSFUL' ? investigation.indicators : [];
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
  return ctx.world.account(administratorOf(ctx.world)).region(ctx.region).state(behaviorGraphs);
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

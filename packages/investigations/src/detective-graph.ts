import {
  BatchGetGraphMemberDatasourcesCommand,
  type DetectiveClient,
  GetMembersCommand,
  ListGraphsCommand,
  ListOrganizationAdminAccountsCommand,
} from '@aws-sdk/client-detective';
import { OrgshieldError } from '@orgshield/errors';
import { z } from 'zod';
import type { IngestHistory } from './detective-ingest.js';
import { errorName, parseAwsAnswer, retryThrottled, type ThrottleRetry, withFreshCredentials } from './investigation-aws.js';

/** How Detective calls are made: which client (fresh credentials on demand) and how throttling is retried. */
export interface DetectiveAccess {
  client: (fresh: boolean) => DetectiveClient;
  throttle: ThrottleRetry;
}

export async function detectiveCall<T>(access: DetectiveAccess, operation: string, call: (client: DetectiveClient) => Promise<T>): Promise<T> {
  return retryThrottled(`Detective ${operation}`, () => withFreshCredentials(access.client, call), access.throttle);
}

export interface BehaviorGraph {
  arn: string;
  administratorAccountId: string;
  /** Found as the caller's own graph, or through the organization's delegated administrator. */
  via: 'caller' | 'delegated-administrator';
}

/** Detective has no graph to offer for this region: the report says why, the flow analysis goes on. */
export class DetectiveUnavailableError extends OrgshieldError {
  constructor(message: string, cause?: unknown) {
    super('DetectiveUnavailable', message, { cause });
  }
}

const GraphArn = z.string().regex(/^arn:aws[-\w]{0,10}:detective:[-\w]{2,20}:\d{12}:graph:[a-f\d]{32}$/);
const ListGraphsAnswer = z.object({ GraphList: z.array(z.object({ Arn: GraphArn })).optional(), NextToken: z.string().optional() });
const ListAdminsAnswer = z.object({
  Administrators: z.array(z.object({ AccountId: z.string(), GraphArn: GraphArn.optional() })).optional(),
  NextToken: z.string().optional(),
});
const MemberStatus = z.enum(['INVITED', 'VERIFICATION_IN_PROGRESS', 'VERIFICATION_FAILED', 'ENABLED', 'ACCEPTED_BUT_DISABLED']);
const GetMembersAnswer = z.object({
  MemberDetails: z.array(z.object({ AccountId: z.string(), Status: MemberStatus.optional(), DisabledReason: z.string().optional() })).optional(),
  UnprocessedAccounts: z.array(z.object({ AccountId: z.string().optional(), Reason: z.string().optional() })).optional(),
});
const IngestDates = z.object({ Timestamp: z.date().optional() }).optional();
const DatasourcesAnswer = z.object({
  MemberDatasources: z
    .array(
      z.object({
        AccountId: z.string(),
        DatasourcePackageIngestHistory: z
          .record(z.string(), z.object({ STARTED: IngestDates, STOPPED: IngestDates, DISABLED: IngestDates }).partial())
          .optional(),
      }),
    )
    .optional(),
  UnprocessedAccounts: z.array(z.object({ AccountId: z.string().optional(), Reason: z.string().optional() })).optional(),
});

export function parseDetective<S extends z.ZodType>(schema: S, answer: unknown, operation: string): z.infer<S> {
  return parseAwsAnswer('Detective', operation, schema, answer);
}

/**
 * The region's behavior graph. Detective has one graph per administrator account and region:
 * the caller's own (ListGraphs) when the caller is the administrator, else the one the
 * organization delegated (ListOrganizationAdminAccounts, answered only to the management
 * account), whose account the caller then reaches with member-account credentials. Neither:
 * a DetectiveUnavailableError naming what to set up.
 */
export async function findBehaviorGraph(caller: DetectiveAccess, region: string): Promise<BehaviorGraph> {
  try {
    let nextToken: string | undefined;
    do {
      const page = parseDetective(
        ListGraphsAnswer,
        await detectiveCall(caller, 'ListGraphs', (client) => client.send(new ListGraphsCommand({ NextToken: nextToken, MaxResults: 200 }))),
        'ListGraphs',
      );
      const graph = page.GraphList?.[0];
      if (graph) return { arn: graph.Arn, administratorAccountId: accountOfArn(graph.Arn), via: 'caller' };
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    if (errorName(error) === 'AccessDeniedException') {
      throw new DetectiveUnavailableError(
        `The caller may not list Detective behavior graphs in ${region} (AccessDeniedException); grant detective:ListGraphs to orgshield's role in the Detective administrator account.`,
        error,
      );
    }
    throw error;
  }

  const delegated = await delegatedAdministrator(caller, region);
  if (delegated) return { ...delegated, via: 'delegated-administrator' };
  throw new DetectiveUnavailableError(
    `No Detective behavior graph in ${region} is visible to the caller; enable Detective in the administrator account there (or delegate one with EnableOrganizationAdminAccount) and run orgshield with that account's credentials.`,
  );
}

async function delegatedAdministrator(caller: DetectiveAccess, region: string): Promise<Omit<BehaviorGraph, 'via'> | undefined> {
  let nextToken: string | undefined;
  try {
    do {
      const page = parseDetective(
        ListAdminsAnswer,
        await detectiveCall(caller, 'ListOrganizationAdminAccounts', (client) =>
          client.send(new ListOrganizationAdminAccountsCommand({ NextToken: nextToken, MaxResults: 200 })),
        ),
        'ListOrganizationAdminAccounts',
      );
      const admin = page.Administrators?.find((entry) => entry.GraphArn && entry.GraphArn.split(':')[3] === region);
      if (admin?.GraphArn) return { arn: admin.GraphArn, administratorAccountId: admin.AccountId };
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    // Only the organization's management account may ask; anyone else simply has no answer.
    if (errorName(error) === 'AccessDeniedException' || errorName(error) === 'ValidationException') return undefined;
    throw error;
  }
  return undefined;
}

export interface GraphMembership {
  accountId: string;
  /** The member status, or ADMINISTRATOR for the graph's own account, or NOT_MEMBER. */
  status: z.infer<typeof MemberStatus> | 'ADMINISTRATOR' | 'NOT_MEMBER';
  reason?: string;
}

export async function graphMembership(access: DetectiveAccess, graph: BehaviorGraph, accountId: string): Promise<GraphMembership> {
  if (accountId === graph.administratorAccountId) return { accountId, status: 'ADMINISTRATOR' };
  const answer = parseDetective(
    GetMembersAnswer,
    await detectiveCall(access, 'GetMembers', (client) => client.send(new GetMembersCommand({ GraphArn: graph.arn, AccountIds: [accountId] }))),
    'GetMembers',
  );
  const member = answer.MemberDetails?.find((entry) => entry.AccountId === accountId);
  if (member?.Status) return { accountId, status: member.Status, reason: member.DisabledReason };
  const unprocessed = answer.UnprocessedAccounts?.find((entry) => entry.AccountId === accountId);
  return { accountId, status: 'NOT_MEMBER', reason: unprocessed?.Reason };
}

/** DETECTIVE_CORE's ingest history for the account (empty when Detective has none). */
export async function coreIngestHistory(access: DetectiveAccess, graph: BehaviorGraph, accountId: string): Promise<IngestHistory> {
  const answer = parseDetective(
    DatasourcesAnswer,
    await detectiveCall(access, 'BatchGetGraphMemberDatasources', (client) =>
      client.send(new BatchGetGraphMemberDatasourcesCommand({ GraphArn: graph.arn, AccountIds: [accountId] })),
    ),
    'BatchGetGraphMemberDatasources',
  );
  const core = answer.MemberDatasources?.find((entry) => entry.AccountId === accountId)?.DatasourcePackageIngestHistory?.DETECTIVE_CORE;
  const history: IngestHistory = {};
  for (const state of ['STARTED', 'STOPPED', 'DISABLED'] as const) {
    const timestamp = core?.[state]?.Timestamp;
    if (timestamp) history[state] = timestamp;
  }
  return history;
}

function accountOfArn(arn: string): string {
  return arn.split(':')[4] ?? '';
}

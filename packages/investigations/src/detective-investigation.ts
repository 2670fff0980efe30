import {
  GetInvestigationCommand,
  ListIndicatorsCommand,
  ListInvestigationsCommand,
  StartInvestigationCommand,
} from '@aws-sdk/client-detective';
import { z } from 'zod';
import { type DetectiveAccess, detectiveCall, parseDetective } from './detective-graph.js';
import type { TimeWindow } from './investigation-window.js';

const Severity = z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const Status = z.enum(['RUNNING', 'FAILED', 'SUCCESSFUL']);
const State = z.enum(['ACTIVE', 'ARCHIVED']);
const IndicatorType = z.enum([
  'TTP_OBSERVED',
  'IMPOSSIBLE_TRAVEL',
  'FLAGGED_IP_ADDRESS',
  'NEW_GEOLOCATION',
  'NEW_ASO',
  'NEW_USER_AGENT',
  'RELATED_FINDING',
  'RELATED_FINDING_GROUP',
]);

const InvestigationFields = {
  InvestigationId: z.string(),
  EntityArn: z.string().optional(),
  EntityType: z.enum(['IAM_ROLE', 'IAM_USER']).optional(),
  Status: Status.optional(),
  Severity: Severity.optional(),
  State: State.optional(),
  CreatedTime: z.date().optional(),
};
const ListInvestigationsAnswer = z.object({
  InvestigationDetails: z.array(z.object(InvestigationFields)).optional(),
  NextToken: z.string().optional(),
});
const GetInvestigationAnswer = z.object({ ...InvestigationFields, ScopeStartTime: z.date().optional(), ScopeEndTime: z.date().optional() });
const StartInvestigationAnswer = z.object({ InvestigationId: z.string() });
const ListIndicatorsAnswer = z.object({
  Indicators: z.array(z.object({ IndicatorType: IndicatorType.optional(), IndicatorDetail: z.record(z.string(), z.unknown()).optional() })).optional(),
  NextToken: z.string().optional(),
});

export interface InvestigationSummary {
  id: string;
  entityArn?: string;
  entityType?: 'IAM_ROLE' | 'IAM_USER';
  status?: z.infer<typeof Status>;
  severity?: z.infer<typeof Severity>;
  state?: z.infer<typeof State>;
  createdTime?: string;
  scopeStart?: string;
  scopeEnd?: string;
}

export interface DetectiveIndicator {
  type: z.infer<typeof IndicatorType> | 'UNKNOWN';
  /** The one IndicatorDetail member for this type, as Detective returns it (e.g. { IpAddress, Reason }). */
  detail: Record<string, unknown>;
}

/** ListInvestigations caps MaxResults at 100 and pages with NextToken; every page is read. */
export async function listEntityInvestigations(access: DetectiveAccess, graphArn: string, entityArn: string): Promise<InvestigationSummary[]> {
  const all: InvestigationSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = parseDetective(
      ListInvestigationsAnswer,
      await detectiveCall(access, 'ListInvestigations', (client) =>
        client.send(
          new ListInvestigationsCommand({
            GraphArn: graphArn,
            FilterCriteria: { EntityArn: { Value: entityArn } },
            SortCriteria: { Field: 'CREATED_TIME', SortOrder: 'DESC' },
            MaxResults: 100,
            NextToken: nextToken,
          }),
        ),
      ),
      'ListInvestigations',
    );
    all.push(...(page.InvestigationDetails ?? []).map(summary));
    nextToken = page.NextToken;
  } while (nextToken);
  return all;
}

export async function getInvestigation(access: DetectiveAccess, graphArn: string, investigationId: string): Promise<InvestigationSummary> {
  const answer = parseDetective(
    GetInvestigationAnswer,
    await detectiveCall(access, 'GetInvestigation', (client) =>
      client.send(new GetInvestigationCommand({ GraphArn: graphArn, InvestigationId: investigationId })),
    ),
    'GetInvestigation',
  );
  return { ...summary(answer), scopeStart: answer.ScopeStartTime?.toISOString(), scopeEnd: answer.ScopeEndTime?.toISOString() };
}

export async function startInvestigation(access: DetectiveAccess, graphArn: string, entityArn: string, scope: TimeWindow): Promise<string> {
  const answer = parseDetective(
    StartInvestigationAnswer,
    await detectiveCall(access, 'StartInvestigation', (client) =>
      client.send(new StartInvestigationCommand({ GraphArn: graphArn, EntityArn: entityArn, ScopeStartTime: scope.from, ScopeEndTime: scope.to })),
    ),
    'StartInvestigation',
  );
  return answer.InvestigationId;
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  onPoll?: (investigation: InvestigationSummary) => void;
}

/**
 * Polls GetInvestigation until it is SUCCESSFUL or FAILED, or the timeout passes (timedOut).
 * The first polls come quickly (0.5 s, doubling) and then every `pollMs`, so a short
 * investigation is not waited for a whole interval.
 */
export async function waitForInvestigation(
  access: DetectiveAccess,
  graphArn: string,
  investigationId: string,
  options: WaitOptions,
  /** An answer of GetInvestigation just read, to start from instead of asking again. */
  known?: InvestigationSummary,
): Promise<{ investigation: InvestigationSummary; timedOut: boolean }> {
  const deadline = options.now() + options.timeoutMs;
  for (let poll = 0; ; poll++) {
    const investigation = poll === 0 && known !== undefined ? known : await getInvestigation(access, graphArn, investigationId);
    options.onPoll?.(investigation);
    if (investigation.status === 'SUCCESSFUL' || investigation.status === 'FAILED') return { investigation, timedOut: false };
    const wait = Math.min(options.pollMs, 500 * 2 ** poll);
    if (options.now() + wait > deadline) return { investigation, timedOut: true };
    await options.sleep(wait);
  }
}

/** ListIndicators caps MaxResults at 100; every page is read. */
export async function listIndicators(access: DetectiveAccess, graphArn: string, investigationId: string): Promise<DetectiveIndicator[]> {
  const all: DetectiveIndicator[] = [];
  let nextToken: string | undefined;
  do {
    const page = parseDetective(
      ListIndicatorsAnswer,
      await detectiveCall(access, 'ListIndicators', (client) =>
        client.send(new ListIndicatorsCommand({ GraphArn: graphArn, InvestigationId: investigationId, MaxResults: 100, NextToken: nextToken })),
      ),
      'ListIndicators',
    );
    for (const indicator of page.Indicators ?? []) {
      const detail = Object.values(indicator.IndicatorDetail ?? {}).find((value) => typeof value === 'object' && value !== null);
      all.push({ type: indicator.IndicatorType ?? 'UNKNOWN', detail: (detail ?? {}) as Record<string, unknown> });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return all;
}

/** Does an investigation already answer for this window (same entity, scope covering it, not failed)? */
export function coversWindow(investigation: InvestigationSummary, window: TimeWindow): boolean {
  if (investigation.status === 'FAILED' || investigation.state === 'ARCHIVED') return false;
  if (!investigation.scopeStart || !investigation.scopeEnd) return false;
  return Date.parse(investigation.scopeStart) <= window.from.getTime() && Date.parse(investigation.scopeEnd) >= window.to.getTime();
}

function summary(detail: {
  InvestigationId: string;
  EntityArn?: string;
  EntityType?: 'IAM_ROLE' | 'IAM_USER';
  Status?: z.infer<typeof Status>;
  Severity?: z.infer<typeof Severity>;
  State?: z.infer<typeof State>;
  CreatedTime?: Date;
}): InvestigationSummary {
  return {
    id: detail.InvestigationId,
    entityArn: detail.EntityArn,
    entityType: detail.EntityType,
    status: detail.Status,
    severity: detail.Severity,
    state: detail.State,
    createdTime: detail.CreatedTime?.toISOString(),
  };
}

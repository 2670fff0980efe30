import {
  type BehaviorGraph,
  coreIngestHistory,
  type DetectiveAccess,
  DetectiveUnavailableError,
  findBehaviorGraph,
  type GraphMembership,
  graphMembership,
} from './detective-graph.js';
import { describeIngestCoverage, ingestCoverage, type IngestCoverage } from './detective-ingest.js';
import {
  coversWindow,
  type DetectiveIndicator,
  getInvestigation,
  type InvestigationSummary,
  listEntityInvestigations,
  listIndicators,
  startInvestigation,
  waitForInvestigation,
} from './detective-investigation.js';
import { DEFAULT_THROTTLE_RETRY, errorName, type InvestigationClients, type ThrottleRetry } from './investigation-aws.js';
import type { TimeWindow } from './investigation-window.js';

export interface DetectivePullRequest {
  accountId: string;
  region: string;
  /** The IAM role or user to investigate; without one only the graph checks run. */
  principalArn?: string;
  window: TimeWindow;
}

export interface DetectivePullOptions {
  clients: Pick<InvestigationClients, 'detective'>;
  throttle?: ThrottleRetry;
  /** How long to wait for a new investigation (default 10 minutes) and how often to ask (default 5 s). */
  timeoutMs?: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  onStep?: (message: string) => void;
}

export interface DetectiveInvestigationResult extends InvestigationSummary {
  /** An existing investigation covered the window, so none was started. */
  reused: boolean;
  timedOut: boolean;
  indicators: DetectiveIndicator[];
}

/** Everything Detective offers about the subject, and what it could not offer, in sentences. */
export interface DetectiveReport {
  available: boolean;
  /** Why Detective had nothing to offer, when it had not. */
  reason?: string;
  region: string;
  graphArn?: string;
  administratorAccountId?: string;
  graphVia?: BehaviorGraph['via'];
  member?: GraphMembership;
  coreIngest?: { coverage: IngestCoverage; history: Partial<Record<'STARTED' | 'STOPPED' | 'DISABLED', string>>; message: string };
  entityArn?: string;
  existingInvestigations: InvestigationSummary[];
  investigation?: DetectiveInvestigationResult;
  warnings: string[];
}

/** Existing investigations whose scope is checked for reuse: the most recent ones are enough. */
const REUSE_CANDIDATES = 10;

/**
 * Pulls what Detective knows: the region's behavior graph (through the administrator), the
 * member account's status and DETECTIVE_CORE ingest during the window, the entity's existing
 * investigations, and one investigation covering the window (reused when one exists, else
 * started and waited for) with its severity and every indicator. Detective missing or
 * misconfigured is reported, not thrown: the flow-log analysis does not depend on it.
 */
export async function pullDetective(request: DetectivePullRequest, options: DetectivePullOptions): Promise<DetectiveReport> {
  const report: DetectiveReport = { available: false, region: request.region, existingInvestigations: [], warnings: [] };
  const throttle = options.throttle ?? DEFAULT_THROTTLE_RETRY;
  const caller: DetectiveAccess = { client: (fresh) => options.clients.detective(request.region, { fresh }), throttle };
  const step = options.onStep ?? (() => undefined);

  let graph: BehaviorGraph;
  try {
    step(`Finding the Detective behavior graph of ${request.region}`);
    graph = await findBehaviorGraph(caller, request.region);
  } catch (error) {
    if (error instanceof DetectiveUnavailableError) return { ...report, reason: error.message };
    throw error;
  }
  const access: DetectiveAccess =
    graph.via === 'caller'
      ? caller
      : { client: (fresh) => options.clients.detective(request.region, { accountId: graph.administratorAccountId, fresh }), throttle };
  Object.assign(report, { available: true, graphArn: graph.arn, administratorAccountId: graph.administratorAccountId, graphVia: graph.via });

  try {
    step(`Checking account ${request.accountId} in graph ${graph.arn}`);
    report.member = await graphMembership(access, graph, request.accountId);
    if (report.member.status !== 'ENABLED' && report.member.status !== 'ADMINISTRATOR') {
      report.warnings.push(
        `Account ${request.accountId} is ${report.member.status === 'NOT_MEMBER' ? 'not a member of' : `${report.member.status} in`} the Detective graph of ${request.region}${report.member.reason ? ` (${report.member.reason})` : ''}; Detective has no data on it.`,
      );
    }
    const history = await coreIngestHistory(access, graph, request.accountId);
    const coverage = ingestCoverage(history, request.window);
    const message = describeIngestCoverage(coverage, request.accountId, request.window);
    report.coreIngest = {
      coverage,
      history: Object.fromEntries(Object.entries(history).map(([state, at]) => [state, at.toISOString()])),
      message,
    };
    if (coverage !== 'ingesting') report.warnings.push(message);

    if (!request.principalArn) {
      report.warnings.push('There is no IAM role or user to investigate: Detective investigations (StartInvestigation) cover IAM roles and users only.');
      return report;
    }
    report.entityArn = request.principalArn;
    if (report.member.status === 'NOT_MEMBER') return report;

    step(`Listing Detective investigations of ${request.principalArn}`);
    report.existingInvestigations = await listEntityInvestigations(access, graph.arn, request.principalArn);
    report.investigation = await investigate(access, graph.arn, request, report, options, step);
    return report;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      return { ...report, available: false, reason: `The Detective behavior graph ${graph.arn} was not found (${(error as Error).message}); check that Detective is still enabled in ${request.region}.` };
    }
    throw error;
  }
}

async function investigate(
  access: DetectiveAccess,
  graphArn: string,
  request: DetectivePullRequest,
  report: DetectiveReport,
  options: DetectivePullOptions,
  step: (message: string) => void,
): Promise<DetectiveInvestigationResult | undefined> {
  const principalArn = request.principalArn ?? '';
  const now = options.now ?? Date.now;
  // Detective investigates up to now, not into the future.
  const scope = { from: request.window.from, to: new Date(Math.min(request.window.to.getTime(), now())) };

  let reused: InvestigationSummary | undefined;
  for (const candidate of report.existingInvestigations.filter((entry) => entry.status !== 'FAILED').slice(0, REUSE_CANDIDATES)) {
    const detail = await getInvestigation(access, graphArn, candidate.id);
    if (coversWindow(detail, scope)) {
      reused = detail;
      break;
    }
  }

  let investigationId = reused?.id;
  if (!investigationId) {
    try {
      step(`Starting a Detective investigation of ${principalArn}`);
      investigationId = await startInvestigation(access, graphArn, principalArn, scope);
    } catch (error) {
      if (errorName(error) === 'ValidationException') {
        report.warnings.push(`Detective refused to investigate ${principalArn}: ${(error as Error).message}`);
        return undefined;
      }
      throw error;
    }
  }

  step(`Waiting for Detective investigation ${investigationId}`);
  const { investigation, timedOut } = await waitForInvestigation(access, graphArn, investigationId, {
    timeoutMs: options.timeoutMs ?? 10 * 60_000,
    pollMs: options.pollMs ?? 5_000,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    now,
  }, reused);
  if (timedOut) report.warnings.push(`Detective investigation ${investigationId} was still ${investigation.status ?? 'running'} when orgshield stopped waiting; run again later to collect it.`);
  if (investigation.status === 'FAILED') report.warnings.push(`Detective investigation ${investigationId} failed.`);
  const indicators = investigation.status === 'SUCCESSFUL' ? await listIndicators(access, graphArn, investigationId) : [];
  return { ...investigation, reused: reused !== undefined, timedOut, indicators };
}

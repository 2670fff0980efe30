export { GuardDutyFindingSchema } from './finding-schema.js';
export type { GuardDutyFinding } from './finding-schema.js';
export { normalizeFinding, parseFindingJson, severityLabel } from './finding-normalize.js';
export type { FindingNetworkInterface, FindingPrincipal, FindingRemote, NormalizedFinding, SeverityLabel } from './finding-normalize.js';
export {
  DEFAULT_ENTITY_WINDOW_MS,
  FINDING_WINDOW_END_PAD_MS,
  FINDING_WINDOW_START_PAD_MS,
  FLOW_LOG_DELIVERY_DELAY_MS,
  findingWindow,
  requestWindow,
} from './investigation-window.js';
export type { TimeWindow } from './investigation-window.js';
export { InvestigationRequestSchema, parseInvestigationRequest } from './investigation-request.js';
export type { InvestigationRequest } from './investigation-request.js';
export { investigationClients, isExpiredCredentials, isThrottled, retryThrottled, withFreshCredentials } from './investigation-aws.js';
export type { InvestigationClients, ThrottleRetry } from './investigation-aws.js';
export { resolveEntity, roleArnFromInstanceProfile } from './investigation-entity.js';
export type { EntityLookup, EntityNetworkInterface, InvestigationSubject, ResolvedEntity } from './investigation-entity.js';
export { DetectiveUnavailableError, findBehaviorGraph, graphMembership, coreIngestHistory } from './detective-graph.js';
export type { BehaviorGraph, DetectiveAccess, GraphMembership } from './detective-graph.js';
export { describeIngestCoverage, ingestCoverage } from './detective-ingest.js';
export type { IngestCoverage, IngestHistory, IngestState } from './detective-ingest.js';
export { listEntityInvestigations, getInvestigation, startInvestigation, waitForInvestigation, listIndicators } from './detective-investigation.js';
export type { DetectiveIndicator, InvestigationSummary } from './detective-investigation.js';
export { pullDetective } from './detective-pull.js';
export type { DetectiveInvestigationResult, DetectivePullOptions, DetectivePullRequest, DetectiveReport } from './detective-pull.js';
export { parseS3Url, s3ObjectSource } from './s3-object-source.js';
export type { S3Location, S3ObjectSource } from './s3-object-source.js';
export { planFlowLogs } from './investigation-flow-logs.js';
export type { FlowLogAccess, FlowLogPlan } from './investigation-flow-logs.js';
export { InvestigationResultSchema, runInvestigation } from './investigation-run.js';
export type { InvestigationDeps, InvestigationProgress, InvestigationResult } from './investigation-run.js';
// The flow-log half, also importable on its own without the AWS clients (the same names as ./flow-logs.ts).
export { DEFAULT_FLOW_LOG_FORMAT, FLOW_LOG_FIELDS, MAX_LINE_BYTES, REQUIRED_FLOW_LOG_FIELDS, readFlowLogHeader } from './flow-log-format.js';
export type { FlowLogField, HeaderReading } from './flow-log-format.js';
export { flowLogKeyPrefixes, listFlowLogFiles } from './flow-log-reader.js';
export type { FlowLogInput, FlowLogKeyPrefixOptions, FlowLogObjectSource, LocalFlowLogFile } from './flow-log-reader.js';
export { MAX_PROBLEMS_PER_FILE } from './flow-log-problems.js';
export type { FlowLogProblem, FlowLogProblemCode } from './flow-log-problems.js';
export { directionFromPorts, MAX_CONVERSATIONS } from './flow-accumulator.js';
export type { FlowDirection, RecordCounts } from './flow-accumulator.js';
export { analyzeFlowLogs, DEFAULT_MEMORY_BYTES, flowAnalysisOptionsSchema } from './flow-analysis.js';
export type { Conversation, ConversationList, FlowAnalysis, FlowAnalysisOptions, FlowAnalysisProgress, FlowQuery } from './flow-analysis.js';
export { CONVERSATION_CSV_COLUMNS, writeConversationsCsv, writeFlowAnalysisJson } from './flow-output.js';
export type { OutputSink } from './flow-output.js';
export {
  ADMIN_PORTS, BRUTE_FORCE_MAX_CONNECTION_BYTES, BRUTE_FORCE_MAX_CONNECTION_SECONDS, BRUTE_FORCE_MIN_CONNECTIONS, DDOS_FACTOR, DDOS_MIN_NEW_REMOTE_IPS,
  EXFILTRATION_MIN_BYTES, FINDING_KINDS, PORT_SCAN_MIN_LOCAL_PORTS,
} from './flow-findings.js';
export type { FindingMark, FlowEvidence, FlowFinding, FlowFindingKind } from './flow-findings.js';
export {
  BUCKET_SIZES, MAX_TIMELINE_BUCKETS, SPIKE_BASELINE_BUCKETS, SPIKE_FACTOR, SPIKE_MIN_EXTRA_BYTES, SPIKE_MIN_HISTORY, TIMELINE_TARGET_BUCKETS,
} from './flow-timeline.js';
export type { TimelineBucket } from './flow-timeline.js';
export { normalizeIp, parseCidr } from './flow-ip.js';
export { buildFlowReport, REPORT_CONVERSATION_LIMIT, REPORT_TOP_LIMIT, writeFlowReport } from './flow-report.js';
export type { FlowReportContext, WrittenFlowReport } from './flow-report.js';
export { flowAnalysisJsonSchema, flowFindingSchema, flowReportSchema, recordCountsSchema, renderFlowReportJson, reportSectionSchema } from './report-json.js';
export type { FlowReport, ReportSection } from './report-json.js';
export { renderFlowReportMarkdown } from './report-markdown.js';
export { renderFlowReportHtml } from './report-html.js';
export { formatBytes, protocolName } from './report-format.js';

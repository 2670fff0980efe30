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
export { INVESTIGATIONS_JOBS, INVESTIGATIONS_QUEUE, investigationRunJob } from './investigation-job.js';
export type { InvestigationDeps, InvestigationProgress, InvestigationResult } from './investigation-run.js';
// The flow-log half, also importable on its own without the AWS clients as ./flow-logs.
export {
  ADMIN_PORTS, analyzeFlowLogs, BRUTE_FORCE_MAX_CONNECTION_BYTES, BRUTE_FORCE_MAX_CONNECTION_SECONDS, BRUTE_FORCE_MIN_CONNECTIONS, BUCKET_SIZES,
  buildFlowReport, CONVERSATION_CSV_COLUMNS, DDOS_FACTOR, DDOS_MIN_NEW_REMOTE_IPS, DEFAULT_FLOW_LOG_FORMAT, DEFAULT_MEMORY_BYTES, directionFromPorts,
  DEFAULT_FLOW_THRESHOLDS, EXFILTRATION_ASYMMETRY, EXFILTRATION_BASELINE_FACTOR, EXFILTRATION_GAP_SECONDS, EXFILTRATION_MIN_BYTES,
  EXFILTRATION_RECURRING_MIN_DAYS, EXFILTRATION_RECURRING_SHARE, flowThresholdsSchema, PRIVATE_RANGES,
  FINDING_KINDS, FLOW_LOG_FIELDS, flowAnalysisJsonSchema, flowAnalysisOptionsSchema, flowFindingSchema, flowLogKeyPrefixes,
  flowReportSchema, formatBytes, isIntegrityProblem, listFlowLogFiles, MAX_CONVERSATIONS, MAX_LINE_BYTES, MAX_PROBLEMS_PER_FILE, MAX_TIMELINE_BUCKETS, normalizeIp,
  parseCidr, PORT_SCAN_MIN_LOCAL_PORTS, protocolName, readFlowLogHeader, recordCountsSchema, renderFlowReportHtml, renderFlowReportJson,
  renderFlowReportMarkdown, REPORT_CONVERSATION_LIMIT, REPORT_TOP_LIMIT, reportSectionSchema, REQUIRED_FLOW_LOG_FIELDS, SPIKE_BASELINE_BUCKETS,
  SPIKE_FACTOR, SPIKE_MIN_EXTRA_BYTES, SPIKE_MIN_HISTORY, TIMELINE_TARGET_BUCKETS, writeConversationsCsv, writeFlowAnalysisJson, writeFlowReport,
} from './flow-logs.js';
export type {
  Conversation, ConversationList, FindingMark, FlowAnalysis, FlowAnalysisOptions, FlowAnalysisProgress, FlowDirection, FlowEvidence, FlowFinding,
  FlowFindingKind, FlowThresholds, FlowLogField, FlowLogInput, FlowLogKeyPrefixOptions, FlowLogObjectSource, FlowLogProblem, FlowLogProblemCode, FlowQuery,
  FlowReport, FlowReportContext, HeaderReading, LocalFlowLogFile, OutputSink, RecordCounts, ReportSection, TimelineBucket, WrittenFlowReport,
} from './flow-logs.js';
export { INVESTIGATIONS_AWS_OPERATIONS } from './aws-operations.js';
export { administratorDetector, findingCriteria, getOrganizationFinding, GUARDDUTY_BATCH, listOrganizationFindings } from './guardduty-findings.js';
export type { FindingFilters, RegionFindings } from './guardduty-findings.js';

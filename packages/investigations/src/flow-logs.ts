/**
 * The flow-log half of the package on its own: reading, analysis and reports, without
 * the AWS clients the rest of the package loads. `@orgshield/investigations/flow-logs`
 * is for callers that only analyse files (the `flows analyze` command, benchmarks);
 * everything here is also exported by the package's main entry.
 */
export { DEFAULT_FLOW_LOG_FORMAT, FLOW_LOG_FIELDS, MAX_LINE_BYTES, REQUIRED_FLOW_LOG_FIELDS, readFlowLogHeader } from './flow-log-format.js';
export type { FlowLogField, HeaderReading } from './flow-log-format.js';
export { flowLogKeyPrefixes, listFlowLogFiles } from './flow-log-reader.js';
export type { FlowLogInput, FlowLogKeyPrefixOptions, FlowLogObjectSource, LocalFlowLogFile } from './flow-log-reader.js';
export { isIntegrityProblem, MAX_PROBLEMS_PER_FILE } from './flow-log-problems.js';
export type { FlowLogProblem, FlowLogProblemCode } from './flow-log-problems.js';
export { directionFromPorts, MAX_CONVERSATIONS } from './flow-accumulator.js';
export type { FlowDirection, RecordCounts } from './flow-accumulator.js';
export { analyzeFlowLogs, DEFAULT_MEMORY_BYTES, flowAnalysisOptionsSchema } from './flow-analysis.js';
export type { Conversation, ConversationList, FlowAnalysis, FlowAnalysisOptions, FlowAnalysisProgress, FlowQuery } from './flow-analysis.js';
export { CONVERSATION_CSV_COLUMNS, fileSink, writeConversationsCsv, writeFlowAnalysisJson } from './flow-output.js';
export type { OutputSink } from './flow-output.js';
export {
  ADMIN_PORTS, BRUTE_FORCE_MAX_CONNECTION_BYTES, BRUTE_FORCE_MAX_CONNECTION_SECONDS, BRUTE_FORCE_MIN_CONNECTIONS, DDOS_FACTOR, DDOS_MIN_NEW_REMOTE_IPS,
  DEFAULT_FLOW_THRESHOLDS, EXFILTRATION_ASYMMETRY, EXFILTRATION_BASELINE_FACTOR, EXFILTRATION_GAP_SECONDS, EXFILTRATION_MIN_BYTES, EXFILTRATION_RECURRING_MIN_DAYS,
  EXFILTRATION_RECURRING_SHARE, FINDING_KINDS, flowThresholdsSchema, PORT_SCAN_MIN_LOCAL_PORTS, PRIVATE_RANGES,
} from './flow-findings.js';
export type { FindingMark } from './flow-finding-mark.js';
export type { FlowEvidence, FlowFinding, FlowFindingKind, FlowThresholds } from './flow-findings.js';
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

/**
 * The JSON flow report: its schema (the documented contract, README "Flow report JSON")
 * and its serialization. The Markdown and HTML reports render the same object.
 */
import { z } from 'zod';
import { FINDING_KINDS } from './flow-findings.js';

const isoTime = z.iso.datetime();
const count = z.number().int().nonnegative();
const port = z.number().int().min(0).max(65535);

export const recordCountsSchema = z.object({
  total: count,
  matched: count,
  nodata: count,
  skipdata: count,
}).strict();

export const conversationSchema = z.object({
  remoteIp: z.string(),
  localPort: port,
  remotePort: port,
  protocol: z.number().int().min(0).max(255),
  direction: z.enum(['inbound', 'outbound', 'unknown']),
  inBytes: count,
  outBytes: count,
  inPackets: count,
  outPackets: count,
  accepted: count,
  rejected: count,
  firstSeen: isoTime,
  lastSeen: isoTime,
  fromFinding: z.literal(true).optional(),
}).strict();

export const timelineBucketSchema = z.object({
  start: isoTime,
  end: isoTime,
  inBytes: count,
  outBytes: count,
  accepted: count,
  rejected: count,
  baselineBytes: z.number().nonnegative().nullable(),
  spike: z.boolean(),
}).strict();

export const flowFindingSchema = z.object({
  kind: z.enum(FINDING_KINDS),
  remoteIp: z.string().optional(),
  localPort: port.optional(),
  evidence: z.object({
    summary: z.string(),
    from: isoTime,
    to: isoTime,
    metrics: z.record(z.string(), z.number()),
    examples: z.array(z.string()),
  }).strict(),
  fromFinding: z.literal(true).optional(),
}).strict();

export const flowLogProblemSchema = z.object({
  file: z.string(),
  line: z.number().int().positive().optional(),
  code: z.enum(['malformed-record', 'line-too-long', 'truncated-gzip', 'unknown-field', 'missing-field', 'unsupported-file', 'unreadable', 'skipped-link', 'link-loop', 'more-problems']),
  message: z.string(),
}).strict();

/** `orgshield flows analyze --output json`. */
export const flowAnalysisJsonSchema = z.object({
  records: recordCountsSchema,
  conversations: z.array(conversationSchema),
  timeline: z.array(timelineBucketSchema),
  findings: z.array(flowFindingSchema),
  problems: z.array(flowLogProblemSchema),
}).strict();

/** A table of context a caller adds to the report (for instance what Detective knows). */
export const reportSectionSchema = z.object({
  title: z.string(),
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))),
}).strict();

export const flowReportSchema = z.object({
  schemaVersion: z.literal(1),
  title: z.string(),
  generatedAt: isoTime,
  subject: z.object({
    localIps: z.array(z.string()),
    eni: z.string().nullable(),
    files: count,
  }).strict(),
  window: z.object({ from: isoTime.nullable(), to: isoTime.nullable() }).strict(),
  bucketSeconds: z.number().int().positive(),
  filters: z.object({
    remote: z.array(z.string()),
    localPorts: z.array(port),
    remotePorts: z.array(port),
    protocols: z.array(z.number().int()),
    direction: z.enum(['inbound', 'outbound']).nullable(),
    action: z.enum(['ACCEPT', 'REJECT']).nullable(),
  }).strict(),
  records: recordCountsSchema,
  findings: z.array(flowFindingSchema),
  timeline: z.array(timelineBucketSchema),
  topPorts: z.array(z.object({
    localPort: port,
    protocol: z.number().int(),
    conversations: count,
    remoteIps: count,
    inBytes: count,
    outBytes: count,
  }).strict()),
  topTalkers: z.array(z.object({
    remoteIp: z.string(),
    conversations: count,
    inBytes: count,
    outBytes: count,
    accepted: count,
    rejected: count,
    fromFinding: z.literal(true).optional(),
  }).strict()),
  /** Largest first, at most the report's conversation limit; `conversationCount` says how many there were. */
  conversations: z.array(conversationSchema),
  conversationCount: count,
  /** The conversations beyond those listed, totalled. */
  otherConversations: z.object({ conversations: count, inBytes: count, outBytes: count, accepted: count, rejected: count }).strict(),
  /** The file, beside the report, that lists every conversation (null: not written). */
  conversationsCsv: z.string().nullable(),
  problems: z.array(flowLogProblemSchema),
  problemCount: count,
  sections: z.array(reportSectionSchema),
}).strict();

export type FlowReport = z.infer<typeof flowReportSchema>;
export type ReportSection = z.infer<typeof reportSectionSchema>;

export function renderFlowReportJson(report: FlowReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

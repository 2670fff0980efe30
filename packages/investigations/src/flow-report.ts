/**
 * A flow report: the analysis shaped for people (top ports, top talkers, the largest
 * conversations) plus any context the caller adds, written as JSON, Markdown and HTML.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { InvalidInputError } from '@orgshield/errors';
import { join } from 'node:path';
import type { ConversationList } from './flow-accumulator.js';
import type { FlowAnalysis } from './flow-analysis.js';
import { fileSink, writeConversationsCsv } from './flow-output.js';
import { type FlowReport, type ReportSection, renderFlowReportJson } from './report-json.js';
import { renderFlowReportHtml } from './report-html.js';
import { renderFlowReportMarkdown } from './report-markdown.js';

/** Conversations a report lists (the JSON of `flows analyze` has them all). */
export const REPORT_CONVERSATION_LIMIT = 500;
/** Rows of the top-ports and top-talkers charts. */
export const REPORT_TOP_LIMIT = 10;
/** The file beside the report that lists every conversation. */
export const REPORT_CONVERSATIONS_CSV = 'flow-conversations.csv';

export interface FlowReportContext {
  title?: string;
  /** Extra tables, for instance what Detective knows about the entity. */
  sections?: ReportSection[];
  generatedAt?: Date;
  /** false: no CSV of every conversation is written beside the report (so none is linked). */
  conversationsCsv?: boolean;
}

export function buildFlowReport(analysis: FlowAnalysis, context: FlowReportContext = {}): FlowReport {
  const ports = new Map<string, FlowReport['topPorts'][number] & { ips: Set<string> }>();
  const talkers = new Map<string, FlowReport['topTalkers'][number]>();
  const rest = { conversations: 0, inBytes: 0, outBytes: 0, accepted: 0, rejected: 0 };
  let n = 0;
  for (const c of analysis.conversations) {
    if (n++ >= REPORT_CONVERSATION_LIMIT) {
      rest.conversations++;
      rest.inBytes += c.inBytes;
      rest.outBytes += c.outBytes;
      rest.accepted += c.accepted;
      rest.rejected += c.rejected;
    }
    const key = `${c.localPort}/${c.protocol}`;
    const port = ports.get(key) ?? { localPort: c.localPort, protocol: c.protocol, conversations: 0, remoteIps: 0, inBytes: 0, outBytes: 0, ips: new Set<string>() };
    ports.set(key, port);
    port.conversations++;
    port.inBytes += c.inBytes;
    port.outBytes += c.outBytes;
    port.ips.add(c.remoteIp);
    const talker = talkers.get(c.remoteIp) ?? { remoteIp: c.remoteIp, conversations: 0, inBytes: 0, outBytes: 0, accepted: 0, rejected: 0 };
    talkers.set(c.remoteIp, talker);
    talker.conversations++;
    talker.inBytes += c.inBytes;
    talker.outBytes += c.outBytes;
    talker.accepted += c.accepted;
    talker.rejected += c.rejected;
    if (c.fromFinding) talker.fromFinding = true;
  }
  const byBytes = (a: { inBytes: number; outBytes: number }, b: { inBytes: number; outBytes: number }): number => b.inBytes + b.outBytes - (a.inBytes + a.outBytes);
  return {
    schemaVersion: 1,
    title: context.title ?? 'VPC flow analysis',
    generatedAt: (context.generatedAt ?? new Date()).toISOString(),
    subject: { localIps: analysis.query.localIps, eni: analysis.query.eni, files: analysis.files },
    window: analysis.window,
    bucketSeconds: analysis.bucketSeconds,
    filters: analysis.query.filters,
    records: analysis.records,
    findings: analysis.findings,
    timeline: analysis.timeline,
    topPorts: [...ports.values()].sort(byBytes).slice(0, REPORT_TOP_LIMIT).map(({ ips, ...port }) => ({ ...port, remoteIps: ips.size })),
    topTalkers: [...talkers.values()].sort(byBytes).slice(0, REPORT_TOP_LIMIT),
    conversations: analysis.conversations.top(REPORT_CONVERSATION_LIMIT),
    conversationCount: analysis.conversations.length,
    otherConversations: rest,
    conversationsCsv: context.conversationsCsv === false ? null : REPORT_CONVERSATIONS_CSV,
    problems: analysis.problems,
    problemCount: analysis.problemCount,
    sections: context.sections ?? [],
  };
}

export interface WrittenFlowReport {
  json: string;
  markdown: string;
  html: string;
  /** Every conversation, when the report links it. */
  csv: string | null;
}

/**
 * Writes flow-report.json, flow-report.md and flow-report.html into dir (created if
 * needed), and the CSV of every conversation the report links, streamed from `conversations`.
 */
export async function writeFlowReport(dir: string, report: FlowReport, conversations?: ConversationList): Promise<WrittenFlowReport> {
  await mkdir(dir, { recursive: true });
  let csv: string | null = null;
  if (report.conversationsCsv !== null) {
    if (conversations === undefined) throw new Error('writeFlowReport: the report links the conversations CSV; pass the conversations to write it.');
    csv = join(dir, report.conversationsCsv);
    const handle = await openForWriting(csv);
    try {
      await writeConversationsCsv(conversations, fileSink(handle));
    } finally {
      await handle.close();
    }
  }
  const written = { json: join(dir, 'flow-report.json'), markdown: join(dir, 'flow-report.md'), html: join(dir, 'flow-report.html'), csv };
  for (const [path, text] of [[written.json, renderFlowReportJson(report)], [written.markdown, renderFlowReportMarkdown(report)], [written.html, renderFlowReportHtml(report)]] as const) {
    const handle = await openForWriting(path);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
  }
  return written;
}

/**
 * Opens a report file for writing without following a symbolic link in its place: whoever can
 * write into the report folder must not make the worker overwrite a file elsewhere.
 */
async function openForWriting(path: string): Promise<FileHandle> {
  try {
    return await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOOP') throw error;
    throw new InvalidInputError(`${path} is a symbolic link; orgshield writes reports only into plain files, so it was left alone (remove it and run again).`, { cause: error });
  }
}

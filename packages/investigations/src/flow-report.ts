/**
 * A flow report: the analysis shaped for people (top ports, top talkers, the largest
 * conversations) plus any context the caller adds, written as JSON, Markdown and HTML.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlowAnalysis } from './flow-analysis.js';
import { type FlowReport, type ReportSection, renderFlowReportJson } from './report-json.js';
import { renderFlowReportHtml } from './report-html.js';
import { renderFlowReportMarkdown } from './report-markdown.js';

/** Conversations a report lists (the JSON of `flows analyze` has them all). */
export const REPORT_CONVERSATION_LIMIT = 500;
/** Rows of the top-ports and top-talkers charts. */
export const REPORT_TOP_LIMIT = 10;

export interface FlowReportContext {
  title?: string;
  /** Extra tables, for instance what Detective knows about the entity. */
  sections?: ReportSection[];
  generatedAt?: Date;
}

export function buildFlowReport(analysis: FlowAnalysis, context: FlowReportContext = {}): FlowReport {
  const ports = new Map<string, FlowReport['topPorts'][number] & { ips: Set<string> }>();
  const talkers = new Map<string, FlowReport['topTalkers'][number]>();
  for (const c of analysis.conversations) {
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
    conversations: analysis.conversations.slice(0, REPORT_CONVERSATION_LIMIT),
    conversationCount: analysis.conversations.length,
    problems: analysis.problems,
    problemCount: analysis.problemCount,
    sections: context.sections ?? [],
  };
}

export interface WrittenFlowReport {
  json: string;
  markdown: string;
  html: string;
}

/** Writes flow-report.json, flow-report.md and flow-report.html into dir (created if needed). */
export async function writeFlowReport(dir: string, report: FlowReport): Promise<WrittenFlowReport> {
  await mkdir(dir, { recursive: true });
  const written = { json: join(dir, 'flow-report.json'), markdown: join(dir, 'flow-report.md'), html: join(dir, 'flow-report.html') };
  await writeFile(written.json, renderFlowReportJson(report));
  await writeFile(written.markdown, renderFlowReportMarkdown(report));
  await writeFile(written.html, renderFlowReportHtml(report));
  return written;
}

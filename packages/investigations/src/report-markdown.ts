/** The flow report as Markdown: what a person pastes into a ticket. */
import { markdownText } from '@orgshield/errors';
import { formatBytes, formatCount, formatTime, protocolName } from './report-format.js';
import type { FlowReport } from './report-json.js';

/** Rows of the conversation table in Markdown (the HTML page shows more). */
const MARKDOWN_CONVERSATIONS = 50;
const SPARKS = '▁▂▃▄▅▆▇█';

/** Every value from the input (names, titles, file names, flow-log text) goes through here: literal text, one line. */
function cell(value: string | number | boolean | null): string {
  return markdownText(String(value ?? ''));
}

function table(header: readonly string[], rows: readonly (readonly (string | number | boolean | null)[])[]): string {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

function sparkline(values: readonly number[]): string {
  const max = Math.max(...values, 1);
  return values.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * SPARKS.length))]).join('');
}

export function renderFlowReportMarkdown(report: FlowReport): string {
  const out: string[] = [];
  out.push(`# ${cell(report.title)}`, '');
  out.push(
    `Generated ${formatTime(report.generatedAt)} from ${report.subject.files} flow log files. ` +
    `Window ${formatTime(report.window.from)} to ${formatTime(report.window.to)}; ` +
    `local addresses ${report.subject.localIps.length > 0 ? cell(report.subject.localIps.join(', ')) : 'from flow-direction'}` +
    `${report.subject.eni === null ? '' : `; interface ${cell(report.subject.eni)}`}.`,
    '',
  );
  out.push(table(['Records', 'Matched', 'NODATA', 'SKIPDATA', 'Conversations', 'Problems'], [[
    formatCount(report.records.total), formatCount(report.records.matched), formatCount(report.records.nodata),
    formatCount(report.records.skipdata), formatCount(report.conversationCount), formatCount(report.problemCount),
  ]]), '');

  out.push('## Findings', '');
  if (report.findings.length === 0) out.push('No findings.', '');
  for (const f of report.findings) {
    const who = [f.remoteIp, f.localPort === undefined ? undefined : `port ${f.localPort}`].filter(Boolean).join(', ');
    out.push(`- **${cell(f.kind)}**${who === '' ? '' : ` (${cell(who)})`}${f.fromFinding ? ' **[from the GuardDuty finding]**' : ''}: ${cell(f.evidence.summary)} ${formatTime(f.evidence.from)} to ${formatTime(f.evidence.to)}.`);
  }
  if (report.findings.length > 0) out.push('');

  out.push('## Timeline', '');
  if (report.timeline.length === 0) {
    out.push('No matching records.', '');
  } else {
    out.push(`Bytes per ${report.bucketSeconds / 60} minutes, ${formatTime(report.timeline[0]!.start)} to ${formatTime(report.timeline.at(-1)!.end)}:`, '');
    out.push(`\`${sparkline(report.timeline.map((b) => b.inBytes + b.outBytes))}\``, '');
    const spikes = report.timeline.filter((b) => b.spike);
    if (spikes.length > 0) {
      out.push(table(['Spike at', 'In', 'Out', 'Baseline'], spikes.map((b) => [formatTime(b.start), formatBytes(b.inBytes), formatBytes(b.outBytes), formatBytes(b.baselineBytes ?? 0)])), '');
    }
  }

  out.push('## Top ports', '');
  out.push(table(['Local port', 'Conversations', 'Remote IPs', 'In', 'Out'], report.topPorts.map((p) => [
    `${p.localPort}/${protocolName(p.protocol)}`, p.conversations, p.remoteIps, formatBytes(p.inBytes), formatBytes(p.outBytes),
  ])), '');
  out.push('## Top talkers', '');
  out.push(table(['Remote IP', 'Conversations', 'In', 'Out', 'Accepted', 'Rejected'], report.topTalkers.map((t) => [
    `${t.remoteIp}${t.fromFinding ? ' (finding)' : ''}`, t.conversations, formatBytes(t.inBytes), formatBytes(t.outBytes), t.accepted, t.rejected,
  ])), '');

  out.push('## Conversations', '');
  const shown = report.conversations.slice(0, MARKDOWN_CONVERSATIONS);
  const rest = report.otherConversations;
  const others = rest.conversations === 0 ? '' : `; beyond the ${report.conversations.length} in flow-report.json, the other ${formatCount(rest.conversations)} moved ${formatBytes(rest.inBytes)} in and ${formatBytes(rest.outBytes)} out`;
  const csv = report.conversationsCsv === null ? '' : ` Every conversation: [${cell(report.conversationsCsv)}](${encodeURI(report.conversationsCsv)}).`;
  out.push(`The ${shown.length} largest of ${formatCount(report.conversationCount)}${others}.${csv}`, '');
  out.push(table(['Remote IP', 'Local port', 'Remote port', 'Protocol', 'Direction', 'In', 'Out', 'Accepted', 'Rejected', 'First seen', 'Last seen'], shown.map((c) => [
    `${c.remoteIp}${c.fromFinding ? ' (finding)' : ''}`, c.localPort, c.remotePort, protocolName(c.protocol), c.direction,
    formatBytes(c.inBytes), formatBytes(c.outBytes), c.accepted, c.rejected, formatTime(c.firstSeen), formatTime(c.lastSeen),
  ])), '');

  for (const section of report.sections) {
    out.push(`## ${cell(section.title)}`, '');
    const columns = [...new Set(section.rows.flatMap((row) => Object.keys(row)))];
    out.push(section.rows.length === 0 ? 'Nothing.' : table(columns, section.rows.map((row) => columns.map((c) => row[c] ?? null))), '');
  }

  if (report.problemCount > 0) {
    out.push('## Problems in the input', '');
    out.push(`${formatCount(report.problemCount)} problems; the rest of the input was analysed.`, '');
    for (const p of report.problems) out.push(`- ${cell(p.message)}`);
    out.push('');
  }
  return out.join('\n');
}

import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFlowLogFiles } from '@orgshield/sandbox/flow-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFlowLogs, type FlowAnalysis } from './flow-analysis.js';
import { buildFlowReport, REPORT_CONVERSATION_LIMIT, writeFlowReport } from './flow-report.js';
import { flowReportSchema } from './report-json.js';
import { renderFlowReportHtml } from './report-html.js';
import { renderFlowReportMarkdown } from './report-markdown.js';

const from = new Date('2025-06-01T00:00:00Z');
const at = (hours: number): Date => new Date(from.getTime() + hours * 3600_000);
let dir: string;
let analysis: FlowAnalysis;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flow-report-'));
  await writeFlowLogFiles({
    seed: 3, from, to: at(6), recordsPerMinute: 150, localIp: '10.0.1.25',
    incidents: [{ kind: 'port-scan', remoteIp: '45.33.32.156', at: at(2) }, { kind: 'spike', at: at(4) }],
  }, { dir: join(dir, 'logs'), files: 6 });
  analysis = await analyzeFlowLogs({ paths: [join(dir, 'logs')] }, { localIps: ['10.0.1.25'], markFrom: { ips: ['45.33.32.156'], ports: [] } });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('buildFlowReport', () => {
  it('is valid against the documented schema, with top ports, top talkers and the largest conversations', () => {
    const report = buildFlowReport(analysis, { title: 'i-0abc investigation', generatedAt: from });
    expect(flowReportSchema.parse(report)).toEqual(report);
    expect(report.conversations).toHaveLength(REPORT_CONVERSATION_LIMIT);
    expect(report.conversationCount).toBe([...analysis.conversations].length);
    expect(report.topPorts[0]).toMatchObject({ localPort: 443, protocol: 6 });
    const totals = [...analysis.conversations].filter((c) => c.localPort === 443 && c.protocol === 6);
    expect(report.topPorts[0]!.inBytes).toBe(totals.reduce((n, c) => n + c.inBytes, 0));
    expect(report.topPorts[0]!.remoteIps).toBe(new Set(totals.map((c) => c.remoteIp)).size);
    const talkers = report.topTalkers.map((t) => t.inBytes + t.outBytes);
    expect(talkers).toEqual([...talkers].sort((a, b) => b - a));
  });

  it('writes JSON, Markdown and HTML next to each other', async () => {
    const written = await writeFlowReport(join(dir, 'out'), buildFlowReport(analysis), analysis.conversations);
    expect(flowReportSchema.parse(JSON.parse(await readFile(written.json, 'utf8'))).records).toEqual(analysis.records);
    expect(await readFile(written.markdown, 'utf8')).toMatch(/^# VPC flow analysis\n/);
    expect(await readFile(written.html, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('never follows a symbolic link planted in place of a report file', async () => {
    const out = join(dir, 'planted');
    await mkdir(out);
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'keep me');
    await symlink(victim, join(out, 'flow-report.html'));
    await expect(writeFlowReport(out, buildFlowReport(analysis), analysis.conversations)).rejects.toThrow(
      `${join(out, 'flow-report.html')} is a symbolic link; orgshield writes reports only into plain files, so it was left alone (remove it and run again).`,
    );
    expect(await readFile(victim, 'utf8')).toBe('keep me');
  });
});

describe('reports of hostile text', () => {
  // What a finding, Detective, a flow-log file name or an AWS name can carry.
  const HOSTILE = 'x|y `c` [link](https://evil.example) <img src=x onerror=alert(1)> \x1b[31mred\r\nline2\0';
  const report = () => ({
    ...buildFlowReport(analysis, { title: `i-0abc ${HOSTILE}`, sections: [{ title: `Detective ${HOSTILE}`, rows: [{ indicator: HOSTILE, count: 1 }] }] }),
    problems: [{ file: `/logs/${HOSTILE}.log`, code: 'malformed-record' as const, message: `/logs/${HOSTILE}.log:3 has protocol '${HOSTILE}'` }],
    problemCount: 1,
  });

  it('Markdown keeps it literal: no HTML tag, link, code span, new table cell, line break or terminal escape', () => {
    const md = renderFlowReportMarkdown(report());
    const lines = md.split('\n').filter((line) => line.includes('evil.example'));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      expect(line).not.toMatch(/<img|[^\\]\[link\]|[^\\]`/);
      for (const c of ['\x1b', '\r', '\0']) expect(line).not.toContain(c);
      expect(line).toContain('x\\|y \\`c\\` \\[link\\](https://evil.example) &lt;img src=x onerror=alert(1)&gt; \\\\x1b\\[31mred\\\\r line2\\\\x00');
    }
    expect(md).toContain('# i-0abc x\\|y');
    expect(md).toContain('| x\\|y');
  });

  it('HTML escapes it and shows control characters; the JSON keeps it exact', async () => {
    const html = renderFlowReportHtml(report());
    expect(html).not.toContain('<img src=x');
    for (const c of ['\x1b', '\0']) expect(html).not.toContain(c);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; \\x1b[31mred\\r');
    const out = join(dir, 'hostile');
    const written = await writeFlowReport(out, report(), analysis.conversations);
    const json = JSON.parse(await readFile(written.json, 'utf8')) as { title: string; problems: { message: string }[] };
    expect(json.title).toBe(`i-0abc ${HOSTILE}`);
    expect(json.problems[0]!.message).toContain(HOSTILE);
  });
});

describe('renderFlowReportMarkdown', () => {
  it('lists findings with their evidence, the spikes and tables that survive pipes in values', () => {
    const md = renderFlowReportMarkdown(buildFlowReport(analysis, { sections: [{ title: 'Detective', rows: [{ indicator: 'a|b', count: 2 }] }] }));
    expect(md).toMatch(/- \*\*port-scan\*\* \(45\.33\.32\.156\) \*\*\[from the GuardDuty finding\]\*\*: 45\.33\.32\.156 reached 300 local ports/);
    expect(md).toMatch(/- \*\*traffic-spike\*\*: Traffic reached/);
    expect(md).toMatch(/\| Spike at \| In \| Out \| Baseline \|\n\| --- \| --- \| --- \| --- \|\n\| 2025-06-01 04:00:00Z \|/);
    expect(md).toContain('| a\\|b | 2 |');
    expect(md).toContain('| 443/tcp |');
  });
});

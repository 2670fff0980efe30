/**
 * The flow report as one self-contained HTML page: inline CSS, inline SVG charts (the
 * timeline with its spikes, top ports, top talkers), sortable tables driven by a few
 * lines of inline script. A Content-Security-Policy forbids loading anything else, so
 * the page opens the same offline, from an email or from an S3 bucket.
 */
import { htmlText } from '@orgshield/errors';
import { formatBytes, formatCount, formatTime, protocolName } from './report-format.js';
import type { FlowReport } from './report-json.js';

const esc = (value: unknown): string => htmlText(String(value ?? ''));

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1d2330}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.meta{color:#5b6577}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #dde2ea;border-radius:6px;padding:8px 14px}.card b{display:block;font-size:18px}
.finding{border-left:4px solid #c2410c;background:#fff7ed;padding:8px 12px;margin:8px 0;border-radius:0 6px 6px 0}
.finding.marked{border-left-color:#7c3aed;background:#f5f3ff}.kind{font-weight:600;text-transform:uppercase;font-size:12px;letter-spacing:.04em}
.tag{background:#7c3aed;color:#fff;border-radius:4px;padding:0 6px;font-size:12px;margin-left:6px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eef1f5;text-align:left}
th{cursor:pointer;user-select:none;background:#f6f8fb;position:sticky;top:0}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}td.n,th.n{text-align:right}tr.marked td{background:#f5f3ff}
svg text{font:11px system-ui,sans-serif;fill:#5b6577}.in{fill:#2563eb}.out{fill:#f59e0b}.spike-marker{fill:#dc2626}
.baseline{fill:none;stroke:#111827;stroke-dasharray:4 3;stroke-width:1}.bar{fill:#2563eb}.legend span{margin-right:14px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.swatch.in{background:#2563eb}.swatch.out{background:#f59e0b}.swatch.spike{background:#dc2626}
`;

const SCRIPT = `
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var order = th.getAttribute('aria-sort') === 'descending' ? 'ascending' : 'descending';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', order);
    var numeric = th.dataset.type === 'number';
    var key = function (row) { var c = row.cells[index]; var v = c.dataset.value !== undefined ? c.dataset.value : c.textContent; return numeric ? Number(v) : v; };
    var rows = Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b), d = numeric ? x - y : String(x).localeCompare(String(y));
      return order === 'ascending' ? d : -d;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
`;

interface Column<T> {
  title: string;
  numeric?: boolean;
  text: (row: T) => string;
  /** What the column sorts by, when not its text. */
  value?: (row: T) => number | string;
}

function sortableTable<T>(id: string, columns: readonly Column<T>[], rows: readonly T[], marked: (row: T) => boolean = () => false): string {
  const head = columns.map((c) => `<th${c.numeric ? ' class="n" data-type="number"' : ''}>${esc(c.title)}</th>`).join('');
  const body = rows.map((row) => {
    const cells = columns.map((c) => {
      const value = c.value === undefined ? '' : ` data-value="${esc(c.value(row))}"`;
      return `<td${c.numeric ? ' class="n"' : ''}${value}>${esc(c.text(row))}</td>`;
    }).join('');
    return `<tr${marked(row) ? ' class="marked"' : ''}>${cells}</tr>`;
  }).join('\n');
  return `<table class="sortable" id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function timelineChart(report: FlowReport): string {
  const buckets = report.timeline;
  if (buckets.length === 0) return '<p>No matching records.</p>';
  const width = 1060, height = 260, left = 64, right = 12, top = 18, bottom = 36;
  const plotW = width - left - right, plotH = height - top - bottom;
  const max = Math.max(...buckets.map((b) => Math.max(b.inBytes + b.outBytes, b.baselineBytes ?? 0)), 1);
  const step = plotW / buckets.length;
  const barW = Math.max(1, step * 0.85);
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const bars = buckets.map((b, i) => {
    const x = left + i * step;
    const inTop = y(b.inBytes);
    const outTop = y(b.inBytes + b.outBytes);
    const label = `${formatTime(b.start)}: in ${formatBytes(b.inBytes)}, out ${formatBytes(b.outBytes)}, ${b.accepted} accepted, ${b.rejected} rejected` +
      (b.baselineBytes === null ? '' : `, baseline ${formatBytes(b.baselineBytes)}`) + (b.spike ? ' (spike)' : '');
    const marker = b.spike ? `<path class="spike-marker" data-spike="true" d="M${(x + barW / 2).toFixed(1)} ${(outTop - 4).toFixed(1)} l-5 -9 h10 z"/>` : '';
    return `<g class="bucket${b.spike ? ' spike' : ''}" data-start="${esc(b.start)}" data-bytes="${b.inBytes + b.outBytes}"><title>${esc(label)}</title>` +
      `<rect class="in" x="${x.toFixed(1)}" y="${inTop.toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - inTop).toFixed(1)}"/>` +
      `<rect class="out" x="${x.toFixed(1)}" y="${outTop.toFixed(1)}" width="${barW.toFixed(1)}" height="${(inTop - outTop).toFixed(1)}"/>${marker}</g>`;
  }).join('\n');
  const baseline = buckets.map((b, i) => (b.baselineBytes === null ? null : `${(left + i * step + barW / 2).toFixed(1)},${y(b.baselineBytes).toFixed(1)}`)).filter((p) => p !== null);
  const ticks = ([[0, 'start'], [Math.floor(buckets.length / 2), 'middle'], [buckets.length - 1, 'end']] as const).map(([i, anchor]) =>
    `<text x="${(left + i * step + (anchor === 'end' ? barW : 0)).toFixed(1)}" y="${height - 14}" text-anchor="${anchor}">${esc(formatTime(buckets[i]!.start))}</text>`).join('');
  return `<svg id="timeline-chart" role="img" aria-label="Bytes per ${report.bucketSeconds / 60} minutes" viewBox="0 0 ${width} ${height}" width="100%">
<text x="4" y="${top + 4}">${esc(formatBytes(max))}</text><text x="4" y="${top + plotH}">0</text>
<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#cbd2dc"/>
${bars}
${baseline.length > 1 ? `<polyline class="baseline" points="${baseline.join(' ')}"/>` : ''}
${ticks}</svg>
<p class="legend"><span><i class="swatch in"></i>in</span><span><i class="swatch out"></i>out</span><span>- - baseline (rolling median)</span><span><i class="swatch spike"></i>spike</span></p>`;
}

function barChart(id: string, label: string, rows: readonly { name: string; bytes: number; marked?: boolean }[]): string {
  if (rows.length === 0) return '<p>Nothing to show.</p>';
  const width = 520, rowH = 22, left = 150, right = 80;
  const max = Math.max(...rows.map((r) => r.bytes), 1);
  const bars = rows.map((r, i) => {
    const w = ((width - left - right) * r.bytes) / max;
    const yy = i * rowH;
    return `<g class="row" data-name="${esc(r.name)}"><title>${esc(`${r.name}: ${formatBytes(r.bytes)}`)}</title>` +
      `<text x="${left - 6}" y="${yy + 15}" text-anchor="end">${esc(r.name)}${r.marked ? ' *' : ''}</text>` +
      `<rect class="bar" x="${left}" y="${yy + 4}" width="${Math.max(1, w).toFixed(1)}" height="${rowH - 8}"/>` +
      `<text x="${(left + w + 6).toFixed(1)}" y="${yy + 15}">${esc(formatBytes(r.bytes))}</text></g>`;
  }).join('\n');
  return `<svg id="${id}" role="img" aria-label="${esc(label)}" viewBox="0 0 ${width} ${rows.length * rowH}" width="${width}" style="max-width:100%">\n${bars}\n</svg>`;
}

export function renderFlowReportHtml(report: FlowReport): string {
  const r = report;
  const findings = r.findings.length === 0 ? '<p id="no-findings">No findings.</p>' : r.findings.map((f) => {
    const who = [f.remoteIp, f.localPort === undefined ? undefined : `port ${f.localPort}`].filter(Boolean).join(', ');
    const metrics = Object.entries(f.evidence.metrics).map(([k, v]) => `${esc(k)} ${esc(formatCount(v))}`).join(' · ');
    return `<div class="finding${f.fromFinding ? ' marked' : ''}" data-kind="${esc(f.kind)}"><span class="kind">${esc(f.kind)}</span>` +
      `${who === '' ? '' : ` <b>${esc(who)}</b>`}${f.fromFinding ? '<span class="tag">from the GuardDuty finding</span>' : ''}` +
      `<div>${esc(f.evidence.summary)}</div><div class="meta">${esc(formatTime(f.evidence.from))} to ${esc(formatTime(f.evidence.to))} · ${metrics}` +
      `${f.evidence.examples.length > 0 ? ` · e.g. ${esc(f.evidence.examples.slice(0, 8).join(', '))}` : ''}</div></div>`;
  }).join('\n');

  const conversations = sortableTable('conversations', [
    { title: 'Remote IP', text: (c) => c.remoteIp },
    { title: 'Local port', numeric: true, text: (c) => String(c.localPort), value: (c) => c.localPort },
    { title: 'Remote port', numeric: true, text: (c) => String(c.remotePort), value: (c) => c.remotePort },
    { title: 'Protocol', text: (c) => protocolName(c.protocol) },
    { title: 'Direction', text: (c) => c.direction },
    { title: 'In bytes', numeric: true, text: (c) => formatBytes(c.inBytes), value: (c) => c.inBytes },
    { title: 'Out bytes', numeric: true, text: (c) => formatBytes(c.outBytes), value: (c) => c.outBytes },
    { title: 'In packets', numeric: true, text: (c) => formatCount(c.inPackets), value: (c) => c.inPackets },
    { title: 'Out packets', numeric: true, text: (c) => formatCount(c.outPackets), value: (c) => c.outPackets },
    { title: 'Accepted', numeric: true, text: (c) => formatCount(c.accepted), value: (c) => c.accepted },
    { title: 'Rejected', numeric: true, text: (c) => formatCount(c.rejected), value: (c) => c.rejected },
    { title: 'First seen', text: (c) => formatTime(c.firstSeen) },
    { title: 'Last seen', text: (c) => formatTime(c.lastSeen) },
  ], r.conversations, (c) => c.fromFinding === true);

  const sections = r.sections.map((section, i) => {
    const columns = [...new Set(section.rows.flatMap((row) => Object.keys(row)))];
    return `<h2>${esc(section.title)}</h2>` + (section.rows.length === 0 ? '<p>Nothing.</p>' : sortableTable(`section-${i}`,
      columns.map((name) => ({ title: name, text: (row: Record<string, unknown>) => String(row[name] ?? '') })), section.rows));
  }).join('\n');

  const problems = r.problemCount === 0 ? '' : `<h2>Problems in the input</h2><p>${esc(formatCount(r.problemCount))} problems; the rest of the input was analysed.</p>` +
    sortableTable('problems', [
      { title: 'File', text: (p) => p.file },
      { title: 'Line', numeric: true, text: (p) => (p.line === undefined ? '' : String(p.line)), value: (p) => p.line ?? 0 },
      { title: 'Problem', text: (p) => p.message },
    ], r.problems);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(r.title)}</h1>
<p class="meta">Generated ${esc(formatTime(r.generatedAt))} from ${r.subject.files} flow log files · window ${esc(formatTime(r.window.from))} to ${esc(formatTime(r.window.to))} ·
local ${esc(r.subject.localIps.length > 0 ? r.subject.localIps.join(', ') : 'from flow-direction')}${r.subject.eni === null ? '' : ` · interface ${esc(r.subject.eni)}`}</p>
<div class="cards">
<div class="card">records<b id="records-total">${formatCount(r.records.total)}</b></div>
<div class="card">matched<b id="records-matched">${formatCount(r.records.matched)}</b></div>
<div class="card">NODATA / SKIPDATA<b>${formatCount(r.records.nodata)} / ${formatCount(r.records.skipdata)}</b></div>
<div class="card">conversations<b>${formatCount(r.conversationCount)}</b></div>
<div class="card">findings<b id="findings-count">${r.findings.length}</b></div>
</div>
<h2>Findings</h2>
${findings}
<h2>Timeline</h2>
${timelineChart(r)}
<h2>Top ports</h2>
${barChart('top-ports-chart', 'Top local ports by bytes', r.topPorts.map((p) => ({ name: `${p.localPort}/${protocolName(p.protocol)}`, bytes: p.inBytes + p.outBytes })))}
<h2>Top talkers</h2>
${barChart('top-talkers-chart', 'Top remote IPs by bytes', r.topTalkers.map((t) => ({ name: t.remoteIp, bytes: t.inBytes + t.outBytes, marked: t.fromFinding === true })))}
<h2>Conversations</h2>
<p>The ${r.conversations.length} largest of ${formatCount(r.conversationCount)}${r.otherConversations.conversations > 0 ? `; the other ${esc(formatCount(r.otherConversations.conversations))} moved ${esc(formatBytes(r.otherConversations.inBytes))} in and ${esc(formatBytes(r.otherConversations.outBytes))} out (${esc(formatCount(r.otherConversations.accepted))} records accepted, ${esc(formatCount(r.otherConversations.rejected))} rejected)` : ''}; click a column to sort.${r.conversationsCsv === null ? '' : ` Every conversation: <a id="conversations-csv" href="${esc(r.conversationsCsv)}">${esc(r.conversationsCsv)}</a>.`}</p>
${conversations}
${sections}
${problems}
<script>${SCRIPT}</script>
</body></html>
`;
}

import { htmlText, markdownText } from '@orgshield/errors';
import { z } from 'zod';
import { measureServer, measureWave, type ServerRun } from './drill-measure.js';
import type { DrillRecord, DrillState, HistoryEntry } from './drill-store.js';
import { formatDuration } from './recovery-point.js';

/**
 * The drill report, JSON schema version 1 (documented in the package README). Times are ISO;
 * durations are ms. RTO figures are simulated time when `timeScale` is not 1 (a sandbox run
 * faster than the clock), which `simulatedTime` says.
 */
const iso = z.string();
const ms = z.number().nonnegative();
const place = z.object({ accountId: z.string(), region: z.string(), reason: z.string() });

export const DrillReportSchema = z.object({
  schemaVersion: z.literal(1),
  drillId: z.string(),
  drill: z.string(),
  status: z.string(),
  message: z.string(),
  createdAt: iso,
  referenceTime: iso,
  timeScale: z.number().positive(),
  simulatedTime: z.boolean(),
  objectives: z.object({ rtoMs: ms, rpoMs: ms }),
  summary: z.object({ servers: z.number(), launched: z.number(), passed: z.number(), failed: z.number(), skipped: z.number(), objectivesMet: z.boolean() }),
  waves: z.array(z.object({ name: z.string(), servers: z.number(), launched: z.number(), passed: z.number(), failed: z.number(), skipped: z.number(), rtoMs: ms.optional(), rtoMet: z.boolean().optional() })),
  servers: z.array(
    z.object({
      accountId: z.string(),
      region: z.string(),
      sourceServerId: z.string(),
      hostname: z.string().optional(),
      wave: z.string().optional(),
      status: z.string(),
      reason: z.string().optional(),
      notes: z.array(z.string()),
      recoveryPoint: z.object({ snapshotId: z.string(), at: iso }).optional(),
      jobId: z.string().optional(),
      recoveryInstanceId: z.string().optional(),
      privateAddress: z.string().optional(),
      startedAt: iso.optional(),
      launchedAt: iso.optional(),
      checksPassedAt: iso.optional(),
      terminatedAt: iso.optional(),
      checks: z.array(z.object({ name: z.string(), passed: z.boolean(), at: iso.optional(), attempts: z.number(), detail: z.string(), certificate: z.enum(['verified', 'not verified']).optional() })),
      rtoLaunchMs: ms.optional(),
      rtoMs: ms.optional(),
      rpoMs: ms.optional(),
      rtoMet: z.boolean().optional(),
      rpoMet: z.boolean().optional(),
    }),
  ),
  /** Accounts and regions that took no part, with the reason: DRS not initialized, its read failed, or never read. */
  unavailable: z.array(place),
  /**
   * The org-wide read of DRS per account and region: how many were read, and those whose read
   * failed (left out, within the failure tolerance) or never started (past it). Any of those
   * makes `drill run --wait` exit 1.
   */
  accounts: z.object({ completed: z.number().int().nonnegative(), failed: z.array(place), skipped: z.array(place), notStarted: z.array(place) }),
  notes: z.array(z.string()),
});
export type DrillReport = z.infer<typeof DrillReportSchema>;

const isoOf = (at: number | undefined) => (at === undefined ? undefined : new Date(at).toISOString());

export function buildDrillReport(record: DrillRecord, state: DrillState, runs: readonly ServerRun[]): DrillReport {
  const plan = record.plan;
  const objectives = plan?.objectives ?? { rtoMs: 0, rpoMs: 0 };
  const referenceTime = plan?.referenceTime ?? record.createdAt;
  const servers = runs.map((run) => {
    const measure = measureServer(run, { referenceTime, objectives }, record.timeScale);
    return {
      accountId: run.accountId,
      region: run.region,
      sourceServerId: run.sourceServerId,
      ...(run.hostname ? { hostname: run.hostname } : {}),
      ...(run.wave ? { wave: run.wave } : {}),
      status: run.status,
      ...(run.reason ? { reason: run.reason } : {}),
      notes: run.notes,
      ...(run.recoveryPoint ? { recoveryPoint: run.recoveryPoint } : {}),
      ...(run.jobId ? { jobId: run.jobId } : {}),
      ...(run.recoveryInstanceId ? { recoveryInstanceId: run.recoveryInstanceId } : {}),
      ...(run.privateAddress ? { privateAddress: run.privateAddress } : {}),
      ...optionalIso({ startedAt: run.startedAt, launchedAt: run.launchedAt, checksPassedAt: run.checksPassedAt, terminatedAt: run.terminatedAt }),
      checks: run.checks.map((check) => ({ name: check.name, passed: check.passed, ...(check.at !== undefined ? { at: isoOf(check.at) as string } : {}), attempts: check.attempts, detail: check.detail, ...(check.certificate ? { certificate: check.certificate } : {}) })),
      ...measure,
    };
  });
  const waves = (plan?.waves ?? []).map((wave) => measureWave(wave.name, runs, { objectives, referenceTime }, record.timeScale));
  const count = (status: string) => runs.filter((run) => run.status === status).length;
  const launchedRuns = servers.filter((server) => server.status === 'passed' || server.status === 'failed');
  return {
    schemaVersion: 1,
    drillId: record.id,
    drill: record.name,
    status: state.status,
    message: state.message,
    createdAt: record.createdAt,
    referenceTime,
    timeScale: record.timeScale,
    simulatedTime: record.timeScale !== 1,
    objectives,
    summary: {
      servers: runs.length,
      launched: runs.filter((run) => run.launchedAt !== undefined).length,
      passed: count('passed'),
      failed: count('failed'),
      skipped: count('skipped'),
      objectivesMet: launchedRuns.length > 0 && launchedRuns.every((server) => server.rtoMet === true && server.rpoMet === true),
    },
    waves,
    servers,
    unavailable: [
      ...(plan?.unavailable ?? []),
      ...(plan?.reads?.failed ?? []).map((entry) => ({ ...entry, reason: `DRS could not be read: ${entry.reason}` })),
      ...(plan?.reads?.notStarted ?? []).map((entry) => ({ ...entry, reason: `not read: ${entry.reason}` })),
    ],
    accounts: {
      completed: (plan?.reads?.completed ?? 0) - (plan?.unavailable.length ?? 0),
      failed: plan?.reads?.failed ?? [],
      skipped: plan?.unavailable ?? [],
      notStarted: plan?.reads?.notStarted ?? [],
    },
    notes: plan?.notes ?? [],
  };
}

function optionalIso(times: Record<string, number | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(times).flatMap(([key, at]) => (at === undefined ? [] : [[key, new Date(at).toISOString()]])));
}

const met = (value: boolean | undefined) => (value === undefined ? '' : value ? 'met' : 'MISSED');
const duration = (value: number | undefined) => (value === undefined ? '-' : formatDuration(value));

/** The line per server the CLI and the demo print: recovery point, RTO and RPO against the objectives. */
export function serverLine(server: DrillReport['servers'][number], report: Pick<DrillReport, 'objectives'>): string {
  const name = `${server.hostname ?? server.sourceServerId} (${server.accountId})`;
  if (server.status === 'skipped') return `${name}: skipped: ${server.reason ?? ''}`;
  const point = server.recoveryPoint ? `${server.recoveryPoint.snapshotId} at ${server.recoveryPoint.at}` : 'no recovery point';
  const launched = server.rtoMs === undefined && server.rtoLaunchMs !== undefined ? ` (launched after ${formatDuration(server.rtoLaunchMs)})` : '';
  const rto = `RTO ${duration(server.rtoMs)}${launched} / ${formatDuration(report.objectives.rtoMs)} ${met(server.rtoMet)}`;
  const rpo = `RPO ${duration(server.rpoMs)} / ${formatDuration(report.objectives.rpoMs)} ${met(server.rpoMet)}`;
  return `${name}: ${server.status}, recovery point ${point}, ${rto}, ${rpo}${server.reason ? ` - ${server.reason}` : ''}`;
}

export function renderDrillMarkdown(report: DrillReport): string {
  const lines = [
    `# Drill ${report.drill} (${report.drillId})`,
    '',
    `Status: **${report.status}**: ${cell(report.message)}`,
    '',
    `Objectives: RTO ${formatDuration(report.objectives.rtoMs)}, RPO ${formatDuration(report.objectives.rpoMs)}; RPO measured against ${report.referenceTime}.`,
    report.simulatedTime ? `Times are simulated: the sandbox ran ${report.timeScale}x faster than the clock, and RTO figures are scaled to match.` : '',
    '',
    `${report.summary.servers} servers: ${report.summary.passed} passed, ${report.summary.failed} failed, ${report.summary.skipped} skipped. Objectives ${report.summary.objectivesMet ? 'met' : 'not met'}.`,
    '',
    '## Waves',
    '',
    '| wave | servers | passed | failed | skipped | RTO | objective |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...report.waves.map((wave) => `| ${cell(wave.name)} | ${wave.servers} | ${wave.passed} | ${wave.failed} | ${wave.skipped} | ${duration(wave.rtoMs)} | ${met(wave.rtoMet)} |`),
    '',
    '## Servers',
    '',
    '| server | account | wave | status | recovery point | RTO | RPO | reason |',
    '|---|---|---|---|---|---:|---:|---|',
    ...report.servers.map(
      (server) =>
        `| ${cell(server.hostname ?? server.sourceServerId)} | ${server.accountId} | ${server.wave ?? ''} | ${server.status} | ${server.recoveryPoint?.at ?? ''} | ${duration(server.rtoMs)} ${met(server.rtoMet)} | ${duration(server.rpoMs)} ${met(server.rpoMet)} | ${cell(server.reason ?? '')} |`,
    ),
  ];
  const certificates = report.servers.flatMap((server) => server.checks.filter((check) => check.certificate === 'not verified').map((check) => `${server.sourceServerId} ${check.name}`));
  if (certificates.length > 0) lines.push('', `HTTPS certificates not verified (no CA in the drill file): ${cell(certificates.join(', '))}.`);
  if (report.unavailable.length > 0) lines.push('', '## Not drilled', '', ...report.unavailable.map((entry) => `- ${entry.accountId} ${entry.region}: ${cell(entry.reason)}`));
  if (report.notes.length > 0) lines.push('', '## Notes', '', ...report.notes.map((note) => `- ${cell(note)}`));
  return `${lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n')}\n`;
}

const cell = (value: string): string => markdownText(value);
const esc = (value: unknown): string => htmlText(String(value ?? ''));

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1d2330}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
.meta{color:#5b6577}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}.card{border:1px solid #dde2ea;border-radius:6px;padding:8px 14px}.card b{display:block;font-size:18px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eef1f5;text-align:left}th{background:#f6f8fb}
.passed{color:#15803d}.failed{color:#b91c1c}.skipped{color:#6b7280}.missed{color:#b91c1c;font-weight:600}
svg text{font:11px system-ui,sans-serif;fill:#5b6577}.seg-launch{fill:#2563eb}.seg-checks{fill:#16a34a}.seg-failed{fill:#dc2626}.mark{fill:#111827}
`;

/**
 * One self-contained page: summary, waves, and a timeline per server (StartRecovery, launch,
 * each check), with RTO and RPO against the objectives. Nothing is loaded from elsewhere.
 */
export function renderDrillHtml(report: DrillReport): string {
  const title = `Drill ${report.drill} (${report.drillId})`;
  const cards = [
    ['servers', report.summary.servers],
    ['passed', report.summary.passed],
    ['failed', report.summary.failed],
    ['skipped', report.summary.skipped],
    ['RTO objective', formatDuration(report.objectives.rtoMs)],
    ['RPO objective', formatDuration(report.objectives.rpoMs)],
  ]
    .map(([label, value]) => `<div class="card"><b>${esc(value)}</b>${esc(label)}</div>`)
    .join('');
  const waves = report.waves
    .map((wave) => `<tr data-wave="${esc(wave.name)}"><td>${esc(wave.name)}</td><td>${wave.servers}</td><td>${wave.passed}</td><td>${wave.failed}</td><td>${wave.skipped}</td><td>${esc(duration(wave.rtoMs))}</td><td class="${wave.rtoMet === false ? 'missed' : ''}">${esc(met(wave.rtoMet))}</td></tr>`)
    .join('');
  const rows = report.servers
    .map(
      (server) => `<tr class="server ${esc(server.status)}" data-server="${esc(server.sourceServerId)}" data-status="${esc(server.status)}">
<td>${esc(server.hostname ?? server.sourceServerId)}<br><small>${esc(server.sourceServerId)} · ${esc(server.accountId)}</small></td><td>${esc(server.wave ?? '')}</td><td class="${esc(server.status)}">${esc(server.status)}</td>
<td>${esc(server.recoveryPoint ? `${server.recoveryPoint.at} (${server.recoveryPoint.snapshotId})` : '')}</td>
<td class="rto ${server.rtoMet === false ? 'missed' : ''}">${esc(duration(server.rtoMs))} ${esc(met(server.rtoMet))}</td><td class="rpo ${server.rpoMet === false ? 'missed' : ''}">${esc(duration(server.rpoMs))} ${esc(met(server.rpoMet))}</td>
<td>${timeline(server, report.timeScale)}</td><td class="reason">${esc(server.reason ?? '')}${server.checks.some((check) => check.certificate === 'not verified') ? ' (HTTPS certificate not verified: no CA given)' : ''}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Status <b id="status">${esc(report.status)}</b>: ${esc(report.message)}. Created ${esc(report.createdAt)}; RPO measured against ${esc(report.referenceTime)}.</p>
${report.simulatedTime ? `<p class="meta" id="simulated">Times are simulated: the sandbox ran ${esc(report.timeScale)}x faster than the clock, and RTO figures are scaled to match.</p>` : ''}
<div class="cards">${cards}</div>
<h2>Waves</h2>
<table id="waves"><thead><tr><th>wave</th><th>servers</th><th>passed</th><th>failed</th><th>skipped</th><th>RTO</th><th>objective</th></tr></thead><tbody>${waves}</tbody></table>
<h2>Servers</h2>
<table id="servers"><thead><tr><th>server</th><th>wave</th><th>status</th><th>recovery point</th><th>RTO</th><th>RPO</th><th>timeline</th><th>reason</th></tr></thead><tbody>
${rows}
</tbody></table>
${report.unavailable.length > 0 ? `<h2>Not drilled</h2><ul id="unavailable">${report.unavailable.map((entry) => `<li>${esc(entry.accountId)} ${esc(entry.region)}: ${esc(entry.reason)}</li>`).join('')}</ul>` : ''}
${report.notes.length > 0 ? `<h2>Notes</h2><ul>${report.notes.map((note) => `<li>${esc(note)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}

/** StartRecovery to launch (blue), launch to the last check (green, red if it failed), a tick per check. */
function timeline(server: DrillReport['servers'][number], timeScale: number): string {
  if (!server.startedAt) return '';
  const start = Date.parse(server.startedAt);
  const launched = server.launchedAt ? Date.parse(server.launchedAt) : undefined;
  const checkTimes = server.checks.flatMap((check) => (check.at ? [Date.parse(check.at)] : []));
  const end = Math.max(start + 1, launched ?? start, ...checkTimes, server.checksPassedAt ? Date.parse(server.checksPassedAt) : start);
  const width = 240;
  const x = (at: number) => Math.round(((at - start) / (end - start)) * width);
  const parts = [];
  if (launched !== undefined) parts.push(`<rect class="seg-launch" x="0" y="4" width="${Math.max(1, x(launched))}" height="10"><title>StartRecovery to LAUNCHED: ${esc(formatDuration((launched - start) * timeScale))}</title></rect>`);
  if (launched !== undefined && server.checks.length > 0) {
    parts.push(`<rect class="${server.status === 'failed' ? 'seg-failed' : 'seg-checks'}" x="${x(launched)}" y="4" width="${Math.max(1, width - x(launched))}" height="10"><title>checks</title></rect>`);
  }
  for (const check of server.checks) {
    if (check.at) parts.push(`<rect class="mark check" data-check="${esc(check.name)}" x="${Math.min(width - 2, x(Date.parse(check.at)))}" y="0" width="2" height="18"><title>${esc(check.name)} passed</title></rect>`);
  }
  return `<svg class="timeline" width="${width}" height="18" viewBox="0 0 ${width} 18" role="img">${parts.join('')}</svg>`;
}

/** A server's drills as a trend: RTO and RPO per drill, oldest first. */
export function historyTrend(entries: readonly HistoryEntry[]): { at: string; drillId: string; status: string; rtoMs?: number; rpoMs?: number }[] {
  return entries.map((entry) => ({ at: entry.at, drillId: entry.drillId, status: entry.status, ...(entry.rtoMs !== undefined ? { rtoMs: entry.rtoMs } : {}), ...(entry.rpoMs !== undefined ? { rpoMs: entry.rpoMs } : {}) }));
}

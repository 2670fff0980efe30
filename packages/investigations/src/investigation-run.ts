import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { InvalidInputError } from '@orgshield/errors';
import { fileNameSlug, type PathRoot, resolveUnderRoot } from '@orgshield/spec-files';
import { z } from 'zod';
import { type DetectivePullOptions, type DetectiveReport, pullDetective } from './detective-pull.js';
import { analyzeFlowLogs } from './flow-analysis.js';
import { PRIVATE_RANGES } from './flow-findings.js';
import { isIntegrityProblem } from './flow-log-problems.js';
import { buildFlowReport, writeFlowReport } from './flow-report.js';
import { type NormalizedFinding, normalizeFinding } from './finding-normalize.js';
import type { InvestigationClients } from './investigation-aws.js';
import { type InvestigationSubject, type ResolvedEntity, resolveEntity } from './investigation-entity.js';
import { type FlowLogPlan, planFlowLogs } from './investigation-flow-logs.js';
import { type InvestigationRequest, parseInvestigationRequest } from './investigation-request.js';
import { type VpcRanges, vpcRanges } from './investigation-vpc.js';
import { requestWindow, type TimeWindow } from './investigation-window.js';
import { flowFindingSchema, recordCountsSchema, type ReportSection } from './report-json.js';

export interface InvestigationDeps {
  clients: InvestigationClients;
  now?: () => Date;
  /** Detective's waiting and throttling knobs (tests and the sandbox shorten them). */
  detective?: Omit<DetectivePullOptions, 'clients' | 'onStep'>;
  /**
   * The folder reports are written under (default ./reports): a request's `reportDir` names a
   * folder inside it, else one is named for the investigation. Nothing is written outside it.
   */
  reportRoot?: string;
  /** The folder a request's local `flowLogs` path is read under (default ./flow-logs); S3 locations are not confined by it. */
  flowLogRoot?: string;
}

/** The job's progress, in the shape of @orgshield/jobs' JobProgress. */
export interface InvestigationProgress {
  phase: 'resolve' | 'detective' | 'flow-logs' | 'report';
  done: number;
  total: number;
  message?: string;
}

const PHASES = 4;

const isoTime = z.iso.datetime();

/** What an `investigation.run` job returns: the summary; the reports hold the rest. */
export const InvestigationResultSchema = z.object({
  reportPaths: z.object({ json: z.string(), markdown: z.string(), html: z.string(), csv: z.string().nullable() }),
  subject: z.object({
    kind: z.enum(['instance', 'ip', 'iam-role', 'iam-user']),
    accountId: z.string(),
    region: z.string(),
    instanceId: z.string().optional(),
    localIps: z.array(z.string()),
    principalArn: z.string().optional(),
    finding: z.object({ id: z.string(), type: z.string(), severity: z.number() }).optional(),
  }),
  window: z.object({ from: isoTime, to: isoTime }),
  findings: z.array(flowFindingSchema),
  records: recordCountsSchema,
  flowLogs: z.object({
    source: z.string().nullable(),
    via: z.enum(['request', 'describe-flow-logs', 'none']),
    files: z.number().int().nonnegative(),
    problems: z.number().int().nonnegative(),
    /** Some flow-log input was lost (a gzip file cut short or failing its CRC, a file unreadable, a link out): done on incomplete input. */
    incomplete: z.boolean(),
  }),
  /** The ranges large transfers were judged inside the VPC by: the VPC's own blocks, or the private ranges and why. */
  // A result stored before investigations read the VPC's ranges was judged by the private ranges: read back as such.
  vpcRanges: z
    .object({
      source: z.enum(['vpc', 'private-ranges']),
      vpcIds: z.array(z.string()),
      cidrs: z.array(z.string()),
      reason: z.string().optional(),
    })
    .default({ source: 'private-ranges', vpcIds: [], cidrs: [...PRIVATE_RANGES], reason: 'this investigation ran before orgshield read the VPC ranges' }),
  detective: z.object({
    available: z.boolean(),
    reason: z.string().optional(),
    graphArn: z.string().optional(),
    memberStatus: z.string().optional(),
    coreIngest: z.string().optional(),
    existingInvestigations: z.number().int().nonnegative(),
    investigation: z
      .object({
        id: z.string(),
        status: z.string().optional(),
        severity: z.string().optional(),
        reused: z.boolean(),
        timedOut: z.boolean(),
        indicators: z.record(z.string(), z.number().int().nonnegative()),
      })
      .optional(),
  }),
  warnings: z.array(z.string()),
});
export type InvestigationResult = z.infer<typeof InvestigationResultSchema>;

/**
 * One investigation, start to finish: validate the request, normalize the finding, resolve
 * the entity in the member account, pull what Detective knows, read and analyse the flow logs
 * (marking what matches the finding's addresses and ports), and write the JSON, Markdown and
 * HTML reports. Detective or flow logs being unavailable is reported, not fatal; bad input is
 * an InvalidInputError before anything is called.
 */
export async function runInvestigation(
  deps: InvestigationDeps,
  input: unknown,
  onProgress: (progress: InvestigationProgress) => void = () => undefined,
): Promise<InvestigationResult> {
  const request = parseInvestigationRequest(input);
  const now = deps.now ?? (() => new Date());
  const finding = request.finding === undefined ? undefined : normalizeFinding(request.finding);
  if (finding && (finding.accountId !== request.accountId || finding.region !== request.region)) {
    throw new InvalidInputError(
      `The finding is from account ${finding.accountId} in ${finding.region}, not ${request.accountId} in ${request.region}; pass --account ${finding.accountId} --region ${finding.region}.`,
    );
  }
  const window = requestWindow({ from: request.from, to: request.to, finding }, now());
  const { accountId, region } = request;
  // Paths are checked, and the report folder made writable, before anything is asked of AWS.
  const reportRoot: PathRoot = { path: deps.reportRoot ?? 'reports', what: 'report folder', setting: 'ORGSHIELD_REPORT_DIR' };
  await mkdir(reportRoot.path, { recursive: true });
  const reportTarget = await writableFolder(await resolveUnderRoot(reportRoot, request.reportDir ?? '.'));
  const chosenDir = request.reportDir === undefined ? undefined : reportTarget;
  const flowLogRoot: PathRoot = { path: deps.flowLogRoot ?? 'flow-logs', what: 'flow-log path', setting: 'ORGSHIELD_FLOW_LOG_DIR' };
  const flowLogs = request.flowLogs === undefined || request.flowLogs.startsWith('s3://') ? request.flowLogs : await resolveUnderRoot(flowLogRoot, request.flowLogs);
  const step = (phase: InvestigationProgress['phase'], done: number, message: string) => onProgress({ phase, done, total: PHASES, message });

  step('resolve', 0, `Resolving ${describeSubject(request)} in account ${accountId} ${region}`);
  const entity = await resolveEntity(subjectOf(request, finding), { ec2: (fresh) => deps.clients.ec2(accountId, region, { fresh }), accountId, region });

  step('detective', 1, 'Pulling what Detective knows');
  const detective = await pullDetective(
    { accountId, region, principalArn: entity.principalArn, window },
    { ...deps.detective, clients: deps.clients, onStep: (message) => step('detective', 1, message) },
  );

  step('flow-logs', 2, 'Reading the VPC flow logs');
  const ranges = await vpcRanges(entity, (fresh) => deps.clients.ec2(accountId, region, { fresh }));
  const plan = await planFlowLogs(flowLogs, entity, window, {
    ec2: (fresh) => deps.clients.ec2(accountId, region, { fresh }),
    s3: (fresh) => deps.clients.s3(accountId, region, { fresh }),
    accountId,
    region,
  });
  const analysis = await analyzeFlowLogs(plan.input, {
    localIps: entity.localIps,
    ...(entity.networkInterfaces.length === 1 && entity.networkInterfaces[0] ? { eni: entity.networkInterfaces[0].id } : {}),
    from: window.from,
    to: window.to,
    vpcCidrs: ranges.cidrs,
    ...(finding ? { markFrom: findingMark(finding) } : {}),
    onProgress: ({ filesDone, filesTotal }) => step('flow-logs', 2, `Read ${filesDone}${filesTotal === null ? '' : ` of ${filesTotal}`} flow-log files`),
  });

  step('report', 3, 'Writing the reports');
  const generatedAt = now();
  // What a reader must not miss; the entity's and the flow plan's notes are context.
  const lost = analysis.problems.filter(isIntegrityProblem).map((problem) => problem.message);
  const warnings = [
    ...(detective.reason ? [detective.reason] : []),
    ...detective.warnings,
    ...(plan.via === 'none' ? plan.notes : []),
    ...(ranges.reason ? [ranges.reason] : []),
    ...lost,
  ];
  const dir = chosenDir ?? (await resolveUnderRoot(reportRoot, reportFolderName(entity, finding, generatedAt)));
  let reportPaths: Awaited<ReturnType<typeof writeFlowReport>>;
  try {
    const report = buildFlowReport(analysis, {
      title: `Investigation of ${describeEntity(entity)}${finding ? ` (${finding.type})` : ''}`,
      generatedAt,
      sections: reportSections(entity, finding, detective, plan, window, ranges, warnings),
    });
    reportPaths = await writeFlowReport(dir, report, analysis.conversations);
  } finally {
    analysis.dispose();
  }
  step('report', 4, `Reports written to ${dir}`);

  return {
    reportPaths,
    subject: {
      kind: entity.kind,
      accountId,
      region,
      instanceId: entity.instanceId,
      localIps: entity.localIps,
      principalArn: entity.principalArn,
      finding: finding ? { id: finding.id, type: finding.type, severity: finding.severity } : undefined,
    },
    window: { from: window.from.toISOString(), to: window.to.toISOString() },
    findings: analysis.findings,
    records: analysis.records,
    flowLogs: { source: plan.source, via: plan.via, files: analysis.files, problems: analysis.problemCount, incomplete: lost.length > 0 },
    vpcRanges: ranges,
    detective: detectiveSummary(detective),
    warnings,
  };
}

function subjectOf(request: InvestigationRequest, finding: NormalizedFinding | undefined): InvestigationSubject {
  if (finding) return { kind: 'finding', finding };
  if (request.instanceId) return { kind: 'instance', instanceId: request.instanceId };
  if (request.ip) return { kind: 'ip', ip: request.ip };
  return { kind: 'principal', arn: request.roleArn ?? '' };
}

/** Rows that match the finding's remote addresses and its ports are marked in the analysis. */
function findingMark(finding: NormalizedFinding): { ips: string[]; ports: number[] } {
  const ports = finding.remotes.flatMap((remote) => [remote.localPort, remote.remotePort]).filter((port): port is number => port !== undefined);
  return { ips: [...new Set(finding.remotes.map((remote) => remote.ip))], ports: [...new Set(ports)] };
}

function describeSubject(request: InvestigationRequest): string {
  if (request.finding !== undefined) return 'the finding';
  return request.instanceId ?? request.ip ?? request.roleArn ?? 'the subject';
}

function describeEntity(entity: ResolvedEntity): string {
  return entity.instanceId ?? entity.principalArn ?? entity.localIps[0] ?? entity.accountId;
}

/** One folder name from the time and the subject; the finding id and names are input, so slugged. */
function reportFolderName(entity: ResolvedEntity, finding: NormalizedFinding | undefined, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const what = finding ? `finding-${fileNameSlug(finding.id, 12)}` : fileNameSlug(describeEntity(entity));
  return `${stamp}-${what}`;
}

/** The folder, created, once it is known to take files: an unwritable one fails before the investigation, not after. */
async function writableFolder(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new InvalidInputError(`The report folder ${dir} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); name another.`, { cause: error });
  }
  return dir;
}

function detectiveSummary(detective: DetectiveReport): InvestigationResult['detective'] {
  const investigation = detective.investigation;
  const indicators: Record<string, number> = {};
  for (const indicator of investigation?.indicators ?? []) indicators[indicator.type] = (indicators[indicator.type] ?? 0) + 1;
  return {
    available: detective.available,
    reason: detective.reason,
    graphArn: detective.graphArn,
    memberStatus: detective.member?.status,
    coreIngest: detective.coreIngest?.coverage,
    existingInvestigations: detective.existingInvestigations.length,
    investigation: investigation
      ? { id: investigation.id, status: investigation.status, severity: investigation.severity, reused: investigation.reused, timedOut: investigation.timedOut, indicators }
      : undefined,
  };
}

type Row = ReportSection['rows'][number];

function keyValues(entries: [string, string | number | boolean | undefined][]): Row[] {
  return entries.filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined && entry[1] !== '').map(([item, value]) => ({ item, value }));
}

function reportSections(
  entity: ResolvedEntity,
  finding: NormalizedFinding | undefined,
  detective: DetectiveReport,
  plan: FlowLogPlan,
  window: TimeWindow,
  ranges: VpcRanges,
  warnings: string[],
): ReportSection[] {
  const sections: ReportSection[] = [
    {
      title: 'Subject',
      rows: keyValues([
        ['Account', entity.accountId],
        ['Region', entity.region],
        ['Instance', entity.instanceId],
        ['Network interfaces', entity.networkInterfaces.map((eni) => eni.id).join(', ')],
        ['Local addresses', entity.localIps.join(', ')],
        ['IAM principal', entity.principalArn],
        ['Window', `${window.from.toISOString()} to ${window.to.toISOString()}`],
        ['Flow logs', plan.source ?? 'none found'],
        ['VPC', ranges.vpcIds.join(', ')],
        // Large transfers to these are internal-transfer findings, not exfiltration.
        ['Inside the VPC', `${ranges.cidrs.join(', ')} (${ranges.source === 'vpc' ? 'its associated blocks, from DescribeVpcs' : 'the private ranges; see Notes for why'})`],
      ]),
    },
  ];
  if (finding) {
    sections.push({
      title: 'GuardDuty finding',
      rows: keyValues([
        ['Type', finding.type],
        ['Severity', `${finding.severity} (${finding.severityLabel})`],
        ['Id', finding.id],
        ['Title', finding.title],
        ['First seen', finding.firstSeen],
        ['Last seen', finding.lastSeen],
        ['Count', finding.count],
        ['Action', [finding.action.type, finding.action.direction, finding.action.protocol].filter(Boolean).join(' ')],
        ['Remotes', finding.remotes.map((r) => `${r.ip}${r.remotePort === undefined ? '' : `:${r.remotePort}`}${r.localPort === undefined ? '' : ` -> local ${r.localPort}`}${r.country ? ` (${r.country})` : ''}`).join(', ')],
      ]),
    });
  }
  const investigation = detective.investigation;
  sections.push({
    title: 'Amazon Detective',
    rows: keyValues([
      ['Available', detective.available],
      ['Why not', detective.reason],
      ['Behavior graph', detective.graphArn],
      ['Administrator account', detective.administratorAccountId],
      ['Member status', detective.member?.status],
      ['DETECTIVE_CORE during the window', detective.coreIngest?.message],
      ['Existing investigations of the entity', detective.entityArn ? detective.existingInvestigations.length : undefined],
      ['Investigation', investigation?.id],
      ['Investigation status', investigation ? `${investigation.status ?? 'unknown'}${investigation.reused ? ' (reused)' : ''}${investigation.timedOut ? ' (stopped waiting)' : ''}` : undefined],
      ['Investigation severity', investigation?.severity],
      ['Indicators', investigation?.indicators.length],
    ]),
  });
  if (investigation && investigation.indicators.length > 0) {
    sections.push({
      title: 'Detective indicators',
      rows: investigation.indicators.map((indicator) => ({
        type: indicator.type,
        detail: Object.entries(indicator.detail)
          .map(([key, value]) => `${key}: ${String(value)}`)
          .join('; '),
      })),
    });
  }
  const notes = [...warnings, ...entity.notes, ...(plan.via === 'none' ? [] : plan.notes)];
  if (notes.length > 0) sections.push({ title: 'Notes', rows: notes.map((note) => ({ note })) });
  return sections;
}

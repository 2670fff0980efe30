import type { Command } from 'commander';
import { EXIT_CODES, InvalidInputError, OrgshieldError } from '@orgshield/errors';
import {
  analyzeFlowLogs, buildFlowReport, type FlowAnalysis, type FlowAnalysisOptions, type FlowThresholds, flowThresholdsSchema, formatBytes, isIntegrityProblem,
  protocolName, writeConversationsCsv, writeFlowAnalysisJson, writeFlowReport,
} from '@orgshield/investigations/flow-logs';
import { parseYamlWithSchema, readInputFile, SpecFileError } from '@orgshield/spec-files';
import { choiceOption, formatTable, integerOption, note, refusingSpecProblems } from './cli-kit.js';

const FLOW_OUTPUT_FORMATS = ['table', 'json', 'csv'] as const;
type FlowOutputFormat = (typeof FLOW_OUTPUT_FORMATS)[number];

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };

interface AnalyzeFlags {
  localIp?: string[];
  eni?: string;
  from?: string;
  to?: string;
  remote?: string[];
  localPort?: string[];
  remotePort?: string[];
  protocol?: string[];
  direction?: 'inbound' | 'outbound';
  action?: 'accept' | 'reject';
  bucket?: number;
  report?: string;
  output: FlowOutputFormat;
  limit: number;
  /** Megabytes. */
  memory?: number;
  vpcCidr?: string[];
  thresholds?: string;
}

/** The thresholds file: YAML or JSON, every problem located (`file:line:col path: message`). */
export async function loadThresholds(file: string): Promise<FlowThresholds> {
  const text = await readInputFile(file, 'flow thresholds');
  const parsed = parseYamlWithSchema(text, file, flowThresholdsSchema);
  if (!parsed.ok) throw new SpecFileError(parsed.problems, { code: 'InvalidFlowThresholds', what: 'the thresholds file' });
  return parsed.value;
}

/**
 * Why an analysis that read no record at all analysed nothing, in one sentence: files it
 * had to skip (no flow-direction and no --local-ip, no interface-id for --eni, a format
 * without a needed field), or lines none of which is a record.
 */
function nothingAnalysed(analysis: FlowAnalysis): string {
  const files = `${analysis.files} file${analysis.files === 1 ? '' : 's'}`;
  const codes = new Set(analysis.problems.map((p) => p.code));
  const noDirection = analysis.problems.some((p) => p.code === 'missing-field' && p.message.includes('no flow-direction field'));
  if (noDirection) {
    return `Nothing was analysed: the ${files} have no flow-direction field, so without --local-ip no record can be told in from out; give the instance's addresses with --local-ip.`;
  }
  if (codes.has('missing-field') || codes.has('unsupported-file')) return `Nothing was analysed: every one of the ${files} was skipped (the warnings above say why).`;
  if (analysis.problemCount > 0) return `Nothing was analysed: no line of the ${files} is a flow-log record (${analysis.problemCount} problems; the warnings above list them).`;
  return `Nothing was analysed: the ${files} hold no flow-log records.`;
}

/** `a,b` and repeated flags alike: `--local-ip a,b --local-ip c`. */
function commaList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')];
}

function time(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new InvalidInputError(`${flag} ${value} is not an ISO 8601 time such as 2025-06-01T10:00:00Z.`);
  }
  return date;
}

function ports(flag: string, values: string[] | undefined): number[] {
  return (values ?? []).map((value) => {
    if (!/^\d{1,5}$/.test(value)) throw new InvalidInputError(`${flag} ${value} is not a port number (0 to 65535).`);
    return Number(value);
  });
}

function protocols(values: string[] | undefined): number[] {
  return (values ?? []).map((value) => {
    const named = Object.hasOwn(PROTOCOLS, value.toLowerCase()) ? PROTOCOLS[value.toLowerCase()] : undefined;
    if (named !== undefined) return named;
    if (/^\d{1,3}$/.test(value) && Number(value) <= 255) return Number(value);
    throw new InvalidInputError(`--protocol ${value} is not tcp, udp, icmp, icmpv6 or a protocol number (0 to 255).`);
  });
}

function options(flags: AnalyzeFlags): FlowAnalysisOptions {
  const filters = {
    remote: flags.remote ?? [],
    localPorts: ports('--local-port', flags.localPort),
    remotePorts: ports('--remote-port', flags.remotePort),
    protocols: protocols(flags.protocol),
    ...(flags.direction === undefined ? {} : { direction: flags.direction }),
    ...(flags.action === undefined ? {} : { action: flags.action === 'accept' ? ('ACCEPT' as const) : ('REJECT' as const) }),
  };
  const from = time('--from', flags.from);
  const to = time('--to', flags.to);
  return {
    localIps: flags.localIp ?? [],
    ...(flags.eni === undefined ? {} : { eni: flags.eni }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(flags.bucket === undefined ? {} : { bucketSeconds: flags.bucket * 60 }),
    ...(flags.memory === undefined ? {} : { memory: flags.memory * 1024 * 1024 }),
    ...(flags.vpcCidr === undefined ? {} : { vpcCidrs: flags.vpcCidr }),
    filters,
  };
}

function tables(analysis: FlowAnalysis, limit: number): string {
  const r = analysis.records;
  const out: string[] = [];
  const count = analysis.conversations.length;
  out.push(
    `${r.total} records in ${analysis.files} files: ${r.matched} matched, ${r.nodata} NODATA, ${r.skipdata} SKIPDATA; ` +
    `${count} conversations from ${analysis.window.from ?? '-'} to ${analysis.window.to ?? '-'}.\n\n`,
  );
  if (analysis.findings.length === 0) {
    out.push('No findings.\n\n');
  } else {
    out.push(formatTable(['FINDING', 'REMOTE IP', 'LOCAL PORT', 'FROM', 'EVIDENCE'], analysis.findings.map((f) => [
      f.kind + (f.fromFinding ? ' *' : ''), f.remoteIp ?? '-', f.localPort ?? '-', f.evidence.from, f.evidence.summary,
    ])));
    out.push('\n');
  }
  // The largest `limit` rows, and the rest summed as they are read (never held).
  const shown: (string | number)[][] = [];
  const rest = { conversations: 0, inBytes: 0, outBytes: 0, accepted: 0, rejected: 0 };
  for (const c of analysis.conversations) {
    if (shown.length < limit) {
      shown.push([
        c.remoteIp + (c.fromFinding ? ' *' : ''), c.localPort, c.remotePort, protocolName(c.protocol), c.direction,
        formatBytes(c.inBytes), formatBytes(c.outBytes), c.accepted, c.rejected,
      ]);
      continue;
    }
    rest.conversations++;
    rest.inBytes += c.inBytes;
    rest.outBytes += c.outBytes;
    rest.accepted += c.accepted;
    rest.rejected += c.rejected;
  }
  if (rest.conversations > 0) {
    shown.push([`(${rest.conversations} more)`, '', '', '', '', formatBytes(rest.inBytes), formatBytes(rest.outBytes), rest.accepted, rest.rejected]);
  }
  out.push(formatTable(['REMOTE IP', 'LOCAL', 'REMOTE', 'PROTO', 'DIRECTION', 'IN', 'OUT', 'ACCEPTED', 'REJECTED'], shown));
  if (rest.conversations > 0) out.push(`(the ${limit} largest of ${count}, the rest totalled; --limit shows more, --output csv or json all)\n`);
  const spikes = analysis.timeline.filter((b) => b.spike);
  if (spikes.length > 0) out.push(`\nSpikes: ${spikes.map((b) => `${b.start} (${formatBytes(b.inBytes + b.outBytes)})`).join(', ')}\n`);
  return out.join('');
}

/**
 * Writes to stdout and waits until it is handed on: the JSON of a large analysis is
 * megabytes, a pipe takes it in pieces, and main() exits as soon as the command returns.
 */
function writeOut(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));
}

/** `orgshield flows analyze`: the flow-log analysis on local files, no Redis, no AWS. */
export function configureFlowsCommand(program: Command): void {
  const flows = program.command('flows').description('VPC flow logs, analysed locally');
  flows
    .command('analyze')
    .description('Conversations, volume timeline and findings (port scan, brute force, DDoS, exfiltration, spikes) of an instance\'s flow logs')
    .argument('<paths...>', 'flow log files or folders (read recursively; gzip or plain; default or custom format)')
    .option('--local-ip <ips>', "the instance's addresses, comma-separated (default: each record's flow-direction field)", commaList)
    .option('--eni <id>', 'only the records of this network interface')
    .option('--from <time>', 'count records whose start is at or after this ISO 8601 time')
    .option('--to <time>', 'count records whose start is before this ISO 8601 time')
    .option('--remote <ip-or-cidr>', 'only these remote addresses or CIDRs, comma-separated', commaList)
    .option('--local-port <ports>', 'only these local ports, comma-separated', commaList)
    .option('--remote-port <ports>', 'only these remote ports, comma-separated', commaList)
    .option('--protocol <protocols>', 'only these protocols (tcp, udp, icmp, icmpv6 or numbers), comma-separated', commaList)
    .option('--direction <direction>', 'only conversations opened this way: inbound or outbound', choiceOption('--direction', ['inbound', 'outbound'] as const))
    .option('--action <action>', 'only accepted or rejected records: accept or reject', choiceOption('--action', ['accept', 'reject'] as const))
    .option('--bucket <minutes>', 'timeline bucket size in minutes (default: about 200 buckets over the window)', integerOption('--bucket', 1, 10080))
    .option('--report <dir>', 'also write flow-report.json, flow-report.md and flow-report.html into this folder')
    .option('--output <format>', 'table, json or csv (one row per conversation)', choiceOption('--output', FLOW_OUTPUT_FORMATS), 'table')
    .option('--limit <rows>', 'conversations shown in the table', integerOption('--limit', 1, 100000), 20)
    .option('--memory <MB>', 'memory budget of the whole run; past it the conversation table spills to a temporary folder (default 256)', integerOption('--memory', 64, 1048576))
    .option('--vpc-cidr <cidrs>', "the VPC's address ranges, comma-separated or repeated: large transfers to them are internal-transfer, not exfiltration (default: the private ranges)", commaList)
    .option('--thresholds <file>', 'YAML or JSON overriding detector thresholds, e.g. `exfiltration: { minBytes: 52428800 }` (docs/reference/flow-thresholds.md lists every one)')
    .action(async (paths: string[], flags: AnalyzeFlags) => {
      const remote = paths.find((path) => path.startsWith('s3://'));
      if (remote !== undefined) {
        throw new InvalidInputError(`flows analyze reads local files, not ${remote}; download them, or investigate with \`orgshield investigate --flow-logs ${remote}\`.`);
      }
      const progress = process.stderr.isTTY
        ? (p: { filesDone: number; filesTotal: number | null }) => process.stderr.write(`\rread ${p.filesDone} of ${p.filesTotal ?? '?'} files`)
        : undefined;
      const thresholds = flags.thresholds === undefined
        ? undefined
        : await refusingSpecProblems(`The thresholds file ${flags.thresholds}`, 'nothing was analysed', () => loadThresholds(flags.thresholds!));
      const analysis = await analyzeFlowLogs({ paths }, {
        ...options(flags), ...(thresholds === undefined ? {} : { thresholds }), ...(progress === undefined ? {} : { onProgress: progress }),
      });
      try {
        if (progress !== undefined) process.stderr.write('\n');
        for (const problem of analysis.problems) note(`warning: ${problem.message}`);
        if (analysis.problemCount > analysis.problems.length) note(`warning: ${analysis.problemCount} problems in all; the listed ones are the first of each file.`);
        if (analysis.records.total === 0) throw new OrgshieldError('NothingAnalysed', nothingAnalysed(analysis));
        const lost = analysis.problems.filter(isIntegrityProblem).length;
        if (lost > 0) {
          // Done, but on incomplete input: scripts must not take these totals for the whole story.
          note(`warning: ${lost} file${lost === 1 ? ' was' : 's were'} not read to the end (listed above); the totals cover what was read.`);
          process.exitCode = EXIT_CODES.doneOnIncompleteInput;
        }
        if (flags.report !== undefined) {
          const written = await writeFlowReport(flags.report, buildFlowReport(analysis), analysis.conversations);
          note(`report: ${written.html}\nreport: ${written.markdown}\nreport: ${written.json}\nreport: ${written.csv}`);
        }
        if (flags.output === 'json') await writeFlowAnalysisJson(analysis, writeOut);
        else if (flags.output === 'csv') await writeConversationsCsv(analysis.conversations, writeOut);
        else await writeOut(tables(analysis, flags.limit));
      } finally {
        analysis.dispose();
      }
    });
}

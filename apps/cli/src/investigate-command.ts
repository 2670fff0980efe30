import type { Command } from 'commander';
import { EXIT_CODES, InvalidInputError } from '@orgshield/errors';
import {
  getOrganizationFinding, investigationRunJob, normalizeFinding, parseInvestigationRequest, requestWindow, type InvestigationRequest, type InvestigationResult,
} from '@orgshield/investigations';
import { pathForWorker, readInputFile } from '@orgshield/spec-files';
import { loadWorkerConfig } from '@orgshield/worker-runtime';
import { choiceOption, formatTable, note, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';
import { openSession, runJob } from './job-runner.js';
import { localClients } from './local-aws.js';

interface InvestigateOptions {
  finding?: string;
  findingId?: string;
  instance?: string;
  ip?: string;
  role?: string;
  account?: string;
  region?: string;
  from?: string;
  to?: string;
  flowLogs?: string;
  report?: string;
  output: OutputFormat;
  wait?: boolean;
}

/** The job payload from the flags: files read here, paths made absolute for a worker elsewhere. */
async function payloadOf(options: InvestigateOptions): Promise<InvestigationRequest> {
  const subjects = (['finding', 'findingId', 'instance', 'ip', 'role'] as const).filter((flag) => options[flag] !== undefined);
  const flags = subjects.map((subject) => (subject === 'findingId' ? 'finding-id' : subject));
  if (subjects.length !== 1) {
    throw new InvalidInputError(
      subjects.length === 0
        ? 'Nothing to investigate: give one of --finding FILE, --finding-id ID, --instance ID, --ip IP, --role ARN.'
        : `--${flags.join(' and --')} were both given; give exactly one of --finding, --finding-id, --instance, --ip, --role.`,
    );
  }
  let finding: unknown;
  let fromFinding: ReturnType<typeof normalizeFinding> | undefined;
  if (options.findingId !== undefined) {
    finding = await fetchFinding(options.findingId, options.region);
    fromFinding = normalizeFinding(finding, `finding ${options.findingId}`);
  }
  if (options.finding !== undefined) {
    const text = await readInputFile(options.finding, 'finding');
    try {
      finding = JSON.parse(text);
    } catch (error) {
      throw new InvalidInputError(`${options.finding} is not valid JSON (${(error as Error).message}); pass a GuardDuty finding as JSON.`);
    }
    fromFinding = normalizeFinding(finding, options.finding);
  }
  const accountId = options.account ?? fromFinding?.accountId;
  const region = options.region ?? fromFinding?.region;
  if (accountId === undefined) throw new InvalidInputError('--account is missing: name the 12-digit account the subject is in.');
  if (region === undefined) throw new InvalidInputError('--region is missing: name the region the subject is in, such as us-east-1.');
  // Local paths go to the worker relative to its folders, which are this process's too when it runs the job here.
  const config = loadWorkerConfig();
  const flowLogs =
    options.flowLogs === undefined || options.flowLogs.startsWith('s3://')
      ? options.flowLogs
      : pathForWorker('--flow-logs', options.flowLogs, { path: config.ORGSHIELD_FLOW_LOG_DIR, what: 'flow-log', setting: 'ORGSHIELD_FLOW_LOG_DIR' });
  const reportDir =
    options.report === undefined ? undefined : pathForWorker('--report', options.report, { path: config.ORGSHIELD_REPORT_DIR, what: 'report', setting: 'ORGSHIELD_REPORT_DIR' });
  // A bad window is refused here, before a job is queued, in the words the worker would use.
  requestWindow({ from: options.from, to: options.to, finding: fromFinding }, new Date());
  return parseInvestigationRequest({
    finding,
    instanceId: options.instance,
    ip: options.ip,
    roleArn: options.role,
    accountId,
    region,
    from: options.from,
    to: options.to,
    flowLogs,
    reportDir,
  });
}

/** A finding by id, read through the caller's (the delegated administrator's) GuardDuty detector. */
async function fetchFinding(findingId: string, regionGiven: string | undefined): Promise<unknown> {
  if (!/^[0-9a-zA-Z_-]{1,300}$/.test(findingId)) throw new InvalidInputError(`--finding-id "${findingId}" is not a GuardDuty finding id (letters, digits, - and _).`);
  const region = regionGiven ?? process.env['AWS_REGION'];
  if (!region) throw new InvalidInputError('--finding-id needs the region its detector is in: pass --region or set AWS_REGION.');
  const aws = localClients();
  try {
    const finding = await getOrganizationFinding(aws, region, findingId);
    if (!finding) throw new InvalidInputError(`GuardDuty has no finding ${findingId} in ${region} for this account's detector; see "orgshield findings list --region ${region}".`);
    return finding;
  } finally {
    aws.destroy();
  }
}

function printResult(result: InvestigationResult): void {
  const { subject, detective } = result;
  const who = subject.instanceId ?? subject.principalArn ?? subject.localIps.join(', ');
  process.stdout.write(`Investigated ${who} in ${subject.accountId} ${subject.region}, ${result.window.from} to ${result.window.to}\n`);
  if (subject.finding) process.stdout.write(`GuardDuty finding ${subject.finding.type} (severity ${subject.finding.severity})\n`);
  process.stdout.write(
    `Flow logs: ${result.records.matched} of ${result.records.total} records matched in ${result.flowLogs.files} files${result.flowLogs.source ? ` from ${result.flowLogs.source}` : ''}\n`,
  );
  const ranges = result.vpcRanges;
  process.stdout.write(`Inside the VPC: ${ranges.cidrs.join(', ')} (${ranges.source === 'vpc' ? `${ranges.vpcIds.join(', ')}, from DescribeVpcs` : 'the private ranges; see the warning'})\n\n`);
  if (result.findings.length === 0) process.stdout.write('No findings in the flow logs.\n');
  else {
    process.stdout.write(
      formatTable(
        ['KIND', 'REMOTE IP', 'LOCAL PORT', 'GUARDDUTY', 'EVIDENCE'],
        result.findings.map((f) => [f.kind, f.remoteIp ?? '-', f.localPort ?? '-', f.fromFinding ? 'yes' : '', f.evidence.summary]),
      ),
    );
  }
  const investigation = detective.investigation;
  process.stdout.write(
    `\nDetective: ${
      !detective.available
        ? 'not available'
        : investigation
          ? `investigation ${investigation.id} ${investigation.status ?? ''}, severity ${investigation.severity ?? 'unknown'}, ${Object.values(investigation.indicators).reduce((a, b) => a + b, 0)} indicators${investigation.reused ? ' (existing investigation reused)' : ''}`
          : `graph ${detective.graphArn ?? ''}, member ${detective.memberStatus ?? 'unknown'}, no investigation`
    }\n`,
  );
  process.stdout.write(`\nReports:\n  ${result.reportPaths.html}\n  ${result.reportPaths.markdown}\n  ${result.reportPaths.json}\n`);
}

export function configureInvestigateCommand(program: Command): void {
  program
    .command('investigate')
    .description('investigate a GuardDuty finding or an entity: Detective, VPC flow logs, reports (an investigation.run job)')
    .option('--finding <file>', 'a GuardDuty finding as JSON (EventBridge event or GetFindings output)')
    .option('--finding-id <id>', 'a GuardDuty finding id (as "orgshield findings list" shows), read through the delegated administrator’s detector in --region')
    .option('--instance <id>', 'an EC2 instance id')
    .option('--ip <ip>', 'an IP address of the account')
    .option('--role <arn>', 'an IAM role or user ARN')
    .option('--account <id>', 'the account the subject is in (default: the finding’s)')
    .option('--region <region>', 'the region the subject is in (default: the finding’s)')
    .option('--from <time>', 'start of the window, ISO 8601 (default: the finding’s first sighting minus 5 minutes, else 24 hours ago)')
    .option('--to <time>', 'end of the window, ISO 8601 (default: the finding’s last sighting plus 15 minutes, else now)')
    .option('--flow-logs <location>', 's3://BUCKET/PREFIX or a local file or folder under ORGSHIELD_FLOW_LOG_DIR (default: the VPC flow log’s S3 destination)')
    .option('--report <dir>', 'folder under ORGSHIELD_REPORT_DIR for the JSON, Markdown and HTML reports (default: one named for the investigation)')
    .option('--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .option('--wait', 'wait for the result; runs the job here when no worker is connected')
    .action(async (options: InvestigateOptions) => {
      const payload = await payloadOf(options);
      const session = await openSession();
      try {
        const { jobId, result } = await runJob(session, investigationRunJob, payload, {
          wait: options.wait === true,
          progress: 'investigate',
        });
        if (!result) {
          note(`investigation.run job ${jobId} queued; a worker will run it and write the reports.`);
          if (options.output === 'json') printJson({ jobId });
          return;
        }
        if (options.output === 'json') printJson(result);
        else printResult(result);
        for (const warning of result.warnings) note(`warning: ${warning}`);
        if (result.flowLogs.incomplete) process.exitCode = EXIT_CODES.doneOnIncompleteInput;
      } finally {
        await session.close();
      }
    });
}

import type { Command } from 'commander';
import { fanOutExitCode, type FailureTolerance } from '@orgshield/accounts';
import { InvalidInputError } from '@orgshield/errors';
import { complianceReport, complianceReportCsv } from '@orgshield/firewall';
import { choiceOption, collect, formatTable, note, printJson } from './cli-kit.js';
import { localClients } from './rollout-command.js';

const REPORT_FORMATS = ['table', 'json', 'csv'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

function region(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(value)) throw new InvalidInputError(`--region "${value}" is not a region name like eu-west-1.`);
  return value;
}

/** `3` (accounts) or `10%` (of the region's accounts). */
function failureTolerance(value: string): FailureTolerance {
  const match = /^(\d+)(%?)$/.exec(value);
  const amount = Number(match?.[1]);
  if (!match || (match[2] === '%' && amount > 100)) {
    throw new InvalidInputError(`--failure-tolerance "${value}" is not a count or a percentage: give e.g. 3 or 10%.`);
  }
  return match[2] === '%' ? { percentage: amount } : { count: amount };
}

export function configureComplianceCommand(program: Command): void {
  const compliance = program.command('compliance').description('Firewall Manager compliance of the organization');

  compliance
    .command('report')
    .description("a policy's compliance per member account, with every violator and its reason (reads FMS directly)")
    .requiredOption('--policy <name>', 'the Firewall Manager policy name')
    .option('--region <region>', 'a region to read (repeatable); default AWS_REGION', collect(region))
    .option('--output <format>', 'table, json or csv', choiceOption('--output', REPORT_FORMATS), 'table' as ReportFormat)
    .option('--failure-tolerance <n|n%>', "per region, accounts whose violators may fail to be read before the report stops reading them there (default 100%)", failureTolerance)
    .action(async (options: { policy: string; region?: string[]; output: ReportFormat; failureTolerance?: FailureTolerance }) => {
      const regions = options.region ?? (process.env['AWS_REGION'] ? [process.env['AWS_REGION']] : []);
      if (regions.length === 0) throw new InvalidInputError('no region given: pass --region (repeatable) or set AWS_REGION.');
      const aws = localClients();
      try {
        const report = await complianceReport(aws, { policy: options.policy, regions, ...(options.failureTolerance ? { tolerance: options.failureTolerance } : {}) });
        // Accounts whose violators could not be read make the report incomplete: say so in the exit code.
        process.exitCode = fanOutExitCode(report.unread);
        if (options.output === 'json') return printJson(report);
        if (options.output === 'csv') return void process.stdout.write(complianceReportCsv(report));
        process.stdout.write(
          formatTable(
            ['REGION', 'ACCOUNT', 'STATUS', 'VIOLATORS', 'REASONS', 'EVALUATED'],
            report.rows.map((row) => [
              row.region,
              row.account,
              row.status,
              `${row.violatorCount}${row.evaluationLimitExceeded ? '+ (over the 100 FMS lists)' : ''}`,
              [...new Set(row.violators.map((violator) => violator.reason))].join(', '),
              row.evaluatedAt ?? '-',
            ]),
          ),
        );
        const missing = report.regions.filter((entry) => !entry.policyId).map((entry) => entry.region);
        if (missing.length > 0) note(`${options.policy} does not exist in ${missing.join(', ')}`);
        for (const stopped of report.unread.stoppedRegions) note(stopped.reason);
        for (const failed of report.unread.failed) note(`${failed.region} ${failed.accountId}: violators not read: ${failed.reason}`);
        if (report.unread.notStarted.length > 0) note(`${report.unread.notStarted.length} account(s) whose violators were not read (--output json lists them)`);
        const t = report.totals;
        note(`${t.accounts} accounts: ${t.compliant} compliant, ${t.nonCompliant} non-compliant (${t.nonCompliantResources} resources), ${t.notEvaluated} not evaluated`);
      } finally {
        aws.destroy();
      }
    });
}

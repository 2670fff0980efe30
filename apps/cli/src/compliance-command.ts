import type { Command } from 'commander';
import { fanOutExitCode, type FailureTolerance } from '@orgshield/accounts';
import { InvalidInputError } from '@orgshield/errors';
import { complianceReport, complianceReportCsv, complianceSummary } from '@orgshield/firewall';
import { choiceOption, collect, formatTable, note, OUTPUT_FORMATS, printJson, regionName, regionsToRead, type OutputFormat } from './cli-kit.js';
import { localClients, withOrganization } from './local-aws.js';

const REPORT_FORMATS = ['table', 'json', 'csv'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

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
    .option('--region <region>', 'a region to read (repeatable); default AWS_REGION', collect(regionName))
    .option('--output <format>', 'table, json or csv', choiceOption('--output', REPORT_FORMATS), 'table' as ReportFormat)
    .option('--failure-tolerance <n|n%>', "per region, accounts whose violators may fail to be read before the report stops reading them there (default 100%)", failureTolerance)
    .action(async (options: { policy: string; region?: string[]; output: ReportFormat; failureTolerance?: FailureTolerance }) => {
      const regions = regionsToRead(options.region);
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

  compliance
    .command('summary')
    .description('every policy in every region: member accounts per compliance status (ListComplianceStatus only; violators are read by "compliance report")')
    .option('--region <region>', 'a region to read (repeatable); default AWS_REGION', collect(regionName))
    .option('--non-compliant', 'list the non-compliant accounts too, with their names and OU paths (from the stored organization snapshot, else a walk)')
    .option('--refresh', 'with --non-compliant: walk the organization again instead of using the stored snapshot')
    .option('--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .action(async (options: { region?: string[]; nonCompliant?: boolean; refresh?: boolean; output: OutputFormat }) => {
      const regions = regionsToRead(options.region);
      const aws = localClients();
      try {
        const summary = await complianceSummary(aws, { regions });
        let nonCompliant: { policy: string; region: string; account: string; name: string; ouPath: string; violators: number }[] | undefined;
        if (options.nonCompliant) {
          const rows = summary.rows.filter((row) => row.status === 'NON_COMPLIANT');
          // Names and OU paths: only needed when some account is non-compliant.
          const snapshot = rows.length === 0 ? undefined : await withOrganization(aws, { refresh: options.refresh === true }, (organization) => organization());
          const accounts = new Map(snapshot?.accounts.map((account) => [account.id, account]));
          nonCompliant = rows.map((row) => {
            const account = accounts.get(row.account);
            return { policy: row.policy, region: row.region, account: row.account, name: account?.name ?? '(not in the organization snapshot)', ouPath: account?.ouPath ?? '', violators: row.violatorCount };
          });
        }
        const { totals } = summary;
        if (options.output === 'json') return printJson({ regions: summary.regions, policies: summary.policies, totals, ...(nonCompliant ? { nonCompliant } : {}) });
        process.stdout.write(
          formatTable(
            ['POLICY', 'REGION', 'REMEDIATION', 'ACCOUNTS', 'COMPLIANT', 'NON-COMPLIANT', 'NOT EVALUATED', 'VIOLATORS'],
            summary.policies.map((p) => [p.policy, p.region, p.remediation ? 'on' : 'off', p.accounts, p.compliant, p.nonCompliant, p.notEvaluated, p.nonCompliantResources]),
          ),
        );
        if (nonCompliant) {
          process.stdout.write(nonCompliant.length === 0 ? '\nNo non-compliant account.\n' : '\n');
          if (nonCompliant.length > 0) {
            process.stdout.write(formatTable(['POLICY', 'REGION', 'ACCOUNT', 'NAME', 'OU PATH', 'VIOLATORS'], nonCompliant.map((r) => [r.policy, r.region, r.account, r.name, r.ouPath, r.violators])));
          }
        }
        note(
          `${summary.policies.length} policy-region pair${summary.policies.length === 1 ? '' : 's'} in ${regions.join(', ')}; ${totals.accounts} accounts: ${totals.nonCompliant} non-compliant under some policy, ${totals.compliant} compliant under all, ${totals.notEvaluated} not evaluated`,
        );
      } finally {
        aws.destroy();
      }
    });
}

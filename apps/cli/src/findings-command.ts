import type { Finding } from '@aws-sdk/client-guardduty';
import type { Command } from 'commander';
import { InvalidInputError } from '@orgshield/errors';
import { listOrganizationFindings, type FindingFilters } from '@orgshield/investigations';
import { parseDuration } from '@orgshield/spec-files';
import { choiceOption, collect, formatTable, integerOption, note, OUTPUT_FORMATS, printJson, regionName, regionsToRead, type OutputFormat } from './cli-kit.js';
import { localClients } from './local-aws.js';

/** GuardDuty's severity bands: each name is its band's lowest value. */
const SEVERITY_NAMES = { LOW: 1, MEDIUM: 4, HIGH: 7, CRITICAL: 9 } as const;

export function severityLabel(severity: number): string {
  return severity >= 9 ? 'CRITICAL' : severity >= 7 ? 'HIGH' : severity >= 4 ? 'MEDIUM' : 'LOW';
}

/** `--severity`: a number from 1 to 10, or LOW, MEDIUM, HIGH, CRITICAL (any case). */
export function severityOption(value: string): number {
  const named = SEVERITY_NAMES[value.toUpperCase() as keyof typeof SEVERITY_NAMES];
  if (named !== undefined) return named;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 1 || n > 10) {
    throw new InvalidInputError(`--severity "${value}" is not a severity: give a number from 1 to 10, or LOW, MEDIUM, HIGH or CRITICAL.`);
  }
  return n;
}

/** `--type`: a finding type (Recon:EC2/PortProbeUnprotectedPort), or a prefix of one ending in * (Recon:*). */
export function typeOption(value: string, previous: string[] | undefined): string[] {
  if (!/^[A-Za-z0-9:/._!-]+\*?$/.test(value)) {
    throw new InvalidInputError(`--type "${value}" is not a GuardDuty finding type: give one like Recon:EC2/PortProbeUnprotectedPort, or a prefix ending in * like "Recon:*".`);
  }
  return [...(previous ?? []), value];
}

/** `--account`: a 12-digit account id. */
function accountOption(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidInputError(`--account "${value}" is not an AWS account id: give its 12 digits.`);
  return value;
}

/** `--since`/`--until`: an ISO 8601 time, or a duration before now (30m, 24h, 7d, 1d12h). */
export function timeOption(flag: string, now: () => number = Date.now) {
  return (value: string): Date => {
    if (/^(\d+(ms|s|m|h|d))+$/.test(value)) return new Date(now() - parseDuration(value));
    const time = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime())) {
      throw new InvalidInputError(`${flag} "${value}" is not a time: give ISO 8601 (2026-01-31T12:00:00Z) or a duration before now (24h, 7d).`);
    }
    return time;
  };
}

interface FindingsOptions {
  region?: string[];
  severity?: number;
  type?: string[];
  account?: string[];
  since?: Date;
  until?: Date;
  limit: number;
  output: OutputFormat;
}

function filtersOf(options: FindingsOptions): FindingFilters {
  if (options.since && options.until && options.since > options.until) {
    throw new InvalidInputError(`--since ${options.since.toISOString()} is after --until ${options.until.toISOString()}; give the earlier time to --since.`);
  }
  const accounts = [...new Set(options.account ?? [])];
  if (accounts.length > 50) throw new InvalidInputError(`--account was given ${accounts.length} times; GuardDuty filters on at most 50 accounts at once.`);
  const types = options.type ?? [];
  return {
    ...(options.severity !== undefined ? { minSeverity: options.severity } : {}),
    ...(types.length > 0
      ? { types: { exact: types.filter((type) => !type.endsWith('*')), prefixes: types.filter((type) => type.endsWith('*')).map((type) => type.slice(0, -1)) } }
      : {}),
    ...(accounts.length > 0 ? { accounts } : {}),
    ...(options.since ? { since: options.since } : {}),
    ...(options.until ? { until: options.until } : {}),
  };
}

/** A row of the table: what a person triages on, and the id `investigate --finding-id` takes. */
function row(finding: Finding): (string | number)[] {
  const severity = finding.Severity ?? 0;
  const instance = finding.Resource?.InstanceDetails?.InstanceId;
  return [
    finding.UpdatedAt ?? '',
    finding.AccountId ?? '',
    finding.Region ?? '',
    `${severity} ${severityLabel(severity)}`,
    finding.Type ?? '',
    instance ?? finding.Resource?.ResourceType ?? '',
    finding.Id ?? '',
  ];
}

export function configureFindingsCommand(program: Command): void {
  const findings = program.command('findings').description("GuardDuty findings of the organization's member accounts, through the delegated administrator's detector");

  findings
    .command('list')
    .description('findings not archived, newest first (last seen), filtered by severity, type, account and time; run as the GuardDuty delegated administrator')
    .option('--region <region>', 'a region to read (repeatable); default AWS_REGION', collect(regionName))
    .option('--severity <min>', 'this severity or more: a number from 1 to 10, or LOW (1), MEDIUM (4), HIGH (7), CRITICAL (9)', severityOption)
    .option('--type <type>', 'a finding type, or a prefix ending in * ("Recon:*") (repeatable)', typeOption)
    .option('--account <id>', 'a member account (repeatable, up to 50)', collect(accountOption))
    .option('--since <time>', 'last seen at or after: ISO 8601, or a duration before now (24h, 7d)', timeOption('--since'))
    .option('--until <time>', 'last seen at or before: ISO 8601, or a duration before now', timeOption('--until'))
    .option('--limit <n>', 'at most this many findings per region', integerOption('--limit', 1, 10_000), 100)
    .option('--output <format>', 'table or json (json: GetFindings’ own shape)', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .action(async (options: FindingsOptions) => {
      const regions = regionsToRead(options.region);
      const filters = filtersOf(options);
      const aws = localClients();
      try {
        const read = await Promise.all(regions.map((region) => listOrganizationFindings(aws, { region, filters, limit: options.limit })));
        // Newest first over every region, as each region's list is.
        const all = read.flatMap((entry) => entry.findings).sort((a, b) => (b.UpdatedAt ?? '').localeCompare(a.UpdatedAt ?? ''));
        if (options.output === 'json') return printJson(all);
        process.stdout.write(formatTable(['LAST SEEN', 'ACCOUNT', 'REGION', 'SEVERITY', 'TYPE', 'RESOURCE', 'FINDING ID'], all.map(row)));
        for (const entry of read) if (entry.more) note(`${entry.region}: more findings match than --limit ${options.limit}; raise --limit or narrow the filters.`);
        note(`${all.length} finding${all.length === 1 ? '' : 's'} in ${regions.join(', ')}`);
        const first = all[0];
        if (first?.Id) note(`investigate one: orgshield investigate --finding-id ${first.Id} --region ${first.Region ?? regions[0]} --wait`);
      } finally {
        aws.destroy();
      }
    });
}

import type { Command } from 'commander';
import { RedisAuditTrail, type StoredAuditEntry } from '@orgshield/aws';
import { InvalidInputError, OrgshieldError } from '@orgshield/errors';
import { choiceOption, note, printJson } from './cli-kit.js';
import { withSession } from './job-runner.js';

const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The columns of `audit export --output csv`, in order. */
const CSV_COLUMNS = [
  'id', 'at', 'phase', 'callId', 'whoArn', 'whoAccountId', 'service', 'operation', 'accountId', 'region', 'resource', 'jobId', 'runId', 'result', 'error',
  'requestId', 'prev', 'hash',
] as const;

function timeOption(flag: string) {
  return (value: string): Date => {
    const time = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime())) {
      throw new InvalidInputError(`${flag} "${value}" is not a time: use ISO 8601, e.g. 2026-01-31 or 2026-01-31T12:00:00Z.`);
    }
    return time;
  };
}

function csvRow(entry: StoredAuditEntry): string {
  const values: Partial<Record<(typeof CSV_COLUMNS)[number], unknown>> = { ...entry, whoArn: entry.who?.arn, whoAccountId: entry.who?.accountId };
  return CSV_COLUMNS.map((column) => {
    const text = values[column] === undefined || values[column] === null ? '' : String(values[column]);
    // Quoted when needed; a leading =, +, - or @ is defused so a spreadsheet does not run it as a formula.
    const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  }).join(',');
}

export function configureAuditCommand(program: Command): void {
  const audit = program.command('audit').description('the hash-chained trail of every mutating AWS call orgshield made (who, what, why, result)');

  audit
    .command('verify')
    .description('walk the whole chain: a removed, reordered or edited entry is named, and the exit code is 1')
    .option('--output <format>', 'table or json', choiceOption('--output', ['table', 'json'] as const), 'table')
    .addHelpText('after', '\nExample:\n  orgshield audit verify\n')
    .action(async (options: { output: 'table' | 'json' }) => {
      const result = await withSession((session) => new RedisAuditTrail(session.redis, { keyPrefix: session.keyPrefix }).verify());
      if (options.output === 'json') printJson(result);
      else for (const problem of result.problems) process.stdout.write(`${problem.id}  ${problem.message}\n`);
      if (result.problems.length > 0) {
        throw new OrgshieldError('AuditTrailBroken', `the audit trail of ${result.entries} entries has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}${options.output === 'json' ? '' : ' (listed above)'}: it was changed after it was written.`);
      }
      const trimmed = result.trimmedBefore ? ' (its first entry follows entries the retention dropped)' : '';
      note(`audit trail intact: ${result.entries} entries${trimmed}.`);
    });

  audit
    .command('export')
    .description('the entries, oldest first, as JSON lines or CSV (with their hashes, so a copy can be verified elsewhere)')
    .option('--from <time>', 'entries written at or after this time (ISO 8601)', timeOption('--from'))
    .option('--to <time>', 'entries written at or before this time (ISO 8601)', timeOption('--to'))
    .option('--output <format>', 'jsonl or csv', choiceOption('--output', EXPORT_FORMATS), 'jsonl' as ExportFormat)
    .addHelpText('after', '\nExample:\n  orgshield audit export --from 2026-01-01 --output csv > audit.csv\n')
    .action(async (options: { from?: Date; to?: Date; output: ExportFormat }) => {
      if (options.from && options.to && options.from.getTime() > options.to.getTime()) {
        throw new InvalidInputError(`--from ${options.from.toISOString()} is after --to ${options.to.toISOString()}; give the earlier time first.`);
      }
      await withSession(async (session) => {
        const trail = new RedisAuditTrail(session.redis, { keyPrefix: session.keyPrefix });
        if (options.output === 'csv') process.stdout.write(`${CSV_COLUMNS.join(',')}\n`);
        for await (const entry of trail.entries({ from: options.from, to: options.to })) {
          process.stdout.write(`${options.output === 'csv' ? csvRow(entry) : JSON.stringify(entry)}\n`);
        }
      });
    });
}

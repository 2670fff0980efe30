import type { Command } from 'commander';
import { InvalidInputError } from '@orgshield/aws';
import { readRolloutSource, RolloutSchedules } from '@orgshield/firewall';
import { JobQueues } from '@orgshield/jobs';
import { choiceOption, formatTable, note, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';
import { openSession } from './job-runner.js';

/** What can be scheduled: org-wide rollouts for now. */
const SCHEDULE_KINDS = ['rollout'] as const;

async function withSchedules<T>(work: (schedules: RolloutSchedules) => Promise<T>): Promise<T> {
  const session = await openSession();
  const queues = new JobQueues(session.redis, { prefix: session.config.ORGSHIELD_QUEUE_PREFIX });
  try {
    return await work(new RolloutSchedules(session.redis, queues));
  } finally {
    await queues.close();
    await session.close();
  }
}

export function configureScheduleCommand(program: Command): void {
  const schedule = program.command('schedule').description('recurring org-wide work (BullMQ job schedulers); workers run each firing');

  schedule
    .command('set')
    .description('create or replace a schedule: each run re-applies the rollout file as it is now, correcting drift')
    .argument('<name>', 'the schedule name (letters, digits, "-" and "_")')
    .argument('<kind>', `what to run: ${SCHEDULE_KINDS.join(', ')}`)
    .argument('<file>', 'the rollout file; it and its policy files are stored with the schedule')
    .requiredOption('--cron <expression>', 'when to run, e.g. "0 3 * * *"')
    .option('--tz <zone>', 'the time zone of the cron expression, e.g. Europe/Paris; default UTC')
    .action(async (name: string, kind: string, file: string, options: { cron: string; tz?: string }) => {
      if (!(SCHEDULE_KINDS as readonly string[]).includes(kind)) {
        throw new InvalidInputError(`"${kind}" cannot be scheduled; schedule one of: ${SCHEDULE_KINDS.join(', ')} (schedule set NAME --cron EXPR rollout FILE).`);
      }
      const source = await readRolloutSource(file);
      await withSchedules(async (schedules) => {
        const info = await schedules.set(name, { cron: options.cron, ...(options.tz ? { tz: options.tz } : {}) }, source);
        note(`schedule ${info.name}: rollout ${info.rollout} at "${info.cron}"${info.tz ? ` (${info.tz})` : ''}, next ${info.next ?? 'unknown'}`);
      });
    });

  schedule
    .command('list')
    .description('the rollout schedules, their next run and what their last run did')
    .option('--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .action(async (options: { output: OutputFormat }) =>
      withSchedules(async (schedules) => {
        const list = await schedules.list();
        if (options.output === 'json') return printJson(list);
        process.stdout.write(
          formatTable(
            ['NAME', 'CRON', 'TZ', 'ROLLOUT', 'NEXT', 'LAST RUN'],
            list.map((s) => [s.name, s.cron, s.tz ?? 'UTC', s.rollout, s.next ?? '-', s.lastRun ? `${s.lastRun.at} ${s.lastRun.status}: ${s.lastRun.message}` : '-']),
          ),
        );
      }),
    );

  schedule
    .command('remove')
    .description('delete a schedule (rollouts it started are not touched)')
    .argument('<name>', 'the schedule name')
    .action(async (name: string) =>
      withSchedules(async (schedules) => {
        await schedules.remove(name);
        note(`schedule ${name} removed`);
      }),
    );
}

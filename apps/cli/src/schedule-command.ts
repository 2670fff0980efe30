import type { Command } from 'commander';
import { orgSyncJob } from '@orgshield/accounts';
import { InvalidInputError } from '@orgshield/errors';
import { drillScheduledJob, parseDrillSource, readDrillSource } from '@orgshield/drills';
import { readRolloutSource, RolloutSchedules } from '@orgshield/firewall';
import { JobQueues, JobSchedules } from '@orgshield/jobs';
import { RecordingRuns, recordingAuditJob } from '@orgshield/session-recording';
import { choiceOption, formatTable, note, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';
import { openSession } from './job-runner.js';
import { loadOrRefuse } from './recording-command.js';

/** What can be scheduled: org-wide rollouts, DR drills, recording audits, and refreshing the organization snapshot. */
const SCHEDULE_KINDS = ['rollout', 'drill', 'recording-audit', 'org-sync'] as const;

/** Statuses in which a rollout waits for an operator; a schedule behind one is stuck. */
const STUCK_STATUSES: readonly string[] = ['halted', 'failed', 'paused'];

interface Schedules {
  rollouts: RolloutSchedules;
  jobs: JobSchedules;
  recordings: RecordingRuns;
}

async function withSchedules<T>(work: (schedules: Schedules) => Promise<T>): Promise<T> {
  const session = await openSession();
  const queues = new JobQueues(session.redis, { prefix: session.config.ORGSHIELD_QUEUE_PREFIX });
  try {
    return await work({ rollouts: new RolloutSchedules(session.redis, queues), jobs: new JobSchedules(queues), recordings: new RecordingRuns(session.redis, session.config.ORGSHIELD_QUEUE_PREFIX) });
  } finally {
    await queues.close();
    await session.close();
  }
}

export function configureScheduleCommand(program: Command): void {
  const schedule = program.command('schedule').description('recurring org-wide work (BullMQ job schedulers); workers run each firing');

  schedule
    .command('set')
    .description('create or replace a schedule: a rollout re-applies its file as it is now (correcting drift); org-sync refreshes the organization snapshot')
    .argument('<name>', 'the schedule name (letters, digits, "-" and "_")')
    .argument('<kind>', `what to run: ${SCHEDULE_KINDS.join(', ')}`)
    .argument('[file]', 'for a rollout: the rollout file (it and its policy files are stored with the schedule); for a drill or a recording-audit: its file')
    .requiredOption('--cron <expression>', 'when to run, e.g. "0 3 * * *"')
    .option('--tz <zone>', 'the time zone of the cron expression, e.g. Europe/Paris; default UTC')
    .action(async (name: string, kind: string, file: string | undefined, options: { cron: string; tz?: string }) => {
      if (!(SCHEDULE_KINDS as readonly string[]).includes(kind)) {
        throw new InvalidInputError(`"${kind}" cannot be scheduled; schedule one of: ${SCHEDULE_KINDS.join(', ')} (schedule set NAME --cron EXPR rollout FILE).`);
      }
      const timing = { cron: options.cron, ...(options.tz ? { tz: options.tz } : {}) };
      const when = (cron: string, tz: string | undefined, next: string | undefined) => `at "${cron}"${tz ? ` (${tz})` : ''}, next ${next ?? 'unknown'}`;
      if (kind === 'org-sync') {
        if (file !== undefined) throw new InvalidInputError(`an org-sync schedule takes no file, got "${file}" (schedule set NAME --cron EXPR org-sync).`);
        await withSchedules(async ({ jobs }) => {
          const info = await jobs.set(orgSyncJob, kind, name, timing, { requestedBy: `schedule:${name}` });
          note(`schedule ${info.name}: org-sync ${when(info.cron, info.tz, info.next)}`);
        });
        return;
      }
      if (kind === 'drill') {
        if (file === undefined) throw new InvalidInputError('a drill schedule needs its drill file (schedule set NAME --cron EXPR drill FILE).');
        const source = await readDrillSource(file);
        const { drill } = parseDrillSource(source);
        await withSchedules(async ({ jobs }) => {
          const info = await jobs.set(drillScheduledJob, kind, name, timing, { schedule: name, source });
          note(`schedule ${info.name}: drill ${drill.name} ${when(info.cron, info.tz, info.next)}`);
        });
        return;
      }
      if (kind === 'recording-audit') {
        if (file === undefined) throw new InvalidInputError('a recording-audit schedule needs its recording file (schedule set NAME --cron EXPR recording-audit FILE).');
        // The file is stored in Redis; each firing carries only its id (the file names users).
        const { source, recording } = await loadOrRefuse(file);
        await withSchedules(async ({ jobs, recordings }) => {
          const fileId = await recordings.storeFile(source);
          const info = await jobs.set(recordingAuditJob, kind, name, timing, { fileId, schedule: name });
          note(`schedule ${info.name}: recording audit of ${recording.name} ${when(info.cron, info.tz, info.next)}`);
        });
        return;
      }
      if (file === undefined) throw new InvalidInputError('a rollout schedule needs its rollout file (schedule set NAME --cron EXPR rollout FILE).');
      const source = await readRolloutSource(file);
      await withSchedules(async ({ rollouts }) => {
        const info = await rollouts.set(name, timing, source);
        note(`schedule ${info.name}: rollout ${info.rollout} ${when(info.cron, info.tz, info.next)}`);
      });
    });

  schedule
    .command('list')
    .description('the schedules, their next run and (rollouts) what their last run did')
    .option('--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .action(async (options: { output: OutputFormat }) =>
      withSchedules(async ({ rollouts, jobs }) => {
        const rolloutList = await rollouts.list();
        const syncList = [...(await jobs.list(orgSyncJob, 'org-sync')), ...(await jobs.list(drillScheduledJob, 'drill')), ...(await jobs.list(recordingAuditJob, 'recording-audit'))].map(({ name, kind, cron, tz, next }) => ({ kind, name, cron, ...(tz ? { tz } : {}), ...(next ? { next } : {}) }));
        if (options.output === 'json') return printJson([...rolloutList.map((info) => ({ kind: 'rollout', ...info })), ...syncList]);
        // LAST RUN is what the firing did when it fired; NOW is where that rollout stands today.
        const lastRun = (run: (typeof rolloutList)[number]['lastRun']) => (run ? `${run.at} ${run.status}${run.blockedBy ? ` (blocked by ${run.blockedBy})` : ''}` : '-');
        const now = (current: (typeof rolloutList)[number]['current']) => (current ? `${current.rolloutId} ${current.status}: ${current.message}` : '-');
        process.stdout.write(
          formatTable(['NAME', 'KIND', 'CRON', 'TZ', 'WHAT', 'NEXT', 'LAST RUN', 'NOW'], [
            ...rolloutList.map((s) => [s.name, 'rollout', s.cron, s.tz ?? 'UTC', s.rollout, s.next ?? '-', lastRun(s.lastRun), now(s.current)]),
            ...syncList.map((s) => [s.name, s.kind, s.cron, s.tz ?? 'UTC', s.kind === 'org-sync' ? 'organization snapshot' : s.kind, s.next ?? '-', '-', '-']),
          ]),
        );
        for (const { name, current } of rolloutList) {
          if (!current?.blocking || !STUCK_STATUSES.includes(current.status)) continue;
          note(
            `schedule ${name} is blocked: rollout ${current.rolloutId} is ${current.status}, so every firing is skipped until "orgshield rollout resume ${current.rolloutId} --wait" takes it to its end or "orgshield rollout abort ${current.rolloutId}" (or rollback) releases it.`,
          );
        }
      }),
    );

  schedule
    .command('remove')
    .description('delete a schedule (rollouts it started are not touched)')
    .argument('<name>', 'the schedule name')
    .action(async (name: string) =>
      withSchedules(async ({ rollouts, jobs }) => {
        if (!(await jobs.remove(orgSyncJob, 'org-sync', name)) && !(await jobs.remove(drillScheduledJob, 'drill', name)) && !(await jobs.remove(recordingAuditJob, 'recording-audit', name))) await rollouts.remove(name);
        note(`schedule ${name} removed`);
      }),
    );
}

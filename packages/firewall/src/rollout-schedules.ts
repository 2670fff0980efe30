import type { Redis } from 'ioredis';
import { InvalidInputError } from '@orgshield/aws';
import { firewallScheduledRolloutJob, type JobQueues } from '@orgshield/jobs';
import { parseRolloutSource, type RolloutSource } from './rollout-loader.js';
import { RolloutStore, type ScheduleRun } from './rollout-store.js';

export interface RolloutScheduleInfo {
  name: string;
  cron: string;
  tz?: string;
  rollout: string;
  file: string;
  /** When it fires next (ISO), as BullMQ computed it. */
  next?: string;
  lastRun?: ScheduleRun;
}

const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** BullMQ scheduler ids of rollout schedules: other capabilities schedule on other queues or prefixes. */
const SCHEDULER_PREFIX = 'rollout.';

/**
 * Org-wide rollouts on a timetable, kept as BullMQ job schedulers on the firewall queue. The
 * rollout file (and its policy files) is stored with the schedule when it is set, so every
 * run re-applies the same desired state and any drift since is corrected; `schedule set` again
 * to change it.
 */
export class RolloutSchedules {
  private readonly store: RolloutStore;

  constructor(
    redis: Redis,
    private readonly queues: JobQueues,
  ) {
    this.store = new RolloutStore(redis, queues.prefix);
  }

  async set(name: string, timing: { cron: string; tz?: string }, source: RolloutSource): Promise<RolloutScheduleInfo> {
    if (!SCHEDULE_NAME.test(name)) {
      throw new InvalidInputError(`schedule name "${name}" is not valid: use letters, digits, "-" and "_", starting with a letter or digit.`);
    }
    if (timing.tz !== undefined && !isTimeZone(timing.tz)) {
      throw new InvalidInputError(`--tz "${timing.tz}" is not a time zone; use an IANA name such as Europe/Paris or UTC.`);
    }
    const loaded = parseRolloutSource(source);
    const data = firewallScheduledRolloutJob.payload.parse({ schedule: name, source });
    const queue = this.queues.queue(firewallScheduledRolloutJob.queue);
    try {
      await queue.upsertJobScheduler(
        `${SCHEDULER_PREFIX}${name}`,
        { pattern: timing.cron, ...(timing.tz ? { tz: timing.tz } : {}) },
        { name: firewallScheduledRolloutJob.name, data, opts: { attempts: firewallScheduledRolloutJob.attempts, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
      );
    } catch (error) {
      throw new InvalidInputError(`--cron "${timing.cron}" is not a cron expression BullMQ accepts (${(error as Error).message}); use five or six fields, e.g. "0 3 * * *".`, {
        cause: error,
      });
    }
    const info = (await this.list()).find((schedule) => schedule.name === name);
    return info ?? { name, cron: timing.cron, rollout: loaded.rollout.name, file: source.file, ...(timing.tz ? { tz: timing.tz } : {}) };
  }

  async list(): Promise<RolloutScheduleInfo[]> {
    const schedulers = await this.queues.queue(firewallScheduledRolloutJob.queue).getJobSchedulers(0, -1, true);
    const infos: RolloutScheduleInfo[] = [];
    for (const scheduler of schedulers) {
      const id = scheduler.key;
      if (!id.startsWith(SCHEDULER_PREFIX)) continue;
      const name = id.slice(SCHEDULER_PREFIX.length);
      const parsed = firewallScheduledRolloutJob.payload.safeParse(scheduler.template?.data);
      const runs = await this.store.scheduleRuns(name);
      infos.push({
        name,
        cron: scheduler.pattern ?? '',
        ...(scheduler.tz ? { tz: scheduler.tz } : {}),
        rollout: parsed.success ? rolloutName(parsed.data.source) : 'unreadable',
        file: parsed.success ? parsed.data.source.file : 'unreadable',
        ...(scheduler.next ? { next: new Date(scheduler.next).toISOString() } : {}),
        ...(runs.length > 0 ? { lastRun: runs[runs.length - 1] } : {}),
      });
    }
    return infos.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The schedule's past runs, newest last (what each re-applied, or why it was skipped). */
  runs(name: string): Promise<ScheduleRun[]> {
    return this.store.scheduleRuns(name);
  }

  async remove(name: string): Promise<void> {
    const removed = await this.queues.queue(firewallScheduledRolloutJob.queue).removeJobScheduler(`${SCHEDULER_PREFIX}${name}`);
    if (!removed) throw new InvalidInputError(`there is no rollout schedule named "${name}"; "orgshield schedule list" shows them.`);
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function rolloutName(source: RolloutSource): string {
  try {
    return parseRolloutSource(source).rollout.name;
  } catch {
    return 'invalid';
  }
}

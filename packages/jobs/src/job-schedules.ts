import type { JobSchedulerJson } from 'bullmq';
import type { z } from 'zod';
import { InvalidInputError } from '@orgshield/errors';
import { type AnyContract, parsePayload, retryOptions } from './job-contract.js';
import type { JobQueues } from './job-queues.js';

export interface ScheduleTiming {
  /** Five fields (minute precision) or six (seconds first), as BullMQ's cron parser reads them. */
  cron: string;
  /** IANA time zone of the expression; UTC when absent. */
  tz?: string;
}

export interface JobScheduleInfo {
  name: string;
  kind: string;
  cron: string;
  tz?: string;
  /** When it fires next (ISO), as BullMQ computed it. */
  next?: string;
  /** The payload every firing gets. */
  data: unknown;
}

/** A BullMQ job scheduler as a schedule of `kind`. */
function scheduleInfo(kind: string, scheduler: JobSchedulerJson): JobScheduleInfo {
  return {
    name: scheduler.key.slice(kind.length + 1),
    kind,
    cron: scheduler.pattern ?? '',
    ...(scheduler.tz ? { tz: scheduler.tz } : {}),
    ...(scheduler.next ? { next: new Date(scheduler.next).toISOString() } : {}),
    data: scheduler.template?.data,
  };
}

const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Recurring jobs as BullMQ job schedulers, one kind of schedule per contract: the scheduler id
 * is `<kind>.<name>`, so kinds sharing a queue never see each other's schedules. Setting a
 * schedule again replaces it (upsert), so `set` is safe to repeat.
 */
export class JobSchedules {
  constructor(private readonly queues: JobQueues) {}

  async set<C extends AnyContract>(contract: C, kind: string, name: string, timing: ScheduleTiming, payload: z.input<C['payload']>): Promise<JobScheduleInfo> {
    if (!SCHEDULE_NAME.test(name)) {
      throw new InvalidInputError(`schedule name "${name}" is not valid: use letters, digits, "-" and "_", starting with a letter or digit.`);
    }
    if (timing.tz !== undefined && !isTimeZone(timing.tz)) {
      throw new InvalidInputError(`--tz "${timing.tz}" is not a time zone; use an IANA name such as Europe/Paris or UTC.`);
    }
    const data = parsePayload(contract, payload);
    try {
      await this.queues.queue(contract.queue).upsertJobScheduler(
        `${kind}.${name}`,
        { pattern: timing.cron, ...(timing.tz ? { tz: timing.tz } : {}) },
        { name: contract.name, data, opts: { ...retryOptions(contract), removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
      );
    } catch (error) {
      throw new InvalidInputError(`--cron "${timing.cron}" is not a cron expression BullMQ accepts (${(error as Error).message}); use five or six fields, e.g. "0 3 * * *".`, {
        cause: error,
      });
    }
    const scheduler = await this.queues.queue(contract.queue).getJobScheduler(`${kind}.${name}`);
    return scheduler ? scheduleInfo(kind, scheduler) : { name, kind, cron: timing.cron, data, ...(timing.tz ? { tz: timing.tz } : {}) };
  }

  async list(contract: AnyContract, kind: string): Promise<JobScheduleInfo[]> {
    const schedulers = await this.queues.queue(contract.queue).getJobSchedulers(0, -1, true);
    return schedulers
      .filter((scheduler) => scheduler.key.startsWith(`${kind}.`))
      .map((scheduler) => scheduleInfo(kind, scheduler))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Whether there was such a schedule to remove. */
  async remove(contract: AnyContract, kind: string, name: string): Promise<boolean> {
    return this.queues.queue(contract.queue).removeJobScheduler(`${kind}.${name}`);
  }
}

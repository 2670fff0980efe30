import { InvalidInputError } from '@orgshield/errors';
import { JobSchedules, type JobQueues, type ScheduleTiming, type RedisClient } from '@orgshield/jobs';
import { firewallScheduledRolloutJob } from './rollout-jobs.js';
import { parseRolloutSource, type RolloutSource } from './rollout-loader.js';
import { RELEASED_STATUSES, RolloutStore, type RolloutStatus, type ScheduleRun } from './rollout-store.js';

export interface RolloutScheduleInfo {
  name: string;
  cron: string;
  tz?: string;
  rollout: string;
  file: string;
  /** When it fires next (ISO), as BullMQ computed it. */
  next?: string;
  lastRun?: ScheduleRun;
  /**
   * Where the rollout of the last firing (the one it started, or the one that blocked it) stands
   * now. `blocking`: it still holds the rollout's name, so the next firing is skipped until an
   * operator resumes it to its end, or aborts or rolls it back.
   */
  current?: { rolloutId: string; status: RolloutStatus; message: string; blocking: boolean };
}

/** The kind of BullMQ job scheduler rollout schedules are: ids `rollout.<name>`. */
const KIND = 'rollout';

/**
 * Org-wide rollouts on a timetable, kept as BullMQ job schedulers on the firewall queue. The
 * rollout file (and its policy files) is stored with the schedule when it is set, so every
 * run re-applies the same desired state and any drift since is corrected; `schedule set` again
 * to change it.
 */
export class RolloutSchedules {
  private readonly store: RolloutStore;
  private readonly schedules: JobSchedules;

  constructor(redis: RedisClient, queues: JobQueues) {
    this.store = new RolloutStore(redis, queues.prefix);
    this.schedules = new JobSchedules(queues);
  }

  async set(name: string, timing: ScheduleTiming, source: RolloutSource): Promise<RolloutScheduleInfo> {
    const loaded = parseRolloutSource(source);
    await this.schedules.set(firewallScheduledRolloutJob, KIND, name, timing, { schedule: name, source });
    const info = (await this.list()).find((schedule) => schedule.name === name);
    return info ?? { name, cron: timing.cron, rollout: loaded.rollout.name, file: source.file, ...(timing.tz ? { tz: timing.tz } : {}) };
  }

  async list(): Promise<RolloutScheduleInfo[]> {
    const infos: RolloutScheduleInfo[] = [];
    for (const schedule of await this.schedules.list(firewallScheduledRolloutJob, KIND)) {
      const parsed = firewallScheduledRolloutJob.payload.safeParse(schedule.data);
      const runs = await this.store.scheduleRuns(schedule.name);
      const lastRun = runs[runs.length - 1];
      const current = await this.currentOf(lastRun);
      infos.push({
        name: schedule.name,
        cron: schedule.cron,
        ...(schedule.tz ? { tz: schedule.tz } : {}),
        rollout: parsed.success ? rolloutName(parsed.data.source) : 'unreadable',
        file: parsed.success ? parsed.data.source.file : 'unreadable',
        ...(schedule.next ? { next: schedule.next } : {}),
        ...(lastRun ? { lastRun } : {}),
        ...(current ? { current } : {}),
      });
    }
    return infos;
  }

  private async currentOf(run: ScheduleRun | undefined): Promise<RolloutScheduleInfo['current']> {
    const rolloutId = run?.blockedBy ?? run?.rolloutId;
    const state = rolloutId ? await this.store.state(rolloutId) : undefined;
    if (!rolloutId || !state) return undefined;
    return { rolloutId, status: state.status, message: state.message, blocking: !RELEASED_STATUSES.includes(state.status) };
  }

  /** The schedule's past runs, newest last (what each re-applied, or why it was skipped). */
  runs(name: string): Promise<ScheduleRun[]> {
    return this.store.scheduleRuns(name);
  }

  async remove(name: string): Promise<void> {
    const removed = await this.schedules.remove(firewallScheduledRolloutJob, KIND, name);
    if (!removed) throw new InvalidInputError(`there is no rollout schedule named "${name}"; "orgshield schedule list" shows them.`);
  }
}

function rolloutName(source: RolloutSource): string {
  try {
    return parseRolloutSource(source).rollout.name;
  } catch {
    return 'invalid';
  }
}

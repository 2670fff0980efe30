import { defineJob } from '@orgshield/jobs';
import { z } from 'zod';

/**
 * The drills queue's jobs. A drill is a chain of small jobs: `start` plans it and queues the
 * first wave's preflight; each `step` does one thing (a preflight, one StartRecovery, one look
 * at a wave's launches and checks, one look of the cleanup) and queues what follows;
 * `scheduled` is what a drill schedule fires.
 */
/** The drills capability's own queue. */
export const DRILLS_QUEUE = 'drills';

const drillId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'a drill id has letters, digits, "-" and "_" only');

/** A drill file and the text of each CA file its checks name. */
export const drillSourceSchema = z
  .object({
    file: z.string().min(1).max(1024),
    text: z.string().min(1).max(1_000_000),
    caFiles: z.record(z.string().min(1).max(1024), z.string().max(256 * 1024)),
  })
  .strict();

export const drillStartJob = defineJob({
  name: 'drill.run.start',
  queue: DRILLS_QUEUE,
  payload: z.object({ drillId, source: drillSourceSchema, requestedBy: z.string().max(200).optional(), schedule: z.string().max(128).optional() }).strict(),
  result: z.object({ drillId, status: z.string(), servers: z.number().int().nonnegative() }),
});

/** One look of one step: `preflight.WAVE`, `launch.BATCH`, `watch.WAVE` or `cleanup`. */
export const drillStepJob = defineJob({
  name: 'drill.run.step',
  queue: DRILLS_QUEUE,
  payload: z.object({ drillId, step: z.string().min(1).max(300), round: z.number().int().nonnegative() }).strict(),
  result: z.object({ drillId, step: z.string(), outcome: z.string() }),
});

export const drillScheduledJob = defineJob({
  name: 'drill.scheduled',
  queue: DRILLS_QUEUE,
  payload: z.object({ schedule: z.string().min(1).max(128), source: drillSourceSchema }).strict(),
  result: z.object({ drillId: drillId.optional(), status: z.string() }),
  attempts: 1,
});

export const DRILL_JOBS = [drillStartJob, drillStepJob, drillScheduledJob] as const;

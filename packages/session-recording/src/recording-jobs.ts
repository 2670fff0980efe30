import { defineJob } from '@orgshield/jobs';
import { z } from 'zod';

/**
 * The recording queue's jobs. Each carries the id of a run whose record (in Redis, see
 * recording-runs.ts) points at the stored recording file: the file names users, so its text never
 * travels in job data, and neither does the name of a person whose recordings are erased.
 */

/** Session recording has its own queue, so its concurrency is set apart from the others'. */
export const RECORDING_QUEUE = 'recording';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const recordingRunId = z.string().regex(RUN_ID, 'a recording run id has letters, digits, "-" and "_" only');
/** A stored recording file's id: the SHA-256 of its text, in hexadecimal. */
export const recordingFileId = z.string().regex(/^[0-9a-f]{64}$/, 'a stored file id is 64 hexadecimal digits');

const target = { account: z.string(), region: z.string() };
/** What an org-wide run did in each account and region, as runFanOut reports it. */
export const fanOutSummarySchema = z.object({
  completed: z.array(z.object(target)),
  failed: z.array(z.object({ ...target, reason: z.string() })),
  skipped: z.array(z.object({ ...target, reason: z.string() })),
  notStarted: z.array(z.object({ ...target, reason: z.string() })),
});
export type FanOutSummary = z.infer<typeof fanOutSummarySchema>;

/** Setup of every target of a run, step by step; a step done is recorded and never run again. */
export const recordingSetupJob = defineJob({
  name: 'recording.setup',
  queue: RECORDING_QUEUE,
  payload: z.object({ runId: recordingRunId }).strict(),
  result: z.object({ runId: recordingRunId, status: z.string(), blocked: z.array(z.object({ ...target, reason: z.string() })) }).extend(fanOutSummarySchema.shape),
});

/**
 * The audit of every target. A run made by the CLI carries its id; a schedule's firing carries
 * the stored file's id and the schedule's name, and the worker makes the run.
 */
export const recordingAuditJob = defineJob({
  name: 'recording.audit',
  queue: RECORDING_QUEUE,
  payload: z.union([z.object({ runId: recordingRunId }).strict(), z.object({ fileId: recordingFileId, schedule: z.string().min(1).max(128) }).strict()]),
  result: z.object({ runId: recordingRunId, status: z.string(), findings: z.number().int().nonnegative() }).extend(fanOutSummarySchema.shape),
});

/** Erasure of one person's recordings in every target; the person is named only in the run's short-lived subject key. */
export const recordingEraseJob = defineJob({
  name: 'recording.erase',
  queue: RECORDING_QUEUE,
  payload: z.object({ runId: recordingRunId }).strict(),
  result: z.object({ runId: recordingRunId, status: z.string(), versions: z.number().int().nonnegative(), pseudonyms: z.array(z.string()) }),
});

export const RECORDING_JOBS = [recordingSetupJob, recordingAuditJob, recordingEraseJob] as const;

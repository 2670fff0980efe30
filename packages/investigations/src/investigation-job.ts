import { defineJob } from '@orgshield/jobs';
import { InvestigationRequestSchema } from './investigation-request.js';
import { InvestigationResultSchema } from './investigation-run.js';

/** Investigations have their own queue, so their concurrency is set apart from rollouts and syncs. */
export const INVESTIGATIONS_QUEUE = 'investigations';

/** Investigate a GuardDuty finding or an entity: Detective, flow logs, reports. */
export const investigationRunJob = defineJob({
  name: 'investigation.run',
  queue: INVESTIGATIONS_QUEUE,
  dedupe: 'in-flight',
  payload: InvestigationRequestSchema,
  result: InvestigationResultSchema,
});

/** The investigations package's job contracts, for the worker runtime's registry. */
export const INVESTIGATIONS_JOBS = [investigationRunJob] as const;

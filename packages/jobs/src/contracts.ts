import { z } from 'zod';
import { InvestigationRequestSchema, InvestigationResultSchema } from '@orgshield/investigations';
import { defineJob } from './job-contract.js';

/** Walk the organization and store a fresh snapshot. */
export const orgSyncJob = defineJob({
  name: 'org.sync',
  queue: 'org',
  dedupe: 'in-flight',
  payload: z
    .object({
      /** Who or what asked: a person's command, a schedule. Shown in logs only. */
      requestedBy: z.string().max(200).optional(),
    })
    .strict(),
  result: z.object({
    accounts: z.number().int().nonnegative(),
    ous: z.number().int().nonnegative(),
    suspended: z.number().int().nonnegative(),
    fetchedAt: z.string(),
    durationMs: z.number().nonnegative(),
  }),
});

/** Investigate a GuardDuty finding or an entity: Detective, flow logs, reports. */
export const investigationRunJob = defineJob({
  name: 'investigation.run',
  queue: 'investigations',
  dedupe: 'in-flight',
  payload: InvestigationRequestSchema,
  result: InvestigationResultSchema,
});

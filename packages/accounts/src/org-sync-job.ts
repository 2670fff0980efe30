import { defineJob } from '@orgshield/jobs';
import { z } from 'zod';

/** The organization's own queue: syncs are rare and walk the whole organization. */
export const ORG_QUEUE = 'org';

/** Walk the organization and store a fresh snapshot. */
export const orgSyncJob = defineJob({
  name: 'org.sync',
  queue: ORG_QUEUE,
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

/** The accounts package's job contracts, for the worker runtime's registry. */
export const ACCOUNTS_JOBS = [orgSyncJob] as const;

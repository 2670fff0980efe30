import { z } from 'zod';
import { defineJob, JobSkipSchema } from '@orgshield/jobs';

/**
 * Firewall Manager rollout jobs. A rollout is a chain of small jobs: `start` plans it and queues
 * the first steps; each `step` does one thing (one PutPolicy, one DeletePolicy or one gate
 * check) and queues what may run next. A start carries the rollout file and its policy files as
 * the operator checked them, so the worker parses exactly that and needs none of their files.
 */

/** Rollouts have their own queue, so their concurrency is set apart from syncs and investigations. */
export const FIREWALL_QUEUE = 'firewall';

/**
 * A gate's detail batches have a queue of their own, beside the rollout's steps: a batch reads
 * for seconds to minutes (a region's GetComplianceDetail quota paces it), and on one queue the
 * batches of the regions whose reads had begun held every slot while another region's gate look
 * (its compliance read, which queues that region's batches) waited for one. With a queue each, a
 * look or a put never waits behind a batch, nor a batch behind a look.
 */
export const FIREWALL_DETAILS_QUEUE = 'firewall-details';

/** The queues a worker serves to carry rollouts to their end. */
export const FIREWALL_QUEUES = [FIREWALL_QUEUE, FIREWALL_DETAILS_QUEUE] as const;

/** Rollout ids and step ids become job ids and Redis keys: no ':' (BullMQ reserves it), no spaces. */
const ROLLOUT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const rolloutId = z.string().regex(ROLLOUT_ID, 'a rollout id has letters, digits, "-" and "_" only');

/** A rollout file and the text of each policy file it names, keyed as the rollout writes the path. */
export const rolloutSourceSchema = z
  .object({
    file: z.string().min(1).max(1024),
    text: z.string().min(1).max(1_000_000),
    policyFiles: z.record(z.string().min(1).max(1024), z.string().max(1_000_000)),
  })
  .strict();

const rolloutStatus = z.string().min(1);

/** Plan a rollout (fresh organization and live policies), keep the plan, queue its first steps. */
export const firewallRolloutStartJob = defineJob({
  name: 'firewall.rollout.start',
  queue: FIREWALL_QUEUE,
  payload: z
    .object({
      rolloutId,
      source: rolloutSourceSchema,
      requestedBy: z.string().max(200).optional(),
      /** The schedule this run comes from, if any. */
      schedule: z.string().max(128).optional(),
    })
    .strict(),
  result: z.object({ rolloutId, status: rolloutStatus, steps: z.number().int().nonnegative() }),
});

/** Which rollout, step and generation (it changes on resume) a step's job belongs to. */
const stepOfRollout = { rolloutId, step: z.string().min(1).max(256), generation: z.number().int().nonnegative() };

/** One step of a planned rollout; `check` counts a gate's looks. */
export const firewallRolloutStepJob = defineJob({
  name: 'firewall.rollout.step',
  queue: FIREWALL_QUEUE,
  payload: z
    .object({
      ...stepOfRollout,
      check: z.number().int().nonnegative().default(0),
    })
    .strict(),
  result: z.object({ rolloutId, step: z.string(), outcome: z.string(), status: rolloutStatus }),
});

/**
 * One batch of a gate's detail reads: GetComplianceDetail for each account's evaluation listed
 * (those already in the rollout's violators cache are skipped), the violators into the cache,
 * the batch marked done under the rollout's guard; then it moves the gate's first batch not done
 * ahead of every gate's further batches, or, when every batch of the gate's look is done, queues
 * the gate's next look, which judges from the cache. Batches are jobs of their own so that every
 * worker shares one region's reads; a free slot takes a region with none under way before a
 * second batch of one that has one, so no region's quota stands unused while its reads wait.
 */
export const firewallRolloutDetailsJob = defineJob({
  name: 'firewall.rollout.details',
  queue: FIREWALL_DETAILS_QUEUE,
  payload: z
    .object({
      /** Of the gate step. */
      ...stepOfRollout,
      policyId: z.string().min(1).max(64),
      /** The policy's name, as the gate's checks name it. */
      policy: z.string().min(1).max(256),
      evaluations: z
        .array(z.object({ account: z.string().regex(/^\d{12}$/, 'an account id is 12 digits'), evaluatedAt: z.string().max(40).optional() }).strict())
        .min(1)
        .max(1000),
    })
    .strict(),
  result: z.object({ rolloutId, step: z.string(), outcome: z.string(), read: z.number().int().nonnegative() }),
});

/** Put every policy the rollout changed back the way it was (delete those it created). */
export const firewallRolloutRollbackJob = defineJob({
  name: 'firewall.rollout.rollback',
  queue: FIREWALL_QUEUE,
  payload: z.object({ rolloutId }).strict(),
  result: z.object({
    rolloutId,
    restored: z.number().int().nonnegative(),
    deleted: z.number().int().nonnegative(),
    unchanged: z.number().int().nonnegative(),
  }),
});

/**
 * What a rollout schedule fires: a BullMQ job scheduler repeats this job, and each run starts a
 * rollout of the source stored with the schedule (re-applying desired state corrects drift).
 */
export const firewallScheduledRolloutJob = defineJob({
  name: 'firewall.rollout.scheduled',
  queue: FIREWALL_QUEUE,
  payload: z.object({ schedule: z.string().min(1).max(128), source: rolloutSourceSchema }).strict(),
  result: z.object({ rolloutId: rolloutId.optional(), status: rolloutStatus, skipped: JobSkipSchema.optional() }),
  attempts: 1,
});

/** The firewall package's job contracts, for the worker runtime's registry. */
export const FIREWALL_JOBS = [firewallRolloutStartJob, firewallRolloutStepJob, firewallRolloutDetailsJob, firewallRolloutRollbackJob, firewallScheduledRolloutJob] as const;

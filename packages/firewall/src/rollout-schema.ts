import { z } from 'zod';
import { accountSelectorSchema, failureToleranceSchema, type FailureTolerance } from '@orgshield/accounts';
import { PolicySpecSchema } from '@orgshield/policies';
import { durationSchema, parseDuration, regionSchema, slugSchema } from '@orgshield/spec-files';

/**
 * The rollout file (`kind: Rollout`): which policies, over which accounts, in which waves, and
 * how regions proceed. Everything a file can be checked for on its own is checked here, so its
 * errors carry a line; what needs the organization (OU paths, tags, quotas) is the planner's.
 */

/** Violation reasons a gate can stop on: the WAF and Shield ones of FMS's ViolationReason enum. */
export const GATE_VIOLATION_REASONS = [
  'WEB_ACL_MISSING_RULE_GROUP',
  'RESOURCE_MISSING_WEB_ACL',
  'RESOURCE_INCORRECT_WEB_ACL',
  'RESOURCE_MISSING_SHIELD_PROTECTION',
  'RESOURCE_MISSING_WEB_ACL_OR_SHIELD_PROTECTION',
  'WEB_ACL_CONFIGURATION_OR_SCOPE_OF_USE',
] as const;
export type GateViolationReason = (typeof GATE_VIOLATION_REASONS)[number];

const DurationSchema = durationSchema({ maxDays: 7 });


/** A policy is a spec file's path (`- policies/waf.yaml` or `- file: ...`) or a spec written inline (`- spec: {...}`). */
const PolicyEntrySchema = z.preprocess(
  (entry) => (typeof entry === 'string' ? { file: entry } : entry),
  z
    .strictObject({ file: z.string().min(1).optional(), spec: PolicySpecSchema.optional() })
    .refine((entry) => (entry.file === undefined) !== (entry.spec === undefined), {
      error: 'a policy entry is either a file path or an inline spec: give exactly one of file or spec',
    }),
);

const GatesSchema = z.strictObject({
  /** Most accounts (per region) of the wave that may be non-compliant when the gate is judged. */
  maxNonCompliantAccounts: z.number().int().nonnegative().optional(),
  /** Most non-compliant resources (per region) over the wave's accounts. */
  maxNonCompliantResources: z.number().int().nonnegative().optional(),
  /** Any violator with one of these reasons stops the rollout. */
  haltOnViolationReasons: z.array(z.enum(GATE_VIOLATION_REASONS)).default([]),
  /** How long after the wave's change the gate waits for a passing, fresh evaluation. */
  timeout: DurationSchema.default(parseDuration('30m')),
});
export type WaveGates = z.output<typeof GatesSchema>;

const WaveSchema = z.strictObject({
  name: slugSchema,
  /** Accounts the wave reaches: OU paths or ids, account ids, tags (resolved at plan time). */
  targets: accountSelectorSchema,
  mode: z.enum(['audit', 'remediate']),
  /** Time given to FMS (and its remediation) after the wave's change before the gate is judged. */
  soakTime: DurationSchema.default(0),
  gates: GatesSchema.default({ haltOnViolationReasons: [], timeout: parseDuration('30m') }),
});
export type Wave = z.output<typeof WaveSchema>;

/**
 * Failure tolerance (accounts' shared one, as StackSets has it): per region, the number or
 * percentage of a wave's accounts in that region that may fail (stay non-compliant after a
 * remediate wave) before the rollout stops there; stopped in a region, a sequential rollout
 * attempts no later region.
 */
const FailureToleranceSchema = failureToleranceSchema;
export type { FailureTolerance };

const RegionStrategySchema = z.strictObject({
  /** Order regions are taken in; regions of the policies not listed follow in their order. */
  order: z.array(regionSchema).default([]),
  /** When set, the only regions the rollout touches: the policies' other regions are left alone. */
  only: z.array(regionSchema).min(1, 'regions.only lists at least one region').optional(),
  concurrency: z.enum(['sequential', 'parallel']).default('sequential'),
  failureTolerance: FailureToleranceSchema.default({ count: 0 }),
});
export type RegionStrategy = z.output<typeof RegionStrategySchema>;

const NotificationsSchema = z.strictObject({
  snsTopicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'an SNS topic ARN looks like arn:aws:sns:REGION:ACCOUNT:NAME'),
  snsRoleName: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'FMS wants the role ARN: arn:aws:iam::ACCOUNT:role/NAME'),
});

export const RolloutSchema = z
  .strictObject({
    kind: z.literal('Rollout'),
    name: slugSchema,
    description: z.string().max(512).optional(),
    policies: z.array(PolicyEntrySchema).min(1, 'a rollout needs at least one policy'),
    /** Every account the rollout may touch; waves pick from these. */
    scope: accountSelectorSchema.default({ all: true }),
    regions: RegionStrategySchema.default({ order: [], concurrency: 'sequential', failureTolerance: { count: 0 } }),
    waves: z.array(WaveSchema).min(1, 'a rollout needs at least one wave'),
    /** Appended to a policy's name for its audit-only copy. */
    auditSuffix: z.string().min(1).max(32).regex(/^[\w.:/=+\-@]+$/).default('-audit'),
    notifications: NotificationsSchema.optional(),
  })
  .superRefine((rollout, ctx) => {
    const names = new Set<string>();
    rollout.waves.forEach((wave, index) => {
      if (names.has(wave.name)) ctx.addIssue({ code: 'custom', path: ['waves', index, 'name'], message: `wave ${wave.name} is named twice` });
      names.add(wave.name);
    });
    const regions = new Set<string>();
    rollout.regions.order.forEach((region, index) => {
      if (regions.has(region)) ctx.addIssue({ code: 'custom', path: ['regions', 'order', index], message: `region ${region} is listed twice` });
      regions.add(region);
    });
  });

export type RolloutInput = z.input<typeof RolloutSchema>;
export type Rollout = z.output<typeof RolloutSchema>;
export type RolloutPolicyEntry = Rollout['policies'][number];

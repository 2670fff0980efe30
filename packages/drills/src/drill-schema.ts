import { z } from 'zod';
import { accountSelectorSchema, failureToleranceSchema } from '@orgshield/accounts';
import { durationSchema, parseDuration, regionSchema, slugSchema } from '@orgshield/spec-files';

export { parseDuration };

/**
 * The drill file (`kind: Drill`): which source servers, from which recovery point, in which
 * waves, checked how, against which objectives, launched into which isolated network, and
 * cleaned up when. Everything a file can be checked for on its own is checked here, so its
 * errors carry a line; what needs the organization or DRS (servers, subnets) is the planner's.
 */

/** A duration up to `maxDays` (more than 0), in milliseconds. */
function positiveDuration(maxDays: number) {
  return durationSchema({ maxDays, positive: true });
}

const SOURCE_SERVER_ID = /^s-[0-9a-zA-Z]{17}$/;
/** A UTC time as DRS writes it; a drill's `before` must name its zone, so only `Z` is taken. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;

/**
 * Which source servers: those with any of the ids, any of the hostnames, or carrying every
 * tag given. At least one of the three.
 */
export const ServerSelectorSchema = z
  .strictObject({
    ids: z.array(z.string().regex(SOURCE_SERVER_ID, 'a source server id looks like s-1234567890abcdef0 (s- and 17 letters or digits)')).min(1).optional(),
    hostnames: z.array(z.string().min(1).max(255)).min(1).optional(),
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
  })
  .refine((s) => s.ids !== undefined || s.hostnames !== undefined || s.tags !== undefined, {
    error: 'a server selector needs ids, hostnames or tags',
  });
export type ServerSelector = z.output<typeof ServerSelectorSchema>;

/**
 * Which snapshot each server is recovered from: `latest` (DRS's current state, snapshotted
 * at launch), `{ before: TIME }` (the newest snapshot taken before an incident) or
 * `{ maxAge: DURATION }` (the newest snapshot, refused if older than that).
 */
export const RecoveryPointSchema = z.union([
  z.literal('latest'),
  z.strictObject({
    before: z
      .string()
      .regex(ISO_UTC, 'a time looks like 2026-12-01T04:00:00Z (UTC, with the Z)')
      .refine((text) => !Number.isNaN(Date.parse(text)), { error: 'not a real date and time' }),
  }),
  z.strictObject({ maxAge: positiveDuration(7) }),
]);
export type RecoveryPoint = z.output<typeof RecoveryPointSchema>;

const PortSchema = z.number().int().min(1).max(65535);

/** Connects to the recovery instance's private address; passes once the port accepts. */
const TcpCheckSchema = z.strictObject({ type: z.literal('tcp'), name: slugSchema.optional(), port: PortSchema });

/**
 * An HTTP(S) request to the recovery instance's private address. HTTPS verifies the
 * certificate against `ca` (a PEM file beside the drill file) when given; without one the
 * certificate is not verified, and the report says so.
 */
const HttpCheckSchema = z.strictObject({
  type: z.enum(['http', 'https']),
  name: slugSchema.optional(),
  port: PortSchema.optional(),
  path: z.string().regex(/^\/[^\s]*$/, 'a path starts with / and has no spaces').default('/'),
  expectStatus: z.number().int().min(100).max(599).default(200),
  /** Text the body must contain. */
  expectBody: z.string().min(1).max(1024).optional(),
  ca: z.string().min(1).max(1024).optional(),
  /** The name the certificate must carry, when it is not the address. */
  serverName: z.string().min(1).max(253).optional(),
});

export const CheckSchema = z.discriminatedUnion('type', [TcpCheckSchema, HttpCheckSchema]).superRefine((check, ctx) => {
  if (check.type === 'http' && check.ca !== undefined) ctx.addIssue({ code: 'custom', path: ['ca'], message: 'a CA is for https checks; this one is http' });
});
export type Check = z.output<typeof CheckSchema>;

/** The most servers DRS takes in one StartRecovery call. */
export const MAX_SERVERS_PER_START = 200;

const WaveSchema = z.strictObject({
  name: slugSchema,
  /** The wave's servers among the drill's; a wave without `servers` takes every one not in an earlier wave. */
  servers: ServerSelectorSchema.optional(),
  /** Most of the wave's servers recovering at once; launches go in batches of at most this (and 200). */
  concurrency: z.number().int().min(1).max(10_000).optional(),
  checks: z.array(CheckSchema).default([]),
  /** How long checks are retried after a server is launched before it fails them. */
  checkTimeout: positiveDuration(1).default(parseDuration('10m')),
});
export type Wave = z.output<typeof WaveSchema>;

const ObjectivesSchema = z.strictObject({
  /** Recovery time objective: StartRecovery to the last check passing. */
  rto: positiveDuration(7),
  /** Recovery point objective: reference time (now, or `before`) minus the recovery point. */
  rpo: positiveDuration(7),
});

const IsolationSchema = z.strictObject({
  subnets: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id looks like subnet-0123456789abcdef0')).min(1, 'name at least one isolated subnet'),
  securityGroups: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id looks like sg-0123456789abcdef0')).min(1, 'name at least one isolated security group'),
});
export type Isolation = z.output<typeof IsolationSchema>;

/** `terminate` after the checks, or `{ keep: DURATION }` and then terminate. */
const CleanupSchema = z.union([z.literal('terminate'), z.strictObject({ keep: positiveDuration(7) })]);
export type Cleanup = z.output<typeof CleanupSchema>;

const CoverageSchema = z.strictObject({
  /** EC2 instances carrying this tag must be DRS source servers. */
  mustRecoverTag: z.strictObject({ key: z.string().min(1).max(128), value: z.string().max(256).optional() }).optional(),
  /** A source server not drilled within this long counts as undrilled. */
  drilledWithin: positiveDuration(366).default(parseDuration('90d')),
});
export type CoverageSettings = z.output<typeof CoverageSchema>;

export const DrillSchema = z
  .strictObject({
    kind: z.literal('Drill'),
    name: slugSchema,
    description: z.string().max(512).optional(),
    targets: accountSelectorSchema,
    regions: z.array(regionSchema).min(1, 'name at least one region'),
    /** The drill's source servers; default every source server in the targets. */
    servers: ServerSelectorSchema.optional(),
    recoveryPoint: RecoveryPointSchema.default('latest'),
    waves: z.array(WaveSchema).min(1, 'a drill needs at least one wave'),
    objectives: ObjectivesSchema,
    isolation: IsolationSchema,
    cleanup: CleanupSchema.default('terminate'),
    /**
     * Per region, how many target accounts (a count or a percentage) may fail to be read before
     * the drill is refused; default none. Accounts that failed within it are reported and left out.
     */
    failureTolerance: failureToleranceSchema.default({ count: 0 }),
    coverage: CoverageSchema.default({ drilledWithin: parseDuration('90d') }),
  })
  .superRefine((drill, ctx) => {
    const names = new Set<string>();
    drill.waves.forEach((wave, index) => {
      if (names.has(wave.name)) ctx.addIssue({ code: 'custom', path: ['waves', index, 'name'], message: `wave ${wave.name} is named twice` });
      names.add(wave.name);
    });
    const regions = new Set<string>();
    drill.regions.forEach((region, index) => {
      if (regions.has(region)) ctx.addIssue({ code: 'custom', path: ['regions', index], message: `region ${region} is listed twice` });
      regions.add(region);
    });
  });

export type DrillInput = z.input<typeof DrillSchema>;
export type Drill = z.output<typeof DrillSchema>;

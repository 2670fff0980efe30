import { z } from 'zod';
import { accountSelectorSchema, failureToleranceSchema } from '@orgshield/accounts';
import { regionSchema } from '@orgshield/spec-files';

/**
 * The recording file (`kind: SessionRecording`): where AppStream 2.0 sessions are recorded, into
 * which bucket, and the AppStream resources that carry the recorder. Everything AppStream, S3 or
 * IAM would refuse is refused here, with the file's line, before any call is sent.
 */

/** AppStream's `Name` shape (fleets, stacks, image builders, images): its pattern from the model. */
const APPSTREAM_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$/;
const AppStreamNameSchema = z
  .string()
  .regex(APPSTREAM_NAME, 'AppStream refuses this name: use 1 to 101 letters, digits, "_", "." and "-", starting with a letter or digit');

/** Instance families AppStream offers (`stream.<family>.<size>`); the model lists them only in prose. */
const INSTANCE_TYPE = /^stream\.(standard|compute|memory|memory\.z1d|graphics|graphics\.[a-z0-9]+|graphics-design|graphics-pro)\.[a-z0-9]+$/;
const InstanceTypeSchema = z.string().regex(INSTANCE_TYPE, 'an AppStream instance type looks like stream.standard.medium');

export const FLEET_TYPES = ['ALWAYS_ON', 'ON_DEMAND', 'ELASTIC'] as const;
export type FleetType = (typeof FLEET_TYPES)[number];
export const PLATFORMS = ['windows', 'linux'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** The placeholders a bucket name template may hold; each is replaced per account and region. */
export const BUCKET_TEMPLATE_FIELDS = ['account', 'region'] as const;

/**
 * S3's bucket naming rules (general purpose buckets), checked on the name a template gives for the
 * longest account id and region, so a template that passes yields valid names everywhere.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `S3 bucket names are 3 to 63 characters long; ${name} has ${name.length}`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return `S3 bucket names use lowercase letters, digits, "." and "-", and begin and end with a letter or digit; ${name} does not`;
  if (name.includes('..')) return `S3 bucket names hold no two adjacent periods; ${name} does`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return `S3 bucket names are not IP addresses; ${name} is one`;
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return `S3 reserves the prefixes xn--, sthree- and amzn-s3-demo-; ${name} uses one`;
  if (/(-s3alias|--ol-s3|--x-s3|--table-s3|\.mrap)$/.test(name)) return `S3 reserves the suffixes -s3alias, --ol-s3, --x-s3, --table-s3 and .mrap; ${name} uses one`;
  // Virtual-hosted requests over TLS fail on a name with a period (the wildcard certificate covers one label).
  if (name.includes('.')) return `a recording bucket is reached over TLS only, and a name with a period breaks its certificate; use "-" in ${name}`;
  return undefined;
}

/** The name a template gives in one account and region. */
export function bucketNameFor(template: string, target: { account: string; region: string }): string {
  return template.replaceAll('{account}', target.account).replaceAll('{region}', target.region);
}

const BucketTemplateSchema = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    const unknown = [...template.matchAll(/\{([^}]*)\}/g)].map((match) => match[1]).filter((field) => !(BUCKET_TEMPLATE_FIELDS as readonly (string | undefined)[]).includes(field));
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `a bucket name template knows {account} and {region}, not {${unknown[0]}}` });
      return;
    }
    if (!template.includes('{account}')) {
      // S3 bucket names are global: one name in every account would collide in the second account.
      ctx.addIssue({ code: 'custom', message: 'a bucket name template must hold {account}: bucket names are global, and every target account needs its own' });
      return;
    }
    // The longest region name AWS has (ap-southeast-5 and its kin are 14 characters; leave room).
    const problem = bucketNameProblem(bucketNameFor(template, { account: '123456789012', region: 'ap-southeast-5x' }));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A key prefix: no leading slash, ends with one (so `<prefix><stack>/...` reads as a folder). */
const PrefixSchema = z
  .string()
  .max(256)
  .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'a prefix is folder names of letters, digits and !_.*\'()- each ending with "/", like recordings/');

const KMS_KEY = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key\/[0-9a-f-]{36}|alias\/[A-Za-z0-9/_-]{1,250})|alias\/[A-Za-z0-9/_-]{1,250}|[0-9a-f-]{36})$/;

const BucketSchema = z
  .strictObject({
    /** e.g. `orgshield-recordings-{account}-{region}`. */
    name: BucketTemplateSchema,
    encryption: z.enum(['SSE-KMS', 'SSE-S3']).default('SSE-KMS'),
    /** The key for SSE-KMS: a key id, key ARN or alias; without one, orgshield's alias in each account. */
    kmsKey: z.string().regex(KMS_KEY, 'a KMS key is a key id, a key ARN, an alias ARN or alias/NAME').optional(),
    /** Days a recording is kept; older versions expire the same number of days after they stop being current. */
    retentionDays: z.number().int().min(1).max(3650),
    prefix: PrefixSchema.default('recordings/'),
  })
  .refine((bucket) => bucket.encryption === 'SSE-KMS' || bucket.kmsKey === undefined, {
    path: ['kmsKey'],
    error: 'kmsKey is for SSE-KMS; SSE-S3 takes no key',
  });

const CaptureSchema = z.strictObject({
  framesPerSecond: z.number().int().min(1).max(30).default(5),
  /** Length of each uploaded video segment; a crash loses at most one. */
  segmentSeconds: z.number().int().min(10).max(900).default(60),
});

/** Where the key of the pseudonym (HMAC-SHA256 of the user name) lives in each target account. */
const PseudonymKeySchema = z.strictObject({
  store: z.enum(['secretsmanager', 'ssm']).default('secretsmanager'),
  /** Secret name or SSM parameter name (SecureString). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'a secret or parameter name holds letters, digits and /_+=.@-')
    .default('orgshield/session-recording/pseudonym-key'),
});

const WAITING_TIME_LIMIT = 60;
const SessionScriptsSchema = z.strictObject({
  /**
   * Seconds AppStream waits for our script at session start and end. AppStream allows 60 at most;
   * the start script only launches the recorder, the end script waits for the last upload.
   */
  waitingTime: z.number().int().min(5).max(WAITING_TIME_LIMIT, `AppStream waits at most ${WAITING_TIME_LIMIT} seconds for session scripts`).default(30),
  /** Whether AppStream copies the scripts' own output to S3 (its session-scripts log bucket). */
  s3LogEnabled: z.boolean().default(true),
});

const SubnetIdSchema = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id looks like subnet-0123456789abcdef0');
const SecurityGroupIdSchema = z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id looks like sg-0123456789abcdef0');
const VpcSchema = z.strictObject({
  subnetIds: z.array(SubnetIdSchema).min(1).max(2, 'AppStream takes at most two subnets for a fleet'),
  securityGroupIds: z.array(SecurityGroupIdSchema).max(5, 'AppStream takes at most five security groups').default([]),
});

const CapacitySchema = z.strictObject({
  desired: z.number().int().min(0).max(1000).default(1),
  /** Elastic fleets: how many sessions at once. */
  maxConcurrentSessions: z.number().int().min(1).max(5000).optional(),
});

/** AppStream's `Username` (user pool users are email addresses). */
const UserSchema = z.strictObject({
  userName: z.email('a user pool user name is an email address').max(128, 'AppStream user names are at most 128 characters'),
  firstName: z.string().max(2048).regex(/^[A-Za-z0-9_\-\s]*$/, 'AppStream takes letters, digits, "_", "-" and spaces in a first name').optional(),
  lastName: z.string().max(2048).regex(/^[A-Za-z0-9_\-\s]*$/, 'AppStream takes letters, digits, "_", "-" and spaces in a last name').optional(),
});

const AppStreamSchema = z
  .strictObject({
    /** The platform of the image, which picks the session scripts (Windows or Amazon Linux 2). */
    platform: z.enum(PLATFORMS),
    /** ALWAYS_ON and ON_DEMAND fleets: the builder on which Image Assistant makes the image with the scripts. */
    imageBuilder: z
      .strictObject({
        name: AppStreamNameSchema,
        /** The base image the builder starts from (an AppStream public image name). */
        baseImageName: AppStreamNameSchema,
        instanceType: InstanceTypeSchema.default('stream.standard.medium'),
      })
      .optional(),
    /**
     * The fleet's image: the one Image Assistant makes on the builder, carrying the scripts; for an
     * ELASTIC fleet, the image it runs (its scripts come from the zip at SessionScriptS3Location).
     */
    imageName: AppStreamNameSchema,
    /**
     * Whether setup keeps the image patched: when AppStream says the newest image runs an older
     * agent, CreateUpdatedImage makes `<imageName>-u<n>` (scripts included) and the fleet moves to it.
     */
    keepImagePatched: z.boolean().default(true),
    /** Images that record without orgshield's tag (made by hand with the same scripts). */
    allowedImages: z.array(AppStreamNameSchema).default([]),
    fleet: z.strictObject({
      name: AppStreamNameSchema,
      type: z.enum(FLEET_TYPES),
      instanceType: InstanceTypeSchema,
      streamView: z.enum(['APP', 'DESKTOP']).default('DESKTOP'),
      capacity: CapacitySchema.default({ desired: 1 }),
      maxUserDurationSeconds: z.number().int().min(600).max(432_000).default(57_600),
      disconnectTimeoutSeconds: z.number().int().min(60).max(36_000).default(900),
      vpc: VpcSchema.optional(),
    }),
    stack: z.strictObject({ name: AppStreamNameSchema }),
    users: z.array(UserSchema).default([]),
  })
  .superRefine((appstream, ctx) => {
    const fleet = appstream.fleet;
    if (fleet.type === 'ELASTIC') {
      if (fleet.capacity.maxConcurrentSessions === undefined) {
        ctx.addIssue({ code: 'custom', path: ['fleet', 'capacity', 'maxConcurrentSessions'], message: 'an ELASTIC fleet needs maxConcurrentSessions' });
      }
      if (!fleet.vpc) ctx.addIssue({ code: 'custom', path: ['fleet', 'vpc'], message: 'an ELASTIC fleet needs a VPC (subnets) to run in' });
      if (appstream.imageBuilder) ctx.addIssue({ code: 'custom', path: ['imageBuilder'], message: 'an ELASTIC fleet takes its scripts as a zip, not from an image: remove imageBuilder' });
    } else {
      if (fleet.capacity.maxConcurrentSessions !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['fleet', 'capacity', 'maxConcurrentSessions'], message: `maxConcurrentSessions is for ELASTIC fleets; a ${fleet.type} fleet takes capacity.desired` });
      }
      if (!appstream.imageBuilder) ctx.addIssue({ code: 'custom', path: ['imageBuilder'], message: `a ${fleet.type} fleet runs an image that carries the scripts: give the imageBuilder to make it on` });
    }
    const seen = new Map<string, number>();
    appstream.users.forEach((user, index) => {
      const key = user.userName.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['users', index, 'userName'], message: `user ${user.userName} is listed twice` });
      seen.set(key, index);
    });
    if (appstream.imageBuilder?.name === appstream.fleet.name) {
      ctx.addIssue({ code: 'custom', path: ['imageBuilder', 'name'], message: 'the image builder and the fleet need different names' });
    }
  });

export const RecordingSchema = z.strictObject({
  kind: z.literal('SessionRecording'),
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'use letters, digits, "-" and "_", starting with a letter or digit'),
  description: z.string().max(512).optional(),
  targets: accountSelectorSchema,
  regions: z
    .array(regionSchema)
    .min(1, 'a recording needs at least one region')
    .refine((regions) => new Set(regions).size === regions.length, { error: 'a region is listed twice' }),
  bucket: BucketSchema,
  capture: CaptureSchema.default({ framesPerSecond: 5, segmentSeconds: 60 }),
  pseudonymKey: PseudonymKeySchema.default({ store: 'secretsmanager', name: 'orgshield/session-recording/pseudonym-key' }),
  sessionScripts: SessionScriptsSchema.default({ waitingTime: 30, s3LogEnabled: true }),
  appstream: AppStreamSchema,
  /**
   * How setup and audit go across the targets: account x region tasks in a sliding window of
   * `concurrency`, and per region the failed accounts tolerated before that region starts no more.
   */
  fanOut: z
    .strictObject({
      concurrency: z.number().int().min(1).max(500).default(10),
      failureTolerance: failureToleranceSchema.default({ count: 0 }),
    })
    .default({ concurrency: 10, failureTolerance: { count: 0 } }),
});

export type RecordingInput = z.input<typeof RecordingSchema>;
export type Recording = z.output<typeof RecordingSchema>;

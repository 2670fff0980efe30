import { z } from 'zod';
import { REGION_NAME } from '@orgshield/spec-files';

/**
 * The orgshield policy spec: what a security team writes (YAML or JSON) to describe one
 * Firewall Manager policy of type WAFV2 or SHIELD_ADVANCED. Field names follow the issue's
 * vocabulary; enum values keep the FMS/WAF spelling where the API has one, so nothing needs
 * translating in the reader's head. Everything a single spec can be checked for without
 * context (patterns, FMS per-policy quotas, CloudFront only with `global`) is checked here,
 * so file errors carry a line and column.
 */

/** The resource types a spec can name, and how the FMS API spells them. */
export const RESOURCE_TYPE_API_NAMES = {
  alb: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'api-gateway-stage': 'AWS::ApiGateway::Stage',
  cloudfront: 'AWS::CloudFront::Distribution',
  'classic-elb': 'AWS::ElasticLoadBalancing::LoadBalancer',
  eip: 'AWS::EC2::EIP',
} as const;
export type ResourceTypeName = keyof typeof RESOURCE_TYPE_API_NAMES;

const API_NAME_TO_RESOURCE_TYPE = new Map<string, ResourceTypeName>(
  Object.entries(RESOURCE_TYPE_API_NAMES).map(([short, api]) => [api, short as ResourceTypeName]),
);

/** The spec name of an API resource type (`AWS::EC2::EIP` -> `eip`), or undefined. */
export function resourceTypeFromApiName(apiName: string): ResourceTypeName | undefined {
  return API_NAME_TO_RESOURCE_TYPE.get(apiName);
}

/** Which resource types each policy type can protect, per the FMS API reference (Policy.ResourceType). */
export const WAF_RESOURCE_TYPES = ['alb', 'api-gateway-stage', 'cloudfront'] as const;
export const SHIELD_RESOURCE_TYPES = ['alb', 'classic-elb', 'eip', 'cloudfront'] as const;

/** `global` is CloudFront's pseudo-region; FMS keeps those policies in us-east-1. */
export const GLOBAL_REGION = 'global';
export const GLOBAL_API_REGION = 'us-east-1';

/** Per-policy FMS quotas (Firewall Manager quotas page; ResourceTags max from AWS::FMS::Policy). */
export const POLICY_QUOTAS = {
  resourceTags: 8,
  scopeAccounts: 200,
  scopeOrgUnits: 20,
  ruleGroups: 50,
} as const;

// The FMS model's patterns (ResourceName, ResourceDescription, ResourceTagKey/Value).
const FMS_NAME_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const FMS_TAG_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@*\\]*$/u;
// WAFV2 model: ManagedRuleGroupStatement.Name and ExcludedRule.Name are EntityName, Version is VersionKeyString.
const WAF_ENTITY_NAME = /^[\w-]+$/;
const WAF_VERSION = /^[\w#:.\-/]+$/;
const ACCOUNT_ID = /^\d{12}$/;
const ORG_UNIT_ID = /^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$/;
/** Names of the root and OUs, `/`-separated, as `orgshield org tree` shows them. */
const OU_PATH = /^[^/\s][^/]{0,127}(\/[^/]{1,128}){1,20}$/;
export const RULE_GROUP_ARN = /^arn:aws[a-z-]*:wafv2:([a-z0-9-]+):(\d{12}):(regional|global)\/rulegroup\/[\w-]+\/[\w-]+$/;
// WAF requires log destinations named aws-waf-logs-*: an S3 bucket, or a Firehose delivery stream.
const S3_LOG_DESTINATION = /^arn:aws[a-z-]*:s3:::([^/]+)$/;
const FIREHOSE_LOG_DESTINATION = /^arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream\/(.+)$/;
export const WAF_LOG_NAME_PREFIX = 'aws-waf-logs-';

function resourceTypeSchema(allowed: readonly ResourceTypeName[], policyType: string) {
  // An API spelling (AWS::EC2::EIP) is accepted and stored as its spec name (eip).
  return z.preprocess(
    (value) => (typeof value === 'string' ? (API_NAME_TO_RESOURCE_TYPE.get(value) ?? value) : value),
    z.string().refine((value): value is ResourceTypeName => (allowed as readonly string[]).includes(value), {
      error: (issue) =>
        `resource type ${JSON.stringify(issue.input)} cannot be protected by a ${policyType} policy; use one of ${allowed.join(', ')}`,
    }),
  ) as unknown as z.ZodType<ResourceTypeName, unknown>;
}

function uniqueList<T extends z.ZodType>(item: T, what: string) {
  return z.array(item).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((value, index) => {
      const key = JSON.stringify(value);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [index], message: `${what} ${key} is listed twice` });
      seen.add(key);
    });
  });
}

const RegionSchema = z
  .string()
  .refine((value) => value === GLOBAL_REGION || REGION_NAME.test(value), {
    error: (issue) => `region ${JSON.stringify(issue.input)} is not a region name like eu-west-1, nor "global" (CloudFront)`,
  });

const ResourceTagSchema = z.strictObject({
  key: z.string().min(1).max(128).regex(FMS_TAG_PATTERN, 'tag key has a character FMS does not accept'),
  // FMS stores a missing value as "" and matches it only against "".
  value: z.string().max(256).regex(FMS_TAG_PATTERN, 'tag value has a character FMS does not accept').default(''),
});

const ResourceTagFilterSchema = z.strictObject({
  match: z.enum(['include', 'exclude']),
  operator: z.enum(['AND', 'OR']).default('AND'),
  tags: uniqueList(ResourceTagSchema, 'tag')
    .min(1, 'a tag filter needs at least one tag')
    .max(POLICY_QUOTAS.resourceTags, `FMS allows at most ${POLICY_QUOTAS.resourceTags} resource tags per policy`),
});

const ScopeMapSchema = z
  .strictObject({
    accounts: uniqueList(z.string().regex(ACCOUNT_ID, 'an account id is 12 digits'), 'account')
      .max(POLICY_QUOTAS.scopeAccounts, `FMS allows at most ${POLICY_QUOTAS.scopeAccounts} explicit accounts in a policy scope`)
      .default([]),
    // An id, or a path like the rollout files' (Root/Workloads/Prod), made an id against the organization when planned.
    orgUnits: uniqueList(
      z.string().refine((value) => ORG_UNIT_ID.test(value) || OU_PATH.test(value), 'an OU is an id like ou-ab12-cdef3456 or a path like Root/Workloads/Prod'),
      'OU',
    )
      .max(POLICY_QUOTAS.scopeOrgUnits, `FMS allows at most ${POLICY_QUOTAS.scopeOrgUnits} OUs in a policy scope`)
      .default([]),
  })
  // An empty IncludeMap is no IncludeMap to FMS: every account would be in scope.
  .refine((map) => map.accounts.length > 0 || map.orgUnits.length > 0, {
    error: 'names no accounts or OUs, which FMS reads as no map at all; remove it, or list accounts or orgUnits',
  });

/** IncludeMap / ExcludeMap. FMS ignores ExcludeMap when IncludeMap is given, so a spec may set only one. */
const ScopeSchema = z
  .strictObject({ include: ScopeMapSchema.optional(), exclude: ScopeMapSchema.optional() })
  .refine((scope) => !(scope.include && scope.exclude), {
    error: 'scope has both include and exclude, but FMS ignores exclude when include is given; keep one',
  });

const RULE_ACTIONS = ['allow', 'block', 'count', 'captcha', 'challenge'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

const RuleGroupRefSchema = z
  .strictObject({
    managedRuleGroup: z
      .strictObject({
        vendor: z.string().min(1).max(128).default('AWS'),
        name: z.string().min(1).max(128).regex(WAF_ENTITY_NAME, 'a managed rule group name has only letters, digits, _ and -'),
        // Set: FMS pins this version (versionEnabled). Unset: the vendor's default version.
        version: z.string().min(1).max(64).regex(WAF_VERSION, 'a version looks like Version_1.4').optional(),
      })
      .optional(),
    ruleGroupArn: z
      .string()
      .regex(RULE_GROUP_ARN, 'a rule group ARN looks like arn:aws:wafv2:REGION:ACCOUNT:regional/rulegroup/NAME/ID')
      .optional(),
    override: z.enum(['NONE', 'COUNT']).default('NONE'),
    excludedRules: uniqueList(z.string().regex(WAF_ENTITY_NAME, 'a rule name has only letters, digits, _ and -'), 'rule')
      .max(100)
      .default([]),
    ruleActionOverrides: z
      .array(
        z.strictObject({
          name: z.string().regex(WAF_ENTITY_NAME, 'a rule name has only letters, digits, _ and -'),
          action: z.enum(RULE_ACTIONS),
        }),
      )
      .max(100)
      .default([]),
    // WCU of the group, when the built-in table does not know it (own or marketplace groups).
    // orgshield only uses it for the WCU budget check; FMS never sees it.
    capacity: z.number().int().positive().max(5000).optional(),
  })
  .superRefine((group, ctx) => {
    if (Boolean(group.managedRuleGroup) === Boolean(group.ruleGroupArn)) {
      ctx.addIssue({ code: 'custom', message: 'a rule group needs exactly one of managedRuleGroup or ruleGroupArn' });
    }
    if (group.ruleGroupArn && (group.excludedRules.length > 0 || group.ruleActionOverrides.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        path: [group.excludedRules.length > 0 ? 'excludedRules' : 'ruleActionOverrides'],
        message: 'FMS supports excluded rules and rule action overrides only on managed rule groups',
      });
    }
    const names = new Set<string>();
    group.ruleActionOverrides.forEach((override, index) => {
      if (names.has(override.name)) {
        ctx.addIssue({ code: 'custom', path: ['ruleActionOverrides', index, 'name'], message: `rule ${override.name} is overridden twice` });
      }
      names.add(override.name);
    });
  });

const RulesSchema = z
  .strictObject({
    defaultAction: z.enum(['ALLOW', 'BLOCK']),
    firstRuleGroups: z.array(RuleGroupRefSchema).default([]),
    lastRuleGroups: z.array(RuleGroupRefSchema).default([]),
  })
  .superRefine((rules, ctx) => {
    const count = rules.firstRuleGroups.length + rules.lastRuleGroups.length;
    if (count > POLICY_QUOTAS.ruleGroups) {
      ctx.addIssue({
        code: 'custom',
        message: `the policy has ${count} rule groups but FMS allows at most ${POLICY_QUOTAS.ruleGroups} first and last rule groups together`,
      });
    }
    const seen = new Set<string>();
    for (const list of ['firstRuleGroups', 'lastRuleGroups'] as const) {
      rules[list].forEach((group, index) => {
        const id = group.ruleGroupArn ?? `${group.managedRuleGroup?.vendor}/${group.managedRuleGroup?.name}`;
        if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [list, index], message: `rule group ${id} is used twice in the web ACL` });
        seen.add(id);
      });
    }
  });

const REDACTED_FIELD_TYPES = ['SingleHeader', 'Method', 'QueryString', 'UriPath'] as const;

const LoggingSchema = z.strictObject({
  destination: z.string().superRefine((arn, ctx) => {
    const name = S3_LOG_DESTINATION.exec(arn)?.[1] ?? FIREHOSE_LOG_DESTINATION.exec(arn)?.[1];
    if (name === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `log destination ${JSON.stringify(arn)} is neither an S3 bucket ARN nor a Firehose delivery stream ARN`,
      });
    } else if (!name.startsWith(WAF_LOG_NAME_PREFIX)) {
      ctx.addIssue({
        code: 'custom',
        message: `WAF only logs to destinations named ${WAF_LOG_NAME_PREFIX}*, and ${JSON.stringify(name)} is not; rename the bucket or stream`,
      });
    }
  }),
  redactedFields: z
    .array(
      z
        .strictObject({ type: z.enum(REDACTED_FIELD_TYPES), name: z.string().min(1).max(64).optional() })
        .refine((field) => (field.type === 'SingleHeader') === (field.name !== undefined), {
          error: 'a SingleHeader redacted field needs a header name, and only it takes one',
        }),
    )
    .max(20, 'FMS allows at most 20 redacted fields')
    .default([]),
});

const commonFields = {
  name: z.string().min(1).max(128).regex(FMS_NAME_PATTERN, 'a policy name has only letters, digits, spaces and _.:/=+-@'),
  description: z
    .string()
    .min(1, 'an empty description is no description; leave the field out')
    .max(256)
    .regex(FMS_NAME_PATTERN, 'a description has only letters, digits, spaces and _.:/=+-@')
    .optional(),
  regions: uniqueList(RegionSchema, 'region').min(1, 'a policy needs at least one region'),
  resourceTags: ResourceTagFilterSchema.optional(),
  scope: ScopeSchema.optional(),
  // Audit first: a policy only remediates when the spec says so.
  remediation: z.boolean().default(false),
};

export const WafPolicySpecSchema = z.strictObject({
  type: z.literal('WAFV2'),
  ...commonFields,
  resourceTypes: uniqueList(resourceTypeSchema(WAF_RESOURCE_TYPES, 'WAFV2'), 'resource type').min(1),
  rules: RulesSchema,
  logging: LoggingSchema.optional(),
  overrideCustomerWebACLAssociation: z.boolean().default(false),
  webACLSource: z.literal('RETROFIT_EXISTING').optional(),
});

export const ShieldPolicySpecSchema = z.strictObject({
  type: z.literal('SHIELD_ADVANCED'),
  ...commonFields,
  resourceTypes: uniqueList(resourceTypeSchema(SHIELD_RESOURCE_TYPES, 'SHIELD_ADVANCED'), 'resource type').min(1),
  // Automatic application-layer DDoS response; FMS documents it for CloudFront distributions.
  automaticResponse: z.enum(['ignored', 'count', 'block']).default('ignored'),
});

export const PolicySpecSchema = z
  .discriminatedUnion('type', [WafPolicySpecSchema, ShieldPolicySpecSchema], {
    // A bad discriminator is reported at `type`, with the whole object as its input.
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const type = (issue.input as { type?: unknown } | undefined)?.type;
      return type === undefined ? 'is required: WAFV2 or SHIELD_ADVANCED' : `must be WAFV2 or SHIELD_ADVANCED, not ${JSON.stringify(type)}`;
    },
  })
  .superRefine((spec, ctx) => {
    const global = spec.regions.includes(GLOBAL_REGION);
    const cloudfront = spec.resourceTypes.includes('cloudfront');
    if (cloudfront && (!global || spec.regions.length > 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['regions'],
        message: 'CloudFront distributions are protected by a global policy: set regions to [global]',
      });
    }
    if (global && spec.resourceTypes.some((type) => type !== 'cloudfront')) {
      ctx.addIssue({
        code: 'custom',
        path: ['resourceTypes'],
        message: 'a global policy protects CloudFront distributions only; put regional resource types in a regional policy',
      });
    }
    if (spec.type === 'SHIELD_ADVANCED' && spec.automaticResponse !== 'ignored' && !cloudfront) {
      ctx.addIssue({
        code: 'custom',
        path: ['automaticResponse'],
        message: 'FMS applies the automatic application-layer response to CloudFront distributions only; use ignored here',
      });
    }
  });

export type PolicySpec = z.output<typeof PolicySpecSchema>;
export type PolicySpecInput = z.input<typeof PolicySpecSchema>;
export type WafPolicySpec = Extract<PolicySpec, { type: 'WAFV2' }>;
export type ShieldPolicySpec = Extract<PolicySpec, { type: 'SHIELD_ADVANCED' }>;
export type RuleGroupRef = WafPolicySpec['rules']['firstRuleGroups'][number];
export type ResourceTagFilter = NonNullable<PolicySpec['resourceTags']>;
export type PolicyScope = NonNullable<PolicySpec['scope']>;
export type LoggingSpec = NonNullable<WafPolicySpec['logging']>;
export type RedactedField = LoggingSpec['redactedFields'][number];

/** The API region a spec region is created in: `global` lives in us-east-1. */
export function apiRegionOf(specRegion: string): string {
  return specRegion === GLOBAL_REGION ? GLOBAL_API_REGION : specRegion;
}

/** Whether a spec names an OU by path (so it needs the organization before FMS can take it). */
export function hasOuPaths(spec: Pick<PolicySpec, 'scope'>): boolean {
  return [spec.scope?.include, spec.scope?.exclude].some((map) => map?.orgUnits.some((ref) => !ORG_UNIT_ID.test(ref)));
}

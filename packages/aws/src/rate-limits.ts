import { z } from 'zod';
import { InvalidInputError } from '@orgshield/errors';

/**
 * A token bucket: `rate` requests per second to start from, `burst` at once from a full bucket,
 * and `ceiling` the rate the bucket may learn its way up to while calls succeed (default ten
 * times `rate`; set it to `rate` for a fixed pace). The quota is shared with everything else
 * the account runs, so the ceiling is the part of it orgshield may take.
 */
export const rateLimitSchema = z
  .strictObject({
    rate: z.number().positive(),
    burst: z.number().int().min(1),
    ceiling: z.number().positive().optional(),
  })
  .refine((limit) => limit.ceiling === undefined || limit.ceiling >= limit.rate, {
    message: 'ceiling must be at least the rate',
    path: ['ceiling'],
  });
export type RateLimit = z.infer<typeof rateLimitSchema>;

/**
 * Per-operation limits keyed like the sandbox's faults file: `service:Operation` or `service:*`
 * (service as in AWS_ENDPOINT_URL_<SERVICE>, lower case: organizations, fms, sts, ...).
 */
export const rateLimitsSchema = z.record(
  z.string().regex(/^[a-z0-9-]+:(\*|[A-Z][A-Za-z0-9]*\*?)$/, 'keys look like "service:Operation", "service:Prefix*" or "service:*"'),
  rateLimitSchema,
);
export type RateLimits = z.infer<typeof rateLimitsSchema>;

/**
 * What AWS documents, per account and region, where it documents it, is both start and ceiling:
 * - EC2 request token buckets: non-mutating actions refill 20/s from 100, mutating ones 5/s from 50.
 * - STS: 600 requests per second per account and region.
 * - S3: 3,500 writes and 5,500 reads per second per prefix; the lower figure bounds both.
 * Organizations, Firewall Manager, WAFv2, Detective and GuardDuty publish no request rate; the
 * values below are conservative starting points that the buckets learn upward from (to ten
 * times), and every operation can be given its own in `rateLimits`.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  'organizations:*': { rate: 10, burst: 10 },
  'sts:*': { rate: 600, burst: 600, ceiling: 600 },
  'ec2:*': { rate: 5, burst: 50, ceiling: 5 },
  'ec2:Describe*': { rate: 20, burst: 100, ceiling: 20 },
  's3:*': { rate: 3500, burst: 3500, ceiling: 3500 },
  'fms:*': { rate: 5, burst: 5 },
  'wafv2:*': { rate: 5, burst: 5 },
  'detective:*': { rate: 5, burst: 5 },
  'guardduty:*': { rate: 5, burst: 5 },
};

/** Anything not listed: a gentle pace that no AWS API is known to throttle. */
export const FALLBACK_RATE_LIMIT: RateLimit = { rate: 5, burst: 5 };

export function parseRateLimits(input: unknown): RateLimits {
  const parsed = rateLimitsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') ?? '';
    throw new InvalidInputError(
      `rate limit ${where ? `"${where}" ` : ''}is invalid: ${issue?.message ?? 'unknown problem'}; use { "service:Operation": { "rate": N, "burst": N, "ceiling": N } }.`,
    );
  }
  return parsed.data;
}

/** The most specific entry wins: `service:Operation`, then `service:Prefix*`, then `service:*`. */
export function resolveRateLimit(limits: RateLimits, service: string, operation: string): RateLimit {
  const exact = limits[`${service}:${operation}`];
  if (exact) return exact;
  let best: { prefix: string; limit: RateLimit } | undefined;
  for (const [key, limit] of Object.entries(limits)) {
    const [keyService, pattern] = key.split(':');
    if (keyService !== service || !pattern?.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (operation.startsWith(prefix) && (!best || prefix.length > best.prefix.length)) best = { prefix, limit };
  }
  return best?.limit ?? FALLBACK_RATE_LIMIT;
}

import type { RequestContext } from '../service-definition.js';
import { accessDenied, type S3Bucket } from './s3-buckets.js';

/**
 * The part of a bucket policy the sandbox enforces: explicit Deny statements, which win over
 * every Allow, for the requests S3 evaluates them on. A statement applies when its Principal
 * covers the caller, its Action and Resource match (with `*` and `?`), and every condition
 * holds. Conditions understood: Bool `aws:SecureTransport` (the sandbox stands for S3's HTTPS
 * endpoint, so it is "true"), String(Not)Equals/Like and Arn(Not)Equals/Like on
 * `aws:PrincipalArn` (a role's ARN for its sessions), `aws:PrincipalAccount`, `aws:userid`.
 * A Deny with any other condition is not applied (the sandbox cannot tell). Allow statements
 * are not evaluated: access stays owner-only, or organization-wide for shared buckets.
 */
export function checkBucketPolicy(ctx: RequestContext, bucket: S3Bucket, action: string, key?: string): void {
  if (bucket.policy === undefined) return;
  let statements: Statement[];
  try {
    const parsed = JSON.parse(bucket.policy) as { Statement?: Statement | Statement[] };
    statements = [parsed.Statement ?? []].flat();
  } catch {
    return;
  }
  const resource = key === undefined ? `arn:aws:s3:::${bucket.name}` : `arn:aws:s3:::${bucket.name}/${key}`;
  const principalArn = ctx.caller.role?.arn ?? ctx.caller.arn;
  const facts: Record<string, string> = {
    'aws:securetransport': 'true',
    'aws:principalarn': principalArn,
    'aws:principalaccount': ctx.caller.accountId,
    'aws:userid': ctx.caller.userId,
  };
  for (const statement of statements) {
    if (statement.Effect !== 'Deny') continue;
    if (!coversPrincipal(statement.Principal, ctx.caller.accountId, principalArn)) continue;
    if (!matchesAny(statement.Action, action) || !matchesAny(statement.Resource, resource)) continue;
    if (conditionsHold(statement.Condition, facts)) throw accessDenied();
  }
}

interface Statement {
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

function coversPrincipal(principal: unknown, accountId: string, principalArn: string): boolean {
  if (principal === '*') return true;
  const aws = [(principal as { AWS?: unknown } | undefined)?.AWS ?? []].flat().map(String);
  return aws.some((p) => p === '*' || p === accountId || p === `arn:aws:iam::${accountId}:root` || p === principalArn);
}

function matchesAny(patterns: string | string[] | undefined, value: string): boolean {
  return [patterns ?? []].flat().some((pattern) => wildcard(pattern).test(value));
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

const OPERATORS: Record<string, (actual: string, expected: string) => boolean> = {
  Bool: (a, e) => a === e.toLowerCase(),
  StringEquals: (a, e) => a === e,
  StringNotEquals: (a, e) => a !== e,
  StringLike: (a, e) => wildcard(e).test(a),
  StringNotLike: (a, e) => !wildcard(e).test(a),
  ArnEquals: (a, e) => a === e,
  ArnNotEquals: (a, e) => a !== e,
  ArnLike: (a, e) => wildcard(e).test(a),
  ArnNotLike: (a, e) => !wildcard(e).test(a),
};

/** Every operator and key must hold; a key with several values holds for any (Not: for all). */
function conditionsHold(condition: Statement['Condition'], facts: Record<string, string>): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    const test = OPERATORS[operator];
    if (!test) return false;
    for (const [name, expected] of Object.entries(entries)) {
      const actual = facts[name.toLowerCase()];
      if (actual === undefined) return false;
      const values = [expected].flat().map(String);
      const negated = operator.includes('Not');
      const holds = negated ? values.every((v) => test(actual, v)) : values.some((v) => test(actual, v));
      if (!holds) return false;
    }
  }
  return true;
}

import type {
  CreateRoleRequest,
  CreateRoleResponse,
  DeleteRolePolicyRequest,
  GetRolePolicyRequest,
  GetRolePolicyResponse,
  GetRoleRequest,
  GetRoleResponse,
  ListRolePoliciesRequest,
  ListRolePoliciesResponse,
  ListRoleTagsRequest,
  ListRoleTagsResponse,
  PutRolePolicyRequest,
  Role,
  TagRoleRequest,
  UntagRoleRequest,
  UpdateAssumeRolePolicyRequest,
} from '@aws-sdk/client-iam';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import type { IamRole } from '../world/world.js';

/** IAM quotas: 50 tags per role; inline policies of a role together at most 10,240 characters. */
const MAX_TAGS = 50;
const MAX_INLINE_POLICY_CHARS = 10_240;
/** An IAM role ARN: its account (1) and name (2), after any path. */
export const IAM_ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const ACCOUNT_PRINCIPAL = /^(?:arn:aws:iam::(\d{12}):root|(\d{12}))$/;

interface TrustPolicy {
  trustedAccountIds: string[];
  trustedServices: string[];
  externalId: string | undefined;
}

/**
 * Reads what the sandbox's STS and AppStream act on from a trust policy: the accounts and
 * services allowed to assume the role (Allow statements with sts:AssumeRole) and an
 * sts:ExternalId condition. Refuses what IAM refuses as MalformedPolicyDocument: not JSON, no
 * statements, a statement without Effect, Action or Principal.
 */
export function readTrustPolicy(document: string): TrustPolicy {
  const malformed = (why: string) => new ServiceError('MalformedPolicyDocumentException', `${why}`);
  let parsed: { Statement?: unknown };
  try {
    parsed = JSON.parse(document) as { Statement?: unknown };
  } catch {
    throw malformed('This policy contains invalid Json');
  }
  if (typeof parsed !== 'object' || parsed === null || parsed.Statement === undefined) throw malformed('Syntax errors in policy.');
  const statements = [parsed.Statement].flat() as Record<string, unknown>[];
  const trust: TrustPolicy = { trustedAccountIds: [], trustedServices: [], externalId: undefined };
  for (const statement of statements) {
    if (typeof statement !== 'object' || statement === null) throw malformed('Syntax errors in policy.');
    const { Effect: effect, Action: action, Principal: principal, Condition: condition } = statement as { Effect?: unknown; Action?: unknown; Principal?: unknown; Condition?: unknown };
    if (effect !== 'Allow' && effect !== 'Deny') throw malformed('Missing required field Effect');
    if (action === undefined) throw malformed('Missing required field Action');
    if (principal === undefined) throw malformed('AssumeRolepolicy contained an invalid principal element');
    const actions = [action].flat().map(String);
    if (effect !== 'Allow' || !actions.some((a) => a === 'sts:AssumeRole' || a === 'sts:*' || a === '*')) continue;
    const principals = (typeof principal === 'object' && principal !== null ? principal : {}) as { AWS?: unknown; Service?: unknown };
    for (const aws of [principals.AWS ?? []].flat().map(String)) {
      const match = ACCOUNT_PRINCIPAL.exec(aws);
      if (!match) throw malformed(`Invalid principal in policy: "AWS":"${aws}"`);
      trust.trustedAccountIds.push(match[1] ?? match[2] ?? '');
    }
    trust.trustedServices.push(...[principals.Service ?? []].flat().map(String));
    const externalId = (condition as { StringEquals?: Record<string, unknown> } | undefined)?.StringEquals?.['sts:ExternalId'];
    if (typeof externalId === 'string') trust.externalId = externalId;
  }
  return trust;
}

/** The trust policy of a role the sandbox made itself (OrganizationAccountAccessRole). */
function writtenTrustPolicy(role: IamRole): string {
  const principal: Record<string, string[]> = {};
  if (role.trustedAccountIds.length > 0) principal['AWS'] = role.trustedAccountIds.map((id) => `arn:aws:iam::${id}:root`);
  if (role.trustedServices?.length) principal['Service'] = role.trustedServices;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: principal,
        Action: 'sts:AssumeRole',
        ...(role.externalId === undefined ? {} : { Condition: { StringEquals: { 'sts:ExternalId': role.externalId } } }),
      },
    ],
  });
}

function checkPolicyDocument(document: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    throw new ServiceError('MalformedPolicyDocumentException', 'This policy contains invalid Json');
  }
  const statements = [(parsed as { Statement?: unknown } | null)?.Statement ?? []].flat() as Record<string, unknown>[];
  if (statements.length === 0) throw new ServiceError('MalformedPolicyDocumentException', 'Syntax errors in policy.');
  for (const s of statements) {
    if (s?.['Effect'] !== 'Allow' && s?.['Effect'] !== 'Deny') throw new ServiceError('MalformedPolicyDocumentException', 'Missing required field Effect');
    if (s['Action'] === undefined && s['NotAction'] === undefined) throw new ServiceError('MalformedPolicyDocumentException', 'Policy statement must contain actions.');
    if (s['Principal'] !== undefined) throw new ServiceError('MalformedPolicyDocumentException', 'Policy document should not specify a principal.');
  }
}

function roleOf(ctx: RequestContext, name: string | undefined): IamRole {
  const role = ctx.world.account(ctx.accountId).roles.get(name ?? '');
  if (!role) throw new ServiceError('NoSuchEntityException', `The role with name ${name} cannot be found.`);
  return role;
}

/** IAM answers policy documents URL-encoded (RFC 3986), as the real service does. */
function encoded(document: string): string {
  return encodeURIComponent(document);
}

function describe(role: IamRole): Role {
  return {
    Path: role.path ?? '/',
    RoleName: role.name,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: role.createDate ?? new Date(Date.UTC(2024, 0, 1)),
    AssumeRolePolicyDocument: encoded(role.assumeRolePolicy ?? writtenTrustPolicy(role)),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDurationSeconds,
    Tags: role.tags?.length ? role.tags : undefined,
  };
}

function setTags(role: IamRole, tags: readonly { Key?: string; Value?: string }[]): void {
  const merged = new Map((role.tags ?? []).map((t) => [t.Key, t.Value]));
  for (const tag of tags) merged.set(tag.Key ?? '', tag.Value ?? '');
  if (merged.size > MAX_TAGS) throw new ServiceError('LimitExceededException', `Cannot exceed quota for TagsPerRole: ${MAX_TAGS}.`);
  role.tags = [...merged].map(([Key, Value]) => ({ Key, Value }));
}

/**
 * IAM as far as a service role needs: roles with their trust policy (what STS AssumeRole and
 * AppStream's role checks read), inline policies and tags. IAM is global: roles live on the
 * account, whatever Region signed the request. Not modelled: users, groups, managed
 * policies, instance profiles, permissions boundaries and policy evaluation.
 */
export const iam = defineService({
  signingName: 'iam',
  handlers: {
    CreateRole(input: CreateRoleRequest, ctx): CreateRoleResponse {
      const account = ctx.world.account(ctx.accountId);
      const name = input.RoleName ?? '';
      // Role names are unique without regard to case.
      if ([...account.roles.keys()].some((n) => n.toLowerCase() === name.toLowerCase())) {
        throw new ServiceError('EntityAlreadyExistsException', `Role with name ${name} already exists.`);
      }
      const document = input.AssumeRolePolicyDocument ?? '';
      const trust = readTrustPolicy(document);
      const duration = input.MaxSessionDuration ?? 3600;
      if (duration < 3600 || duration > 43_200) throw new ServiceError('InvalidInputException', `The MaxSessionDuration ${duration} must be between 3600 and 43200 seconds.`);
      const role = account.putRole({
        name,
        maxSessionDurationSeconds: duration,
        trustedAccountIds: trust.trustedAccountIds,
        trustedServices: trust.trustedServices,
        ...(trust.externalId === undefined ? {} : { externalId: trust.externalId }),
        assumeRolePolicy: document,
        path: input.Path ?? '/',
        description: input.Description,
        createDate: ctx.world.clock.now(),
        inlinePolicies: new Map(),
      });
      if (input.Tags?.length) setTags(role, input.Tags);
      return { Role: describe(role) };
    },

    GetRole(input: GetRoleRequest, ctx): GetRoleResponse {
      return { Role: describe(roleOf(ctx, input.RoleName)) };
    },

    UpdateAssumeRolePolicy(input: UpdateAssumeRolePolicyRequest, ctx): void {
      const role = roleOf(ctx, input.RoleName);
      const document = input.PolicyDocument ?? '';
      const trust = readTrustPolicy(document);
      role.trustedAccountIds = trust.trustedAccountIds;
      role.trustedServices = trust.trustedServices;
      role.externalId = trust.externalId;
      role.assumeRolePolicy = document;
    },

    PutRolePolicy(input: PutRolePolicyRequest, ctx): void {
      const role = roleOf(ctx, input.RoleName);
      const document = input.PolicyDocument ?? '';
      checkPolicyDocument(document);
      const policies = (role.inlinePolicies ??= new Map());
      const others = [...policies].filter(([name]) => name !== input.PolicyName).reduce((sum, [, text]) => sum + text.replace(/\s/g, '').length, 0);
      if (others + document.replace(/\s/g, '').length > MAX_INLINE_POLICY_CHARS) {
        throw new ServiceError('LimitExceededException', `Maximum policy size of ${MAX_INLINE_POLICY_CHARS} bytes exceeded for role ${role.name}`);
      }
      policies.set(input.PolicyName ?? '', document);
    },

    GetRolePolicy(input: GetRolePolicyRequest, ctx): GetRolePolicyResponse {
      const role = roleOf(ctx, input.RoleName);
      const document = role.inlinePolicies?.get(input.PolicyName ?? '');
      if (document === undefined) throw new ServiceError('NoSuchEntityException', `The role policy with name ${input.PolicyName} cannot be found.`);
      return { RoleName: role.name, PolicyName: input.PolicyName, PolicyDocument: encoded(document) };
    },

    ListRolePolicies(input: ListRolePoliciesRequest, ctx): ListRolePoliciesResponse {
      const role = roleOf(ctx, input.RoleName);
      return { PolicyNames: [...(role.inlinePolicies?.keys() ?? [])].sort(), IsTruncated: false };
    },

    DeleteRolePolicy(input: DeleteRolePolicyRequest, ctx): void {
      const role = roleOf(ctx, input.RoleName);
      if (!role.inlinePolicies?.delete(input.PolicyName ?? '')) throw new ServiceError('NoSuchEntityException', `The role policy with name ${input.PolicyName} cannot be found.`);
    },

    TagRole(input: TagRoleRequest, ctx): void {
      setTags(roleOf(ctx, input.RoleName), input.Tags ?? []);
    },

    UntagRole(input: UntagRoleRequest, ctx): void {
      const role = roleOf(ctx, input.RoleName);
      const drop = new Set(input.TagKeys ?? []);
      role.tags = (role.tags ?? []).filter((t) => !drop.has(t.Key));
    },

    ListRoleTags(input: ListRoleTagsRequest, ctx): ListRoleTagsResponse {
      return { Tags: roleOf(ctx, input.RoleName).tags ?? [], IsTruncated: false };
    },
  },
});

import type {
  Account,
  Child,
  DescribeAccountRequest,
  DescribeAccountResponse,
  DescribeOrganizationalUnitRequest,
  DescribeOrganizationalUnitResponse,
  DescribeOrganizationResponse,
  ListAccountsForParentRequest,
  ListAccountsForParentResponse,
  ListAccountsRequest,
  ListAccountsResponse,
  ListChildrenRequest,
  ListChildrenResponse,
  ListOrganizationalUnitsForParentRequest,
  ListOrganizationalUnitsForParentResponse,
  ListParentsRequest,
  ListParentsResponse,
  ListRootsRequest,
  ListRootsResponse,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  OrganizationalUnit,
} from '@aws-sdk/client-organizations';
import type { FailureKind } from '../model/input-validator.js';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import type { OrgAccount, OrgUnit, Tags } from '../world/organization.js';

/** Organizations' page size when MaxResults is absent, and its cap (the model's MaxResults max). */
const PAGE_SIZE = 20;

const REASON_OF_FAILURE: Partial<Record<FailureKind, string>> = {
  required: 'INPUT_REQUIRED',
  pattern: 'INVALID_PATTERN',
  enum: 'INVALID_ENUM',
  maxLength: 'MAX_LENGTH_EXCEEDED',
  minLength: 'MIN_LENGTH_EXCEEDED',
  max: 'MAX_VALUE_EXCEEDED',
  min: 'MIN_VALUE_EXCEEDED',
};

/**
 * AWS Organizations, read side, over the seeded organization. Modelled beyond the model: only
 * the management account may call it (a member gets AccessDeniedException), except
 * DescribeOrganization, which the documentation allows from any account of the organization.
 */
export const organizations = defineService({
  signingName: 'organizations',
  validationError: 'InvalidInputException',
  validationErrorFields: (failures) => {
    const reason = failures[0] ? REASON_OF_FAILURE[failures[0].kind] : undefined;
    return reason ? { Reason: reason } : {};
  },
  handlers: {
    DescribeOrganization(_input: object, ctx): DescribeOrganizationResponse {
      const org = ctx.world.org;
      const management = org.managementAccount;
      return {
        Organization: {
          Id: org.id,
          Arn: org.arn,
          FeatureSet: 'ALL',
          MasterAccountArn: management.arn,
          MasterAccountId: management.id,
          MasterAccountEmail: management.email,
          AvailablePolicyTypes: [{ Type: 'SERVICE_CONTROL_POLICY', Status: 'ENABLED' }],
        },
      };
    },

    ListRoots(input: ListRootsRequest, ctx): ListRootsResponse {
      requireManagementAccount(ctx);
      const root = ctx.world.org.root;
      const { items, NextToken } = page(ctx, [root], input, 'ListRoots');
      return {
        Roots: items.map((r) => ({ Id: r.id, Arn: r.arn, Name: r.name, PolicyTypes: [{ Type: 'SERVICE_CONTROL_POLICY', Status: 'ENABLED' }] })),
        NextToken,
      };
    },

    ListOrganizationalUnitsForParent(input: ListOrganizationalUnitsForParentRequest, ctx): ListOrganizationalUnitsForParentResponse {
      requireManagementAccount(ctx);
      const parentId = existingParent(ctx, input.ParentId);
      const { items, NextToken } = page(ctx, ctx.world.org.childOus(parentId), input, `ListOrganizationalUnitsForParent:${parentId}`);
      return { OrganizationalUnits: items.map(toOrganizationalUnit), NextToken };
    },

    ListAccountsForParent(input: ListAccountsForParentRequest, ctx): ListAccountsForParentResponse {
      requireManagementAccount(ctx);
      const parentId = existingParent(ctx, input.ParentId);
      const { items, NextToken } = page(ctx, ctx.world.org.childAccounts(parentId), input, `ListAccountsForParent:${parentId}`);
      return { Accounts: items.map(toAccount), NextToken };
    },

    ListAccounts(input: ListAccountsRequest, ctx): ListAccountsResponse {
      requireManagementAccount(ctx);
      const { items, NextToken } = page(ctx, ctx.world.org.allAccounts(), input, 'ListAccounts');
      return { Accounts: items.map(toAccount), NextToken };
    },

    ListChildren(input: ListChildrenRequest, ctx): ListChildrenResponse {
      requireManagementAccount(ctx);
      const parentId = existingParent(ctx, input.ParentId);
      const org = ctx.world.org;
      const children: Child[] =
        input.ChildType === 'ACCOUNT'
          ? org.childAccounts(parentId).map((a) => ({ Id: a.id, Type: 'ACCOUNT' }))
          : org.childOus(parentId).map((ou) => ({ Id: ou.id, Type: 'ORGANIZATIONAL_UNIT' }));
      const { items, NextToken } = page(ctx, children, input, `ListChildren:${parentId}:${input.ChildType}`);
      return { Children: items, NextToken };
    },

    ListParents(input: ListParentsRequest, ctx): ListParentsResponse {
      requireManagementAccount(ctx);
      const org = ctx.world.org;
      const childId = input.ChildId ?? '';
      const parentId = org.accounts.get(childId)?.parentId ?? org.ous.get(childId)?.parentId;
      if (parentId === undefined) {
        throw new ServiceError('ChildNotFoundException', `We can't find an organizational unit (OU) or AWS account with the ChildId ${childId}.`);
      }
      const parents = [{ Id: parentId, Type: parentId === org.root.id ? ('ROOT' as const) : ('ORGANIZATIONAL_UNIT' as const) }];
      const { items, NextToken } = page(ctx, parents, input, `ListParents:${childId}`);
      return { Parents: items, NextToken };
    },

    DescribeAccount(input: DescribeAccountRequest, ctx): DescribeAccountResponse {
      requireManagementAccount(ctx);
      const account = ctx.world.org.accounts.get(input.AccountId ?? '');
      if (!account) throw new ServiceError('AccountNotFoundException', `You specified an account that doesn't exist: ${input.AccountId}.`);
      return { Account: toAccount(account) };
    },

    DescribeOrganizationalUnit(input: DescribeOrganizationalUnitRequest, ctx): DescribeOrganizationalUnitResponse {
      requireManagementAccount(ctx);
      const ou = ctx.world.org.ous.get(input.OrganizationalUnitId ?? '');
      if (!ou) {
        throw new ServiceError('OrganizationalUnitNotFoundException', `We can't find an OU with the OrganizationalUnitId ${input.OrganizationalUnitId}.`);
      }
      return { OrganizationalUnit: toOrganizationalUnit(ou) };
    },

    ListTagsForResource(input: ListTagsForResourceRequest, ctx): ListTagsForResourceResponse {
      requireManagementAccount(ctx);
      const org = ctx.world.org;
      const id = input.ResourceId ?? '';
      const tags: Tags | undefined = id === org.root.id ? org.root.tags : (org.accounts.get(id)?.tags ?? org.ous.get(id)?.tags);
      if (!tags) throw new ServiceError('TargetNotFoundException', `We can't find a root, OU, account, or policy with the TargetId ${id}.`);
      // Organizations allows 50 tags per resource and returns them in one page.
      if (input.NextToken !== undefined) throw invalidNextToken();
      return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
    },
  },
});

function requireManagementAccount(ctx: RequestContext): void {
  if (ctx.accountId !== ctx.world.org.managementAccountId) {
    throw new ServiceError('AccessDeniedException', `You don't have permissions to access this resource: account ${ctx.accountId} is not the management account of the organization.`);
  }
}

function existingParent(ctx: RequestContext, parentId: string | undefined): string {
  const id = parentId ?? '';
  if (!ctx.world.org.isParent(id)) throw new ServiceError('ParentNotFoundException', `We can't find a root or OU with the ParentId ${id}.`);
  return id;
}

/** One page of a listing, with a NextToken sealed to that listing (see PageTokens). */
function page<T>(
  ctx: RequestContext,
  all: readonly T[],
  input: { NextToken?: string; MaxResults?: number },
  listing: string,
): { items: T[]; NextToken: string | undefined } {
  const { items, next } = ctx.world.pageTokens.page(listing, all, input.NextToken, input.MaxResults ?? PAGE_SIZE, invalidNextToken);
  return { items, NextToken: next };
}

function invalidNextToken(): ServiceError {
  return new ServiceError('InvalidInputException', 'The NextToken value is not valid for this request; start the listing again without NextToken.', {
    fields: { Reason: 'INVALID_NEXT_TOKEN' },
  });
}

function toAccount(account: OrgAccount): Account {
  return {
    Id: account.id,
    Arn: account.arn,
    Email: account.email,
    Name: account.name,
    Status: account.status,
    State: account.status,
    JoinedMethod: account.joinedMethod,
    JoinedTimestamp: account.joinedTimestamp,
  };
}

function toOrganizationalUnit(ou: OrgUnit): OrganizationalUnit {
  return { Id: ou.id, Arn: ou.arn, Name: ou.name };
}

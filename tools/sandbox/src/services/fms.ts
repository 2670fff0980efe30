import { z } from 'zod';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { protectedResources } from '../world/protected-resources.js';
import type { World } from '../world/world.js';
import { COMPLIANCE_SETTINGS, complianceEvaluator, DEFAULT_COMPLIANCE_TIMING, VIOLATOR_DETAIL_LIMIT, type AccountEvaluation } from './fms-compliance.js';
import { fmsPolicies, type FmsPolicy, type PolicyInput, type Tag } from './fms-policy-store.js';

/**
 * Firewall Manager (awsJson1_1, AWSFMS_20180101), answered in the FMS administrator account,
 * which in the seeded world is the management account (GetAdminAccount: RoleStatus READY). Any
 * other account gets InvalidOperationException, as FMS answers a caller that is not its
 * administrator. Policies live per region; compliance comes from ./fms-compliance.ts.
 */

/** ListPolicies and ListComplianceStatus return this many items when MaxResults is not sent. */
const DEFAULT_PAGE_SIZE = 100;
/** GetComplianceDetail's findings are current until the next periodic evaluation. */
const DETAIL_VALIDITY_MS = 6 * 60 * 60_000;

/**
 * The `fms` option of startSandbox: the simulated
 * delays of compliance, scaled by the time scale, and the scenario of member accounts whose team
 * web ACLs FMS cannot replace (they stay NON_COMPLIANT with RESOURCE_INCORRECT_WEB_ACL).
 */
export const firewallManagerOptionsSchema = z
  .object({
    /** From a PutPolicy to its evaluation in an account (each account adds up to 25%). */
    evaluationDelaySeconds: z.number().min(0).default(DEFAULT_COMPLIANCE_TIMING.evaluationDelayMs / 1000),
    /** From an evaluation to the remediation of what it found, for policies with RemediationEnabled. */
    remediationDelaySeconds: z.number().min(0).default(DEFAULT_COMPLIANCE_TIMING.remediationDelayMs / 1000),
    /** How many member accounts (chosen by the seed) have a team web ACL that remediation never replaces. */
    blockedCustomerWebAclAccounts: z.number().int().min(0).default(0),
  })
  .strict();

export type FirewallManagerOptions = z.output<typeof firewallManagerOptionsSchema>;

/** Seeding hook: applies the `fms` options before the world answers its first request. */
export function configureFirewallManager(world: World, options: FirewallManagerOptions): void {
  world.state(COMPLIANCE_SETTINGS).timing = {
    evaluationDelayMs: options.evaluationDelaySeconds * 1000,
    remediationDelayMs: options.remediationDelaySeconds * 1000,
  };
  protectedResources(world).configure({ blockedCustomerWebAclAccounts: options.blockedCustomerWebAclAccounts });
}

export const fms = defineService({
  signingName: 'fms',
  // FMS answers bad input on every operation with InvalidInputException, declared or not.
  validationError: 'InvalidInputException',
  // Which account's detail was read, so a test can show each evaluation read once.
  loggedResources: {
    GetComplianceDetail: (input: { PolicyId?: string; MemberAccount?: string }) => [`${input.PolicyId ?? ''}/${input.MemberAccount ?? ''}`],
  },
  handlers: {
    GetAdminAccount: (_input: Record<string, never>, ctx: RequestContext) => {
      requireAdmin(ctx);
      return { AdminAccount: ctx.world.org.managementAccountId, RoleStatus: 'READY' };
    },

    PutPolicy: (input: { Policy: PolicyInput; TagList?: Tag[] }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policy = fmsPolicies(ctx.world).put(ctx.region, input.Policy, input.TagList ?? [], ctx.world.clock.now().getTime());
      return { Policy: policy.describe(), PolicyArn: policy.arn };
    },

    GetPolicy: (input: { PolicyId: string }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policy = fmsPolicies(ctx.world).get(ctx.region, input.PolicyId);
      return { Policy: policy.describe(), PolicyArn: policy.arn };
    },

    ListPolicies: (input: { NextToken?: string; MaxResults?: number }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policies = fmsPolicies(ctx.world).policies(ctx.region);
      const listing = `fms:ListPolicies:${ctx.region}`;
      const { items, next } = ctx.world.pageTokens.page(listing, policies, input.NextToken, input.MaxResults ?? DEFAULT_PAGE_SIZE, invalidToken);
      return { PolicyList: items.map(summary), NextToken: next };
    },

    DeletePolicy: (input: { PolicyId: string; DeleteAllPolicyResources?: boolean }, ctx: RequestContext) => {
      requireAdmin(ctx);
      // With or without DeleteAllPolicyResources the sandbox drops the policy's web ACLs and
      // protections from its view: it keeps no state for them beyond the policy.
      fmsPolicies(ctx.world).delete(ctx.region, input.PolicyId);
      return {};
    },

    ListComplianceStatus: (input: { PolicyId: string; NextToken?: string; MaxResults?: number }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policy = fmsPolicies(ctx.world).get(ctx.region, input.PolicyId);
      const listing = `fms:ListComplianceStatus:${ctx.region}:${policy.id}`;
      // Pages continue after the last account id returned, so accounts whose evaluation lands
      // between two pages neither repeat nor shift the rest.
      const after = input.NextToken === undefined ? '' : readToken(ctx, listing, input.NextToken);
      const pageSize = input.MaxResults ?? DEFAULT_PAGE_SIZE;
      const now = ctx.world.clock.now().getTime();
      const evaluator = complianceEvaluator(ctx.world);
      const statuses: Record<string, unknown>[] = [];
      let more = false;
      for (const accountId of sortedAccountIds(ctx)) {
        if (accountId <= after) continue;
        const evaluation = evaluator.evaluate(policy, accountId, now);
        if (!evaluation) continue;
        if (statuses.length === pageSize) {
          more = true;
          break;
        }
        statuses.push(complianceStatus(ctx, policy, evaluation));
      }
      const last = statuses.at(-1)?.MemberAccount;
      return {
        PolicyComplianceStatusList: statuses,
        NextToken: more && typeof last === 'string' ? ctx.world.pageTokens.encode(listing, last) : undefined,
      };
    },

    GetComplianceDetail: (input: { PolicyId: string; MemberAccount: string }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policy = fmsPolicies(ctx.world).get(ctx.region, input.PolicyId);
      if (!ctx.world.org.accounts.has(input.MemberAccount)) {
        throw new ServiceError('ResourceNotFoundException', `Account ${input.MemberAccount} is not a member of the organization; take member accounts from ListComplianceStatus.`);
      }
      const now = ctx.world.clock.now().getTime();
      const evaluation = complianceEvaluator(ctx.world).evaluate(policy, input.MemberAccount, now);
      const violators = evaluation?.violators ?? [];
      return {
        PolicyComplianceDetail: {
          PolicyOwner: ctx.world.org.managementAccountId,
          PolicyId: policy.id,
          MemberAccount: input.MemberAccount,
          Violators: violators.slice(0, VIOLATOR_DETAIL_LIMIT).map(({ resource, reason }) => ({
            ResourceId: resource.id,
            ViolationReason: reason,
            ResourceType: resource.type,
          })),
          EvaluationLimitExceeded: violators.length > VIOLATOR_DETAIL_LIMIT,
          ExpiredAt: new Date((evaluation?.lastUpdated ?? now) + ctx.world.clock.scale(DETAIL_VALIDITY_MS)),
        },
      };
    },

    PutNotificationChannel: (input: { SnsTopicArn: string; SnsRoleName: string }, ctx: RequestContext) => {
      requireAdmin(ctx);
      fmsPolicies(ctx.world).notificationChannels.set(ctx.region, { SnsTopicArn: input.SnsTopicArn, SnsRoleName: input.SnsRoleName });
      return {};
    },

    GetNotificationChannel: (_input: Record<string, never>, ctx: RequestContext) => {
      requireAdmin(ctx);
      return fmsPolicies(ctx.world).notificationChannels.get(ctx.region) ?? {};
    },

    DeleteNotificationChannel: (_input: Record<string, never>, ctx: RequestContext) => {
      requireAdmin(ctx);
      if (!fmsPolicies(ctx.world).notificationChannels.delete(ctx.region)) {
        throw new ServiceError('ResourceNotFoundException', `No notification channel is set in ${ctx.region}; set one with PutNotificationChannel.`);
      }
      return {};
    },

    TagResource: (input: { ResourceArn: string; TagList: Tag[] }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policy = fmsPolicies(ctx.world).byArn(input.ResourceArn);
      for (const tag of input.TagList) policy.tags.set(tag.Key, tag.Value);
      return {};
    },

    UntagResource: (input: { ResourceArn: string; TagKeys: string[] }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policy = fmsPolicies(ctx.world).byArn(input.ResourceArn);
      for (const key of input.TagKeys) policy.tags.delete(key);
      return {};
    },

    ListTagsForResource: (input: { ResourceArn: string }, ctx: RequestContext) => {
      requireAdmin(ctx);
      const policy = fmsPolicies(ctx.world).byArn(input.ResourceArn);
      return { TagList: [...policy.tags].map(([Key, Value]) => ({ Key, Value })) };
    },
  },
});

function requireAdmin(ctx: RequestContext): void {
  const admin = ctx.world.org.managementAccountId;
  if (ctx.accountId !== admin) {
    throw new ServiceError(
      'InvalidOperationException',
      `Account ${ctx.accountId} is not the Firewall Manager administrator; call ${ctx.operation} with credentials of account ${admin}.`,
    );
  }
}

const invalidToken = (): ServiceError => new ServiceError('InvalidInputException', 'The NextToken was not issued for this listing; start again without NextToken.');

function readToken(ctx: RequestContext, listing: string, token: string): string {
  const position = ctx.world.pageTokens.decode(listing, token);
  if (position === undefined) throw invalidToken();
  return position;
}

function summary(policy: FmsPolicy): Record<string, unknown> {
  const current = policy.describe();
  return {
    PolicyArn: policy.arn,
    PolicyId: policy.id,
    PolicyName: current.PolicyName,
    ResourceType: current.ResourceType,
    SecurityServiceType: policy.current.serviceData.type,
    RemediationEnabled: current.RemediationEnabled,
    DeleteUnusedFMManagedResources: current.DeleteUnusedFMManagedResources,
    PolicyStatus: current.PolicyStatus,
  };
}

function complianceStatus(ctx: RequestContext, policy: FmsPolicy, evaluation: AccountEvaluation): Record<string, unknown> {
  const violators = evaluation.violators.length;
  return {
    PolicyOwner: ctx.world.org.managementAccountId,
    PolicyId: policy.id,
    PolicyName: String(evaluation.version.policy.PolicyName),
    MemberAccount: evaluation.accountId,
    EvaluationResults: [
      {
        ComplianceStatus: violators === 0 ? 'COMPLIANT' : 'NON_COMPLIANT',
        ViolatorCount: violators,
        EvaluationLimitExceeded: violators > VIOLATOR_DETAIL_LIMIT,
      },
    ],
    LastUpdated: new Date(evaluation.lastUpdated),
  };
}

function sortedAccountIds(ctx: RequestContext): string[] {
  return [...ctx.world.org.accounts.keys()].sort();
}

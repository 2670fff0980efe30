import { randomUUID } from 'node:crypto';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { GLOBAL_REGION, protectedResources, type CustomerWebAcl, type WebAclScope } from '../world/protected-resources.js';
import { defineRegionState } from '../world/world.js';
import type { PolicyRuleGroup } from './fms-service-data.js';
import { fmsWebAcls, type FmsWebAcl } from './fms-web-acls.js';
import { findManagedRuleGroup, MANAGED_RULE_GROUPS, rulesCapacity } from './wafv2-capacity.js';

/**
 * WAFV2 (awsJson1_1, AWSWAF_20190729), as far as Firewall Manager rollouts read it: the
 * capacity of rules (CheckCapacity), the account's own rule groups (Create/Get/ListRuleGroups),
 * the AWS managed rule groups and their versions, and the web ACLs of an account: the teams' own
 * (seeded with the protected resources) and those FMS created for its WAFV2 policies.
 *
 * As WAF does, the CLOUDFRONT scope is only served in us-east-1; elsewhere it is refused with
 * WAFInvalidParameterException (field SCOPE_VALUE).
 */

const DEFAULT_PAGE_SIZE = 100;

interface StoredRuleGroup {
  name: string;
  id: string;
  arn: string;
  scope: WebAclScope;
  capacity: number;
  description?: string;
  rules: Record<string, unknown>[];
  visibilityConfig: Record<string, unknown>;
  lockToken: string;
}

/** Rule groups per account and region by ARN; CLOUDFRONT ones live in us-east-1. */
const RULE_GROUPS = defineRegionState('wafv2:rule-groups', () => new Map<string, StoredRuleGroup>());

type Scoped = { Scope: WebAclScope };
type Lookup = Scoped & { Name?: string; Id?: string; ARN?: string };
type Page = { NextMarker?: string; Limit?: number };

export const wafv2 = defineService({
  signingName: 'wafv2',
  handlers: {
    CheckCapacity: (input: Scoped & { Rules: Record<string, unknown>[] }, ctx: RequestContext) => {
      checkScope(ctx, input.Scope);
      const groups = ctx.state(RULE_GROUPS);
      return { Capacity: rulesCapacity(input.Rules, (arn) => groups.get(arn)?.capacity) };
    },

    CreateRuleGroup: (
      input: Scoped & { Name: string; Capacity: number; Description?: string; Rules?: Record<string, unknown>[]; VisibilityConfig: Record<string, unknown> },
      ctx: RequestContext,
    ) => {
      checkScope(ctx, input.Scope);
      const groups = ctx.state(RULE_GROUPS);
      if ([...groups.values()].some((g) => g.name === input.Name && g.scope === input.Scope)) {
        throw new ServiceError('WAFDuplicateItemException', `A ${input.Scope} rule group named ${input.Name} already exists; choose another name or update that one.`);
      }
      const rules = input.Rules ?? [];
      const needed = rulesCapacity(rules, (arn) => groups.get(arn)?.capacity);
      if (needed > input.Capacity) {
        throw new ServiceError('WAFInvalidParameterException', `The rules need ${needed} WCUs, more than the rule group's Capacity ${input.Capacity}; raise the capacity.`, {
          fields: { Field: 'RULE_GROUP', Parameter: String(input.Capacity), Reason: 'The rules exceed the rule group capacity.' },
        });
      }
      const id = randomUUID();
      const group: StoredRuleGroup = {
        name: input.Name,
        id,
        arn: `arn:aws:wafv2:${ctx.region}:${ctx.accountId}:${arnScope(input.Scope)}/rulegroup/${input.Name}/${id}`,
        scope: input.Scope,
        capacity: input.Capacity,
        description: input.Description,
        rules,
        visibilityConfig: input.VisibilityConfig,
        lockToken: randomUUID(),
      };
      groups.set(group.arn, group);
      return { Summary: ruleGroupSummary(group) };
    },

    GetRuleGroup: (input: Partial<Lookup>, ctx: RequestContext) => {
      const group = findEntity([...ctx.state(RULE_GROUPS).values()], input, ctx, 'rule group');
      return {
        RuleGroup: {
          Name: group.name,
          Id: group.id,
          Capacity: group.capacity,
          ARN: group.arn,
          Description: group.description,
          Rules: group.rules,
          VisibilityConfig: group.visibilityConfig,
          LabelNamespace: `awswaf:${ctx.accountId}:rulegroup:${group.name}:`,
        },
        LockToken: group.lockToken,
      };
    },

    ListRuleGroups: (input: Scoped & Page, ctx: RequestContext) => {
      checkScope(ctx, input.Scope);
      const groups = [...ctx.state(RULE_GROUPS).values()].filter((g) => g.scope === input.Scope);
      const page = paginate(ctx, groups, input, `wafv2:ListRuleGroups:${ctx.accountId}:${ctx.region}:${input.Scope}`);
      return { RuleGroups: page.items.map(ruleGroupSummary), NextMarker: page.next };
    },

    ListWebACLs: (input: Scoped & Page, ctx: RequestContext) => {
      checkScope(ctx, input.Scope);
      const acls = webAcls(ctx).filter((acl) => acl.scope === input.Scope);
      const page = paginate(ctx, acls, input, `wafv2:ListWebACLs:${ctx.accountId}:${ctx.region}:${input.Scope}`);
      return {
        WebACLs: page.items.map((acl) => ({ Name: acl.name, Id: acl.id, Description: acl.description, LockToken: acl.lockToken, ARN: acl.arn })),
        NextMarker: page.next,
      };
    },

    GetWebACL: (input: Partial<Lookup>, ctx: RequestContext) => {
      const acl = findEntity(webAcls(ctx), input, ctx, 'web ACL');
      return { WebACL: acl.describe(ctx.accountId), LockToken: acl.lockToken };
    },

    ListAvailableManagedRuleGroups: (input: Scoped & Page, ctx: RequestContext) => {
      checkScope(ctx, input.Scope);
      const page = paginate(ctx, MANAGED_RULE_GROUPS, input, `wafv2:ListAvailableManagedRuleGroups:${input.Scope}`);
      return {
        ManagedRuleGroups: page.items.map((g) => ({ VendorName: g.vendorName, Name: g.name, VersioningSupported: g.versions.length > 0, Description: g.description })),
        NextMarker: page.next,
      };
    },

    ListAvailableManagedRuleGroupVersions: (input: Scoped & Page & { VendorName: string; Name: string }, ctx: RequestContext) => {
      checkScope(ctx, input.Scope);
      const group = findManagedRuleGroup(input.VendorName, input.Name);
      // Newest first, as WAF lists them; the dates are a fixed month apart.
      const versions = [...group.versions].reverse().map((name, i) => ({ Name: name, LastUpdateTimestamp: new Date(Date.UTC(2025, 5 - i, 1)) }));
      const page = paginate(ctx, versions, input, `wafv2:ListAvailableManagedRuleGroupVersions:${group.name}:${input.Scope}`);
      return { Versions: page.items, CurrentDefaultVersion: group.defaultVersion, NextMarker: page.next };
    },

    DescribeManagedRuleGroup: (input: Scoped & { VendorName: string; Name: string; VersionName?: string }, ctx: RequestContext) => {
      checkScope(ctx, input.Scope);
      const group = findManagedRuleGroup(input.VendorName, input.Name);
      if (input.VersionName !== undefined && !group.versions.includes(input.VersionName)) {
        throw new ServiceError('WAFNonexistentItemException', `${group.name} has no version ${input.VersionName}; list its versions with ListAvailableManagedRuleGroupVersions.`);
      }
      return {
        VersionName: input.VersionName ?? group.defaultVersion,
        Capacity: group.capacity,
        LabelNamespace: `awswaf:managed:aws:${group.name.replace(/^AWSManagedRules/, '').toLowerCase()}:`,
      };
    },
  },
});

function checkScope(ctx: RequestContext, scope: WebAclScope): void {
  if (scope === 'CLOUDFRONT' && ctx.region !== GLOBAL_REGION) {
    throw new ServiceError('WAFInvalidParameterException', `Error reason: The scope is not valid., field: SCOPE_VALUE, parameter: CLOUDFRONT (CloudFront is served in ${GLOBAL_REGION}, not ${ctx.region})`, {
      fields: { Field: 'SCOPE_VALUE', Parameter: 'CLOUDFRONT', Reason: `The CLOUDFRONT scope needs the ${GLOBAL_REGION} endpoint.` },
    });
  }
}

function arnScope(scope: WebAclScope): string {
  return scope === 'CLOUDFRONT' ? 'global' : 'regional';
}

function ruleGroupSummary(group: StoredRuleGroup): Record<string, unknown> {
  return { Name: group.name, Id: group.id, Description: group.description, LockToken: group.lockToken, ARN: group.arn };
}

/** GetRuleGroup and GetWebACL take Name + Scope + Id, or the ARN. */
function findEntity<T extends { name: string; id: string; arn: string; scope: WebAclScope }>(entities: T[], input: Partial<Lookup>, ctx: RequestContext, what: string): T {
  if (input.ARN === undefined && (input.Name === undefined || input.Id === undefined || input.Scope === undefined)) {
    throw new ServiceError('WAFInvalidParameterException', `Name the ${what} by ARN, or by Name, Scope and Id together.`, {
      fields: { Field: 'RESOURCE_ARN', Reason: 'Either the ARN or the name, scope and id are required.' },
    });
  }
  if (input.Scope !== undefined) checkScope(ctx, input.Scope);
  const found = entities.find((e) => (input.ARN !== undefined ? e.arn === input.ARN : e.name === input.Name && e.id === input.Id && e.scope === input.Scope));
  if (!found) {
    throw new ServiceError('WAFNonexistentItemException', `WAF couldn't find the ${what} ${input.ARN ?? `${input.Name}/${input.Id}`} in account ${ctx.accountId} ${ctx.region}; list them to find the right one.`);
  }
  return found;
}

function paginate<T>(ctx: RequestContext, items: readonly T[], input: Page, listing: string): { items: T[]; next: string | undefined } {
  return ctx.world.pageTokens.page(listing, items, input.NextMarker, input.Limit ?? DEFAULT_PAGE_SIZE, () =>
    new ServiceError('WAFInvalidParameterException', 'The NextMarker was not issued for this listing; start again without it.', {
      fields: { Reason: 'The marker is not valid.' },
    }));
}

interface WebAclView {
  name: string;
  id: string;
  arn: string;
  scope: WebAclScope;
  description: string;
  lockToken: string;
  describe(accountId: string): Record<string, unknown>;
}

/** The account's web ACLs in the request's region: the teams' own, then those FMS created. */
function webAcls(ctx: RequestContext): WebAclView[] {
  const own = protectedResources(ctx.world).inRegion(ctx.accountId, ctx.region).webAcls.map(customerView);
  const managed = fmsWebAcls(ctx.world, ctx.accountId, ctx.region, ctx.world.clock.now().getTime()).map(fmsView);
  return [...own, ...managed];
}

function customerView(acl: CustomerWebAcl): WebAclView {
  return {
    ...acl,
    describe: (accountId) => ({
      Name: acl.name,
      Id: acl.id,
      ARN: acl.arn,
      DefaultAction: { Allow: {} },
      Description: acl.description,
      Rules: [],
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: acl.name },
      Capacity: 0,
      ManagedByFirewallManager: false,
      LabelNamespace: `awswaf:${accountId}:webacl:${acl.name}:`,
    }),
  };
}

function fmsView(acl: FmsWebAcl): WebAclView {
  const data = acl.version.serviceData;
  const pre = data.type === 'WAFV2' ? data.preProcessRuleGroups : [];
  const post = data.type === 'WAFV2' ? data.postProcessRuleGroups : [];
  return {
    name: acl.name,
    id: acl.id,
    arn: acl.arn,
    scope: acl.scope,
    description: `Web ACL created by Firewall Manager policy ${acl.policy.id}`,
    lockToken: acl.lockToken,
    describe: (accountId) => ({
      Name: acl.name,
      Id: acl.id,
      ARN: acl.arn,
      DefaultAction: data.type === 'WAFV2' && data.defaultAction === 'BLOCK' ? { Block: {} } : { Allow: {} },
      Description: `Web ACL created by Firewall Manager policy ${acl.policy.id}`,
      Rules: [],
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: acl.name },
      Capacity: [...pre, ...post].reduce((sum, group) => sum + firewallManagerGroupCapacity(group), 0),
      // FMS runs its first groups at the lowest priorities and its last at the highest.
      PreProcessFirewallManagerRuleGroups: pre.map((group, i) => firewallManagerRuleGroup(group, i)),
      PostProcessFirewallManagerRuleGroups: post.map((group, i) => firewallManagerRuleGroup(group, 10_000 - post.length + i)),
      ManagedByFirewallManager: true,
      LabelNamespace: `awswaf:${accountId}:webacl:${acl.name}:`,
    }),
  };
}

function firewallManagerRuleGroup(group: PolicyRuleGroup, priority: number): Record<string, unknown> {
  const name = group.kind === 'ManagedRuleGroup' ? String(group.managedRuleGroupName) : String(group.ruleGroupArn?.split('/').at(-2));
  return {
    Name: name,
    Priority: priority,
    FirewallManagerStatement:
      group.kind === 'ManagedRuleGroup'
        ? { ManagedRuleGroupStatement: { VendorName: group.vendorName, Name: group.managedRuleGroupName, Version: group.version } }
        : { RuleGroupReferenceStatement: { ARN: group.ruleGroupArn } },
    OverrideAction: group.overrideAction === 'COUNT' ? { Count: {} } : { None: {} },
    VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: name },
  };
}

/** Managed groups from the table; a rule group by ARN lives in the administrator account, out of sight here. */
function firewallManagerGroupCapacity(group: PolicyRuleGroup): number {
  if (group.kind !== 'ManagedRuleGroup') return 0;
  return MANAGED_RULE_GROUPS.find((g) => g.vendorName === group.vendorName && g.name === group.managedRuleGroupName)?.capacity ?? 0;
}

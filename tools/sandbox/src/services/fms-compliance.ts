import type { Organization } from '../world/organization.js';
import { hashLabel } from '../world/prng.js';
import { protectedResources, type ProtectedResource } from '../world/protected-resources.js';
import { defineWorldState, type World } from '../world/world.js';
import type { FmsPolicy, PolicyVersion, ResourceTag, ScopeMap } from './fms-policy-store.js';

/**
 * Firewall Manager compliance, computed when it is read from the policy's versions and the
 * times they were put, so an organization of thousands of accounts costs nothing until asked.
 *
 * Modelled after the FMS developer guide (policy scope, "How Firewall Manager manages web
 * ACLs", the web ACL association behaviour of AWS's knowledge center):
 * - A version is evaluated in an account `evaluationDelay` after it was put (plus up to 25% of
 *   that, fixed per account and policy, so accounts do not all report at once). Until then the
 *   account shows the previous version's evaluation, or nothing if there was none.
 * - Account scope: with an IncludeMap only the accounts it names (directly or under a named OU),
 *   and the ExcludeMap is not read; without one every account except those the ExcludeMap names.
 *   The administrator (management) account is in scope only when an IncludeMap names it. Only
 *   ACTIVE accounts are evaluated.
 * - Resource scope: the policy's resource types; resource tags with AND/OR, including or
 *   excluding. A tag without a value matches any value of its key.
 * - Violations (WAFV2): no web ACL -> RESOURCE_MISSING_WEB_ACL; the team's own web ACL ->
 *   RESOURCE_INCORRECT_WEB_ACL, or WEB_ACL_MISSING_RULE_GROUP when the policy retrofits existing
 *   web ACLs. (SHIELD_ADVANCED): no protection -> RESOURCE_MISSING_SHIELD_PROTECTION.
 * - With RemediationEnabled, FMS fixes what it may `remediationDelay` after the evaluation: it
 *   associates its web ACL (replacing a team's only with overrideCustomerWebACLAssociation),
 *   retrofits, or adds the Shield protection. Blocked resources are never fixed. A fix stays when
 *   the policy is later updated or set to audit, as FMS does not undo associations.
 * - Audit-only versions change nothing. Policies are evaluated independently of each other.
 */
export interface ComplianceTiming {
  /** Simulated milliseconds from a PutPolicy to its evaluation in an account. */
  evaluationDelayMs: number;
  /** Simulated milliseconds from an evaluation to the remediation of what it found. */
  remediationDelayMs: number;
}

export const DEFAULT_COMPLIANCE_TIMING: ComplianceTiming = { evaluationDelayMs: 5 * 60_000, remediationDelayMs: 5 * 60_000 };

/** FMS details at most this many violators per account and flags EvaluationLimitExceeded beyond. */
export const VIOLATOR_DETAIL_LIMIT = 100;

export type ViolationReason =
  | 'RESOURCE_MISSING_WEB_ACL'
  | 'RESOURCE_INCORRECT_WEB_ACL'
  | 'WEB_ACL_MISSING_RULE_GROUP'
  | 'RESOURCE_MISSING_SHIELD_PROTECTION';

export interface Violator {
  resource: ProtectedResource;
  reason: ViolationReason;
}

export interface AccountEvaluation {
  accountId: string;
  version: PolicyVersion;
  evaluatedAt: number;
  /** The evaluation or the remediation after it, whichever is the latest to have happened. */
  lastUpdated: number;
  violators: Violator[];
  /** Resources this policy's FMS web ACL (or Shield protection) now covers. */
  remediated: ProtectedResource[];
}

class ComplianceSettings {
  timing: ComplianceTiming = { ...DEFAULT_COMPLIANCE_TIMING };
}

export const COMPLIANCE_SETTINGS = defineWorldState('fms:compliance-settings', () => new ComplianceSettings());

export class ComplianceEvaluator {
  constructor(private readonly world: World) {}

  /** The account's latest evaluation at `now`, or undefined when it has none (yet). */
  evaluate(policy: FmsPolicy, accountId: string, now: number): AccountEvaluation | undefined {
    const account = this.world.org.accounts.get(accountId);
    if (!account || account.status !== 'ACTIVE') return undefined;
    const timing = this.timing();
    const evaluatedAt = policy.versions.map((version) => version.changedAt + timing.evaluationMs * (1 + jitter(policy.id, accountId)));
    let effective = -1;
    for (let i = 0; i < policy.versions.length; i++) if ((evaluatedAt[i] as number) <= now) effective = i;
    const version = policy.versions[effective];
    if (!version || !inScope(this.world.org, version, accountId)) return undefined;
    const resources = protectedResources(this.world);
    const inScopeResources = resources.inRegion(accountId, policy.region).resources.filter((resource) => resourceInScope(version, resource));
    const violators: Violator[] = [];
    const remediated: ProtectedResource[] = [];
    let lastUpdated = evaluatedAt[effective] as number;
    for (const resource of inScopeResources) {
      const fixedAt = this.remediatedAt(policy, evaluatedAt, effective, resource, now, timing.remediationMs);
      if (fixedAt !== undefined) {
        remediated.push(resource);
        lastUpdated = Math.max(lastUpdated, fixedAt);
        continue;
      }
      const finding = violation(version, resource);
      if (finding) violators.push({ resource, reason: finding.reason });
    }
    return { accountId, version, evaluatedAt: evaluatedAt[effective] as number, lastUpdated, violators, remediated };
  }

  /**
   * When a version with remediation fixed the resource: `evaluatedAt + remediationDelay`, if that
   * came before the next version took over (or before now, for the effective one).
   */
  private remediatedAt(
    policy: FmsPolicy,
    evaluatedAt: readonly number[],
    effective: number,
    resource: ProtectedResource,
    now: number,
    remediationMs: number,
  ): number | undefined {
    if (protectedResources(this.world).isBlocked(resource.accountId, resource.id)) return undefined;
    for (let i = 0; i <= effective; i++) {
      const version = policy.versions[i] as PolicyVersion;
      if (!version.remediationEnabled || !inScope(this.world.org, version, resource.accountId) || !resourceInScope(version, resource)) continue;
      // A resource compliant from the start needs no fix; one FMS may not change gets none.
      if (!violation(version, resource)?.fixable) continue;
      const fixedAt = (evaluatedAt[i] as number) + remediationMs;
      const until = i === effective ? now : (evaluatedAt[i + 1] as number);
      if (fixedAt <= until) return fixedAt;
    }
    return undefined;
  }

  /** Real milliseconds of the delays under the world's time scale, read per call so settings apply at once. */
  private timing(): { evaluationMs: number; remediationMs: number } {
    const { timing } = this.world.state(COMPLIANCE_SETTINGS);
    return { evaluationMs: this.world.clock.scale(timing.evaluationDelayMs), remediationMs: this.world.clock.scale(timing.remediationDelayMs) };
  }
}

const COMPLIANCE = defineWorldState('fms:compliance', (world: World) => new ComplianceEvaluator(world));

export function complianceEvaluator(world: World): ComplianceEvaluator {
  return world.state(COMPLIANCE);
}

function violation(version: PolicyVersion, resource: ProtectedResource): { reason: ViolationReason; fixable: boolean } | undefined {
  const data = version.serviceData;
  if (data.type === 'SHIELD_ADVANCED') {
    return resource.shieldProtected ? undefined : { reason: 'RESOURCE_MISSING_SHIELD_PROTECTION', fixable: true };
  }
  if (!resource.customerWebAclArn) return { reason: 'RESOURCE_MISSING_WEB_ACL', fixable: true };
  if (data.retrofitExistingWebAcls) return { reason: 'WEB_ACL_MISSING_RULE_GROUP', fixable: true };
  return { reason: 'RESOURCE_INCORRECT_WEB_ACL', fixable: data.overrideCustomerWebACLAssociation };
}

/** Up to 25% of the evaluation delay, fixed per policy and account. */
function jitter(policyId: string, accountId: string): number {
  return (hashLabel(`${policyId}/${accountId}`) / 2 ** 32) * 0.25;
}

export function inScope(org: Organization, version: Pick<PolicyVersion, 'includeMap' | 'excludeMap'>, accountId: string): boolean {
  if (hasEntries(version.includeMap)) return mapNames(org, version.includeMap, accountId);
  if (accountId === org.managementAccountId) return false;
  return !mapNames(org, version.excludeMap, accountId);
}

function hasEntries(map: ScopeMap | undefined): map is ScopeMap {
  return (map?.ACCOUNT?.length ?? 0) + (map?.ORG_UNIT?.length ?? 0) > 0;
}

/** Whether the map names the account or an OU (or the root) above it. */
function mapNames(org: Organization, map: ScopeMap | undefined, accountId: string): boolean {
  if (!map) return false;
  if (map.ACCOUNT?.includes(accountId)) return true;
  const units = map.ORG_UNIT;
  if (!units || units.length === 0) return false;
  let parentId = org.accounts.get(accountId)?.parentId;
  while (parentId !== undefined) {
    if (units.includes(parentId)) return true;
    parentId = parentId === org.root.id ? undefined : org.ous.get(parentId)?.parentId;
  }
  return false;
}

export function resourceInScope(version: Pick<PolicyVersion, 'resourceTypes' | 'resourceTags' | 'excludeResourceTags' | 'tagOperator'>, resource: ProtectedResource): boolean {
  if (!version.resourceTypes.includes(resource.type)) return false;
  if (version.resourceTags.length === 0) return true;
  const matches = (tag: ResourceTag) => {
    const value = resource.tags[tag.Key];
    return value !== undefined && (tag.Value === undefined || tag.Value === '' || tag.Value === value);
  };
  const matched = version.tagOperator === 'OR' ? version.resourceTags.some(matches) : version.resourceTags.every(matches);
  return version.excludeResourceTags ? !matched : matched;
}

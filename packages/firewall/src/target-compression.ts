import { POLICY_QUOTAS, type PolicyScope } from '@orgshield/policies';
import { resolveFmsScope, type OrganizationSnapshot } from '@orgshield/accounts';

/** What a policy scope may hold, per the FMS quotas page. */
export interface ScopeQuotas {
  orgUnits: number;
  accounts: number;
}

export const DEFAULT_SCOPE_QUOTAS: ScopeQuotas = { orgUnits: POLICY_QUOTAS.scopeOrgUnits, accounts: POLICY_QUOTAS.scopeAccounts };

export type CompressedScope =
  | { ok: true; scope: PolicyScope }
  | { ok: false; orgUnits: number; accounts: number };

/**
 * The organization's tree with each OU's target accounts (ACTIVE, and the management account
 * only when asked for, exactly as resolveFmsScope counts them), built once per plan.
 */
export class ScopeTree {
  /** Every target account of the organization. */
  readonly targets: ReadonlySet<string>;
  /** Top-level OUs and their descendants, parents before children. */
  private readonly childOus = new Map<string, string[]>();
  private readonly targetsUnder = new Map<string, string[]>();

  constructor(
    readonly snapshot: OrganizationSnapshot,
    readonly includeManagement = false,
  ) {
    this.targets = new Set(resolveFmsScope(snapshot, {}, { includeManagement }));
    const accountsByParent = new Map<string, string[]>();
    for (const account of snapshot.accounts) {
      if (this.targets.has(account.id)) accountsByParent.set(account.parentId, [...(accountsByParent.get(account.parentId) ?? []), account.id]);
    }
    for (const ou of snapshot.ous) this.childOus.set(ou.parentId, [...(this.childOus.get(ou.parentId) ?? []), ou.id]);
    const collect = (parentId: string): string[] => {
      const under = [...(accountsByParent.get(parentId) ?? [])];
      for (const child of this.childOus.get(parentId) ?? []) under.push(...collect(child));
      this.targetsUnder.set(parentId, under);
      return under;
    };
    collect(snapshot.root.id);
  }

  /**
   * The smallest FMS scope whose accounts are exactly `accounts`: whole OUs where every target
   * below an OU is wanted (the highest such OU), the rest as accounts. When that needs more
   * OUs than the quota, the smallest OUs are spelled out as accounts while the account quota
   * allows. If the include form cannot fit, the complement is tried as an ExcludeMap (FMS
   * covers everything but the excluded accounts then). Every target account takes no map at all.
   * Never uses the root: FMS takes OU ids.
   */
  compress(accounts: Iterable<string>, quotas: ScopeQuotas = DEFAULT_SCOPE_QUOTAS): CompressedScope {
    const wanted = new Set([...accounts].filter((id) => this.targets.has(id)));
    // Every target account: no map at all, which FMS reads as the whole organization whatever its
    // size (less the administrator account, which only an IncludeMap brings in; so not when it is wanted).
    if (!this.includeManagement && wanted.size === this.targets.size) return { ok: true, scope: {} };
    const include = this.cover(wanted, quotas);
    if (include.ok) return { ok: true, scope: { include: include.map } };
    const complement = new Set([...this.targets].filter((id) => !wanted.has(id)));
    // Empty only when the management account is wanted too: no map would leave it out.
    if (complement.size > 0) {
      const exclude = this.cover(complement, quotas);
      if (exclude.ok) return { ok: true, scope: { exclude: exclude.map } };
    }
    return { ok: false, orgUnits: include.orgUnits, accounts: include.accounts };
  }

  private cover(
    wanted: ReadonlySet<string>,
    quotas: ScopeQuotas,
  ): { ok: true; map: { accounts: string[]; orgUnits: string[] } } | { ok: false; orgUnits: number; accounts: number } {
    const orgUnits: { id: string; size: number }[] = [];
    const visit = (ouId: string) => {
      const under = this.targetsUnder.get(ouId) ?? [];
      if (under.length > 0 && under.every((id) => wanted.has(id))) {
        orgUnits.push({ id: ouId, size: under.length });
        return;
      }
      if (under.some((id) => wanted.has(id))) for (const child of this.childOus.get(ouId) ?? []) visit(child);
    };
    for (const top of this.childOus.get(this.snapshot.root.id) ?? []) visit(top);

    // Fewest accounts first: trade the smallest OUs for their accounts until the OU quota holds.
    orgUnits.sort((a, b) => a.size - b.size || (a.id < b.id ? -1 : 1));
    const inOus = orgUnits.reduce((sum, ou) => sum + ou.size, 0);
    let accountCount = wanted.size - inOus;
    let spelled = 0;
    while (orgUnits.length - spelled > quotas.orgUnits && spelled < orgUnits.length) {
      accountCount += orgUnits[spelled]?.size ?? 0;
      spelled++;
    }
    const kept = orgUnits.slice(spelled);
    if (kept.length > quotas.orgUnits || accountCount > quotas.accounts) {
      return { ok: false, orgUnits: orgUnits.length, accounts: wanted.size - inOus };
    }
    const coveredByOus = new Set(kept.flatMap((ou) => this.targetsUnder.get(ou.id) ?? []));
    return {
      ok: true,
      map: {
        accounts: [...wanted].filter((id) => !coveredByOus.has(id)).sort(),
        orgUnits: kept.map((ou) => ou.id).sort(),
      },
    };
  }
}

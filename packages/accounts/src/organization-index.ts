import { InvalidInputError } from '@orgshield/errors';
import { type Account, accountIdSchema, type OrganizationSnapshot, type Tags } from './organization-schema.js';

function pushTo<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Built once per snapshot: a plan resolves many scopes against the same one. */
const indexes = new WeakMap<OrganizationSnapshot, OrganizationIndex>();

/** Lookups over a snapshot that scope resolution needs: by id, by path, and down the tree. */
export class OrganizationIndex {
  /** The index of a snapshot, built on first use. */
  static of(snapshot: OrganizationSnapshot): OrganizationIndex {
    let index = indexes.get(snapshot);
    if (index === undefined) {
      index = new OrganizationIndex(snapshot);
      indexes.set(snapshot, index);
    }
    return index;
  }

  private readonly accountsById = new Map<string, Account>();
  private readonly parentIdByPath = new Map<string, string>();
  private readonly parentIds = new Set<string>();
  private readonly childOus = new Map<string, string[]>();
  private readonly accountsByParent = new Map<string, Account[]>();

  constructor(readonly snapshot: OrganizationSnapshot) {
    this.parentIds.add(snapshot.root.id);
    this.parentIdByPath.set(snapshot.root.name, snapshot.root.id);
    for (const ou of snapshot.ous) {
      this.parentIds.add(ou.id);
      this.parentIdByPath.set(ou.path, ou.id);
      pushTo(this.childOus, ou.parentId, ou.id);
    }
    for (const account of snapshot.accounts) {
      this.accountsById.set(account.id, account);
      pushTo(this.accountsByParent, account.parentId, account);
    }
  }

  get accounts(): Account[] {
    return this.snapshot.accounts;
  }

  /** An account id the user named: 12 digits, and in this organization. */
  account(id: string, field: string): Account {
    if (!accountIdSchema.safeParse(id).success) {
      throw new InvalidInputError(`${field}: "${id}" is not an AWS account id; an account id is exactly 12 digits.`, { code: 'InvalidAccountId' });
    }
    const account = this.accountsById.get(id);
    if (!account) {
      throw new InvalidInputError(`${field}: account ${id} is not in the organization; run "orgshield org sync" if it joined recently.`, { code: 'UnknownAccount' });
    }
    return account;
  }

  /** An OU (or the root) the user named by path (`Root/Workloads/Prod`) or id (`ou-...`, `r-...`). */
  parentId(ref: string, field: string): string {
    const trimmed = ref.replace(/\/+$/, '');
    if (this.parentIds.has(trimmed)) return trimmed;
    const byPath = this.parentIdByPath.get(trimmed);
    if (byPath) return byPath;
    const root = this.snapshot.root.name;
    const hint = trimmed.startsWith(`${root}/`) || trimmed === root ? 'run "orgshield org tree" to see the paths' : `paths start at the root, like ${root}/Workloads`;
    throw new InvalidInputError(`${field}: OU "${ref}" is not in the organization; ${hint}.`, { code: 'UnknownOrganizationalUnit' });
  }

  /**
   * The ids of the accounts named and of every account below the OUs named; `fields` name the
   * two lists in the error for one that is not in the organization.
   */
  accountIdsIn(accountIds: readonly string[] | undefined, ouRefs: readonly string[] | undefined, fields: { accounts: string; ous: string }): Set<string> {
    const ids = new Set<string>();
    for (const id of accountIds ?? []) ids.add(this.account(id, fields.accounts).id);
    for (const ref of ouRefs ?? []) for (const account of this.accountsUnder(this.parentId(ref, fields.ous))) ids.add(account.id);
    return ids;
  }

  /** Every account in this OU or root and in all OUs below it. */
  accountsUnder(parentId: string): Account[] {
    const found: Account[] = [];
    const pending = [parentId];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      found.push(...(this.accountsByParent.get(next) ?? []));
      pending.push(...(this.childOus.get(next) ?? []));
    }
    return found;
  }
}

/** Every tag of `wanted` is on the account with the same value. */
export function hasAllTags(account: Account, wanted: Tags): boolean {
  return Object.entries(wanted).every(([key, value]) => account.tags[key] === value);
}

/**
 * Only ACTIVE accounts are targets (SUSPENDED, PENDING_CLOSURE and CLOSED accounts cannot be
 * changed); the management account only when asked for.
 */
export function isTarget(account: Account, managementAccountId: string, includeManagement: boolean): boolean {
  return account.status === 'ACTIVE' && (includeManagement || account.id !== managementAccountId);
}

/**
 * The organization as Organizations reports it: one root, nested OUs, accounts with status and
 * tags. Plain data with child indexes, so handlers page through children without scanning.
 */
export type AccountStatus = 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE';
export type Tags = Record<string, string>;

export interface OrgAccount {
  id: string;
  arn: string;
  name: string;
  email: string;
  status: AccountStatus;
  joinedMethod: 'INVITED' | 'CREATED';
  joinedTimestamp: Date;
  parentId: string;
  tags: Tags;
}

export interface OrgUnit {
  id: string;
  arn: string;
  name: string;
  parentId: string;
  tags: Tags;
}

export interface OrgRoot {
  id: string;
  arn: string;
  name: 'Root';
  tags: Tags;
}

export class Organization {
  /** By id; add through addOu/addAccount so the child indexes stay right. */
  readonly ous = new Map<string, OrgUnit>();
  readonly accounts = new Map<string, OrgAccount>();
  private readonly accountOrder: OrgAccount[] = [];
  private readonly ouChildren = new Map<string, OrgUnit[]>();
  private readonly accountChildren = new Map<string, OrgAccount[]>();

  constructor(
    readonly id: string,
    readonly managementAccountId: string,
    readonly root: OrgRoot,
  ) {}

  get arn(): string {
    return `arn:aws:organizations::${this.managementAccountId}:organization/${this.id}`;
  }

  get managementAccount(): OrgAccount {
    const account = this.accounts.get(this.managementAccountId);
    if (!account) throw new Error(`the management account ${this.managementAccountId} is not in the organization`);
    return account;
  }

  addOu(ou: OrgUnit): void {
    this.ous.set(ou.id, ou);
    listFor(this.ouChildren, ou.parentId).push(ou);
  }

  addAccount(account: OrgAccount): void {
    this.accounts.set(account.id, account);
    this.accountOrder.push(account);
    listFor(this.accountChildren, account.parentId).push(account);
  }

  /** Every account in the order they joined the list, without copying (ListAccounts pages it). */
  allAccounts(): readonly OrgAccount[] {
    return this.accountOrder;
  }

  isParent(id: string): boolean {
    return id === this.root.id || this.ous.has(id);
  }

  childOus(parentId: string): readonly OrgUnit[] {
    return this.ouChildren.get(parentId) ?? [];
  }

  childAccounts(parentId: string): readonly OrgAccount[] {
    return this.accountChildren.get(parentId) ?? [];
  }

  /** Depth of an OU below the root (a top-level OU is 1); Organizations allows 5. */
  depthOf(ouId: string): number {
    let depth = 0;
    for (let id: string | undefined = ouId; id !== undefined && id !== this.root.id; id = this.ous.get(id)?.parentId) depth++;
    return depth;
  }
}

function listFor<T>(index: Map<string, T[]>, key: string): T[] {
  let list = index.get(key);
  if (!list) {
    list = [];
    index.set(key, list);
  }
  return list;
}

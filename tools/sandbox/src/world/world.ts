import { Clock } from './clock.js';
import { CredentialStore, stableKey } from './credentials.js';
import { PageTokens } from './page-tokens.js';
import type { Organization, Tags } from './organization.js';
import { seededRandom, type Random } from './prng.js';
import { buildOrganization, type OrganizationShape } from './seeded-organization.js';

/** An IAM role that STS AssumeRole can hand out sessions for. */
export interface IamRole {
  name: string;
  arn: string;
  /** The AROA... id that GetCallerIdentity reports as the first half of UserId. */
  roleId: string;
  /** IAM's MaxSessionDuration: 3600 unless the role was created with more (up to 43200). */
  maxSessionDurationSeconds: number;
  /** Accounts the trust policy names as principals (`arn:aws:iam::<account>:root`). */
  trustedAccountIds: string[];
  /** When set, the trust policy has an `sts:ExternalId` condition with this value. */
  externalId?: string;
  /** Services the trust policy names (`appstream.amazonaws.com`), for services that pass the role. */
  trustedServices?: string[];
  /** The trust policy as IAM's CreateRole received it; sandbox-made roles have none and get one written for them. */
  assumeRolePolicy?: string;
  path?: string;
  description?: string;
  createDate?: Date;
  /** Inline policies by name (PutRolePolicy). */
  inlinePolicies?: Map<string, string>;
  tags?: { Key: string; Value: string }[];
}

/** The role Organizations creates in every account it creates, trusted by the management account. */
export const ORGANIZATION_ACCESS_ROLE = 'OrganizationAccountAccessRole';

/**
 * State a service keeps per account and region, created on first use. `init` runs once per
 * (account, region) and may seed from `world.random(...)`, so 5,000 accounts cost nothing until
 * a request reaches them.
 */
export interface RegionStateKey<T> {
  readonly name: string;
  readonly init: (scope: { world: World; accountId: string; region: string }) => T;
}

/** State a service keeps once for the whole world (S3's global bucket namespace, for one). */
export interface WorldStateKey<T> {
  readonly name: string;
  readonly init: (world: World) => T;
}

export function defineRegionState<T>(name: string, init: RegionStateKey<T>['init']): RegionStateKey<T> {
  return { name, init };
}

export function defineWorldState<T>(name: string, init: WorldStateKey<T>['init']): WorldStateKey<T> {
  return { name, init };
}

export class RegionState {
  private readonly bags = new Map<RegionStateKey<unknown>, unknown>();

  constructor(
    private readonly world: World,
    readonly accountId: string,
    readonly region: string,
  ) {}

  state<T>(key: RegionStateKey<T>): T {
    if (!this.bags.has(key)) this.bags.set(key, key.init({ world: this.world, accountId: this.accountId, region: this.region }));
    return this.bags.get(key) as T;
  }
}

export class AccountState {
  /** IAM roles by name. IAM is global, so roles live on the account, not in a region. */
  readonly roles = new Map<string, IamRole>();
  private readonly regions = new Map<string, RegionState>();

  constructor(
    private readonly world: World,
    readonly id: string,
  ) {}

  region(name: string): RegionState {
    let state = this.regions.get(name);
    if (!state) {
      state = new RegionState(this.world, this.id, name);
      this.regions.set(name, state);
    }
    return state;
  }

  putRole(role: Omit<IamRole, 'arn' | 'roleId'> & { roleId?: string }): IamRole {
    const full: IamRole = {
      ...role,
      arn: `arn:aws:iam::${this.id}:role/${role.name}`,
      roleId: role.roleId ?? `AROA${stableKey(`${this.id}/${role.name}`, 17)}`,
    };
    this.roles.set(role.name, full);
    return full;
  }
}

export interface OrgSnapshot {
  managementAccountId: string;
  root: { id: string; name: string };
  ous: { id: string; name: string; parentId: string }[];
  accounts: { id: string; name: string; email: string; status: string; parentId: string; tags: Tags }[];
}

export interface WorldOptions extends OrganizationShape {
  timeScale: number;
}

/** Everything the sandbox knows: the organization, per-account state, credentials and time. */
export class World {
  readonly seed: number;
  readonly org: Organization;
  readonly clock: Clock;
  readonly credentials: CredentialStore;
  /** Seals NextTokens and continuation tokens; see PageTokens. */
  readonly pageTokens = new PageTokens();
  private readonly accounts = new Map<string, AccountState>();
  private readonly globals = new Map<WorldStateKey<unknown>, unknown>();
  private readonly closers: (() => Promise<void> | void)[] = [];

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.org = buildOrganization(options);
    this.clock = new Clock(options.timeScale);
    this.credentials = new CredentialStore(this.org.managementAccountId, this.clock);
  }

  /** State of an account of the organization; throws for an id the organization does not hold. */
  account(id: string): AccountState {
    let state = this.accounts.get(id);
    if (!state) {
      const member = this.org.accounts.get(id);
      if (!member) throw new Error(`account ${id} is not in the sandbox organization`);
      state = new AccountState(this, id);
      if (id !== this.org.managementAccountId && member.status === 'ACTIVE') {
        state.putRole({
          name: ORGANIZATION_ACCESS_ROLE,
          maxSessionDurationSeconds: 3600,
          trustedAccountIds: [this.org.managementAccountId],
        });
      }
      this.accounts.set(id, state);
    }
    return state;
  }

  state<T>(key: WorldStateKey<T>): T {
    if (!this.globals.has(key)) this.globals.set(key, key.init(this));
    return this.globals.get(key) as T;
  }

  /** A deterministic generator for one purpose, e.g. `world.random(\`fms:${accountId}:${region}\`)`. */
  random(label: string): Random {
    return seededRandom(this.seed, label);
  }

  /** Runs `closer` when the sandbox closes: what a service started (timers, listeners) ends with it. */
  onClose(closer: () => Promise<void> | void): void {
    this.closers.push(closer);
  }

  async close(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((closer) => closer()));
  }

  snapshot(): OrgSnapshot {
    const org = this.org;
    return {
      managementAccountId: org.managementAccountId,
      root: { id: org.root.id, name: org.root.name },
      ous: [...org.ous.values()].map((ou) => ({ id: ou.id, name: ou.name, parentId: ou.parentId })),
      accounts: [...org.accounts.values()].map((a) => ({
        id: a.id,
        name: a.name,
        email: a.email,
        status: a.status,
        parentId: a.parentId,
        tags: { ...a.tags },
      })),
    };
  }
}

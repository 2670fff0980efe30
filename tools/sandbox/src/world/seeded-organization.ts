import { Organization, type AccountStatus, type OrgAccount, type OrgUnit, type Tags } from './organization.js';
import { pick, randomInt, randomString, seededRandom, type Random } from './prng.js';

export interface OrganizationShape {
  /** Accounts in total, the management account included. */
  accounts: number;
  ous: number;
  seed: number;
}

/** AWS's recommended top-level OUs (Organizing Your AWS Environment Using Multiple Accounts). */
const TOP_LEVEL_OU_NAMES = [
  'Workloads', 'Security', 'Infrastructure', 'Sandbox', 'Policy Staging', 'Deployments',
  'Exceptions', 'Transitional', 'Business Continuity', 'Individual Business Users', 'Suspended',
];
const NESTED_OU_NAMES = [
  'Prod', 'Dev', 'Staging', 'Test', 'Shared', 'Data', 'Analytics', 'Payments', 'Identity',
  'Network', 'Logging', 'Platform', 'Apps', 'Mobile', 'Retail', 'Research',
];
const TEAMS = [
  'payments', 'identity', 'search', 'data-platform', 'analytics', 'mobile', 'web', 'checkout',
  'billing', 'logistics', 'ml', 'security', 'networking', 'observability', 'support', 'growth',
  'catalog', 'inventory', 'messaging', 'media',
];
const ENVIRONMENTS = ['prod', 'dev', 'staging'] as const;
const ENV_OF_OU_NAME: Record<string, string> = { Prod: 'prod', Dev: 'dev', Staging: 'staging', Test: 'dev' };
const MAX_OU_DEPTH = 5;
const SUSPENDED_SHARE = 0.03;
const PENDING_CLOSURE_SHARE = 0.01;
const FIRST_JOIN = Date.UTC(2017, 0, 1);
const LAST_JOIN = Date.UTC(2025, 0, 1);

/**
 * Builds the same organization for the same shape every time: one generator per concern, so
 * adding OUs does not reshuffle account ids.
 */
export function buildOrganization(shape: OrganizationShape): Organization {
  const ids = seededRandom(shape.seed, 'organization:ids');
  const orgId = `o-${randomString(ids, 10)}`;
  const rootSuffix = randomString(ids, 4);
  const usedAccountIds = new Set<string>();
  const accountId = () => {
    for (;;) {
      const id = randomString(ids, 12, '0123456789');
      if (!usedAccountIds.has(id)) {
        usedAccountIds.add(id);
        return id;
      }
    }
  };
  const managementAccountId = accountId();
  const arnPrefix = `arn:aws:organizations::${managementAccountId}`;
  const rootId = `r-${rootSuffix}`;
  const org = new Organization(orgId, managementAccountId, {
    id: rootId,
    arn: `${arnPrefix}:root/${orgId}/${rootId}`,
    name: 'Root',
    tags: {},
  });

  org.addAccount({
    id: managementAccountId,
    arn: `${arnPrefix}:account/${orgId}/${managementAccountId}`,
    name: 'Management',
    email: 'aws-management@example.com',
    status: 'ACTIVE',
    // The account that creates an organization shows as INVITED, as in AWS.
    joinedMethod: 'INVITED',
    joinedTimestamp: new Date(Date.UTC(2016, 10, 28)),
    parentId: rootId,
    tags: { env: 'prod', team: 'platform', 'cost-center': 'cc-1000' },
  });

  const ouList = seedOus(org, shape, rootSuffix, arnPrefix);
  seedAccounts(org, shape, ouList, accountId, arnPrefix);
  return org;
}

function seedOus(org: Organization, shape: OrganizationShape, rootSuffix: string, arnPrefix: string): OrgUnit[] {
  const random = seededRandom(shape.seed, 'organization:ous');
  const topLevelCount = Math.min(shape.ous, Math.max(1, Math.round(shape.ous / 5)), TOP_LEVEL_OU_NAMES.length);
  const list: OrgUnit[] = [];
  const usedIds = new Set<string>();
  const add = (name: string, parentId: string) => {
    let id: string;
    do id = `ou-${rootSuffix}-${randomString(random, 8)}`;
    while (usedIds.has(id));
    usedIds.add(id);
    const tags: Tags = {};
    const env = ENV_OF_OU_NAME[name];
    if (env) tags.env = env;
    if (random() < 0.5) tags.owner = pick(random, TEAMS);
    const ou: OrgUnit = { id, arn: `${arnPrefix}:ou/${org.id}/${id}`, name: uniqueSiblingName(org, parentId, name), parentId, tags };
    org.addOu(ou);
    list.push(ou);
    return ou;
  };
  for (let i = 0; i < topLevelCount; i++) add(TOP_LEVEL_OU_NAMES[i] ?? `OU ${i}`, org.root.id);
  // A chain under the first top-level OU, so the maximum depth of 5 is always exercised.
  let chainParent = list[0];
  for (let depth = 2; depth <= MAX_OU_DEPTH && list.length < shape.ous && chainParent; depth++) {
    chainParent = add(pick(random, NESTED_OU_NAMES), chainParent.id);
  }
  while (list.length < shape.ous) {
    const candidates = list.filter((ou) => org.depthOf(ou.id) < MAX_OU_DEPTH);
    add(pick(random, NESTED_OU_NAMES), pick(random, candidates).id);
  }
  return list;
}

function uniqueSiblingName(org: Organization, parentId: string, name: string): string {
  const taken = new Set(org.childOus(parentId).map((ou) => ou.name));
  if (!taken.has(name)) return name;
  for (let n = 2; ; n++) if (!taken.has(`${name} ${n}`)) return `${name} ${n}`;
}

function seedAccounts(
  org: Organization,
  shape: OrganizationShape,
  ous: readonly OrgUnit[],
  accountId: () => string,
  arnPrefix: string,
): void {
  const random = seededRandom(shape.seed, 'organization:accounts');
  const usedNames = new Map<string, number>();
  for (let i = 1; i < shape.accounts; i++) {
    const parentId = ous.length === 0 || random() < 0.08 ? org.root.id : pick(random, ous).id;
    const team = pick(random, TEAMS);
    const env = inheritedEnv(org, parentId) ?? pick(random, ENVIRONMENTS);
    const base = `${team}-${env}`;
    const seen = (usedNames.get(base) ?? 0) + 1;
    usedNames.set(base, seen);
    const name = seen === 1 ? base : `${base}-${seen}`;
    const id = accountId();
    const tags: Tags = { env, team };
    if (random() < 0.9) tags['cost-center'] = `cc-${1000 + (TEAMS.indexOf(team) + 1) * 7}`;
    const account: OrgAccount = {
      id,
      arn: `${arnPrefix}:account/${org.id}/${id}`,
      name,
      email: `aws+${name}@example.com`,
      status: seededStatus(random),
      joinedMethod: random() < 0.8 ? 'CREATED' : 'INVITED',
      joinedTimestamp: new Date(randomInt(random, FIRST_JOIN / 1000, LAST_JOIN / 1000) * 1000),
      parentId,
      tags,
    };
    org.addAccount(account);
  }
}

function seededStatus(random: Random): AccountStatus {
  const draw = random();
  if (draw < SUSPENDED_SHARE) return 'SUSPENDED';
  if (draw < SUSPENDED_SHARE + PENDING_CLOSURE_SHARE) return 'PENDING_CLOSURE';
  return 'ACTIVE';
}

/** Accounts under a Prod/Dev/Staging OU carry that environment, as real landing zones do. */
function inheritedEnv(org: Organization, parentId: string): string | undefined {
  for (let ou = org.ous.get(parentId); ou; ou = org.ous.get(ou.parentId)) {
    if (ou.tags.env) return ou.tags.env;
  }
  return undefined;
}

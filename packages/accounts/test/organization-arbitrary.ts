import fc from 'fast-check';
import type { Account, AccountStatus, OrganizationSnapshot, OrganizationalUnit } from '../src/organization-schema.js';

const ROOT = { id: 'r-ab12', name: 'Root' };
const STATUSES: AccountStatus[] = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE'];
const TAG_KEYS = ['team', 'env', 'cost'];
const TAG_VALUES = ['a', 'b', 'prod'];

/** Builds a consistent snapshot from a shape: each OU's parent index, each account's parent index. */
export function buildSnapshot(shape: {
  ouParents: number[];
  accounts: Array<{ parent: number; status: number; tags: Array<[number, number]> }>;
  management: number;
}): OrganizationSnapshot {
  const ous: OrganizationalUnit[] = [];
  // OU i may only hang under the root (-1 and below) or an earlier OU, so the tree has no cycles.
  shape.ouParents.forEach((p, i) => {
    const parent = p < 0 || p >= i ? undefined : ous[p];
    const name = `ou${i}`;
    ous.push({
      id: `ou-ab12-${String(i).padStart(8, '0')}`,
      name,
      parentId: parent?.id ?? ROOT.id,
      path: `${parent?.path ?? ROOT.name}/${name}`,
      tags: {},
    });
  });
  const accounts: Account[] = shape.accounts.map((a, i) => {
    const parent = a.parent >= 0 && a.parent < ous.length ? ous[a.parent] : undefined;
    return {
      id: String(100000000000 + i * 7919),
      name: `account-${i}`,
      email: `a${i}@example.com`,
      status: STATUSES[a.status % STATUSES.length]!,
      parentId: parent?.id ?? ROOT.id,
      ouPath: parent?.path ?? ROOT.name,
      tags: Object.fromEntries(a.tags.map(([k, v]) => [TAG_KEYS[k % TAG_KEYS.length]!, TAG_VALUES[v % TAG_VALUES.length]!])),
    };
  });
  return {
    fetchedAt: '2026-01-01T00:00:00.000Z',
    managementAccountId: accounts[shape.management % Math.max(1, accounts.length)]?.id ?? '999999999999',
    root: ROOT,
    ous,
    accounts,
  };
}

export const snapshotArbitrary: fc.Arbitrary<OrganizationSnapshot> = fc
  .record({
    ouParents: fc.array(fc.integer({ min: -3, max: 14 }), { maxLength: 15 }),
    accounts: fc.array(
      fc.record({
        parent: fc.integer({ min: -3, max: 14 }),
        status: fc.nat(),
        tags: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 3 }),
      }),
      { minLength: 1, maxLength: 30 },
    ),
    management: fc.nat(),
  })
  .map(buildSnapshot);

/** Tags drawn from the same small vocabulary as the accounts', so filters match something. */
export const tagFilterArbitrary = fc
  .array(fc.tuple(fc.constantFrom(...TAG_KEYS), fc.constantFrom(...TAG_VALUES)), { maxLength: 2 })
  .map((entries) => Object.fromEntries(entries));

/** Ways a user may name a parent in this snapshot: OU ids, OU paths, the root by id or name. */
export function parentRefs(snapshot: OrganizationSnapshot): string[] {
  return [snapshot.root.id, snapshot.root.name, ...snapshot.ous.flatMap((ou) => [ou.id, ou.path])];
}

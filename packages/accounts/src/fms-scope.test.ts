import fc from 'fast-check';
import { InvalidInputError } from '@orgshield/errors';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, snapshotArbitrary } from '../test/organization-arbitrary.js';
import { resolveFmsScope, type FmsScope, type FmsScopeMap } from './fms-scope.js';
import type { Account, OrganizationSnapshot } from './organization-schema.js';

/** Brute force: an account is under an OU when the OU is somewhere on its walk up to the root. */
function isUnder(snapshot: OrganizationSnapshot, account: Account, parentId: string): boolean {
  for (let id: string | undefined = account.parentId; id !== undefined; id = snapshot.ous.find((ou) => ou.id === id)?.parentId) {
    if (id === parentId) return true;
  }
  return false;
}

function referenceScope(snapshot: OrganizationSnapshot, scope: FmsScope, includeManagement: boolean): string[] {
  const matches = (a: Account, map: FmsScopeMap) => (map.ACCOUNT ?? []).includes(a.id) || (map.ORG_UNIT ?? []).some((ou) => isUnder(snapshot, a, ou));
  const hasEntries = (map?: FmsScopeMap) => (map?.ACCOUNT?.length ?? 0) > 0 || (map?.ORG_UNIT?.length ?? 0) > 0;
  return snapshot.accounts
    .filter((a) => (hasEntries(scope.IncludeMap) ? matches(a, scope.IncludeMap!) : !(hasEntries(scope.ExcludeMap) && matches(a, scope.ExcludeMap!))))
    .filter((a) => a.status === 'ACTIVE' && (includeManagement || a.id !== snapshot.managementAccountId))
    .map((a) => a.id)
    .sort();
}

const caseArbitrary = snapshotArbitrary.chain((snapshot) => {
  const subsetOf = (items: string[], most: number) => fc.subarray(items, { maxLength: Math.min(most, items.length) });
  const map = fc.record(
    {
      ACCOUNT: subsetOf(snapshot.accounts.map((a) => a.id), 4),
      ORG_UNIT: subsetOf([snapshot.root.id, ...snapshot.ous.map((ou) => ou.id)], 3),
    },
    { requiredKeys: [] },
  );
  return fc.record({
    snapshot: fc.constant(snapshot),
    scope: fc.record({ IncludeMap: map, ExcludeMap: map }, { requiredKeys: [] }),
    includeManagement: fc.boolean(),
  });
});

describe('resolveFmsScope', () => {
  it('agrees with a brute-force walk up the tree, for any organization and maps', () => {
    fc.assert(
      fc.property(caseArbitrary, ({ snapshot, scope, includeManagement }) => {
        expect(resolveFmsScope(snapshot, scope, { includeManagement })).toEqual(referenceScope(snapshot, scope, includeManagement));
      }),
      { numRuns: 500 },
    );
  });

  const org = buildSnapshot({
    ouParents: [-1, 0],
    accounts: [
      { parent: -1, status: 0, tags: [] },
      { parent: 0, status: 0, tags: [] },
      { parent: 1, status: 0, tags: [] },
      { parent: -1, status: 0, tags: [] },
    ],
    management: 0,
  });
  const [, inOu0, inOu1, inRoot] = org.accounts.map((a) => a.id) as [string, string, string, string];
  const [ou0] = org.ous.map((ou) => ou.id) as [string, string];

  it('ignores the ExcludeMap when an IncludeMap is given, as Firewall Manager does', () => {
    expect(resolveFmsScope(org, { IncludeMap: { ORG_UNIT: [ou0] }, ExcludeMap: { ACCOUNT: [inOu1] } })).toEqual([inOu0, inOu1].sort());
    expect(resolveFmsScope(org, { ExcludeMap: { ORG_UNIT: [ou0] } })).toEqual([inRoot]);
    expect(resolveFmsScope(org, { IncludeMap: {}, ExcludeMap: { ACCOUNT: [inRoot] } })).toEqual([inOu0, inOu1].sort());
  });

  it('refuses ids that are malformed or not in the organization, naming them', () => {
    expect(() => resolveFmsScope(org, { IncludeMap: { ACCOUNT: ['1234'] } })).toThrow(InvalidInputError);
    expect(() => resolveFmsScope(org, { IncludeMap: { ACCOUNT: ['1234'] } })).toThrow(/IncludeMap\.ACCOUNT: "1234"/);
    expect(() => resolveFmsScope(org, { ExcludeMap: { ORG_UNIT: ['ou-none-00000000'] } })).toThrow(/ExcludeMap\.ORG_UNIT: OU "ou-none-00000000"/);
  });
});

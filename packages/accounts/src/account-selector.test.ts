import fc from 'fast-check';
import { InvalidInputError } from '@orgshield/errors';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, parentRefs, snapshotArbitrary, tagFilterArbitrary } from '../test/organization-arbitrary.js';
import { resolveSelector, type AccountSelector } from './account-selector.js';
import type { Account, OrganizationSnapshot } from './organization-schema.js';

/** Brute force: walk each account's parents up to the root, compare names and ids one by one. */
function ancestorsOf(snapshot: OrganizationSnapshot, account: Account): string[] {
  const chain: string[] = [];
  let parentId: string | undefined = account.parentId;
  while (parentId !== undefined) {
    chain.push(parentId);
    parentId = snapshot.ous.find((ou) => ou.id === parentId)?.parentId;
  }
  return chain;
}

function refToId(snapshot: OrganizationSnapshot, ref: string): string {
  if (ref === snapshot.root.id || ref === snapshot.root.name) return snapshot.root.id;
  const ou = snapshot.ous.find((o) => o.id === ref || o.path === ref);
  if (!ou) throw new Error(`reference cannot resolve ${ref}`);
  return ou.id;
}

function referenceSelect(snapshot: OrganizationSnapshot, s: AccountSelector): string[] {
  const under = (a: Account, refs: string[] | undefined) => (refs ?? []).some((ref) => ancestorsOf(snapshot, a).includes(refToId(snapshot, ref)));
  const tagged = (a: Account, tags: Record<string, string>) => Object.keys(tags).every((k) => a.tags[k] === tags[k]);
  return snapshot.accounts
    .filter((a) => {
      const picked = s.all === true || (s.accounts === undefined && s.ous === undefined) || (s.accounts ?? []).includes(a.id) || under(a, s.ous);
      const excluded =
        (s.exclude?.accounts ?? []).includes(a.id) ||
        under(a, s.exclude?.ous) ||
        (Object.keys(s.exclude?.tags ?? {}).length > 0 && tagged(a, s.exclude!.tags!));
      const tagsOk = s.tags === undefined || tagged(a, s.tags);
      const target = a.status === 'ACTIVE' && (s.includeManagement === true || a.id !== snapshot.managementAccountId);
      return picked && !excluded && tagsOk && target;
    })
    .map((a) => a.id)
    .sort();
}

const subsetOf = <T>(items: T[]) => fc.subarray(items, { maxLength: Math.min(4, items.length) });

const caseArbitrary = snapshotArbitrary.chain((snapshot) =>
  fc
    .record(
      {
        all: fc.boolean(),
        accounts: subsetOf(snapshot.accounts.map((a) => a.id)),
        ous: subsetOf(parentRefs(snapshot)),
        tags: tagFilterArbitrary,
        exclude: fc.record(
          { accounts: subsetOf(snapshot.accounts.map((a) => a.id)), ous: subsetOf(parentRefs(snapshot)), tags: tagFilterArbitrary },
          { requiredKeys: [] },
        ),
        includeManagement: fc.boolean(),
      },
      { requiredKeys: [] },
    )
    .filter((s) => s.all === true || s.accounts !== undefined || s.ous !== undefined || s.tags !== undefined)
    .map((selector) => ({ snapshot, selector })),
);

describe('resolveSelector', () => {
  it('agrees with a brute-force walk up the tree, for any organization and selector', () => {
    fc.assert(
      fc.property(caseArbitrary, ({ snapshot, selector }) => {
        expect(resolveSelector(snapshot, selector)).toEqual(referenceSelect(snapshot, selector));
      }),
      { numRuns: 500 },
    );
  });

  const org = buildSnapshot({
    ouParents: [-1, 0, 0, -1],
    accounts: [
      { parent: -1, status: 0, tags: [] },
      { parent: 1, status: 0, tags: [[0, 0]] },
      { parent: 2, status: 0, tags: [[0, 1]] },
      { parent: 2, status: 3, tags: [[0, 1]] },
      { parent: 3, status: 0, tags: [[1, 2]] },
    ],
    management: 0,
  });
  const [mgmt, inOu1, inOu2, suspended, inOu3] = org.accounts.map((a) => a.id) as [string, string, string, string, string];

  it('covers the OUs below a named OU, by path or by id', () => {
    expect(resolveSelector(org, { ous: ['Root/ou0'] })).toEqual([inOu1, inOu2].sort());
    expect(resolveSelector(org, { ous: [org.ous[0]!.id] })).toEqual([inOu1, inOu2].sort());
    expect(resolveSelector(org, { ous: ['Root/ou0/ou2'] })).toEqual([inOu2]);
  });

  it('never targets suspended accounts, and the management account only when asked', () => {
    expect(resolveSelector(org, { all: true })).toEqual([inOu1, inOu2, inOu3].sort());
    expect(resolveSelector(org, { all: true, includeManagement: true })).toEqual([mgmt, inOu1, inOu2, inOu3].sort());
    expect(resolveSelector(org, { accounts: [suspended] })).toEqual([]);
  });

  it('filters by tags and excludes by account, OU and tags', () => {
    expect(resolveSelector(org, { tags: { team: 'b' } })).toEqual([inOu2]);
    expect(resolveSelector(org, { all: true, exclude: { ous: ['Root/ou0/ou2'], accounts: [inOu3] } })).toEqual([inOu1]);
    expect(resolveSelector(org, { all: true, exclude: { tags: { team: 'a' } } })).toEqual([inOu2, inOu3].sort());
    expect(resolveSelector(org, { all: true, exclude: { tags: {} } })).toEqual([inOu1, inOu2, inOu3].sort());
  });

  it('refuses what it cannot resolve, naming the value', () => {
    const fails = (selector: unknown, pattern: RegExp) => {
      expect(() => resolveSelector(org, selector as AccountSelector)).toThrow(InvalidInputError);
      expect(() => resolveSelector(org, selector as AccountSelector)).toThrow(pattern);
    };
    fails({ ous: ['Root/Workloads/Prod'] }, /OU "Root\/Workloads\/Prod" is not in the organization/);
    fails({ ous: ['ou-zzzz-zzzzzzzz'] }, /ou-zzzz-zzzzzzzz/);
    fails({ accounts: ['12345'] }, /accounts\.0 "12345": an account id is exactly 12 digits/);
    fails({ accounts: ['999999999998'] }, /account 999999999998 is not in the organization/);
    fails({ all: true, exclude: { ous: ['Nowhere'] } }, /exclude\.ous: OU "Nowhere".*paths start at the root/);
    fails({}, /a selector needs all, accounts, ous or tags/);
    fails({ all: true, account: ['123456789012'] }, /selector/);
    try {
      resolveSelector(org, { accounts: ['12345'] });
    } catch (error) {
      expect((error as InvalidInputError).exitCode).toBe(2);
    }
  });
});

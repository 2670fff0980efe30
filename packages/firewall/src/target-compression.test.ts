import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveFmsScope } from '@orgshield/accounts';
import { accountId, buildSnapshot, orgShapeArbitrary, ouId } from '../test/organizations.js';
import { ScopeTree } from './target-compression.js';
import { toFmsScope } from './rollout-planner.js';

/** An org and a subset of its target accounts, picked by a mask. */
const orgWithSubset = orgShapeArbitrary.chain((shape) =>
  fc.record({ shape: fc.constant(shape), mask: fc.array(fc.boolean(), { minLength: shape.accounts.length, maxLength: shape.accounts.length }) }),
);

describe('ScopeTree.compress', () => {
  it('covers exactly the wanted accounts, as FMS resolves the scope', () => {
    fc.assert(
      fc.property(orgWithSubset, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 200 }), ({ shape, mask }, orgUnits, accounts) => {
        const snapshot = buildSnapshot(shape);
        const tree = new ScopeTree(snapshot);
        const wanted = [...tree.targets].filter((id) => mask[Number(id.slice(-3))] === true).sort();
        fc.pre(wanted.length > 0);
        const result = tree.compress(wanted, { orgUnits, accounts });
        if (!result.ok) return;
        expect(resolveFmsScope(snapshot, toFmsScope(result.scope))).toEqual(wanted);
        // Every target account takes no map at all (FMS's whole organization), whatever its size.
        const map = result.scope.include ?? result.scope.exclude;
        if (wanted.length === tree.targets.size) expect(result.scope).toEqual({});
        expect(map?.orgUnits.length ?? 0).toBeLessThanOrEqual(orgUnits);
        expect(map?.accounts.length ?? 0).toBeLessThanOrEqual(accounts);
      }),
      { numRuns: 300 },
    );
  });

  it('fits the default quotas whenever the accounts alone or whole top-level OUs would', () => {
    fc.assert(
      fc.property(orgWithSubset, ({ shape, mask }) => {
        const snapshot = buildSnapshot(shape);
        const tree = new ScopeTree(snapshot);
        const wanted = [...tree.targets].filter((id) => mask[Number(id.slice(-3))] === true);
        fc.pre(wanted.length > 0 && wanted.length <= 200);
        expect(tree.compress(wanted).ok).toBe(true);
      }),
    );
  });

  it('uses a whole OU, the highest one, when all its accounts are wanted', () => {
    // Root/ou0/ou1, with two accounts in ou0 and one in ou1; one account in the root.
    const snapshot = buildSnapshot({
      ouParents: [-1, 0],
      accounts: [
        { parent: 0, active: true, env: 'prod' },
        { parent: 0, active: true, env: 'prod' },
        { parent: 1, active: true, env: 'prod' },
        { parent: -1, active: true, env: 'prod' },
      ],
    });
    const tree = new ScopeTree(snapshot);
    expect(tree.compress([accountId(0), accountId(1), accountId(2)])).toEqual({ ok: true, scope: { include: { accounts: [], orgUnits: [ouId(0)] } } });
    expect(tree.compress([accountId(2), accountId(3)])).toEqual({ ok: true, scope: { include: { accounts: [accountId(3)], orgUnits: [ouId(1)] } } });
  });

  it('falls back to an ExcludeMap, and says so when neither form fits', () => {
    const snapshot = buildSnapshot({ ouParents: [], accounts: Array.from({ length: 6 }, () => ({ parent: -1, active: true, env: 'prod' as const })) });
    const tree = new ScopeTree(snapshot);
    const five = [0, 1, 2, 3, 4].map(accountId);
    expect(tree.compress(five, { orgUnits: 20, accounts: 2 })).toEqual({ ok: true, scope: { exclude: { accounts: [accountId(5)], orgUnits: [] } } });
    expect(tree.compress([0, 1, 2].map(accountId), { orgUnits: 20, accounts: 2 })).toEqual({ ok: false, orgUnits: 0, accounts: 3 });
    // All six: no map, though six accounts are over the quota of 2 (the management account is not a target).
    expect(tree.compress([0, 1, 2, 3, 4, 5].map(accountId), { orgUnits: 20, accounts: 2 })).toEqual({ ok: true, scope: {} });
    // With the management account wanted, no map would leave it out: an IncludeMap it must be.
    expect(new ScopeTree(snapshot, true).compress([...new ScopeTree(snapshot, true).targets], { orgUnits: 20, accounts: 2 }).ok).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { World } from './world.js';

const world = (accounts: number, ous: number, seed: number) => new World({ accounts, ous, seed, timeScale: 1 });

describe('seeded organization', () => {
  it('is the same for the same shape and seed, different for another seed', () => {
    expect(world(300, 30, 1).snapshot()).toEqual(world(300, 30, 1).snapshot());
    expect(world(300, 30, 2).snapshot().accounts.map((a) => a.id)).not.toEqual(world(300, 30, 1).snapshot().accounts.map((a) => a.id));
  });

  it('has the requested size, the management account in the root and valid ids', () => {
    const snapshot = world(300, 30, 1).snapshot();
    expect(snapshot.accounts).toHaveLength(300);
    expect(snapshot.ous).toHaveLength(30);
    expect(new Set(snapshot.accounts.map((a) => a.id)).size).toBe(300);
    const management = snapshot.accounts.find((a) => a.id === snapshot.managementAccountId);
    expect(management?.parentId).toBe(snapshot.root.id);
    for (const account of snapshot.accounts) expect(account.id).toMatch(/^\d{12}$/);
    for (const ou of snapshot.ous) expect(ou.id).toMatch(new RegExp(`^ou-${snapshot.root.id.slice(2)}-[a-z0-9]{8}$`));
    const parents = new Set([snapshot.root.id, ...snapshot.ous.map((ou) => ou.id)]);
    for (const node of [...snapshot.ous, ...snapshot.accounts]) expect(parents.has(node.parentId)).toBe(true);
  });

  it('nests OUs up to 5 deep and never deeper, with unique names among siblings', () => {
    const w = world(5000, 500, 3);
    const depths = [...w.org.ous.keys()].map((id) => w.org.depthOf(id));
    expect(Math.max(...depths)).toBe(5);
    for (const parentId of [w.org.root.id, ...w.org.ous.keys()]) {
      const names = w.org.childOus(parentId).map((ou) => ou.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('suspends about 3% of the accounts and tags accounts and some OUs', () => {
    const snapshot = world(5000, 500, 1).snapshot();
    const suspended = snapshot.accounts.filter((a) => a.status === 'SUSPENDED').length / snapshot.accounts.length;
    expect(suspended).toBeGreaterThan(0.02);
    expect(suspended).toBeLessThan(0.04);
    expect(snapshot.accounts.every((a) => ['prod', 'dev', 'staging'].includes(a.tags.env ?? '') && a.tags.team)).toBe(true);
    const w = world(300, 30, 1);
    expect([...w.org.ous.values()].some((ou) => Object.keys(ou.tags).length > 0)).toBe(true);
  });

  it('seeds OrganizationAccountAccessRole in active member accounts only', () => {
    const w = world(200, 10, 1);
    const members = [...w.org.accounts.values()].filter((a) => a.id !== w.org.managementAccountId);
    const active = members.find((a) => a.status === 'ACTIVE');
    const suspended = members.find((a) => a.status === 'SUSPENDED');
    expect(active && w.account(active.id).roles.get('OrganizationAccountAccessRole')?.trustedAccountIds).toEqual([w.org.managementAccountId]);
    expect(suspended && w.account(suspended.id).roles.size).toBe(0);
    expect(w.account(w.org.managementAccountId).roles.size).toBe(0);
    expect(() => w.account('000000000000')).toThrow(/not in the sandbox organization/);
  });
});

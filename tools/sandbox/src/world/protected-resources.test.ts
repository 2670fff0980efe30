import { describe, expect, it } from 'vitest';
import { GLOBAL_REGION, protectedResources, RESOURCE_TYPES } from './protected-resources.js';
import { World } from './world.js';

const world = () => new World({ accounts: 60, ous: 8, seed: 11, timeScale: 1 });
const memberIds = (w: World) => [...w.org.accounts.keys()].filter((id) => id !== w.org.managementAccountId);

describe('protected resources', () => {
  it('are the same for the same seed, whichever account and region is asked first', () => {
    const a = world();
    const b = world();
    const ids = memberIds(a);
    const forward = ids.map((id) => protectedResources(a).inRegion(id, 'eu-west-1'));
    const backward = [...ids].reverse().map((id) => protectedResources(b).inRegion(id, 'eu-west-1')).reverse();
    expect(forward).toEqual(backward);
    expect(forward.some((region) => region.resources.length > 0)).toBe(true);
  });

  it('put CloudFront distributions in us-east-1 only, with the tags policies filter on', () => {
    const w = world();
    const registry = protectedResources(w);
    const all = memberIds(w).flatMap((id) => [...registry.inRegion(id, GLOBAL_REGION).resources, ...registry.inRegion(id, 'eu-central-1').resources]);
    const distributions = all.filter((r) => r.type === RESOURCE_TYPES.cloudFront);
    expect(distributions.length).toBeGreaterThan(0);
    expect(distributions.every((r) => r.region === GLOBAL_REGION && r.id.startsWith('arn:aws:cloudfront::'))).toBe(true);
    expect(new Set(all.map((r) => r.type))).toEqual(new Set(Object.values(RESOURCE_TYPES)));
    for (const resource of all) expect(Object.keys(resource.tags).sort()).toEqual(['app', 'env', 'shield', 'team']);
  });

  it('associate some resources with a team web ACL the region lists', () => {
    const w = world();
    const registry = protectedResources(w);
    const regions = memberIds(w).map((id) => registry.inRegion(id, 'us-west-2'));
    const associated = regions.flatMap((r) => r.resources.filter((resource) => resource.customerWebAclArn));
    expect(associated.length).toBeGreaterThan(0);
    for (const region of regions) {
      const arns = new Set(region.webAcls.map((acl) => acl.arn));
      for (const resource of region.resources) if (resource.customerWebAclArn) expect(arns).toContain(resource.customerWebAclArn);
    }
  });

  it('give each scenario account a blocked load balancer on a team web ACL in every region', () => {
    const w = world();
    const registry = protectedResources(w);
    registry.configure({ blockedCustomerWebAclAccounts: 4 });
    const accounts = [...registry.accountsWithBlockedWebAcls()];
    expect(accounts).toHaveLength(4);
    for (const accountId of accounts) {
      for (const region of ['us-east-1', 'ap-southeast-2']) {
        const blocked = registry.inRegion(accountId, region).resources.filter((r) => registry.isBlocked(accountId, r.id));
        expect(blocked.some((r) => r.type === RESOURCE_TYPES.alb)).toBe(true);
        expect(blocked.every((r) => r.customerWebAclArn)).toBe(true);
      }
    }
    const others = memberIds(w).filter((id) => !accounts.includes(id));
    expect(others.every((id) => registry.inRegion(id, 'us-east-1').resources.every((r) => !registry.isBlocked(id, r.id)))).toBe(true);
  });
});

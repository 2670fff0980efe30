import fc from 'fast-check';
import type { OrganizationSnapshot } from '@orgshield/accounts';
import { PolicySpecSchema, type PolicySpec } from '@orgshield/policies';

/** Test organizations: small trees built from plain numbers, so fast-check can shrink them. */

const MANAGEMENT = '100000000000';

export function accountId(n: number): string {
  return String(200000000000 + n);
}

export function ouId(n: number): string {
  return `ou-root-${String(n).padStart(8, '0')}`;
}

export interface OrgShape {
  /** Parent of OU i: -1 for the root, else an earlier OU. */
  ouParents: number[];
  /** Account j: its parent (-1 root), whether active, its env tag. */
  accounts: { parent: number; active: boolean; env: 'prod' | 'dev' }[];
}

export function buildSnapshot(shape: OrgShape): OrganizationSnapshot {
  const rootId = 'r-root';
  const paths: string[] = [];
  const ous = shape.ouParents.map((parent, index) => {
    const parentPath = parent < 0 ? 'Root' : (paths[parent] ?? 'Root');
    paths[index] = `${parentPath}/ou${index}`;
    return { id: ouId(index), name: `ou${index}`, parentId: parent < 0 ? rootId : ouId(parent), path: paths[index], tags: {} };
  });
  const accounts = shape.accounts.map((account, index) => ({
    id: accountId(index),
    name: `account-${index}`,
    email: `a${index}@example.com`,
    status: account.active ? ('ACTIVE' as const) : ('SUSPENDED' as const),
    parentId: account.parent < 0 ? rootId : ouId(account.parent),
    ouPath: account.parent < 0 ? 'Root' : (paths[account.parent] ?? 'Root'),
    tags: { env: account.env },
  }));
  accounts.push({ id: MANAGEMENT, name: 'management', email: 'm@example.com', status: 'ACTIVE', parentId: rootId, ouPath: 'Root', tags: { env: 'prod' } });
  return { fetchedAt: '2026-01-01T00:00:00.000Z', managementAccountId: MANAGEMENT, root: { id: rootId, name: 'Root' }, ous, accounts };
}

export const orgShapeArbitrary: fc.Arbitrary<OrgShape> = fc
  .integer({ min: 0, max: 12 })
  .chain((ouCount) =>
    fc.record({
      ouParents: fc.tuple(...Array.from({ length: ouCount }, (_, index) => fc.integer({ min: -1, max: index - 1 }))),
      accounts: fc.array(
        fc.record({
          parent: fc.integer({ min: -1, max: ouCount - 1 }),
          active: fc.integer({ min: 0, max: 9 }).map((n) => n > 1),
          env: fc.constantFrom('prod' as const, 'dev' as const),
        }),
        { minLength: 1, maxLength: 60 },
      ),
    }),
  );

export function wafSpec(name: string, regions: string[] = ['eu-west-1', 'us-east-1']): PolicySpec {
  return PolicySpecSchema.parse({
    type: 'WAFV2',
    name,
    regions,
    resourceTypes: ['alb', 'api-gateway-stage'],
    rules: {
      defaultAction: 'ALLOW',
      firstRuleGroups: [{ managedRuleGroup: { name: 'AWSManagedRulesCommonRuleSet' }, override: 'COUNT' }],
    },
  });
}

export function shieldSpec(name: string, regions: string[] = ['eu-west-1', 'us-east-1']): PolicySpec {
  return PolicySpecSchema.parse({ type: 'SHIELD_ADVANCED', name, regions, resourceTypes: ['alb', 'eip'] });
}

import { z } from 'zod';
import { OrganizationIndex, isTarget } from './organization-index.js';
import type { OrganizationSnapshot } from './organization-schema.js';

/** Firewall Manager's IncludeMap/ExcludeMap, as PutPolicy spells them. */
export const fmsScopeMapSchema = z.strictObject({
  ACCOUNT: z.array(z.string()).optional(),
  ORG_UNIT: z.array(z.string()).optional(),
});
export type FmsScopeMap = z.infer<typeof fmsScopeMapSchema>;

export interface FmsScope {
  IncludeMap?: FmsScopeMap;
  ExcludeMap?: FmsScopeMap;
}

function isGiven(map: FmsScopeMap | undefined): map is FmsScopeMap {
  return (map?.ACCOUNT?.length ?? 0) + (map?.ORG_UNIT?.length ?? 0) > 0;
}

/**
 * The accounts a Firewall Manager policy covers, sorted, with the service's semantics: an
 * IncludeMap covers the accounts it lists and every account below the OUs it lists, and when it
 * is given the ExcludeMap is ignored; without one, the policy covers the whole organization
 * except what the ExcludeMap lists. An empty map counts as not given. As everywhere in
 * orgshield, only ACTIVE accounts are targets and the management account only when asked for.
 */
export function resolveFmsScope(
  snapshot: OrganizationSnapshot,
  scope: FmsScope,
  options: { includeManagement?: boolean } = {},
): string[] {
  const index = OrganizationIndex.of(snapshot);
  const covered = (map: FmsScopeMap, name: string): Set<string> =>
    index.accountIdsIn(map.ACCOUNT, map.ORG_UNIT, { accounts: `${name}.ACCOUNT`, ous: `${name}.ORG_UNIT` });

  let inScope: (id: string) => boolean;
  if (isGiven(scope.IncludeMap)) {
    const included = covered(scope.IncludeMap, 'IncludeMap');
    inScope = (id) => included.has(id);
  } else {
    const excluded = isGiven(scope.ExcludeMap) ? covered(scope.ExcludeMap, 'ExcludeMap') : new Set<string>();
    inScope = (id) => !excluded.has(id);
  }
  return snapshot.accounts
    .filter((account) => inScope(account.id) && isTarget(account, snapshot.managementAccountId, options.includeManagement === true))
    .map((account) => account.id)
    .sort();
}

import { OrganizationIndex, type OrganizationSnapshot } from '@orgshield/accounts';
import { OrgshieldError } from '@orgshield/errors';
import type { PolicySpec } from '@orgshield/policies';

/**
 * A policy spec's scope with every OU path (Root/Workloads/Prod, as rollout files take them)
 * made the OU id FMS takes; ids stay as they are. A path the organization does not have is a
 * problem, one sentence naming it, and is left out of the returned spec.
 */
export function withOuIds(spec: PolicySpec, snapshot: OrganizationSnapshot): { spec: PolicySpec; problems: string[] } {
  if (!spec.scope) return { spec, problems: [] };
  const problems: string[] = [];
  let index: OrganizationIndex | undefined;
  const resolve = (part: 'include' | 'exclude') => {
    const map = spec.scope?.[part];
    if (!map) return undefined;
    const orgUnits = map.orgUnits.flatMap((ref) => {
      if (!ref.includes('/')) return [ref];
      try {
        index ??= OrganizationIndex.of(snapshot);
        return [index.parentId(ref, `policy ${spec.name} scope.${part}.orgUnits`)];
      } catch (error) {
        if (!(error instanceof OrgshieldError)) throw error;
        problems.push(error.message.replace(/\.$/, ''));
        return [];
      }
    });
    return { ...map, orgUnits: [...new Set(orgUnits)] };
  };
  const include = resolve('include');
  const exclude = resolve('exclude');
  return { spec: { ...spec, scope: { ...(include ? { include } : {}), ...(exclude ? { exclude } : {}) } }, problems };
}

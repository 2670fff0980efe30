import type { AwsClientFactory } from '@orgshield/aws';
import type { OrganizationSnapshot } from '@orgshield/accounts';
import { apiRegionOf } from '@orgshield/policies';
import { readLiveState } from './live-policies.js';
import type { LoadedRollout } from './rollout-loader.js';
import type { RolloutPlan } from './rollout-plan.js';
import { planRollout } from './rollout-planner.js';
import { checkAdministrator } from './rollout-preflight.js';

/**
 * Plans a loaded rollout against FMS as it is: checks the caller is the FMS administrator,
 * reads the organization and the rollout's live policies in every region, and runs the pure
 * planner. Reads only; `rollout plan` and the start job both come through here.
 */
export async function planAgainstAws(
  aws: AwsClientFactory,
  loaded: LoadedRollout,
  organization: () => Promise<OrganizationSnapshot>,
): Promise<RolloutPlan> {
  const { rollout } = loaded;
  const specs = loaded.policies.map((policy) => policy.spec);
  const { only } = rollout.regions;
  // Regions regions.only leaves out are not read either: the rollout has no business there.
  const regions = [...new Set(specs.flatMap((spec) => spec.regions.map(apiRegionOf)))].filter((region) => !only || only.includes(region));
  const [firstRegion] = regions;
  if (firstRegion) await checkAdministrator(aws, firstRegion);
  const names = new Set(specs.flatMap((spec) => [spec.name, `${spec.name}${rollout.auditSuffix}`]));
  const [snapshot, live] = await Promise.all([organization(), readLiveState(aws, regions, names)]);
  return planRollout({ rollout, policies: specs, snapshot, live });
}

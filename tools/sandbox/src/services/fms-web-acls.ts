import { hashLabel, mulberry32 } from '../world/prng.js';
import { RESOURCE_TYPES, uuid, type ProtectedResource, type WebAclScope } from '../world/protected-resources.js';
import type { World } from '../world/world.js';
import { complianceEvaluator } from './fms-compliance.js';
import { fmsPolicies, type FmsPolicy, type PolicyVersion } from './fms-policy-store.js';

/**
 * The web ACLs a WAFV2 policy has Firewall Manager create in the accounts it reaches, derived
 * from the policy's evaluation so nothing is stored per account. As FMS does: one web ACL per
 * policy and account once the account is evaluated, also for audit-only policies (it is then
 * associated with nothing); with optimizeUnassociatedWebACL only where a resource uses it. Named
 * `FMManagedWebACLV2-<policy name>-<creation time in ms>`, the prefix FMS gives them.
 */
export interface FmsWebAcl {
  id: string;
  name: string;
  arn: string;
  scope: WebAclScope;
  lockToken: string;
  policy: FmsPolicy;
  version: PolicyVersion;
  associated: ProtectedResource[];
}

export function fmsWebAcls(world: World, accountId: string, region: string, now: number): FmsWebAcl[] {
  const evaluator = complianceEvaluator(world);
  const webAcls: FmsWebAcl[] = [];
  for (const policy of fmsPolicies(world).policies(region)) {
    const evaluation = evaluator.evaluate(policy, accountId, now);
    if (!evaluation || evaluation.version.serviceData.type !== 'WAFV2') continue;
    const { version } = evaluation;
    const data = version.serviceData;
    // A retrofitted resource keeps its own web ACL, which now carries the policy's rule groups.
    const associated = evaluation.remediated.filter((r) => !(data.type === 'WAFV2' && data.retrofitExistingWebAcls && r.customerWebAclArn));
    if (data.type === 'WAFV2' && data.optimizeUnassociatedWebACL && associated.length === 0) continue;
    const scope: WebAclScope = version.resourceTypes.includes(RESOURCE_TYPES.cloudFront) ? 'CLOUDFRONT' : 'REGIONAL';
    // WAF names allow word characters and hyphens only.
    const name = `FMManagedWebACLV2-${policy.name.replace(/[^\w-]/g, '_')}-${policy.createdAt}`.slice(0, 128);
    const id = uuid(mulberry32(hashLabel(`fms-web-acl:${policy.id}:${accountId}`)));
    webAcls.push({
      id,
      name,
      arn: `arn:aws:wafv2:${region}:${accountId}:${scope === 'CLOUDFRONT' ? 'global' : 'regional'}/webacl/${name}/${id}`,
      scope,
      lockToken: uuid(mulberry32(hashLabel(`fms-web-acl:${policy.id}:${accountId}:${version.number}`))),
      policy,
      version,
      associated,
    });
  }
  return webAcls;
}

import type { Policy, PutPolicyCommandInput } from '@aws-sdk/client-fms';
import { InvalidInputError } from '@orgshield/errors';
import { renderManagedServiceData } from './managed-service-data.js';
import { apiRegionOf, RESOURCE_TYPE_API_NAMES, type PolicyScope, type PolicySpec } from './policy-spec-schema.js';

export interface RenderOptions {
  /** One of the spec's regions (`global` for CloudFront). */
  region: string;
  /** Set both to update an existing policy: the id and the token of a fresh GetPolicy. */
  policyId?: string;
  policyUpdateToken?: string;
}

export interface RenderedPutPolicy {
  /** The spec's region, `global` included. */
  region: string;
  /** Where the PutPolicy call goes: `global` is us-east-1. */
  apiRegion: string;
  input: PutPolicyCommandInput;
}

/** The exact PutPolicy input for one region of a spec. Pure: same spec, same input. */
export function renderPutPolicy(spec: PolicySpec, options: RenderOptions): PutPolicyCommandInput {
  if (!spec.regions.includes(options.region)) {
    throw new InvalidInputError(
      `Policy ${spec.name} is not deployed to region ${options.region}; its regions are ${spec.regions.join(', ')}.`,
    );
  }
  const apiTypes = spec.resourceTypes.map((type) => RESOURCE_TYPE_API_NAMES[type]);
  const [onlyType] = apiTypes;
  const tags = spec.resourceTags;
  const managedServiceData = renderManagedServiceData(spec);
  const policy: Policy = {
    PolicyId: options.policyId,
    PolicyUpdateToken: options.policyUpdateToken,
    PolicyName: spec.name,
    PolicyDescription: spec.description,
    SecurityServicePolicyData: managedServiceData === undefined ? { Type: spec.type } : { Type: spec.type, ManagedServiceData: managedServiceData },
    // Several types go in ResourceTypeList, with ResourceType saying so.
    ResourceType: apiTypes.length === 1 ? onlyType : 'ResourceTypeList',
    ResourceTypeList: apiTypes.length === 1 ? undefined : apiTypes,
    ResourceTags: tags?.tags.map((tag) => ({ Key: tag.key, Value: tag.value })),
    ResourceTagLogicalOperator: tags?.operator,
    ExcludeResourceTags: tags?.match === 'exclude',
    RemediationEnabled: spec.remediation,
    IncludeMap: scopeMap(spec.scope?.include),
    ExcludeMap: scopeMap(spec.scope?.exclude),
  };
  return { Policy: withoutUndefined(policy) };
}

/** PutPolicy inputs for every region of the spec, in the spec's order. */
export function renderPutPolicies(spec: PolicySpec): RenderedPutPolicy[] {
  return spec.regions.map((region) => ({ region, apiRegion: apiRegionOf(region), input: renderPutPolicy(spec, { region }) }));
}

function scopeMap(map: PolicyScope['include']): Policy['IncludeMap'] {
  if (!map || (map.accounts.length === 0 && map.orgUnits.length === 0)) return undefined;
  return withoutUndefined({
    ACCOUNT: map.accounts.length > 0 ? map.accounts : undefined,
    ORG_UNIT: map.orgUnits.length > 0 ? map.orgUnits : undefined,
  });
}

/** Drops undefined members, so the input prints (and compares) as exactly what is sent. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as T;
}

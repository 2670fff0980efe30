import { randomBytes, randomUUID } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import { GLOBAL_REGION, RESOURCE_TYPES } from '../world/protected-resources.js';
import { defineWorldState, type World } from '../world/world.js';
import { readManagedServiceData, type PolicyServiceData } from './fms-service-data.js';

/**
 * Firewall Manager policies of the administrator account, per region, each with every version
 * it has had: compliance is computed from the versions and the times they were put, so the store
 * keeps history rather than only the current document.
 *
 * Modelled from the FMS API reference and its quotas page:
 * - PutPolicy without PolicyId creates; with PolicyId it updates and needs the current
 *   PolicyUpdateToken, which changes on every update. A missing or stale token is refused with
 *   InvalidInputException, the error the issue tracker and FMS automations report for it
 *   ("Intermittent InvalidInputException while updating policy").
 * - 20 policies per region (CloudFront policies live in us-east-1 and count there): the next
 *   PutPolicy that creates one gets LimitExceededException.
 * - A policy's scope holds at most 200 accounts and 20 OUs per map and at most 8 resource tags
 *   (LimitExceededException beyond).
 * - The policy type cannot change on update; resource types must suit the policy type.
 */
export const POLICIES_PER_REGION = 20;
export const MAX_SCOPE_ACCOUNTS = 200;
export const MAX_SCOPE_OUS = 20;
export const MAX_RESOURCE_TAGS = 8;

export type ScopeMap = Partial<Record<'ACCOUNT' | 'ORG_UNIT', string[]>>;

export interface ResourceTag {
  Key: string;
  Value?: string;
}

/** The Policy structure as the SDK sends it, keyed by member names. */
export interface PolicyInput {
  PolicyId?: string;
  PolicyName: string;
  PolicyUpdateToken?: string;
  SecurityServicePolicyData: { Type: string; ManagedServiceData?: string; PolicyOption?: unknown };
  ResourceType: string;
  ResourceTypeList?: string[];
  ResourceTags?: ResourceTag[];
  ExcludeResourceTags: boolean;
  RemediationEnabled: boolean;
  DeleteUnusedFMManagedResources?: boolean;
  IncludeMap?: ScopeMap;
  ExcludeMap?: ScopeMap;
  ResourceSetIds?: string[];
  PolicyDescription?: string;
  ResourceTagLogicalOperator?: 'AND' | 'OR';
}

/** One version of a policy: what it said and when it was put. */
export interface PolicyVersion {
  number: number;
  changedAt: number;
  /** The Policy as GetPolicy returns it, without the token (which belongs to the latest version). */
  policy: Record<string, unknown>;
  serviceData: PolicyServiceData;
  resourceTypes: string[];
  remediationEnabled: boolean;
  includeMap: ScopeMap | undefined;
  excludeMap: ScopeMap | undefined;
  resourceTags: ResourceTag[];
  excludeResourceTags: boolean;
  tagOperator: 'AND' | 'OR';
}

export interface Tag {
  Key: string;
  Value: string;
}

export class FmsPolicy {
  readonly versions: PolicyVersion[] = [];
  readonly tags = new Map<string, string>();
  token = '';

  constructor(
    readonly id: string,
    readonly arn: string,
    readonly region: string,
    readonly createdAt: number,
  ) {}

  get current(): PolicyVersion {
    const version = this.versions.at(-1);
    if (!version) throw new Error(`policy ${this.id} has no version`);
    return version;
  }

  get name(): string {
    return String(this.current.policy.PolicyName);
  }

  /** GetPolicy's Policy: the current version with the current token. */
  describe(): Record<string, unknown> {
    return { ...this.current.policy, PolicyUpdateToken: this.token };
  }
}

export interface NotificationChannel {
  SnsTopicArn: string;
  SnsRoleName: string;
}

const WAF_RESOURCE_TYPES = new Set<string>([
  RESOURCE_TYPES.alb,
  RESOURCE_TYPES.apiStage,
  RESOURCE_TYPES.cloudFront,
  'AWS::Cognito::UserPool',
  'AWS::AppRunner::Service',
  'AWS::AppSync::GraphQLApi',
  'AWS::EC2::VerifiedAccessInstance',
  'AWS::Amplify::App',
]);
const SHIELD_RESOURCE_TYPES = new Set<string>([RESOURCE_TYPES.alb, RESOURCE_TYPES.classicLoadBalancer, RESOURCE_TYPES.eip, RESOURCE_TYPES.cloudFront]);

export class FmsPolicyStore {
  private readonly regions = new Map<string, Map<string, FmsPolicy>>();
  readonly notificationChannels = new Map<string, NotificationChannel>();

  constructor(private readonly adminAccountId: string) {}

  /** Policies of a region in creation order. */
  policies(region: string): FmsPolicy[] {
    return [...(this.regions.get(region)?.values() ?? [])];
  }

  get(region: string, policyId: string): FmsPolicy {
    const policy = this.regions.get(region)?.get(policyId);
    if (!policy) {
      throw new ServiceError('ResourceNotFoundException', `No Firewall Manager policy with id ${policyId} in ${region}; list the region's policies with ListPolicies.`);
    }
    return policy;
  }

  put(region: string, input: PolicyInput, tags: readonly Tag[], now: number): FmsPolicy {
    const version = buildVersion(region, input, now);
    const policy = input.PolicyId === undefined ? this.create(region, now) : this.update(region, input);
    if (policy.versions.length > 0 && policy.current.serviceData.type !== version.serviceData.type) {
      throw new ServiceError(
        'InvalidInputException',
        `Policy ${policy.id} is a ${policy.current.serviceData.type} policy and cannot become ${version.serviceData.type}; create a new policy instead.`,
      );
    }
    version.number = policy.versions.length + 1;
    version.policy.PolicyId = policy.id;
    policy.versions.push(version);
    policy.token = `${version.number}:${randomBytes(16).toString('base64')}`;
    for (const tag of tags) policy.tags.set(tag.Key, tag.Value);
    this.byRegion(region).set(policy.id, policy);
    return policy;
  }

  delete(region: string, policyId: string): void {
    this.get(region, policyId);
    this.regions.get(region)?.delete(policyId);
  }

  /** Finds a policy by ARN in any region, for the tagging operations. */
  byArn(arn: string): FmsPolicy {
    for (const policies of this.regions.values()) {
      for (const policy of policies.values()) if (policy.arn === arn) return policy;
    }
    throw new ServiceError('ResourceNotFoundException', `No Firewall Manager policy has the ARN ${arn}; take the PolicyArn from PutPolicy or GetPolicy.`);
  }

  private create(region: string, now: number): FmsPolicy {
    if (this.byRegion(region).size >= POLICIES_PER_REGION) {
      throw new ServiceError(
        'LimitExceededException',
        `The administrator account already has ${POLICIES_PER_REGION} Firewall Manager policies in ${region}, the most allowed; delete one or combine policies.`,
      );
    }
    const id = randomUUID();
    // Stored by put() once its first version is accepted.
    return new FmsPolicy(id, `arn:aws:fms:${region}:${this.adminAccountId}:policy/${id}`, region, now);
  }

  private update(region: string, input: PolicyInput): FmsPolicy {
    const policy = this.get(region, input.PolicyId as string);
    if (input.PolicyUpdateToken === undefined) {
      throw new ServiceError('InvalidInputException', `Updating policy ${policy.id} needs its PolicyUpdateToken; read it with GetPolicy.`);
    }
    if (input.PolicyUpdateToken !== policy.token) {
      throw new ServiceError(
        'InvalidInputException',
        `The PolicyUpdateToken ${input.PolicyUpdateToken} is not the current token of policy ${policy.id}; read the current one with GetPolicy and retry.`,
      );
    }
    return policy;
  }

  private byRegion(region: string): Map<string, FmsPolicy> {
    let policies = this.regions.get(region);
    if (!policies) {
      policies = new Map();
      this.regions.set(region, policies);
    }
    return policies;
  }
}

const FMS_POLICIES = defineWorldState('fms:policies', (world: World) => new FmsPolicyStore(world.org.managementAccountId));

export function fmsPolicies(world: World): FmsPolicyStore {
  return world.state(FMS_POLICIES);
}

function buildVersion(region: string, input: PolicyInput, now: number): PolicyVersion {
  const { data, normalized } = readManagedServiceData(input.SecurityServicePolicyData.Type, input.SecurityServicePolicyData.ManagedServiceData);
  const resourceTypes = resolveResourceTypes(input, data.type, region);
  const resourceTags = input.ResourceTags ?? [];
  if (resourceTags.length > MAX_RESOURCE_TAGS) {
    throw new ServiceError('LimitExceededException', `The policy names ${resourceTags.length} resource tags, more than the ${MAX_RESOURCE_TAGS} allowed; narrow the tag filter.`);
  }
  checkScopeMap('IncludeMap', input.IncludeMap);
  checkScopeMap('ExcludeMap', input.ExcludeMap);
  const tagOperator = input.ResourceTagLogicalOperator ?? 'AND';
  const policy: Record<string, unknown> = {
    PolicyName: input.PolicyName,
    SecurityServicePolicyData: {
      Type: input.SecurityServicePolicyData.Type,
      ...(normalized === undefined ? {} : { ManagedServiceData: normalized }),
      ...(input.SecurityServicePolicyData.PolicyOption === undefined ? {} : { PolicyOption: input.SecurityServicePolicyData.PolicyOption }),
    },
    ResourceType: input.ResourceType,
    ResourceTypeList: input.ResourceTypeList ?? [],
    ResourceTags: resourceTags,
    ExcludeResourceTags: input.ExcludeResourceTags,
    RemediationEnabled: input.RemediationEnabled,
    DeleteUnusedFMManagedResources: input.DeleteUnusedFMManagedResources ?? false,
    IncludeMap: input.IncludeMap,
    ExcludeMap: input.ExcludeMap,
    ResourceSetIds: input.ResourceSetIds ?? [],
    PolicyDescription: input.PolicyDescription,
    PolicyStatus: 'ACTIVE',
    ResourceTagLogicalOperator: tagOperator,
  };
  return {
    number: 0,
    changedAt: now,
    policy,
    serviceData: data,
    resourceTypes,
    remediationEnabled: input.RemediationEnabled,
    includeMap: input.IncludeMap,
    excludeMap: input.ExcludeMap,
    resourceTags,
    excludeResourceTags: input.ExcludeResourceTags,
    tagOperator,
  };
}

/**
 * `ResourceType: "ResourceTypeList"` means the list names the types. A WAFV2 web ACL is either
 * regional or CloudFront, so one policy cannot mix the two, and CloudFront policies are created
 * in us-east-1.
 */
function resolveResourceTypes(input: PolicyInput, type: PolicyServiceData['type'], region: string): string[] {
  const types = input.ResourceType === 'ResourceTypeList' ? (input.ResourceTypeList ?? []) : [input.ResourceType];
  if (types.length === 0) {
    throw new ServiceError('InvalidInputException', 'ResourceType is ResourceTypeList but ResourceTypeList is empty; name at least one resource type.');
  }
  const allowed = type === 'WAFV2' ? WAF_RESOURCE_TYPES : SHIELD_RESOURCE_TYPES;
  for (const resourceType of types) {
    if (!allowed.has(resourceType)) {
      throw new ServiceError(
        'InvalidInputException',
        `Resource type ${resourceType} cannot be protected by a ${type} policy; use one of ${[...allowed].join(', ')}.`,
      );
    }
  }
  const cloudFront = types.includes(RESOURCE_TYPES.cloudFront);
  if (cloudFront && region !== GLOBAL_REGION) {
    throw new ServiceError('InvalidInputException', `CloudFront distributions are protected by policies in ${GLOBAL_REGION}, not ${region}; create the policy in ${GLOBAL_REGION}.`);
  }
  if (type === 'WAFV2' && cloudFront && types.length > 1) {
    throw new ServiceError(
      'InvalidInputException',
      'A WAFV2 policy protects either CloudFront distributions or regional resources, not both; split it into a global and a regional policy.',
    );
  }
  return types;
}

function checkScopeMap(name: string, map: ScopeMap | undefined): void {
  const accounts = map?.ACCOUNT?.length ?? 0;
  const ous = map?.ORG_UNIT?.length ?? 0;
  if (accounts > MAX_SCOPE_ACCOUNTS) {
    throw new ServiceError('LimitExceededException', `${name} names ${accounts} accounts, more than the ${MAX_SCOPE_ACCOUNTS} allowed; name their OUs instead.`);
  }
  if (ous > MAX_SCOPE_OUS) {
    throw new ServiceError('LimitExceededException', `${name} names ${ous} organizational units, more than the ${MAX_SCOPE_OUS} allowed; name a parent OU instead.`);
  }
}

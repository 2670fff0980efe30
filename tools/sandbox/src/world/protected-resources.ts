import type { Tags } from './organization.js';
import { pick, randomInt, randomString, type Random } from './prng.js';
import { defineRegionState, defineWorldState, type World } from './world.js';

/**
 * The resources Firewall Manager protects, seeded per account and region the first time anything
 * asks for them: Application Load Balancers, API Gateway stages, classic load balancers, Elastic
 * IPs and (global, so only in us-east-1) CloudFront distributions, with tags, a few customer web
 * ACLs already associated and a few Shield Advanced protections already in place. Deterministic
 * for a world seed; an account's resources do not depend on which region was asked first.
 */
export const RESOURCE_TYPES = {
  alb: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  apiStage: 'AWS::ApiGateway::Stage',
  cloudFront: 'AWS::CloudFront::Distribution',
  classicLoadBalancer: 'AWS::ElasticLoadBalancing::LoadBalancer',
  eip: 'AWS::EC2::EIP',
} as const;
export type ProtectedResourceType = (typeof RESOURCE_TYPES)[keyof typeof RESOURCE_TYPES];

/** CloudFront is global: FMS and WAF handle it in us-east-1 with the CLOUDFRONT scope. */
export const GLOBAL_REGION = 'us-east-1';

export type WebAclScope = 'REGIONAL' | 'CLOUDFRONT';

export interface ProtectedResource {
  /** The ARN, which is what FMS reports as a violator's ResourceId. */
  id: string;
  type: ProtectedResourceType;
  name: string;
  accountId: string;
  region: string;
  tags: Tags;
  /** The application team's own web ACL, associated before any FMS policy existed. */
  customerWebAclArn?: string;
  shieldProtected: boolean;
}

/** A web ACL an application team created; FMS replaces it only when told to. */
export interface CustomerWebAcl {
  id: string;
  name: string;
  arn: string;
  scope: WebAclScope;
  description: string;
  lockToken: string;
}

export interface RegionResources {
  resources: ProtectedResource[];
  webAcls: CustomerWebAcl[];
}

export interface ProtectedResourceScenario {
  /**
   * How many member accounts have a customer web ACL that FMS cannot replace (the application
   * team's ACL is protected from change): in these accounts every region has at least one load
   * balancer on such an ACL, and remediation never succeeds for it, whatever the policy says.
   */
  blockedCustomerWebAclAccounts: number;
}

const APPS = ['storefront', 'checkout', 'auth', 'search', 'catalog', 'payments', 'media', 'api', 'admin', 'reports'];
const STAGES = ['prod', 'v1', 'live', 'beta'];
const CUSTOMER_ACL_SHARE = 0.15;
const SHIELD_TAG_SHARE = 0.4;
const PROTECTED_SHARE = 0.2;
/** A few accounts hold more than the 100 violators FMS details, so EvaluationLimitExceeded shows. */
const LARGE_ACCOUNT_SHARE = 0.01;
const LARGE_ACCOUNT_LOAD_BALANCERS = 120;

/** Blocked resources and the scenario, for the whole world. */
export class ProtectedResourceRegistry {
  private scenario: ProtectedResourceScenario = { blockedCustomerWebAclAccounts: 0 };
  private blockedAccountIds: Set<string> | undefined;
  private readonly blocked = new Set<string>();

  constructor(private readonly world: World) {}

  /** Applies a scenario; call it before the first request seeds any region. */
  configure(scenario: Partial<ProtectedResourceScenario>): void {
    this.scenario = { ...this.scenario, ...scenario };
    this.blockedAccountIds = undefined;
  }

  /** The account's resources in a region (CloudFront distributions live in us-east-1). */
  inRegion(accountId: string, region: string): RegionResources {
    return this.world.account(accountId).region(region).state(REGION_RESOURCES);
  }

  /** Marks a resource whose remediation never succeeds: it stays NON_COMPLIANT with its reason. */
  blockRemediation(accountId: string, resourceId: string): void {
    this.blocked.add(blockKey(accountId, resourceId));
  }

  isBlocked(accountId: string, resourceId: string): boolean {
    return this.blocked.has(blockKey(accountId, resourceId));
  }

  /** Member accounts the scenario gives a blocked customer web ACL, chosen by the world seed. */
  accountsWithBlockedWebAcls(): ReadonlySet<string> {
    if (!this.blockedAccountIds) {
      const random = this.world.random('protected-resources:blocked-accounts');
      const candidates = [...this.world.org.accounts.values()]
        .filter((account) => account.status === 'ACTIVE' && account.id !== this.world.org.managementAccountId)
        .map((account) => account.id);
      const chosen = new Set<string>();
      while (chosen.size < Math.min(this.scenario.blockedCustomerWebAclAccounts, candidates.length)) {
        chosen.add(pick(random, candidates));
      }
      this.blockedAccountIds = chosen;
    }
    return this.blockedAccountIds;
  }
}

const PROTECTED_RESOURCES = defineWorldState('protected-resources', (world) => new ProtectedResourceRegistry(world));

export function protectedResources(world: World): ProtectedResourceRegistry {
  return world.state(PROTECTED_RESOURCES);
}

const REGION_RESOURCES = defineRegionState('protected-resources:region', ({ world, accountId, region }) => {
  const registry = protectedResources(world);
  const seeded = seedRegion(world, accountId, region);
  if (registry.accountsWithBlockedWebAcls().has(accountId)) blockCustomerWebAcls(world, accountId, region, seeded);
  return seeded;
});

function blockKey(accountId: string, resourceId: string): string {
  return `${accountId} ${resourceId}`;
}

function seedRegion(world: World, accountId: string, region: string): RegionResources {
  const random = world.random(`protected-resources:${accountId}:${region}`);
  const account = world.org.accounts.get(accountId);
  const team = account?.tags.team ?? 'platform';
  const env = account?.tags.env ?? 'prod';
  const large = world.random(`protected-resources:${accountId}:profile`)() < LARGE_ACCOUNT_SHARE;
  const seeder = new RegionSeeder(random, accountId, region, team, env);
  const albCount = large ? LARGE_ACCOUNT_LOAD_BALANCERS : randomInt(random, 0, 3);
  for (let i = 0; i < albCount; i++) seeder.loadBalancer();
  const stages = randomInt(random, 0, 2);
  for (let i = 0; i < stages; i++) seeder.apiStage();
  if (random() < 0.3) seeder.classicLoadBalancer();
  const eips = randomInt(random, 0, 2);
  for (let i = 0; i < eips; i++) seeder.elasticIp();
  if (region === GLOBAL_REGION) {
    const distributions = randomInt(random, 0, 2);
    for (let i = 0; i < distributions; i++) seeder.distribution();
  }
  return seeder.result;
}

/** The scenario's accounts: a load balancer on the team's ACL in every region, none replaceable. */
function blockCustomerWebAcls(world: World, accountId: string, region: string, seeded: RegionResources): void {
  if (!seeded.resources.some((r) => r.type === RESOURCE_TYPES.alb && r.customerWebAclArn)) {
    const account = world.org.accounts.get(accountId);
    const random = world.random(`protected-resources:${accountId}:${region}:blocked`);
    new RegionSeeder(random, accountId, region, account?.tags.team ?? 'platform', account?.tags.env ?? 'prod', seeded).loadBalancer(true);
  }
  const registry = protectedResources(world);
  for (const resource of seeded.resources) {
    if (resource.customerWebAclArn) registry.blockRemediation(accountId, resource.id);
  }
}

class RegionSeeder {
  readonly result: RegionResources;

  constructor(
    private readonly random: Random,
    private readonly accountId: string,
    private readonly region: string,
    private readonly team: string,
    private readonly env: string,
    into?: RegionResources,
  ) {
    this.result = into ?? { resources: [], webAcls: [] };
  }

  loadBalancer(withCustomerWebAcl = false): void {
    const name = this.uniqueName(`${pick(this.random, APPS)}-${this.env}-alb`);
    this.add(
      RESOURCE_TYPES.alb,
      name,
      `arn:aws:elasticloadbalancing:${this.region}:${this.accountId}:loadbalancer/app/${name}/${randomString(this.random, 16, HEX)}`,
      withCustomerWebAcl ? 'REGIONAL' : this.maybeCustomerAcl('REGIONAL'),
    );
  }

  apiStage(): void {
    const apiId = randomString(this.random, 10);
    const stage = pick(this.random, STAGES);
    this.add(RESOURCE_TYPES.apiStage, `${apiId}/${stage}`, `arn:aws:apigateway:${this.region}::/restapis/${apiId}/stages/${stage}`, this.maybeCustomerAcl('REGIONAL'));
  }

  classicLoadBalancer(): void {
    const name = this.uniqueName(`${pick(this.random, APPS)}-${this.env}-elb`);
    this.add(RESOURCE_TYPES.classicLoadBalancer, name, `arn:aws:elasticloadbalancing:${this.region}:${this.accountId}:loadbalancer/${name}`, undefined);
  }

  elasticIp(): void {
    const allocation = `eipalloc-${randomString(this.random, 17, HEX)}`;
    this.add(RESOURCE_TYPES.eip, allocation, `arn:aws:ec2:${this.region}:${this.accountId}:eip-allocation/${allocation}`, undefined);
  }

  distribution(): void {
    const id = `E${randomString(this.random, 13, UPPER_ALNUM)}`;
    this.add(RESOURCE_TYPES.cloudFront, id, `arn:aws:cloudfront::${this.accountId}:distribution/${id}`, this.maybeCustomerAcl('CLOUDFRONT'));
  }

  private add(type: ProtectedResourceType, name: string, id: string, aclScope: WebAclScope | undefined): void {
    const tags: Tags = {
      env: this.env,
      app: pick(this.random, APPS),
      team: this.team,
      shield: this.random() < SHIELD_TAG_SHARE ? 'yes' : 'no',
    };
    const resource: ProtectedResource = {
      id,
      type,
      name,
      accountId: this.accountId,
      region: type === RESOURCE_TYPES.cloudFront ? GLOBAL_REGION : this.region,
      tags,
      shieldProtected: this.random() < PROTECTED_SHARE,
    };
    if (aclScope) resource.customerWebAclArn = this.customerAcl(aclScope).arn;
    this.result.resources.push(resource);
  }

  private maybeCustomerAcl(scope: WebAclScope): WebAclScope | undefined {
    return this.random() < CUSTOMER_ACL_SHARE ? scope : undefined;
  }

  /** One web ACL per team and scope in a region, shared by the team's resources. */
  private customerAcl(scope: WebAclScope): CustomerWebAcl {
    const name = `${this.team}-${this.env}-${scope === 'CLOUDFRONT' ? 'edge' : 'app'}-acl`;
    const existing = this.result.webAcls.find((acl) => acl.name === name);
    if (existing) return existing;
    const id = uuid(this.random);
    const arnScope = scope === 'CLOUDFRONT' ? 'global' : 'regional';
    const acl: CustomerWebAcl = {
      id,
      name,
      arn: `arn:aws:wafv2:${this.region}:${this.accountId}:${arnScope}/webacl/${name}/${id}`,
      scope,
      description: `Web ACL of the ${this.team} team`,
      lockToken: uuid(this.random),
    };
    this.result.webAcls.push(acl);
    return acl;
  }

  private uniqueName(base: string): string {
    const taken = new Set(this.result.resources.map((r) => r.name));
    if (!taken.has(base)) return base;
    for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
  }
}

const HEX = '0123456789abcdef';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A version-4-shaped id from the seeded generator, as WAF ids and lock tokens look. */
export function uuid(random: Random): string {
  const hex = randomString(random, 32, HEX);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

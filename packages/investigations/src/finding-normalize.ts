import { InvalidInputError } from '@orgshield/errors';
import type { z } from 'zod';
import { GuardDutyFindingSchema, type GuardDutyFinding } from './finding-schema.js';

export type SeverityLabel = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** One remote party of the finding's action, with the ports it used where GuardDuty says. */
export interface FindingRemote {
  ip: string;
  remotePort?: number;
  localPort?: number;
  localIp?: string;
  country?: string;
  organization?: string;
}

export interface FindingNetworkInterface {
  id?: string;
  privateIps: string[];
  publicIp?: string;
  vpcId?: string;
  subnetId?: string;
}

/** The IAM principal whose credentials the finding is about (AccessKeyDetails). */
export interface FindingPrincipal {
  arn?: string;
  userName?: string;
  userType?: string;
  principalId?: string;
  accessKeyId?: string;
}

/** A GuardDuty finding in one shape, whichever shape it arrived in. */
export interface NormalizedFinding {
  id: string;
  arn?: string;
  type: string;
  title?: string;
  severity: number;
  severityLabel: SeverityLabel;
  accountId: string;
  region: string;
  partition: string;
  createdAt: string;
  updatedAt: string;
  /** When the activity was first and last seen (eventFirstSeen/eventLastSeen, else created/updated). */
  firstSeen: string;
  lastSeen: string;
  count: number;
  resource: {
    type?: string;
    instanceId?: string;
    instanceProfileArn?: string;
    networkInterfaces: FindingNetworkInterface[];
    principal?: FindingPrincipal;
  };
  action: {
    type?: string;
    direction?: string;
    protocol?: string;
    blocked?: boolean;
    api?: string;
    serviceName?: string;
  };
  remotes: FindingRemote[];
  /** The resource's own addresses: every private and public IP of its interfaces. */
  localIps: string[];
}

/**
 * Accepts a finding as EventBridge delivers it (the envelope, or just its `detail`), as
 * GetFindings returns it (PascalCase, alone or as `{ "Findings": [one] }`), or camelCase, and
 * returns the normalized finding. Anything that is not one finding, or lacks what we rely on,
 * is an InvalidInputError naming the field in the caller's own spelling.
 */
export function normalizeFinding(input: unknown, source = 'the finding'): NormalizedFinding {
  if (nestedDeeperThan(input, MAX_FINDING_DEPTH)) {
    throw new InvalidInputError(`${source} nests arrays and objects more than ${MAX_FINDING_DEPTH} deep, the limit for JSON; a GuardDuty finding nests fewer than 20.`, {
      code: 'InvalidFinding',
    });
  }
  const raw = unwrapFinding(input, source);
  const pascal = isRecord(raw) && ('Id' in raw || 'Type' in raw || 'AccountId' in raw);
  const parsed = GuardDutyFindingSchema.safeParse(camelizeKeys(raw));
  if (!parsed.success) throw invalidField(parsed.error, pascal, source);
  const finding = fromGuardDuty(parsed.data);
  checkSightings(finding, pascal, source);
  return finding;
}

/** JSON nesting a finding may have (GuardDuty's own nest fewer than 20 deep). */
export const MAX_FINDING_DEPTH = 256;
/** A finding's sightings span at most this long: Detective and flow logs keep a year. */
const MAX_SIGHTING_SPAN_MS = 366 * 24 * 60 * 60_000;

/** Whether a parsed JSON value nests deeper than `max`, walked without recursion (so a 100,000-deep one is no crash). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A finding first seen after it was last seen, or seen over more than a year, has a window nothing can read. */
function checkSightings(finding: NormalizedFinding, pascal: boolean, source: string): void {
  const first = Date.parse(finding.firstSeen);
  const last = Date.parse(finding.lastSeen);
  const name = (camel: string) => (pascal ? camel.split('.').map(upperFirst).join('.') : camel);
  if (first > last) {
    throw new InvalidInputError(
      `${source} was first seen at ${finding.firstSeen}, after it was last seen at ${finding.lastSeen} (${name('service.eventFirstSeen')} and ${name('service.eventLastSeen')}); pass --from and --to for the window.`,
      { code: 'InvalidFinding' },
    );
  }
  if (last - first > MAX_SIGHTING_SPAN_MS) {
    throw new InvalidInputError(
      `${source} spans ${finding.firstSeen} to ${finding.lastSeen}, more than a year, longer than Detective or flow logs keep; pass --from and --to for the window.`,
      { code: 'InvalidFinding' },
    );
  }
}

/** Parses the text of a finding file; a syntax error names the file. */
export function parseFindingJson(text: string, source: string): NormalizedFinding {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${source} is not valid JSON (${(error as Error).message}); pass a GuardDuty finding as JSON.`, {
      cause: error,
    });
  }
  return normalizeFinding(value, source);
}

/** GuardDuty's published bands: 1.0-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical. */
export function severityLabel(severity: number): SeverityLabel {
  if (severity >= 9) return 'CRITICAL';
  if (severity >= 7) return 'HIGH';
  if (severity >= 4) return 'MEDIUM';
  return 'LOW';
}

function unwrapFinding(input: unknown, source: string): unknown {
  if (Array.isArray(input)) return single(input, source);
  if (!isRecord(input)) throw new InvalidInputError(`${source} is not a JSON object; pass one GuardDuty finding.`);
  if ('detail' in input && ('detail-type' in input || 'source' in input)) {
    const detailType = input['detail-type'];
    if (detailType !== undefined && detailType !== 'GuardDuty Finding') {
      throw new InvalidInputError(
        `${source} is an EventBridge event of detail-type "${String(detailType)}", not "GuardDuty Finding".`,
      );
    }
    return input.detail;
  }
  const list = input.Findings ?? input.findings;
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new InvalidInputError(`${source}: Findings must be a list of findings.`);
    return single(list, source);
  }
  return input;
}

function single(list: unknown[], source: string): unknown {
  if (list.length !== 1) {
    throw new InvalidInputError(`${source} holds ${list.length} findings; pass exactly one (save that one finding to its own file).`);
  }
  return list[0];
}

/** PascalCase member names become camelCase; camelCase input passes through unchanged. */
function camelizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelizeKeys);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key.charAt(0).toLowerCase() + key.slice(1)] = camelizeKeys(item);
  return out;
}

function invalidField(error: z.ZodError, pascal: boolean, source: string): InvalidInputError {
  const issue = error.issues[0];
  const path = (issue?.path ?? [])
    .map((part) => (typeof part === 'number' ? `[${part}]` : pascal ? upperFirst(String(part)) : String(part)))
    .join('.')
    .replaceAll('.[', '[');
  const problem = issue?.code === 'invalid_type' && issue.input === undefined ? 'is missing' : (issue?.message ?? 'is invalid');
  return new InvalidInputError(`${source}: field ${path || '(root)'} ${problem}; pass a GuardDuty finding as GetFindings or EventBridge delivers it.`, {
    code: 'InvalidFinding',
  });
}

function fromGuardDuty(finding: GuardDutyFinding): NormalizedFinding {
  const partition = finding.partition ?? 'aws';
  const instance = finding.resource.instanceDetails;
  const networkInterfaces = (instance?.networkInterfaces ?? []).map(
    (eni): FindingNetworkInterface => ({
      id: eni.networkInterfaceId,
      privateIps: unique([
        ...(eni.privateIpAddress ? [eni.privateIpAddress] : []),
        ...(eni.privateIpAddresses ?? []).flatMap((entry) => (entry.privateIpAddress ? [entry.privateIpAddress] : [])),
        ...(eni.ipv6Addresses ?? []),
      ]),
      publicIp: eni.publicIp,
      vpcId: eni.vpcId,
      subnetId: eni.subnetId,
    }),
  );
  const action = finding.service?.action;
  const connection = action?.networkConnectionAction;
  const apiCall = action?.awsApiCallAction;
  const remotes = findingRemotes(finding);
  return {
    id: finding.id,
    arn: finding.arn,
    type: finding.type,
    title: finding.title,
    severity: finding.severity,
    severityLabel: severityLabel(finding.severity),
    accountId: finding.accountId,
    region: finding.region,
    partition,
    createdAt: iso(finding.createdAt),
    updatedAt: iso(finding.updatedAt),
    firstSeen: iso(finding.service?.eventFirstSeen ?? finding.createdAt),
    lastSeen: iso(finding.service?.eventLastSeen ?? finding.updatedAt),
    count: finding.service?.count ?? 1,
    resource: {
      type: finding.resource.resourceType,
      instanceId: instance?.instanceId,
      instanceProfileArn: instance?.iamInstanceProfile?.arn,
      networkInterfaces,
      principal: principalOf(finding, partition),
    },
    action: {
      type: action?.actionType,
      direction: connection?.connectionDirection,
      protocol: connection?.protocol,
      blocked: connection?.blocked ?? action?.portProbeAction?.blocked,
      api: apiCall?.api,
      serviceName: apiCall?.serviceName,
    },
    remotes,
    localIps: unique(networkInterfaces.flatMap((eni) => [...eni.privateIps, ...(eni.publicIp ? [eni.publicIp] : [])])),
  };
}

function findingRemotes(finding: GuardDutyFinding): FindingRemote[] {
  const action = finding.service?.action;
  const remotes: FindingRemote[] = [];
  const connection = action?.networkConnectionAction;
  if (connection?.remoteIpDetails) {
    remotes.push(
      ...remote(connection.remoteIpDetails, {
        remotePort: connection.remotePortDetails?.port,
        localPort: connection.localPortDetails?.port,
        localIp: connection.localIpDetails?.ipAddressV4 ?? connection.localIpDetails?.ipAddressV6,
      }),
    );
  }
  for (const probe of action?.portProbeAction?.portProbeDetails ?? []) {
    if (!probe.remoteIpDetails) continue;
    remotes.push(
      ...remote(probe.remoteIpDetails, {
        localPort: probe.localPortDetails?.port,
        localIp: probe.localIpDetails?.ipAddressV4 ?? probe.localIpDetails?.ipAddressV6,
      }),
    );
  }
  if (action?.awsApiCallAction?.remoteIpDetails) remotes.push(...remote(action.awsApiCallAction.remoteIpDetails, {}));
  return remotes;
}

type RemoteIpDetails = NonNullable<
  NonNullable<NonNullable<GuardDutyFinding['service']>['action']>['networkConnectionAction']
>['remoteIpDetails'];

function remote(details: NonNullable<RemoteIpDetails>, ports: Omit<FindingRemote, 'ip'>): FindingRemote[] {
  const ip = details.ipAddressV4 ?? details.ipAddressV6;
  if (!ip) return [];
  const organization = details.organization?.asnOrg ?? details.organization?.org ?? details.organization?.isp;
  return [{ ip, ...ports, country: details.country?.countryName, organization }];
}

/**
 * GuardDuty names the principal, not its ARN: an IAMUser's userName is the user, an
 * AssumedRole's userName is the role's name, so the ARNs follow from the account.
 */
function principalOf(finding: GuardDutyFinding, partition: string): FindingPrincipal | undefined {
  const key = finding.resource.accessKeyDetails;
  if (!key) return undefined;
  const base = `arn:${partition}:iam::${finding.accountId}`;
  const arn =
    key.userName && key.userType === 'IAMUser'
      ? `${base}:user/${key.userName}`
      : key.userName && (key.userType === 'AssumedRole' || key.userType === 'Role')
        ? `${base}:role/${key.userName}`
        : undefined;
  return { arn, userName: key.userName, userType: key.userType, principalId: key.principalId, accessKeyId: key.accessKeyId };
}

function upperFirst(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function iso(timestamp: string): string {
  return new Date(timestamp).toISOString();
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

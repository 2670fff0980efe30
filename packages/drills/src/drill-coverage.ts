import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { SourceServer } from '@aws-sdk/client-drs';
import type { CoverageSettings } from './drill-schema.js';
import { awsErrorName, describeSourceServers, parseIsoDuration, type DrillClients } from './drs-live.js';
import { formatDuration } from './recovery-point.js';

/** What coverage reads in one account and region. */
export interface CoverageInput {
  accountId: string;
  region: string;
  /** EC2 instances carrying the "must be recoverable" tag. */
  mustRecover: { instanceId: string; name?: string }[];
  sourceServers: { sourceServerId: string; hostname?: string; ec2InstanceId?: string; replicationState?: string; lagMs?: number }[];
  unavailable?: string;
}

export type CoverageGap =
  | { kind: 'not-replicated'; accountId: string; region: string; instanceId: string; name?: string; message: string }
  | { kind: 'never-drilled' | 'drill-overdue'; accountId: string; region: string; sourceServerId: string; hostname?: string; lastDrilledAt?: string; message: string }
  | { kind: 'replication-trouble'; accountId: string; region: string; sourceServerId: string; hostname?: string; message: string }
  | { kind: 'unavailable'; accountId: string; region: string; message: string };

export interface CoverageReport {
  at: string;
  accounts: number;
  sourceServers: number;
  mustRecover: number;
  gaps: CoverageGap[];
}

/**
 * What we would lose today: tagged instances DRS does not replicate, source servers never
 * drilled or not within the period, and replication in trouble (not CONTINUOUS, or lagging
 * more than `lagLimitMs`). A pure function of what was read and of the drill history.
 */
export function assessCoverage(
  inputs: readonly CoverageInput[],
  options: { settings: CoverageSettings; lastDrilled: ReadonlyMap<string, number>; now: number; lagLimitMs?: number },
): CoverageReport {
  const gaps: CoverageGap[] = [];
  for (const input of inputs) {
    const { accountId, region } = input;
    if (input.unavailable) {
      gaps.push({ kind: 'unavailable', accountId, region, message: input.unavailable });
      continue;
    }
    const replicated = new Set(input.sourceServers.flatMap((server) => (server.ec2InstanceId ? [server.ec2InstanceId] : [])));
    for (const instance of input.mustRecover) {
      if (replicated.has(instance.instanceId)) continue;
      gaps.push({ kind: 'not-replicated', accountId, region, instanceId: instance.instanceId, ...(instance.name ? { name: instance.name } : {}), message: `instance ${instance.instanceId}${instance.name ? ` (${instance.name})` : ''} must be recoverable but is not a DRS source server` });
    }
    for (const server of input.sourceServers) {
      const name = `${server.sourceServerId}${server.hostname ? ` (${server.hostname})` : ''}`;
      const host = server.hostname ? { hostname: server.hostname } : {};
      const last = options.lastDrilled.get(`${accountId}:${server.sourceServerId}`);
      if (last === undefined) gaps.push({ kind: 'never-drilled', accountId, region, sourceServerId: server.sourceServerId, ...host, message: `${name} has never been drilled` });
      else if (options.now - last > options.settings.drilledWithin) {
        gaps.push({ kind: 'drill-overdue', accountId, region, sourceServerId: server.sourceServerId, ...host, lastDrilledAt: new Date(last).toISOString(), message: `${name} was last drilled ${formatDuration(options.now - last)} ago, more than ${formatDuration(options.settings.drilledWithin)}` });
      }
      if (server.replicationState !== 'CONTINUOUS') {
        gaps.push({ kind: 'replication-trouble', accountId, region, sourceServerId: server.sourceServerId, ...host, message: `${name} replication is ${server.replicationState ?? 'not started'}` });
      } else if (options.lagLimitMs !== undefined && server.lagMs !== undefined && server.lagMs > options.lagLimitMs) {
        gaps.push({ kind: 'replication-trouble', accountId, region, sourceServerId: server.sourceServerId, ...host, message: `${name} replication lags ${formatDuration(server.lagMs)}, more than ${formatDuration(options.lagLimitMs)}` });
      }
    }
  }
  return {
    at: new Date(options.now).toISOString(),
    accounts: new Set(inputs.map((input) => input.accountId)).size,
    sourceServers: inputs.reduce((sum, input) => sum + input.sourceServers.length, 0),
    mustRecover: inputs.reduce((sum, input) => sum + input.mustRecover.length, 0),
    gaps,
  };
}

/** Reads one account and region for coverage: tagged EC2 instances and DRS source servers. */
export async function readCoverageInput(clients: DrillClients, accountId: string, region: string, settings: CoverageSettings): Promise<CoverageInput> {
  let servers: SourceServer[];
  try {
    servers = await describeSourceServers(clients.drs(accountId, region));
  } catch (error) {
    if (awsErrorName(error) !== 'UninitializedAccountException') throw error;
    return { accountId, region, mustRecover: [], sourceServers: [], unavailable: 'Elastic Disaster Recovery is not initialized in this account and region' };
  }
  const mustRecover: CoverageInput['mustRecover'] = [];
  if (settings.mustRecoverTag) {
    const tag = settings.mustRecoverTag;
    const filters = tag.value === undefined ? [{ Name: 'tag-key', Values: [tag.key] }] : [{ Name: `tag:${tag.key}`, Values: [tag.value] }];
    let NextToken: string | undefined;
    do {
      const page = await clients.ec2(accountId, region).send(new DescribeInstancesCommand({ Filters: [...filters, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }], ...(NextToken ? { NextToken } : {}) }));
      for (const instance of (page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? [])) {
        if (!instance.InstanceId) continue;
        const name = instance.Tags?.find((t) => t.Key === 'Name')?.Value;
        mustRecover.push({ instanceId: instance.InstanceId, ...(name ? { name } : {}) });
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return {
    accountId,
    region,
    mustRecover,
    sourceServers: servers.flatMap((server) => {
      if (!server.sourceServerID) return [];
      const hints = server.sourceProperties?.identificationHints;
      const lagMs = parseIsoDuration(server.dataReplicationInfo?.lagDuration);
      return [
        {
          sourceServerId: server.sourceServerID,
          ...(hints?.hostname ? { hostname: hints.hostname } : {}),
          ...(hints?.awsInstanceID ? { ec2InstanceId: hints.awsInstanceID } : {}),
          ...(server.dataReplicationInfo?.dataReplicationState ? { replicationState: server.dataReplicationInfo.dataReplicationState } : {}),
          ...(lagMs !== undefined ? { lagMs } : {}),
        },
      ];
    }),
  };
}

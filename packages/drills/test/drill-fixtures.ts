import type { LiveRegion, LiveSnapshot, LiveSourceServer } from '../src/drill-plan.js';
import { DrillSchema, type Drill, type DrillInput } from '../src/drill-schema.js';

export const NOW = Date.parse('2026-12-06T12:00:00Z');
export const ISOLATED_SUBNET = 'subnet-0a1b2c3d4e5f60718';
export const ISOLATED_GROUP = 'sg-0a1b2c3d4e5f60718';

export function drillOf(overrides: Partial<DrillInput> = {}): Drill {
  return DrillSchema.parse({
    kind: 'Drill',
    name: 'payments-dr',
    targets: { all: true },
    regions: ['us-east-1'],
    waves: [{ name: 'db', servers: { tags: { tier: 'db' } } }, { name: 'web' }],
    objectives: { rto: '30m', rpo: '15m' },
    isolation: { subnets: [ISOLATED_SUBNET], securityGroups: [ISOLATED_GROUP] },
    ...overrides,
  });
}

/** Snapshots on DRS's retention: every 10 minutes for the last hour, then hourly for a day. */
export function retentionSnapshots(serverIndex: number, now = NOW): LiveSnapshot[] {
  const times = [...Array.from({ length: 6 }, (_, i) => now - (i + 1) * 600_000), ...Array.from({ length: 23 }, (_, i) => now - (i + 2) * 3_600_000)];
  return times.map((at, i) => ({
    snapshotId: `pit-${String(serverIndex).padStart(8, '0')}${String(i).padStart(9, '0')}`,
    // The real timestamp trails the expected one by a few seconds, as on DRS.
    timestamp: new Date(at + 7_000).toISOString(),
    expectedTimestamp: new Date(at).toISOString(),
  }));
}

export function sourceServerId(index: number): string {
  return `s-${index.toString(16).padStart(17, '0')}`;
}

export function serverOf(accountId: string, index: number, overrides: Partial<LiveSourceServer> = {}): LiveSourceServer {
  return {
    accountId,
    region: 'us-east-1',
    sourceServerId: sourceServerId(index),
    hostname: `host-${index}`,
    tags: { tier: index % 3 === 0 ? 'db' : 'web' },
    replicationState: 'CONTINUOUS',
    lagMs: 5_000,
    launchTemplate: { id: `lt-${index.toString(16).padStart(17, '0')}`, subnetIds: [ISOLATED_SUBNET], securityGroupIds: [ISOLATED_GROUP] },
    snapshots: retentionSnapshots(index),
    activeJobIds: [],
    ...overrides,
  };
}

export function regionOf(accountId: string, servers: LiveSourceServer[], overrides: Partial<LiveRegion> = {}): LiveRegion {
  return { accountId, region: 'us-east-1', servers, ...overrides };
}

import { hashLabel, mulberry32, randomInt, randomString } from '../world/prng.js';
import type { SeededSourceServer } from '../world/seeded-drs.js';

/**
 * DRS's point-in-time snapshots of a source server, on its default retention policy: every
 * 10 minutes for the last hour, every hour for the last 24 hours, every day for the last 7 days
 * (PITPolicyRule MINUTE 10/60, HOUR 1/24, DAY 1/7), relative to `now`. None before the first
 * sync finished, none after replication stopped (STALLED, DISCONNECTED), none in a seeded gap.
 * A snapshot's `timestamp` is when it was actually taken: a few seconds after its
 * `expectedTimestamp`. Ids are a function of (server, expected time), so a snapshot keeps its
 * id from one call to the next.
 */
export interface RecoverySnapshotRecord {
  snapshotID: string;
  sourceServerID: string;
  expectedTimestamp: Date;
  timestamp: Date;
  ebsSnapshots: string[];
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const HEX = '0123456789abcdef';

const RETENTION: readonly { intervalMs: number; count: number }[] = [
  { intervalMs: 10 * MINUTE_MS, count: 6 },
  { intervalMs: HOUR_MS, count: 24 },
  { intervalMs: DAY_MS, count: 7 },
];

/** Every snapshot the server has at `now`, oldest first. */
export function recoverySnapshotsOf(server: SeededSourceServer, now: Date): RecoverySnapshotRecord[] {
  const times = new Set<number>();
  for (const { intervalMs, count } of RETENTION) {
    const newest = Math.floor(now.getTime() / intervalMs) * intervalMs;
    for (let i = 0; i < count; i++) times.add(newest - i * intervalMs);
  }
  const first = server.firstSnapshotAt?.getTime();
  if (first === undefined) return [];
  const last = server.stoppedAt?.getTime() ?? Infinity;
  return [...times]
    .filter((t) => t >= first && t <= last && !(server.gap && t >= server.gap.from.getTime() && t < server.gap.to.getTime()))
    .sort((a, b) => a - b)
    .map((t) => snapshotAt(server, t));
}

export function recoverySnapshotById(server: SeededSourceServer, snapshotID: string, now: Date): RecoverySnapshotRecord | undefined {
  return recoverySnapshotsOf(server, now).find((s) => s.snapshotID === snapshotID);
}

function snapshotAt(server: SeededSourceServer, expectedMs: number): RecoverySnapshotRecord {
  const random = mulberry32(hashLabel(`drs:pit:${server.sourceServerID}:${expectedMs}`));
  return {
    snapshotID: `pit-${randomString(random, 17, HEX)}`,
    sourceServerID: server.sourceServerID,
    expectedTimestamp: new Date(expectedMs),
    timestamp: new Date(expectedMs + randomInt(random, 2_000, 45_000)),
    ebsSnapshots: server.disks.map(() => `snap-${randomString(random, 17, HEX)}`),
  };
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SeededSourceServer } from '../world/seeded-drs.js';
import { recoverySnapshotById, recoverySnapshotsOf } from './drs-snapshots.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function server(extra: Partial<SeededSourceServer>): SeededSourceServer {
  return {
    sourceServerID: 's-0123456789abcdef0',
    disks: [{ deviceName: '/dev/xvda', bytes: 8 * 2 ** 30 }],
    firstSnapshotAt: new Date(0),
    ...extra,
  } as SeededSourceServer;
}

/** The retention policy written the obvious way: is `t` a time a snapshot is kept for at `now`? */
function kept(t: number, now: number): boolean {
  const onGrid = (interval: number, count: number) => t % interval === 0 && t > Math.floor(now / interval) * interval - count * interval && t <= now;
  return onGrid(10 * MINUTE, 6) || onGrid(HOUR, 24) || onGrid(DAY, 7);
}

describe('recoverySnapshotsOf', () => {
  it('keeps exactly the retention policy’s points inside the server’s replicated windows, oldest first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20 * DAY, max: 2_000 * DAY }),
        fc.integer({ min: 0, max: 10 * DAY }),
        fc.option(fc.integer({ min: 0, max: 9 * DAY })),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 9 * DAY }), fc.integer({ min: 0, max: 3 * DAY }))),
        (now, firstAgo, stoppedAgo, gap) => {
          const first = now - firstAgo;
          const stopped = stoppedAgo === null ? undefined : now - stoppedAgo;
          const gapRange = gap === null ? undefined : { from: now - gap[0] - gap[1], to: now - gap[0] };
          const s = server({
            firstSnapshotAt: new Date(first),
            stoppedAt: stopped === undefined ? undefined : new Date(stopped),
            gap: gapRange && { from: new Date(gapRange.from), to: new Date(gapRange.to) },
          });
          const times = recoverySnapshotsOf(s, new Date(now)).map((x) => x.expectedTimestamp.getTime());
          const expected: number[] = [];
          for (let t = Math.floor((now - 8 * DAY) / (10 * MINUTE)) * 10 * MINUTE; t <= now; t += 10 * MINUTE) {
            const replicated = t >= first && (stopped === undefined || t <= stopped) && !(gapRange && t >= gapRange.from && t < gapRange.to);
            if (replicated && kept(t, now)) expected.push(t);
          }
          expect(times).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives a snapshot the same id on every call, taken a few seconds after its expected time', () => {
    const s = server({});
    const now = new Date(Date.UTC(2026, 5, 1, 12, 34, 56));
    const a = recoverySnapshotsOf(s, now);
    const b = recoverySnapshotsOf(s, new Date(now.getTime() + 5 * MINUTE));
    expect(a.length).toBeGreaterThan(30);
    expect(new Set(a.map((x) => x.snapshotID)).size).toBe(a.length);
    for (const snapshot of a) {
      const lag = snapshot.timestamp.getTime() - snapshot.expectedTimestamp.getTime();
      expect(lag).toBeGreaterThan(0);
      expect(lag).toBeLessThan(MINUTE);
      const again = b.find((x) => x.expectedTimestamp.getTime() === snapshot.expectedTimestamp.getTime());
      if (again) expect(again).toEqual(snapshot);
    }
    const newest = a.at(-1);
    expect(recoverySnapshotById(s, newest?.snapshotID ?? '', now)).toEqual(newest);
    expect(recoverySnapshotsOf(server({ firstSnapshotAt: undefined }), now)).toEqual([]);
  });
});

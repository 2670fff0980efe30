import type { ChosenRecoveryPoint, LiveSnapshot } from './drill-plan.js';
import type { RecoveryPoint } from './drill-schema.js';

export type RecoveryPointChoice = { ok: true; point: ChosenRecoveryPoint } | { ok: false; reason: string };

/**
 * The snapshot a server is recovered from. Only a snapshot's own `timestamp` counts (DRS
 * filters on the expected one, which can be later than the real one, and a snapshot not yet
 * taken has none): `latest` is the newest taken, `before` the newest taken strictly before
 * that time, `maxAge` the newest if it is recent enough. `server` names it in the reason.
 */
export function chooseRecoveryPoint(snapshots: readonly LiveSnapshot[], point: RecoveryPoint, options: { now: number; server: string }): RecoveryPointChoice {
  const taken = snapshots
    .flatMap((snapshot) => {
      const at = snapshot.timestamp === undefined ? Number.NaN : Date.parse(snapshot.timestamp);
      return Number.isNaN(at) ? [] : [{ snapshotId: snapshot.snapshotId, at, iso: new Date(at).toISOString() }];
    })
    .sort((a, b) => b.at - a.at || (a.snapshotId < b.snapshotId ? -1 : 1));
  const newest = taken[0];
  if (!newest) {
    // DRS filters by time itself, so an empty answer means none in the window asked for.
    const window = point === 'latest' ? ' yet' : 'before' in point ? ` taken before ${point.before}` : ` within the drill's maxAge of ${formatDuration(point.maxAge)}`;
    return { ok: false, reason: `server ${options.server} has no point-in-time snapshot${window}, so it is not launched` };
  }
  const pick = (snapshot: { snapshotId: string; iso: string }) => ({ ok: true as const, point: { snapshotId: snapshot.snapshotId, at: snapshot.iso } });

  if (point === 'latest') return pick(newest);
  if ('before' in point) {
    const before = Date.parse(point.before);
    const candidate = taken.find((snapshot) => snapshot.at < before);
    if (candidate) return pick(candidate);
    const oldest = taken[taken.length - 1] ?? newest;
    return { ok: false, reason: `server ${options.server} has no point-in-time snapshot taken before ${point.before} (its oldest is from ${oldest.iso}), so it is not launched` };
  }
  if (options.now - newest.at <= point.maxAge) return pick(newest);
  return {
    ok: false,
    reason: `server ${options.server}'s newest snapshot is from ${newest.iso}, older than the drill's maxAge of ${formatDuration(point.maxAge)}, so it is not launched`,
  };
}

/** `1h05m`, `42s`, `350ms`: a duration for people. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${String(m).padStart(d || h ? 2 : 1, '0')}m` : '', s && !d ? `${s}s` : ''].filter(Boolean);
  return parts.join('') || '0s';
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * How long a run's data stays in Redis after its last write. `runs` covers records, state,
 * steps, events and indexes (they expire instead of living forever); `kept` covers what people
 * keep on purpose (drill history, erasure records, the audit trail), which has a longer default.
 */
export interface RunRetention {
  runsMs: number;
  keptMs: number;
}

export const DEFAULT_RUN_RETENTION: RunRetention = { runsMs: 30 * DAY_MS, keptMs: 365 * DAY_MS };

/** Retention from days (the worker's ORGSHIELD_RETENTION_DAYS and ORGSHIELD_KEEP_DAYS). */
export function retentionFromDays(days: { runs?: number; kept?: number }): RunRetention {
  return {
    runsMs: days.runs === undefined ? DEFAULT_RUN_RETENTION.runsMs : days.runs * DAY_MS,
    keptMs: days.kept === undefined ? DEFAULT_RUN_RETENTION.keptMs : days.kept * DAY_MS,
  };
}

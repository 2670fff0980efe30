/**
 * The volume timeline: per-minute totals folded into buckets of a readable size, each
 * compared with a rolling baseline so spikes stand out.
 */

/** About this many buckets when the size is chosen automatically. */
export const TIMELINE_TARGET_BUCKETS = 200;
/** Never more buckets than this, whatever size was asked for. */
export const MAX_TIMELINE_BUCKETS = 5000;
/** Sizes a person reads easily, in seconds. */
export const BUCKET_SIZES = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400] as const;
/** A bucket is a spike when its bytes reach this multiple of the baseline... */
export const SPIKE_FACTOR = 3;
/** ...and exceed it by at least this much, so a quiet line's blips are not spikes. */
export const SPIKE_MIN_EXTRA_BYTES = 1024 * 1024;
/** The baseline is the median of up to this many buckets before the one judged... */
export const SPIKE_BASELINE_BUCKETS = 12;
/** ...and needs at least this many, so the first buckets of a window are never judged. */
export const SPIKE_MIN_HISTORY = 4;

export interface TimelineBucket {
  /** ISO 8601, inclusive. */
  start: string;
  /** ISO 8601, exclusive. */
  end: string;
  inBytes: number;
  outBytes: number;
  accepted: number;
  rejected: number;
  /** Median bytes of the buckets before; null while there is too little history. */
  baselineBytes: number | null;
  spike: boolean;
}

export interface MinuteTotals {
  minutes: readonly number[];
  inBytes: readonly number[];
  outBytes: readonly number[];
  accepted: readonly number[];
  rejected: readonly number[];
}

/** The smallest readable size that keeps a span near TIMELINE_TARGET_BUCKETS (and within the cap). */
export function chooseBucketSeconds(spanSeconds: number, target = TIMELINE_TARGET_BUCKETS): number {
  const wanted = spanSeconds / target;
  const size = BUCKET_SIZES.find((s) => s >= wanted);
  return size ?? Math.ceil(wanted / 86400) * 86400;
}

/** The median of the values before `index` (up to SPIKE_BASELINE_BUCKETS), or null with too little history. */
export function rollingBaseline(values: readonly number[], index: number): number | null {
  const history = values.slice(Math.max(0, index - SPIKE_BASELINE_BUCKETS), index);
  if (history.length < SPIKE_MIN_HISTORY) return null;
  const sorted = [...history].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function isSpike(bytes: number, baseline: number | null, t: { factor: number; minExtraBytes: number } = { factor: SPIKE_FACTOR, minExtraBytes: SPIKE_MIN_EXTRA_BYTES }): boolean {
  return baseline !== null && bytes >= t.factor * baseline && bytes - baseline >= t.minExtraBytes;
}

/**
 * Dense buckets over [from, to) seconds, aligned to multiples of the bucket size (a
 * multiple of 60). The totals hold only records of the window, so every minute lands in
 * a bucket.
 */
export function buildTimeline(
  totals: MinuteTotals, from: number, to: number, bucketSeconds: number, spike?: { factor: number; minExtraBytes: number },
): TimelineBucket[] {
  const first = Math.floor(from / bucketSeconds) * bucketSeconds;
  const count = Math.max(0, Math.ceil((to - first) / bucketSeconds));
  const inBytes = new Float64Array(count);
  const outBytes = new Float64Array(count);
  const accepted = new Float64Array(count);
  const rejected = new Float64Array(count);
  for (let j = 0; j < totals.minutes.length; j++) {
    const b = Math.floor((totals.minutes[j]! * 60 - first) / bucketSeconds);
    if (b < 0 || b >= count) continue;
    inBytes[b]! += totals.inBytes[j]!;
    outBytes[b]! += totals.outBytes[j]!;
    accepted[b]! += totals.accepted[j]!;
    rejected[b]! += totals.rejected[j]!;
  }
  const volume = Array.from({ length: count }, (_, b) => inBytes[b]! + outBytes[b]!);
  return volume.map((bytes, b) => {
    const baseline = rollingBaseline(volume, b);
    return {
      start: new Date((first + b * bucketSeconds) * 1000).toISOString(),
      end: new Date((first + (b + 1) * bucketSeconds) * 1000).toISOString(),
      inBytes: inBytes[b]!,
      outBytes: outBytes[b]!,
      accepted: accepted[b]!,
      rejected: rejected[b]!,
      baselineBytes: baseline,
      spike: isSpike(bytes, baseline, spike),
    };
  });
}

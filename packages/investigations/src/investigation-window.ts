import { InvalidInputError } from '@orgshield/errors';
import type { NormalizedFinding } from './finding-normalize.js';
import { isIsoTimestamp } from './finding-schema.js';

/** A half-open time range [from, to). */
export interface TimeWindow {
  from: Date;
  to: Date;
}

/**
 * VPC flow logs reach S3 up to about 10 minutes after the traffic (aggregation interval plus
 * delivery); 15 minutes leaves a margin.
 */
export const FLOW_LOG_DELIVERY_DELAY_MS = 15 * 60_000;

/**
 * A finding's first-seen time trails the first packet, and its records keep arriving after
 * its last sighting: a finding's window starts 5 minutes before its first sighting and ends
 * one delivery delay (15 minutes) after its last one.
 */
export const FINDING_WINDOW_START_PAD_MS = 5 * 60_000;
export const FINDING_WINDOW_END_PAD_MS = FLOW_LOG_DELIVERY_DELAY_MS;

/** Without a finding or --from, an entity is investigated over the last 24 hours. */
export const DEFAULT_ENTITY_WINDOW_MS = 24 * 60 * 60_000;

/** Detective keeps up to a year of behavior data; a longer scope is refused up front. */
const MAX_WINDOW_MS = 365 * 24 * 60 * 60_000;

export function findingWindow(finding: Pick<NormalizedFinding, 'firstSeen' | 'lastSeen'>): TimeWindow {
  return {
    from: new Date(Date.parse(finding.firstSeen) - FINDING_WINDOW_START_PAD_MS),
    to: new Date(Date.parse(finding.lastSeen) + FINDING_WINDOW_END_PAD_MS),
  };
}

/**
 * The window of a request: explicit --from/--to win; otherwise the finding's padded window;
 * otherwise the 24 hours before `to` (or before now).
 */
export function requestWindow(
  request: { from?: string; to?: string; finding?: Pick<NormalizedFinding, 'firstSeen' | 'lastSeen'> },
  now: Date,
): TimeWindow {
  const fallback = request.finding ? findingWindow(request.finding) : undefined;
  const to = request.to !== undefined ? parseTime(request.to, '--to') : (fallback?.to ?? now);
  const from =
    request.from !== undefined
      ? parseTime(request.from, '--from')
      : (fallback?.from ?? new Date(to.getTime() - DEFAULT_ENTITY_WINDOW_MS));
  if (from.getTime() >= to.getTime()) {
    throw new InvalidInputError(`The window from ${from.toISOString()} to ${to.toISOString()} is empty; --from must be before --to.`);
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS) {
    throw new InvalidInputError(`The window from ${from.toISOString()} to ${to.toISOString()} is longer than a year; narrow --from/--to.`);
  }
  return { from, to };
}

function parseTime(value: string, flag: string): Date {
  const ms = isIsoTimestamp(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new InvalidInputError(`${flag} "${value}" is not a time; use ISO 8601 such as 2026-11-29T10:00:00Z.`);
  return new Date(ms);
}

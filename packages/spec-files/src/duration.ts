import { z } from 'zod';

const UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:ms|s|m|h|d))+$/;

/** `90s`, `10m`, `1h30m`: a duration as people write it in a spec file, in milliseconds. */
export function parseDuration(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(amount) * UNITS_MS[unit as keyof typeof UNITS_MS];
  }
  return total;
}

/** A duration field: the text checked and turned into ms, at most `maxDays`, and more than 0 when `positive`. */
export function durationSchema(options: { maxDays: number; positive?: boolean }) {
  return z
    .string()
    .regex(DURATION, 'a duration looks like 30s, 10m or 1h30m')
    .transform(parseDuration)
    .refine((ms) => !options.positive || ms > 0, { error: 'a duration is more than 0' })
    .refine((ms) => ms <= options.maxDays * UNITS_MS.d, { error: `a duration is at most ${options.maxDays}d` });
}

/**
 * What the benchmarks share: Redis, the sandbox's request log read against the quotas it
 * enforced, a process's peak memory, and Markdown tables. Their command line is bench-args.ts.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { connectRedis as connectQueueRedis } from '@orgshield/jobs';
import { REGION_NAME } from '@orgshield/spec-files';
import { badArg } from './bench-args.js';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * orgshield's own connection (as BullMQ needs it) to one Redis: the benchmarks measure against
 * one node. An unreachable Redis, or a cluster, is one sentence and exit code 1.
 */
export async function connectRedis(url = REDIS_URL): Promise<Redis> {
  try {
    const redis = await connectQueueRedis(url);
    if (redis instanceof Redis) return redis;
    await redis.quit();
    throw new Error(`REDIS_URL points at a Redis Cluster; the benchmarks run against one Redis node: give its redis:// URL.`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}

/** Deletes every key under `prefix` (a benchmark's own), with SCAN so Redis never blocks on it. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export interface LogLine {
  t: number;
  service: string;
  operation: string;
  region: string;
  status: number;
  error: string | null;
}

/** The sandbox's JSON-lines request log. */
export function readRequestLog(path: string): LogLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

/** The throttling errors the sandbox answers with (each service's declared one). */
const THROTTLING_ERRORS = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'SlowDown', 'RequestLimitExceeded']);

export function isThrottled(line: LogLine): boolean {
  return line.error !== null && THROTTLING_ERRORS.has(line.error);
}

export interface Quota {
  rate: number;
  burst: number;
}

export interface OperationFigures {
  region: string;
  operation: string;
  /** Requests the quota let in (answered, failed or reset): what the run needed. */
  calls: number;
  /** Requests refused over the quota: waste. */
  throttled: number;
  failed5xx: number;
  resets: number;
  /** The least time the quota allows these calls in: (calls - burst) / rate; 0 where no quota applies. */
  quotaSeconds: number;
}

/**
 * Per region and operation, what the run called and the time the sandbox's quota (a bucket per
 * account, region and operation) imposes on it. The bound of the whole run is the largest.
 */
export function quotaFigures(lines: readonly LogLine[], quotaOf: (operation: string) => Quota | undefined): OperationFigures[] {
  const figures = new Map<string, OperationFigures>();
  for (const line of lines) {
    const key = `${line.region} ${line.operation}`;
    const entry = figures.get(key) ?? { region: line.region, operation: line.operation, calls: 0, throttled: 0, failed5xx: 0, resets: 0, quotaSeconds: 0 };
    if (isThrottled(line)) entry.throttled += 1;
    else {
      entry.calls += 1;
      if (line.status === 0) entry.resets += 1;
      if (line.status >= 500) entry.failed5xx += 1;
    }
    figures.set(key, entry);
  }
  for (const entry of figures.values()) {
    const quota = quotaOf(entry.operation);
    entry.quotaSeconds = quota ? Math.max(0, entry.calls - quota.burst) / quota.rate : 0;
  }
  return [...figures.values()].sort((a, b) => b.quotaSeconds - a.quotaSeconds || b.calls - a.calls);
}

export interface DetailPhase {
  region: string;
  /** Seconds from the first line given to the phase's first and last GetComplianceDetail. */
  from: number;
  to: number;
  calls: number;
  /** Whole seconds between `from` and `to` without a call: the region had reads left and its quota went unused. */
  idleSeconds: number;
  /** Calls per second over the seconds with any: what the region's reads ran at while they ran. */
  callsPerActiveSecond: number;
}

/**
 * A region's gate detail reads, phase by phase (a region's PutPolicy calls, the writes between
 * its gates, end one), in 1 s bins: where the seconds between a phase's first and last call hold
 * none, the region's reads were waiting (on a worker's slot, say) while its quota stood unused.
 */
export function detailPhases(lines: readonly LogLine[]): DetailPhase[] {
  const start = lines[0]?.t ?? 0;
  const phases: DetailPhase[] = [];
  const byRegion = new Map<string, LogLine[]>();
  for (const line of lines) byRegion.set(line.region, [...(byRegion.get(line.region) ?? []), line]);
  for (const [region, regionLines] of [...byRegion].sort(([a], [b]) => a.localeCompare(b))) {
    let seconds: number[] = [];
    const close = () => {
      const from = seconds[0];
      const to = seconds.at(-1);
      if (from === undefined || to === undefined) return;
      const active = new Set(seconds).size;
      phases.push({ region, from, to, calls: seconds.length, idleSeconds: to - from + 1 - active, callsPerActiveSecond: round(seconds.length / active) });
      seconds = [];
    };
    for (const line of regionLines) {
      if (line.operation === 'PutPolicy') close();
      else if (line.operation === 'GetComplianceDetail' && !isThrottled(line)) seconds.push(Math.floor((line.t - start) / 1000));
    }
    close();
  }
  return phases;
}

/** A live process's peak resident set so far (VmHWM), in MB; undefined once it is gone. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a live process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    // Linux reports ticks of 1/100 s (USER_HZ) on every architecture Node supports.
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has spent busy (everything but idle and iowait) since boot, all cores together. */
export function machineBusySeconds(): number {
  const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).map(Number);
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + (value || 0), 0);
  return (total - (ticks[3] ?? 0) - (ticks[4] ?? 0)) / 100;
}

export function loadAverage(): number[] {
  return loadavg().map((load) => Number(load.toFixed(2)));
}

export function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

/** A Markdown table: right-aligned columns for numbers. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const numeric = headers.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  return [
    `| ${headers.join(' | ')} |`,
    `|${numeric.map((right) => (right ? '---:' : '---')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(String).join(' | ')} |`),
  ].join('\n');
}

/** A `--regions` value: region names, comma-separated, each once; a bad one is one sentence and exit code 2. */
export function regionsArg(value: string): string[] {
  const regions = value.split(',').map((region) => region.trim());
  const bad = regions.find((region) => !REGION_NAME.test(region));
  if (bad !== undefined) badArg(`--regions "${value}": "${bad}" is not a region name like eu-west-1; give them comma-separated, e.g. --regions us-east-1,eu-west-1.`);
  const twice = regions.find((region, index) => regions.indexOf(region) !== index);
  if (twice !== undefined) badArg(`--regions "${value}" names ${twice} twice.`);
  return regions;
}

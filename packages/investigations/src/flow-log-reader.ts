/**
 * Where flow logs come from: local files and folders, or S3 objects under the key
 * prefixes of a window. Reading them is local-flow-log-reader's and flow-log-stream's job.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidInputError } from '@orgshield/errors';
import { isInside, REGION_NAME } from '@orgshield/spec-files';
import { flowLogProblem, type FlowLogProblem, type FlowLogProblems } from './flow-log-problems.js';

/** Where flow logs live in S3; the caller implements it over its S3 client. */
export interface FlowLogObjectSource {
  list(prefix: string): AsyncIterable<{ key: string; size: number }>;
  open(key: string): Promise<Readable>;
}

export type FlowLogInput =
  /** Local files and folders (read recursively). */
  | { paths: readonly string[] }
  /** Every object under these key prefixes (see flowLogKeyPrefixes). */
  | { objects: FlowLogObjectSource; prefixes: readonly string[] };

export interface LocalFlowLogFile {
  path: string;
  size: number;
}

/**
 * The files under the given paths: a file is taken as named, a folder is walked recursively
 * (hidden entries skipped), results sorted so every run reads in one order. A symbolic link
 * inside a folder is followed only where it stays inside that folder (the path as given, its
 * real location); one that leads out, or nowhere, is a `skipped-link` problem, and one back into
 * a folder already walked (a loop) a `link-loop` problem; each file is read once however many
 * ways lead to it. Without `problems` to report into, such links are skipped.
 */
export async function listFlowLogFiles(paths: readonly string[], problems?: FlowLogProblems): Promise<LocalFlowLogFile[]> {
  const files = new Map<string, LocalFlowLogFile>();
  const walked = new Set<string>();
  const report = (problem: FlowLogProblem) => {
    if (!problems) return;
    problems.add(problem);
    problems.endFile(problem.file);
  };
  // Folders and links are walked in name order (so the same paths are reported every run); the
  // files of a folder are looked at together: hundreds are listed in the time of a few.
  const walk = async (path: string, real: string, root: string): Promise<void> => {
    walked.add(real);
    const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const pending: Promise<void>[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = join(path, entry.name);
      const childReal = join(real, entry.name);
      if (entry.isDirectory()) {
        if (!walked.has(childReal)) await walk(child, childReal, root);
      } else if (entry.isFile()) {
        pending.push(add(child, childReal));
      } else if (entry.isSymbolicLink()) {
        await follow(child, real, root, pending);
      }
    }
    await Promise.all(pending);
  };
  const follow = async (link: string, parentReal: string, root: string, pending: Promise<void>[]): Promise<void> => {
    let target: string;
    try {
      target = await realpath(link);
    } catch (error) {
      return report(flowLogProblem.linkBroken(link, (error as NodeJS.ErrnoException).code ?? (error as Error).message));
    }
    if (!isInside(target, root)) return report(flowLogProblem.linkOutside(link, target, root));
    const info = await stat(target);
    if (info.isDirectory()) {
      if (walked.has(target) || isInside(parentReal, target)) return report(flowLogProblem.linkLoop(link, target));
      return walk(link, target, root);
    }
    if (info.isFile()) pending.push(add(link, target, info.size));
  };
  // One entry per real file, named by the first of its paths in name order.
  const add = async (path: string, real: string, size?: number): Promise<void> => {
    const bytes = size ?? (await stat(path)).size;
    const known = files.get(real);
    if (known === undefined || path < known.path) files.set(real, { path, size: bytes });
  };
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info === null) throw new InvalidInputError(`Flow log path ${path} does not exist; name a flow log file or a folder of them.`);
    const real = await realpath(path);
    if (info.isDirectory()) await walk(path, real, real);
    else await add(path, real, info.size);
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface FlowLogKeyPrefixOptions {
  /** The bucket's key prefix the flow log was configured with ('' or 'logs/'). */
  prefix?: string;
  accountId: string;
  region: string;
  from: Date;
  to: Date;
  /** Hive-compatible prefixes (`aws-account-id=.../year=2025/month=06/...`). */
  hive?: boolean;
  /** The flow log partitions per hour (one more folder level). */
  perHour?: boolean;
}

/** A window longer than this many folders is almost certainly a mistake. */
const MAX_PREFIXES = 24 * 400;

/**
 * The S3 key prefixes that hold the records of [from, to): one per UTC day (or hour) of
 * the window, in the default or the Hive-compatible layout. Pure, so callers can list
 * exactly these.
 */
export function flowLogKeyPrefixes(options: FlowLogKeyPrefixOptions): string[] {
  const { accountId, region, from, to } = options;
  if (!/^\d{12}$/.test(accountId)) throw new InvalidInputError(`Account id ${accountId} is not 12 digits.`);
  if (!REGION_NAME.test(region)) throw new InvalidInputError(`Region ${region} is not a region name such as us-east-1.`);
  if (!(from.getTime() < to.getTime())) {
    throw new InvalidInputError(`The window ${from.toISOString()} to ${to.toISOString()} is empty; give a start before the end.`);
  }
  const base = options.prefix === undefined || options.prefix === '' ? '' : options.prefix.replace(/\/*$/, '/');
  const step = options.perHour ? 3600_000 : 86400_000;
  const first = Math.floor(from.getTime() / step) * step;
  const last = Math.floor((to.getTime() - 1) / step) * step;
  const count = (last - first) / step + 1;
  if (count > MAX_PREFIXES) {
    throw new InvalidInputError(`The window ${from.toISOString()} to ${to.toISOString()} spans ${count} folders of flow logs; narrow it.`);
  }
  const prefixes: string[] = [];
  for (let t = first; t <= last; t += step) {
    const iso = new Date(t).toISOString();
    const [y, m, d, h] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10), iso.slice(11, 13)];
    prefixes.push(
      options.hive
        ? `${base}AWSLogs/aws-account-id=${accountId}/aws-service=vpcflowlogs/aws-region=${region}/year=${y}/month=${m}/day=${d}/${options.perHour ? `hour=${h}/` : ''}`
        : `${base}AWSLogs/${accountId}/vpcflowlogs/${region}/${y}/${m}/${d}/${options.perHour ? `${h}/` : ''}`,
    );
  }
  return prefixes;
}

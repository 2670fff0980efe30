/**
 * The flow-log analysis of one instance: read the files (local or from S3), total the
 * matching records into conversations and a timeline, then detect findings. Detective's
 * VPC flow panel, and more.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { InvalidInputError } from '@orgshield/errors';
import {
  type AccumulatorConfig, type AccumulatorState, type Conversation, type ConversationList, FlowAccumulator, type FlowFilters, MAX_CONVERSATIONS, MAX_LOCAL_IPS,
  MAX_MINUTES, type PartitionHelper, type RecordCounts, type RunStep, TABLE_BYTES_PER_CONVERSATION,
} from './flow-accumulator.js';
import {
  type FlowFinding, FlowFindingDetector, flowThresholdsSchema, medianOutboundPerMinute, PRIVATE_RANGES,
} from './flow-findings.js';
import type { FindingMark } from './flow-finding-mark.js';
import { insideRanges, normalizeIp, parseCidr, remoteFilterFor } from './flow-ip.js';
import { type FlowLogInput, type LocalFlowLogFile, listFlowLogFiles } from './flow-log-reader.js';
import { type FlowLogProblem, FlowLogProblems } from './flow-log-problems.js';
import { scanFlowLogObject } from './flow-log-stream.js';
import { createSpillFolder, removeSpillFolder } from './flow-spill.js';
import { startThread } from './flow-thread.js';
import { LocalFlowLogReader } from './local-flow-log-reader.js';
import { buildTimeline, chooseBucketSeconds, MAX_TIMELINE_BUCKETS, type TimelineBucket } from './flow-timeline.js';

/**
 * Local input at least this large (about 2.4 million records) is shared with a reader
 * thread: below it, starting the thread costs more than it saves.
 */
const PARALLEL_MIN_BYTES = 32 * 1024 * 1024;
/** The memory budget of an analysis, for the whole process, unless one is given. */
export const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;
/**
 * The share of the budget the readers' conversation tables take together; the rest is
 * Node itself, the reader threads, their buffers, the spill's staging and the merge.
 */
const TABLE_SHARE = 0.4;

const port = (what: string) =>
  z.number({ error: (issue) => `${what} ${String(issue.input)} is not a port number.` })
    .int({ error: (issue) => `${what} ${String(issue.input)} is not a port number (0 to 65535).` })
    .min(0, { error: (issue) => `${what} ${String(issue.input)} is not a port number (0 to 65535).` })
    .max(65535, { error: (issue) => `${what} ${String(issue.input)} is not a port number (0 to 65535).` });

const ip = (what: string) =>
  z.string().refine((text) => normalizeIp(text) !== null, { error: (issue) => `${what} ${String(issue.input)} is not an IPv4 or IPv6 address.` });

/** Options of an analysis, as callers hand them in (validated by flowAnalysisOptionsSchema). */
export const flowAnalysisOptionsSchema = z.object({
  /** The instance's addresses. Without them, each record's flow-direction field says which side is local. */
  localIps: z.array(ip('Local IP')).max(MAX_LOCAL_IPS, { error: (issue) => `${(issue.input as unknown[]).length} local IPs were given; an instance is analysed with at most ${MAX_LOCAL_IPS}.` }).default([]),
  /** Only records of this network interface. */
  eni: z.string().regex(/^eni-[0-9a-f]{8,17}$/, { error: (issue) => `ENI ${String(issue.input)} is not a network interface id such as eni-0a1b2c3d4e5f60718.` }).optional(),
  /** Records count when their start is in [from, to). */
  from: z.date().optional(),
  to: z.date().optional(),
  filters: z.object({
    /** Remote addresses or CIDRs. */
    remote: z.array(z.string().refine((text) => parseCidr(text) !== null, { error: (issue) => `Remote filter ${String(issue.input)} is not an IP address or CIDR such as 203.0.113.0/24.` })).default([]),
    localPorts: z.array(port('Local port')).default([]),
    remotePorts: z.array(port('Remote port')).default([]),
    /** IANA protocol numbers (6 TCP, 17 UDP, 1 ICMP). */
    protocols: z.array(z.number().int().min(0).max(255, { error: (issue) => `Protocol ${String(issue.input)} is not a protocol number (0 to 255).` })).default([]),
    direction: z.enum(['inbound', 'outbound']).optional(),
    action: z.enum(['ACCEPT', 'REJECT']).optional(),
  }).default({ remote: [], localPorts: [], remotePorts: [], protocols: [] }),
  /** Timeline bucket size; chosen from the window when absent. */
  bucketSeconds: z.number().int().positive().multipleOf(60, { error: (issue) => `Bucket size ${String(issue.input)} seconds is not a whole number of minutes.` }).optional(),
  /** A GuardDuty finding's IPs and ports: matching conversations and findings are marked. */
  markFrom: z.object({ ips: z.array(ip('Finding IP')), ports: z.array(port('Finding port')) }).optional(),
  /** Threads reading local files; default: up to 2 when the input is large. */
  workers: z.number().int().min(1).max(16).optional(),
  /**
   * The memory budget in bytes (default 256 MiB): past its share of it, a reader's table
   * spills to a temporary folder, so memory does not grow with the conversations.
   */
  memory: z.number({ error: (issue) => `Memory budget ${String(issue.input)} is not a number of bytes.` })
    .int({ error: (issue) => `Memory budget ${String(issue.input)} is not a whole number of bytes.` })
    .min(1024, { error: (issue) => `Memory budget ${String(issue.input)} bytes is too small; give at least 1024.` })
    .optional(),
  /** The VPC's address ranges: large transfers to them are internal-transfer, not exfiltration (default: the private ranges). */
  vpcCidrs: z.array(z.string().refine((text) => parseCidr(text) !== null && text.includes('/'), {
    error: (issue) => `VPC range ${String(issue.input)} is not a CIDR such as 10.0.0.0/16.`,
  })).optional(),
  /** The detectors' thresholds (each defaults to its named constant in flow-findings). */
  thresholds: flowThresholdsSchema.prefault({}),
}).refine((o) => o.from === undefined || o.to === undefined || o.from.getTime() < o.to.getTime(), {
  error: (issue) => {
    const o = issue.input as { from: Date; to: Date };
    return `The window ${o.from.toISOString()} to ${o.to.toISOString()} is empty; give a start before the end.`;
  },
});

export type FlowAnalysisOptions = z.input<typeof flowAnalysisOptionsSchema> & {
  onProgress?: (progress: FlowAnalysisProgress) => void;
};

export interface FlowAnalysisProgress {
  filesDone: number;
  filesTotal: number | null;
}

/** The options an analysis ran with, normalized. */
export interface FlowQuery {
  localIps: string[];
  eni: string | null;
  filters: FlowFilters;
}

export interface FlowAnalysis {
  query: FlowQuery;
  records: RecordCounts;
  /** Sorted by bytes (in + out), largest first; read from disk as it is iterated when the analysis spilled. */
  conversations: ConversationList;
  timeline: TimelineBucket[];
  findings: FlowFinding[];
  /** Listed problems (at most MAX_PROBLEMS_PER_FILE per file) and how many there were. */
  problems: FlowLogProblem[];
  problemCount: number;
  files: number;
  bucketSeconds: number;
  /** The window analysed: as given, or the span of the matching records. */
  window: { from: string | null; to: string | null };
  /** Whether the conversation table spilled to disk (the memory budget was reached). */
  spilled: boolean;
  /** Removes the analysis's temporary files (its conversations cannot be read afterwards). Also done on exit. */
  dispose(): void;
}

export type { Conversation, ConversationList };

type WorkerReply =
  | { kind: 'file-done' } | { kind: 'state'; state: AccumulatorState; problems: FlowLogProblem[]; problemTotal: number }
  | { kind: 'partition'; partition: number; steps: RunStep[] } | { kind: 'merged' };

/** A reader thread taking files[Atomics.add(next)] until none are left. */
function startWorker(config: AccumulatorConfig, files: readonly string[], next: Int32Array): Worker {
  // The reader allocates next to nothing per record: a small young generation keeps the thread's memory down.
  return startThread('flow-analysis-worker', { config, files, next }, { maxYoungGenerationSizeMb: 8 });
}

/** A promise settled by a worker's replies, rejected when it fails or stops first. */
function replies(worker: Worker, onReply: (reply: WorkerReply, resolve: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onMessage = (reply: WorkerReply): void => onReply(reply, done);
    const onExit = (code: number): void => fail(new Error(`A flow-log thread stopped (exit code ${code}) before it finished.`));
    const off = (): void => {
      worker.off('message', onMessage);
      worker.off('error', fail);
      worker.off('exit', onExit);
    };
    function done(): void {
      off();
      resolve();
    }
    function fail(error: Error): void {
      off();
      reject(error);
    }
    worker.on('message', onMessage);
    worker.on('error', fail);
    worker.on('exit', onExit);
  });
}

/** A reader thread given no file, as the finish's helper (see FlowAccumulator.finish). */
function helperOf(worker: Worker): PartitionHelper {
  return {
    merge(job, done) {
      const merged = replies(worker, (reply, resolve) => {
        if (reply.kind === 'partition') done(reply.partition, reply.steps);
        else if (reply.kind === 'merged') resolve();
      });
      worker.postMessage(job);
      return merged;
    },
  };
}

/**
 * Reads the files with `threads` readers (this thread plus threads - 1 workers), each
 * taking the next file by one shared counter (no thread waits on another to be handed
 * work), and merges what the workers found into `into`. `read` is called once this
 * thread has read its last file, before the others may have.
 */
async function readLocalFiles(
  files: readonly LocalFlowLogFile[], threads: number, config: AccumulatorConfig,
  into: FlowAccumulator, context: { problems: FlowLogProblems; progress: () => void; read: () => void },
): Promise<void> {
  const { problems, progress } = context;
  // Largest first, so no thread is left with one big file at the end.
  const paths = [...files].sort((a, b) => b.size - a.size).map((f) => f.path);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const workers = Array.from({ length: threads - 1 }, () => startWorker(config, paths, next));
  try {
    const fromWorkers = workers.map((worker) => replies(worker, (reply, resolve) => {
      if (reply.kind === 'file-done') {
        progress();
      } else if (reply.kind === 'state') {
        into.merge(reply.state);
        for (const problem of reply.problems) problems.listed.push(problem);
        problems.total += reply.problemTotal;
        resolve();
      }
    }));
    const reader = new LocalFlowLogReader(into, problems, into.readerBuffers());
    for (let i = Atomics.add(next, 0, 1); i < paths.length; i = Atomics.add(next, 0, 1)) {
      await reader.read(paths[i]!);
      progress();
    }
    context.read();
    into.endReading();
    await Promise.all(fromWorkers);
  } finally {
    // Done reading, a thread still holds its table's pages: it goes rather than help the finish.
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function validated(options: FlowAnalysisOptions): z.output<typeof flowAnalysisOptionsSchema> {
  const parsed = flowAnalysisOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // A threshold's message names no field (a thresholds file's loader locates it): name it here.
    throw new InvalidInputError(issue.path[0] === 'thresholds' ? `Threshold ${issue.path.slice(1).join('.')} ${issue.message}.` : issue.message);
  }
  return parsed.data;
}

/**
 * Analyses the flow logs of one instance. Bad options throw InvalidInputError; bad input
 * never throws: it becomes `problems`, and the rest is analysed.
 */
export async function analyzeFlowLogs(input: FlowLogInput, options: FlowAnalysisOptions = {}): Promise<FlowAnalysis> {
  const o = validated(options);
  const spillDir = createSpillFolder();
  try {
    return await analyze(input, o, { spillDir, onProgress: options.onProgress });
  } catch (error) {
    removeSpillFolder(spillDir);
    throw error;
  }
}

/** The reader threads for local input of this size (this thread included). */
function readerThreads(files: readonly LocalFlowLogFile[], workers: number | undefined): number {
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  return Math.max(1, Math.min(files.length, workers ?? (bytes >= PARALLEL_MIN_BYTES ? Math.min(2, availableParallelism()) : 1)));
}

async function analyze(
  input: FlowLogInput, o: z.output<typeof flowAnalysisOptionsSchema>,
  context: { spillDir: string; onProgress: FlowAnalysisOptions['onProgress'] },
): Promise<FlowAnalysis> {
  const problems = new FlowLogProblems();
  const files = 'paths' in input ? await listFlowLogFiles(input.paths, problems) : null;
  const threads = files === null ? 1 : readerThreads(files, o.workers);
  // Each reader's table gets an equal part of the tables' share of the budget.
  const tableRows = Math.floor(((o.memory ?? DEFAULT_MEMORY_BYTES) * TABLE_SHARE) / TABLE_BYTES_PER_CONVERSATION);
  const capacity = Math.max(1, Math.min(MAX_CONVERSATIONS, Math.floor(tableRows / threads)));
  const config: AccumulatorConfig = {
    localIps: o.localIps.map((text) => normalizeIp(text)!),
    eni: o.eni ?? null,
    from: o.from === undefined ? null : o.from.getTime() / 1000,
    to: o.to === undefined ? null : o.to.getTime() / 1000,
    remote: o.filters.remote,
    localPorts: o.filters.localPorts,
    remotePorts: o.filters.remotePorts,
    protocols: o.filters.protocols,
    direction: o.filters.direction ?? null,
    action: o.filters.action ?? null,
    capacity,
    // The merge comes after the readers are done: its one table gets their whole share.
    mergeCapacity: Math.max(1, Math.min(MAX_CONVERSATIONS, tableRows)),
    spillDir: context.spillDir,
  };
  const accumulator = new FlowAccumulator(config, { problems, remoteFilter: remoteFilterFor(config.remote), spillName: 'main' });
  let filesDone = 0;
  const filesTotal = files === null ? null : files.length;
  const progress = (): void => {
    filesDone++;
    context.onProgress?.({ filesDone, filesTotal });
  };

  // (Asserted, not annotated: assigned in startHelper, it is not narrowed to null below.)
  let helper = null as Worker | null;
  /**
   * The finish through the partitions takes a second thread: a reader thread that reads no
   * file, started as soon as the finish is known to go that way (while the readers still
   * write their tables to the partitions), so that its start overlaps what comes before.
   */
  const startHelper = (): void => {
    if (helper === null && accumulator.partitioned && (o.workers ?? 2) > 1 && availableParallelism() > 1) {
      helper = startWorker(config, [], new Int32Array(new SharedArrayBuffer(4)));
    }
  };
  try {
    if (files !== null) await readLocalFiles(files, threads, config, accumulator, { problems, progress, read: startHelper });
    if (files === null && 'prefixes' in input) {
      for (const prefix of input.prefixes) {
        for await (const object of input.objects.list(prefix)) {
          await scanFlowLogObject(input.objects, object.key, accumulator, problems);
          progress();
        }
      }
    }
    startHelper();

    const series = accumulator.series;
    const minutes = series.minutes;
    let first = Infinity;
    let last = -Infinity;
    for (const minute of minutes) {
      if (minute < first) first = minute;
      if (minute > last) last = minute;
    }
    const from = config.from ?? (minutes.length === 0 ? null : first * 60);
    const to = config.to ?? (minutes.length === 0 ? null : (last + 1) * 60);
    let bucketSeconds = o.bucketSeconds ?? (from === null || to === null ? 60 : chooseBucketSeconds(to - from));
    if (from !== null && to !== null && (to - from) / bucketSeconds > MAX_TIMELINE_BUCKETS) bucketSeconds = chooseBucketSeconds(to - from, MAX_TIMELINE_BUCKETS);
    const timeline = from === null || to === null || minutes.length === 0 ? [] : buildTimeline(series, from, to, bucketSeconds, o.thresholds.spike);

    // The detectors see the conversations a partition at a time, in one order whatever the
    // threads and the spills (their groups, and so their findings, follow it).
    const markFrom = o.markFrom as FindingMark | undefined;
    const detector = new FlowFindingDetector(timeline, bucketSeconds, {
      ...(markFrom === undefined ? {} : { mark: markFrom }),
      thresholds: o.thresholds,
      transfers: {
        usualOutboundPerMinute: (transfer) => (from === null || to === null ? 0 : medianOutboundPerMinute(series, from, to, transfer)),
        internal: insideRanges(o.vpcCidrs ?? PRIVATE_RANGES),
      },
    });
    const spilled = accumulator.spilled;
    const conversations = await accumulator.finish(detector, markFrom ?? null, helper === null ? null : helperOf(helper));
    const findings = detector.findings();
    if (!accumulator.spilled) removeSpillFolder(context.spillDir);

    if (accumulator.minuteOverflow > 0) {
      problems.add({
        file: '(all files)', code: 'more-problems',
        message: `${accumulator.minuteOverflow} matching records start in minutes beyond the first ${MAX_MINUTES} with traffic; they are in the conversations but not in the timeline (narrow the window).`,
      });
    }
    // By file, in reading order within a file (one thread reads each file): the same listing whatever the threads.
    problems.listed.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    return {
      query: {
        localIps: config.localIps,
        eni: config.eni,
        filters: {
          remote: config.remote, localPorts: config.localPorts, remotePorts: config.remotePorts, protocols: config.protocols,
          direction: config.direction, action: config.action,
        },
      },
      records: { ...accumulator.counts },
      conversations,
      timeline,
      findings,
      problems: problems.listed,
      problemCount: problems.total,
      files: filesDone,
      bucketSeconds,
      window: { from: from === null ? null : new Date(from * 1000).toISOString(), to: to === null ? null : new Date(to * 1000).toISOString() },
      spilled: spilled || accumulator.spilled,
      dispose: () => removeSpillFolder(context.spillDir),
    };
  } finally {
    // Before the spill folder can go (on an error, with the rest): the helper may be writing runs into it.
    await helper?.terminate();
  }
}

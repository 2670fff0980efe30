/**
 * Benchmark: what orgshield's job layer costs over BullMQ. No-op steps run as a rollout step
 * runs them, side by side with raw BullMQ no-op jobs on the same Redis, in one run.
 *
 *   npm run bench:queue-overhead -w @orgshield/bench -- [--jobs 5000] [--concurrency 16] [--rounds 3]
 *
 * Both sides run the same shape: `concurrency` chains of jobs, each job queuing the next of its
 * chain when it finishes (as a rollout step queues what may follow), on a worker that runs
 * `concurrency` jobs at once, until `jobs` jobs have run. Both add jobs with the options
 * orgshield gives its own (attempts, backoff, removeOnComplete), so the difference is the layer:
 * - raw: a BullMQ Worker whose processor queues the next job with Queue.add;
 * - orchestrated: orgshield's WorkerService running a `defineJob` contract (payload and result
 *   checked by zod, the job attributed for the audit trail, a pino logger); each step runs as a
 *   rollout's write step does (the plan, read once per rollout, is left out): it enters the run's
 *   guard (RunStateStore.guarded: running, this generation, not done already, in one script), records
 *   its result and its event and leaves the guard in one script, and queues the next step
 *   through JobQueues.submit (payload checked, deterministic id). What a rollout does between
 *   steps (queueRunnableSteps reads state, plan and results to pick the next) is not modelled.
 * Rounds alternate raw and orchestrated, so load that comes and goes touches both; the ratio is
 * of the medians (target at least 0.7). Prints JSON, then Markdown.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { z } from 'zod';
import { defineJob, JobQueues, RunStateStore } from '@orgshield/jobs';
import { processor, WorkerService } from '@orgshield/worker-runtime';
import { benchArgs, countArg } from './bench-args.js';
import { connectRedis, deletePrefix, loadAverage, markdownTable, round } from './bench-kit.js';

const TARGET_RATIO = 0.7;

const args = benchArgs(
  "npm run bench:queue-overhead -w @orgshield/bench -- [options]\nWhat orgshield's job layer costs over raw BullMQ, no-op steps side by side on one Redis.",
  {
    jobs: { description: 'jobs per round on each side', default: '5000' },
    concurrency: { description: 'chains of jobs, and jobs the worker runs at once', default: '16' },
    rounds: { description: 'rounds of each side, alternating', default: '3' },
  },
);
const jobs = countArg('jobs', args.jobs);
const concurrency = countArg('concurrency', args.concurrency);
const rounds = countArg('rounds', args.rounds);
const chainLength = Math.ceil(jobs / concurrency);

const QUEUE = 'bench-noop';
/** The job options orgshield's JobQueues.submit gives every job. */
const JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential' as const, delay: 1000 }, removeOnComplete: { age: 300, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600 } };

const noopStep = defineJob({
  name: 'bench.noop-step',
  queue: QUEUE,
  payload: z.object({ runId: z.string(), chain: z.number().int().nonnegative(), step: z.number().int().nonnegative(), generation: z.number().int().nonnegative() }).strict(),
  result: z.object({ runId: z.string(), step: z.string(), outcome: z.string() }),
});

interface RunState {
  status: string;
  generation: number;
}

/** Resolves after `total` jobs finished, with the seconds it took from `started`. */
function finishLine(total: number): { finished: () => void; done: Promise<number>; start: () => void } {
  let count = 0;
  let started = 0;
  let resolve!: (seconds: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  return {
    start: () => (started = performance.now()),
    finished: () => {
      count += 1;
      if (count === total) resolve((performance.now() - started) / 1000);
    },
    done,
  };
}

async function rawRound(prefix: string): Promise<number> {
  const redis = await connectRedis();
  const queue = new Queue(QUEUE, { connection: redis, prefix });
  const line = finishLine(chainLength * concurrency);
  const worker = new Worker(
    QUEUE,
    async (job) => {
      const { chain, step } = job.data as { chain: number; step: number };
      if (step + 1 < chainLength) await queue.add('noop', { chain, step: step + 1 }, { ...JOB_OPTIONS, jobId: `c${chain}.s${step + 1}` });
      line.finished();
    },
    { connection: redis.duplicate(), prefix, concurrency },
  );
  await worker.waitUntilReady();
  line.start();
  for (let chain = 0; chain < concurrency; chain += 1) await queue.add('noop', { chain, step: 0 }, { ...JOB_OPTIONS, jobId: `c${chain}.s0` });
  const seconds = await line.done;
  await worker.close();
  await queue.close();
  redis.disconnect();
  return seconds;
}

async function orchestratedRound(prefix: string): Promise<number> {
  const redis = await connectRedis();
  const queues = new JobQueues(redis, { prefix });
  const runs = new RunStateStore<{ id: string }, RunState, { at: string; message: string }>(redis, { keyPrefix: `${prefix}:bench`, kind: 'run', releasedStatuses: ['completed'] });
  const runId = `run-${randomUUID().slice(0, 8)}`;
  await runs.create({ id: runId, name: runId, record: { id: runId }, state: { status: 'running', generation: 0 }, createdAt: Date.now() });
  const line = finishLine(chainLength * concurrency);
  const service = new WorkerService({
    connection: redis,
    logger: pino({ level: 'warn' }),
    prefix,
    concurrency: { [QUEUE]: concurrency },
    onJobFinished: () => line.finished(),
    processors: [
      processor(noopStep, async ({ runId: id, chain, step, generation }, { job }) => {
        const field = `${chain}.${step}`;
        const guarded = await runs.guarded(id, { status: 'running', generation, member: `${job.id}.${randomUUID()}`, ttlMs: 30_000, done: { part: 'steps', field } }, async (guard) => {
          // the step's work would be here: nothing, for this benchmark
          const recorded = await guard.complete({ part: 'steps', field, value: JSON.stringify({ outcome: 'noop', at: Date.now() }), event: { message: `step ${field} noop` } });
          if (!recorded) throw new Error(`step ${field} lost its guard`);
          return 'noop';
        });
        if (!guarded.entered) return { runId: id, step: field, outcome: guarded.done === undefined ? 'skipped' : 'done' };
        if (step + 1 < chainLength) await queues.submit(noopStep, { runId: id, chain, step: step + 1, generation }, { jobId: `${id}.c${chain}.s${step + 1}` });
        return { runId: id, step: field, outcome: guarded.value };
      }),
    ],
  });
  await service.start();
  line.start();
  for (let chain = 0; chain < concurrency; chain += 1) await queues.submit(noopStep, { runId, chain, step: 0, generation: 0 }, { jobId: `${runId}.c${chain}.s0` });
  const seconds = await line.done;
  const recorded = Object.keys(await runs.fields(runId, 'steps')).length;
  if (recorded !== chainLength * concurrency) throw new Error(`the run recorded ${recorded} steps, not ${chainLength * concurrency}`);
  const events = (await runs.events(runId)).events.length;
  if (events !== recorded) throw new Error(`the run has ${events} events for ${recorded} steps`);
  await service.close();
  await queues.close();
  redis.disconnect();
  return seconds;
}

const redis = await connectRedis();
const total = chainLength * concurrency;
const raw: number[] = [];
const orchestrated: number[] = [];
const loadAtStart = loadAverage();
for (let round = 0; round < rounds; round += 1) {
  for (const [side, results, run] of [
    ['raw', raw, rawRound],
    ['orchestrated', orchestrated, orchestratedRound],
  ] as const) {
    const prefix = `bench-q-${randomUUID().slice(0, 8)}`;
    try {
      const seconds = await run(prefix);
      results.push(total / seconds);
      process.stderr.write(`round ${round + 1} ${side}: ${total} jobs in ${seconds.toFixed(2)} s\n`);
    } finally {
      await deletePrefix(redis, `${prefix}:`);
    }
  }
}
redis.disconnect();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ratio = median(orchestrated) / median(raw);
const result = {
  jobsPerRound: total,
  concurrency,
  rounds,
  loadAverage: { atStart: loadAtStart, atEnd: loadAverage() },
  rawJobsPerSecond: raw.map((rate) => round(rate)),
  orchestratedStepsPerSecond: orchestrated.map((rate) => round(rate)),
  medianRaw: round(median(raw)),
  medianOrchestrated: round(median(orchestrated)),
  ratio: round(ratio, 3),
  targetRatio: TARGET_RATIO,
  pass: ratio >= TARGET_RATIO,
};
console.log(JSON.stringify(result, null, 2));
console.log();
console.log(
  markdownTable(
    ['raw BullMQ (jobs/s, median)', 'orchestrated (steps/s, median)', `ratio (>= ${TARGET_RATIO})`, 'jobs per round', 'concurrency', 'rounds', 'load average at start'],
    [[result.medianRaw, result.medianOrchestrated, result.ratio, total, concurrency, rounds, loadAtStart.join(' / ')]],
  ),
);
// WorkerService's duplicated connections outlive close(): exit rather than wait on them.
process.exit(result.pass ? 0 : 1);

/**
 * Benchmark: what orgshield's job layer costs over BullMQ. No-op steps run as a rollout step
 * runs them, side by side with raw BullMQ no-op jobs on the same Redis, in one run.
 *
 *   npm run bench:queue-overhead -w @orgshield/bench -- [--jobs 20000] [--concurrency 16] [--rounds 5]
 *
 * Both sides run the same shape: `concurrency` chains of jobs, each job queuing the next of its
 * chain when it finishes (as a rollout step queues what may follow), on a worker that runs
 * `concurrency` jobs at once, until `jobs` jobs have run. Both add jobs with the options
 * orgshield gives its own (attempts, backoff, removeOnComplete), so the difference is the layer:
 * - raw: a BullMQ Worker whose processor queues the next job with Queue.add;
 * - orchestrated: orgshield's WorkerService running a `defineJob` contract (payload and result
 *   checked by zod, the job attributed for the audit trail, a pino logger); each step runs as a
 *   rollout's write step does (the plan, read once per rollout, is left out): it enters the run's
 *   guard (RunStateStore.guarded: running, this generation, not done already, in one script),
 *   records its result and its event and leaves the guard in one script that also reads back the
 *   run's state and the steps done, decides what runs next from them with the rollout scheduler
 *   (runnableSteps), and queues it through JobQueues.submit (payload checked, deterministic id).
 *   Each chain runs rollouts of 22 steps (the demo rollout's plan size: the steps done that
 *   come back grow with it) one after the other, so `concurrency` rollouts run at once.
 * Rounds are long (20,000 jobs, about 5 s): at 5,000 a round lasted about a second, raw BullMQ
 * was still warming up (its rate swung 3,500 to 7,200 jobs/s within one run) and the ratio swung
 * 0.50 to 0.78 between runs at the same load. Rounds alternate raw and orchestrated, so load that comes and goes touches both; the ratio is
 * of the medians (target at least 0.7). Prints JSON, then Markdown.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { z } from 'zod';
import { runnableSteps, type PlanStep } from '@orgshield/firewall';
import { defineJob, JobQueues, RunStateStore } from '@orgshield/jobs';
import { processor, WorkerService } from '@orgshield/worker-runtime';
import { benchArgs, countArg } from './bench-args.js';
import { connectRedis, deletePrefix, loadAverage, markdownTable, round } from './bench-kit.js';

const TARGET_RATIO = 0.7;

const args = benchArgs(
  "npm run bench:queue-overhead -w @orgshield/bench -- [options]\nWhat orgshield's job layer costs over raw BullMQ, no-op steps side by side on one Redis.",
  {
    jobs: { description: 'jobs per round on each side', default: '20000' },
    concurrency: { description: 'chains of jobs, and jobs the worker runs at once', default: '16' },
    rounds: { description: 'rounds of each side, alternating', default: '5' },
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

/** A round this long has stopped, not slowed down (one takes about 5 s): it fails, saying where its jobs are. */
const ROUND_LIMIT_MS = 120_000;

/** Resolves after `total` jobs finished, with the seconds it took from `started`. */
function finishLine(total: number): { finished: () => void; done: Promise<number>; start: () => void; count: () => number } {
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
    count: () => count,
  };
}

/**
 * The seconds a round took (finishLine), or, past ROUND_LIMIT_MS, an error naming how many jobs
 * finished and where the queue's jobs are: one run (of many) hung in its first raw round, with
 * no key left in Redis, and could only be killed.
 */
async function roundSeconds(line: ReturnType<typeof finishLine>, redis: Redis, prefix: string): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const stopped = `round ${prefix} stopped after ${ROUND_LIMIT_MS / 1000} s: ${line.count()} of ${chainLength * concurrency} jobs finished`;
      void Promise.all([new Queue(QUEUE, { connection: redis, prefix }).getJobCounts(), redis.keys(`${prefix}:*`)]).then(
        ([counts, keys]) => reject(new Error(`${stopped}; the queue holds ${JSON.stringify(counts)} in ${keys.length} keys; the connection is ${redis.status}.`)),
        (error: unknown) => reject(new Error(`${stopped}; the queue could not be read (${String(error)}); the connection is ${redis.status}.`)),
      );
    }, ROUND_LIMIT_MS);
  });
  try {
    return await Promise.race([line.done, stopped]);
  } finally {
    clearTimeout(timer);
  }
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
  const seconds = await roundSeconds(line, redis, prefix);
  await worker.close();
  await queue.close();
  redis.disconnect();
  return seconds;
}

/** Steps of each rollout a chain runs: the demo rollout's plan (3 waves, 2 regions, 2 policies) has 22. */
const STEPS_PER_ROLLOUT = 22;

/** A rollout as the scheduler sees it: a sequential plan of `length` steps. */
function rolloutPlan(length: number) {
  return {
    concurrency: 'sequential' as const,
    steps: Array.from({ length }, (_, step): PlanStep => ({ kind: 'delete', id: `s${step}`, wave: 'w', region: 'r', policy: 'p', variant: 'enforce', name: 'p' })),
  };
}

async function orchestratedRound(prefix: string): Promise<number> {
  const redis = await connectRedis();
  const queues = new JobQueues(redis, { prefix });
  const runs = new RunStateStore<{ id: string }, RunState, { at: string; message: string }>(redis, { keyPrefix: `${prefix}:bench`, kind: 'run', releasedStatuses: ['completed'] });
  // Chain c runs rollouts c.0, c.1, ... one after the other, each of STEPS_PER_ROLLOUT steps (the last one of what is left).
  const rolloutsPerChain = Math.ceil(chainLength / STEPS_PER_ROLLOUT);
  // Planned once, as the executor caches a rollout's plan.
  const plans = Array.from({ length: rolloutsPerChain }, (_, rollout) => rolloutPlan(Math.min(STEPS_PER_ROLLOUT, chainLength - rollout * STEPS_PER_ROLLOUT)));
  const planOf = (rollout: number) => plans[rollout] ?? rolloutPlan(0);
  const runId = (chain: number, rollout: number) => `${prefix}-c${chain}.r${rollout}`;
  for (let chain = 0; chain < concurrency; chain += 1) {
    for (let rollout = 0; rollout < rolloutsPerChain; rollout += 1) {
      const id = runId(chain, rollout);
      await runs.create({ id, name: id, record: { id }, state: { status: 'running', generation: 0 }, createdAt: Date.now() });
    }
  }
  const line = finishLine(chainLength * concurrency);
  const service = new WorkerService({
    connection: redis,
    logger: pino({ level: 'warn' }),
    prefix,
    concurrency: { [QUEUE]: concurrency },
    onJobFinished: () => line.finished(),
    processors: [
      processor(noopStep, async ({ runId: id, chain, step, generation }, { job }) => {
        const rollout = Math.floor(step / STEPS_PER_ROLLOUT);
        const field = `s${step % STEPS_PER_ROLLOUT}`;
        const guarded = await runs.guarded(id, { status: 'running', generation, member: `${job.id}.${randomUUID()}`, ttlMs: 30_000, done: { part: 'steps', field } }, async (guard) => {
          // the step's work would be here: nothing, for this benchmark
          const after = await guard.completeAndRead({ part: 'steps', field, value: JSON.stringify({ outcome: 'noop', at: Date.now() }), event: { message: `step ${field} noop` } });
          if (!after) throw new Error(`step ${field} lost its guard`);
          return after;
        });
        if (!guarded.entered) return { runId: id, step: field, outcome: guarded.done === undefined ? 'skipped' : 'done' };
        const { state, fields } = guarded.value;
        if (state?.status !== 'running') return { runId: id, step: field, outcome: 'noop' };
        const next = runnableSteps(planOf(rollout), new Set(fields));
        for (const { id: nextField } of next) {
          const nextStep = rollout * STEPS_PER_ROLLOUT + Number(nextField.slice(1));
          await queues.submit(noopStep, { runId: id, chain, step: nextStep, generation: state.generation }, { jobId: `${id}.${nextField}` });
        }
        // A rollout done, the chain's next one starts (a rollout would mark itself completed here).
        const following = (rollout + 1) * STEPS_PER_ROLLOUT;
        if (next.length === 0 && following < chainLength) {
          await queues.submit(noopStep, { runId: runId(chain, rollout + 1), chain, step: following, generation: 0 }, { jobId: `${runId(chain, rollout + 1)}.s0` });
        }
        return { runId: id, step: field, outcome: 'noop' };
      }),
    ],
  });
  await service.start();
  line.start();
  for (let chain = 0; chain < concurrency; chain += 1) await queues.submit(noopStep, { runId: runId(chain, 0), chain, step: 0, generation: 0 }, { jobId: `${runId(chain, 0)}.s0` });
  const seconds = await roundSeconds(line, redis, prefix);
  for (let chain = 0; chain < concurrency; chain += 1) {
    for (let rollout = 0; rollout < rolloutsPerChain; rollout += 1) {
      const id = runId(chain, rollout);
      const recorded = Object.keys(await runs.fields(id, 'steps')).length;
      const planned = planOf(rollout).steps.length;
      if (recorded !== planned) throw new Error(`run ${id} recorded ${recorded} steps, not ${planned}`);
      const events = (await runs.events(id)).events.length;
      if (events !== recorded) throw new Error(`run ${id} has ${events} events for ${recorded} steps`);
    }
  }
  await service.close();
  await queues.close();
  redis.disconnect();
  return seconds;
}

const redis = await connectRedis();
const total = chainLength * concurrency;
const raw: number[] = [];
const orchestrated: number[] = [];
/** CPU time per job (µs), this process (both sides run here) and Redis (shared: other clients count too): steadier than rates under load. */
const cpu = { raw: { node: [] as number[], redis: [] as number[] }, orchestrated: { node: [] as number[], redis: [] as number[] } };
const redisCpuSeconds = async () => {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^used_cpu_${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('user') + field('sys');
};
const loadAtStart = loadAverage();
for (let round = 0; round < rounds; round += 1) {
  for (const [side, results, run] of [
    ['raw', raw, rawRound],
    ['orchestrated', orchestrated, orchestratedRound],
  ] as const) {
    const prefix = `bench-q-${randomUUID().slice(0, 8)}`;
    try {
      const [nodeBefore, redisBefore] = [process.cpuUsage(), await redisCpuSeconds()];
      const seconds = await run(prefix);
      const node = process.cpuUsage(nodeBefore);
      cpu[side].node.push((node.user + node.system) / total);
      cpu[side].redis.push(((await redisCpuSeconds()) - redisBefore) * 1e6 / total);
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
  cpuMicrosecondsPerJob: {
    raw: { node: round(median(cpu.raw.node)), redis: round(median(cpu.raw.redis)) },
    orchestrated: { node: round(median(cpu.orchestrated.node)), redis: round(median(cpu.orchestrated.redis)) },
  },
  targetRatio: TARGET_RATIO,
  pass: ratio >= TARGET_RATIO,
};
console.log(JSON.stringify(result, null, 2));
console.log();
console.log(
  markdownTable(
    [
      'raw BullMQ (jobs/s, median)',
      'orchestrated (steps/s, median)',
      `ratio (>= ${TARGET_RATIO})`,
      'CPU µs/job raw (node + Redis)',
      'CPU µs/step orchestrated (node + Redis)',
      'jobs per round',
      'concurrency',
      'rounds',
      'load average at start',
    ],
    [
      [
        result.medianRaw,
        result.medianOrchestrated,
        result.ratio,
        `${result.cpuMicrosecondsPerJob.raw.node} + ${result.cpuMicrosecondsPerJob.raw.redis}`,
        `${result.cpuMicrosecondsPerJob.orchestrated.node} + ${result.cpuMicrosecondsPerJob.orchestrated.redis}`,
        total,
        concurrency,
        rounds,
        loadAtStart.join(' / '),
      ],
    ],
  ),
);
process.exitCode = result.pass ? 0 : 1;

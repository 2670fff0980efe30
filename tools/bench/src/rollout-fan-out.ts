/**
 * Benchmark: an organization-wide rollout against per-operation quotas in the sandbox, with 1
 * worker and with 4 (separate processes, one Redis), against the least time those quotas allow.
 *
 *   npm run bench:fan-out -w @orgshield/bench -- \
 *     [--accounts 5000] [--ous 500] [--regions us-east-1,us-west-2,eu-west-1,eu-central-1] [--workers 1,4] [--concurrency 4] [--seed 1]
 *
 * The sandbox's FMS allows GetComplianceDetail 20/s, ListComplianceStatus 10/s and every other
 * FMS operation 5/s, each per region (a bucket as deep as one second's worth); orgshield is not
 * told these rates and starts from its defaults (5/s for FMS), learning from there. Each worker
 * runs `--concurrency` rollout steps and as many gate detail batches at once (ORGSHIELD_CONCURRENCY
 * firewall=N; the firewall-details queue follows it), so one worker can take the rollout's regions in
 * parallel. The bound comes from the request log: per region and operation, (calls - burst) /
 * rate, the largest of them. Also reported: throttled calls (target under 1%), each worker's
 * peak RSS (target under 400 MB), and each PutPolicy sent once, and per region each gate's
 * detail reads: the seconds they ran, their calls per second while they did, and the seconds
 * none ran between their first and last (the region's quota unused while it had reads left).
 * Prints JSON, then Markdown.
 */
import { benchArgs, countArg, numberArg } from './bench-args.js';
import { detailPhases, isThrottled, loadAverage, markdownTable, quotaFigures, regionsArg, round, type Quota } from './bench-kit.js';
import { runRollout } from './rollout-run.js';

const TARGET_RATIO = 1.1;
const TARGET_THROTTLED = 0.01;
const TARGET_WORKER_RSS_MB = 400;

/** The sandbox's FMS quotas per account and region: AWS publishes none, so these stand in. */
const QUOTAS: Record<string, Quota> = {
  GetComplianceDetail: { rate: 20, burst: 20 },
  ListComplianceStatus: { rate: 10, burst: 10 },
  '*': { rate: 5, burst: 5 },
};
const quotaOf = (operation: string): Quota => QUOTAS[operation] ?? QUOTAS['*']!;

const args = benchArgs(
  "npm run bench:fan-out -w @orgshield/bench -- [options]\nAn organization-wide rollout against the sandbox's FMS quotas, by 1 worker and by more, against the least time the quotas allow.",
  {
    accounts: { description: 'accounts in the sandbox organization', default: '5000' },
    ous: { description: 'organizational units', default: '500' },
    regions: { description: 'regions of the rollout, comma-separated', default: 'us-east-1,us-west-2,eu-west-1,eu-central-1' },
    workers: { description: 'worker processes of each run, comma-separated', default: '1,4' },
    concurrency: { description: 'rollout steps (and as many detail batches) each worker runs at once', default: '4' },
    seed: { description: 'the sandbox seed', default: '1' },
  },
);

const accounts = countArg('accounts', args.accounts);
const ous = numberArg('ous', args.ous);
const regions = regionsArg(args.regions);
const workerCounts = args.workers.split(',').map((count) => countArg('workers', count));
const concurrency = countArg('concurrency', args.concurrency);
const seed = numberArg('seed', args.seed);

const faults = {
  operations: Object.fromEntries(Object.entries(QUOTAS).map(([operation, quota]) => [`fms:${operation}`, { rate: quota.rate, burst: quota.burst }])),
};

const runs = [];
for (const workers of workerCounts) {
  process.stderr.write(`rollout over ${accounts} accounts x ${regions.length} regions with ${workers} worker(s)...\n`);
  const load = loadAverage();
  const run = await runRollout({ accounts, ous, regions, workers, concurrency, faults, seed, timeoutMs: 3_600_000 });
  const operations = quotaFigures(run.requests, quotaOf);
  const bound = operations[0];
  const quotaSeconds = bound?.quotaSeconds ?? 0;
  const throttled = run.requests.filter(isThrottled).length;
  const throttledShare = run.requests.length === 0 ? 0 : throttled / run.requests.length;
  const ratio = run.elapsedSeconds / quotaSeconds;
  const peakRss = Math.max(...run.workerPeakRssMb);
  runs.push({
    workers,
    concurrencyPerWorker: concurrency,
    status: run.status,
    ...(run.status === 'completed' ? {} : { message: run.message }),
    elapsedSeconds: round(run.elapsedSeconds),
    quotaSeconds: round(quotaSeconds),
    boundBy: bound ? `${bound.operation} in ${bound.region}` : 'nothing',
    ratio: round(ratio, 3),
    calls: run.requests.length,
    throttled,
    throttledPercent: round(throttledShare * 100, 2),
    putPolicy: run.putPolicy,
    workerPeakRssMb: run.workerPeakRssMb.map((mb) => round(mb)),
    loadAverageAtStart: load,
    operations,
    detailPhases: detailPhases(run.requests),
    pass:
      run.status === 'completed' &&
      ratio <= TARGET_RATIO &&
      throttledShare < TARGET_THROTTLED &&
      peakRss < TARGET_WORKER_RSS_MB &&
      run.putPolicy.answered === run.putPolicy.planned,
  });
}

const result = {
  org: { accounts, ous, regions, seed },
  quotas: QUOTAS,
  targets: { ratio: TARGET_RATIO, throttledPercent: TARGET_THROTTLED * 100, workerPeakRssMb: TARGET_WORKER_RSS_MB },
  loadAverageAtEnd: loadAverage(),
  runs,
  pass: runs.every((run) => run.pass),
};
console.log(JSON.stringify(result, null, 2));
console.log();
console.log(
  markdownTable(
    ['workers', 'status', 'elapsed (s)', 'quota bound (s)', `ratio (<= ${TARGET_RATIO})`, 'calls', 'throttled (< 1%)', 'PutPolicy sent / planned', 'worker peak RSS (MB, < 400)', 'load average at start'],
    runs.map((run) => [
      run.workers,
      run.status,
      run.elapsedSeconds,
      run.quotaSeconds,
      run.ratio,
      run.calls,
      `${run.throttled} (${run.throttledPercent}%)`,
      `${run.putPolicy.answered} / ${run.putPolicy.planned}`,
      run.workerPeakRssMb.join(', '),
      run.loadAverageAtStart.join(' / '),
    ]),
  ),
);
for (const run of runs) {
  console.log();
  console.log(`${run.workers} worker(s), bound by ${run.boundBy}:`);
  console.log();
  console.log(
    markdownTable(
      ['region', 'operation', 'quota (/s)', 'calls', 'throttled', 'quota time (s)'],
      run.operations.map((o) => [o.region, o.operation, quotaOf(o.operation).rate, o.calls, o.throttled, round(o.quotaSeconds)]),
    ),
  );
  console.log();
  console.log(
    markdownTable(
      ['region', 'detail reads from (s)', 'to (s)', 'calls', 'calls/s while any', 'seconds with none'],
      run.detailPhases.map((phase) => [phase.region, phase.from, phase.to, phase.calls, phase.callsPerActiveSecond, phase.idleSeconds]),
    ),
  );
}
process.exitCode = result.pass ? 0 : 1;

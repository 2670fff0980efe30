/**
 * Benchmark: 4 workers against 1 when latency, not quotas or the cores, is the limit: the same
 * organization-wide rollout as bench:fan-out, with every AWS call taking a fixed 50 ms in the
 * sandbox and no quota (neither in the sandbox nor in orgshield's client-side buckets).
 *
 *   npm run bench:scale-out -w @orgshield/bench -- \
 *     [--accounts 5000] [--ous 500] [--regions us-east-1,us-west-2,eu-west-1,eu-central-1] [--latency 50] [--workers 4] [--seed 1]
 *
 * Each worker runs at its default configuration (one firewall job at a time), so what more
 * workers add is jobs under way: the rollout's regions are separate step jobs, taken by
 * whichever worker is free. Throughput is the rollout's FMS calls per second; the ratio is
 * 4 workers' over 1's, measured in the same run (target at least 3). Prints JSON, then Markdown.
 */
import { parseArgs } from 'node:util';
import { countArg, loadAverage, markdownTable, numberArg, round } from './bench-kit.js';
import { runRollout } from './rollout-run.js';

const TARGET_RATIO = 3;

const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '5000' },
    ous: { type: 'string', default: '500' },
    regions: { type: 'string', default: 'us-east-1,us-west-2,eu-west-1,eu-central-1' },
    latency: { type: 'string', default: '50' },
    workers: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
  },
});
const accounts = countArg('accounts', args.accounts);
const ous = numberArg('ous', args.ous);
const regions = args.regions.split(',').filter(Boolean);
const latencyMs = numberArg('latency', args.latency);
const many = countArg('workers', args.workers);
const seed = numberArg('seed', args.seed);

/** Every AWS call the rollout makes takes `latencyMs`, and nothing is throttled. */
const faults = { operations: { 'fms:*': { latencyMs: [latencyMs, latencyMs] as [number, number] } } };
/** orgshield's own buckets out of the way: "quotas are not the limit". */
const rateLimits = { 'fms:*': { rate: 100_000, burst: 100_000, ceiling: 100_000 } };

const runs = [];
for (const workers of [1, many]) {
  process.stderr.write(`rollout over ${accounts} accounts x ${regions.length} regions, ${latencyMs} ms per call, ${workers} worker(s)...\n`);
  const load = loadAverage();
  const run = await runRollout({ accounts, ous, regions, workers, faults, rateLimits, seed, timeoutMs: 3_600_000 });
  runs.push({
    workers,
    status: run.status,
    ...(run.status === 'completed' ? {} : { message: run.message }),
    elapsedSeconds: round(run.elapsedSeconds),
    calls: run.requests.length,
    callsPerSecond: round(run.requests.length / run.elapsedSeconds),
    putPolicy: run.putPolicy,
    workerPeakRssMb: run.workerPeakRssMb.map((mb) => round(mb)),
    loadAverageAtStart: load,
  });
}
const [one, more] = runs as [(typeof runs)[number], (typeof runs)[number]];
const ratio = more.callsPerSecond / one.callsPerSecond;
const result = {
  org: { accounts, ous, regions, seed },
  latencyMs,
  targetRatio: TARGET_RATIO,
  runs,
  ratio: round(ratio, 2),
  loadAverageAtEnd: loadAverage(),
  pass: runs.every((run) => run.status === 'completed') && ratio >= TARGET_RATIO,
};
console.log(JSON.stringify(result, null, 2));
console.log();
console.log(
  markdownTable(
    ['workers', 'status', 'elapsed (s)', 'FMS calls', 'calls/s', `ratio to 1 worker (>= ${TARGET_RATIO})`, 'load average at start'],
    runs.map((run) => [run.workers, run.status, run.elapsedSeconds, run.calls, run.callsPerSecond, round(run.callsPerSecond / one.callsPerSecond, 2), run.loadAverageAtStart.join(' / ')]),
  ),
);
process.exitCode = result.pass ? 0 : 1;

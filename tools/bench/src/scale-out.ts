/**
 * Benchmark: 4 workers against 1 when latency, not quotas or the cores, is the limit: the same
 * organization-wide rollout as bench:fan-out, with every AWS call taking a fixed 50 ms in the
 * sandbox and no quota (neither in the sandbox nor in orgshield's client-side buckets).
 *
 *   npm run bench:scale-out -w @orgshield/bench -- \
 *     [--accounts 5000] [--ous 500] [--regions us-east-1,us-west-2,eu-west-1,eu-central-1] [--latency 50] [--workers 4] [--seed 1]
 *
 * Each worker runs at its default configuration (one firewall job at a time, --concurrency to
 * change it), so what more workers add is jobs under way: the rollout's regions are separate
 * step jobs, and a gate's detail reads are batch jobs of about 250 accounts (8 calls at a time
 * each), all taken by whichever worker is free. A region's writes and a gate's compliance pages
 * still run in order, one job at a time. Throughput is the rollout's FMS calls per second; the
 * ratio is 4 workers' over 1's, measured in the same run (target at least 3).
 *
 * Latency is the limit only while the cores are not: each run also reports the CPU seconds the
 * workers and the sandbox (this process) used, the CPU cost of a call, and the share of the
 * machine's cores busy, sampled each second: the run's own processes and the whole machine
 * (other processes on a shared machine count too), as a mean over the run and in its busiest
 * 5 s. A run whose busiest 5 s kept the machine's cores about busy (machine peak near 1) was
 * limited there by the cores, not by the calls' latency, and its ratio says so rather than
 * anything about the workers: the mean alone hides it, since much of a rollout is waiting for
 * FMS (evaluations, remediation, soaks) with the cores idle.
 *
 * Much of the rollout is time no worker can shorten: soaks, FMS evaluating 3 s after each
 * change, remediation, and the writes and compliance pages, which a region runs in order. So
 * beside the whole run's ratio, this reports the detail reads' ratio: GetComplianceDetail
 * calls per second over the seconds in which any were made (1 s bins). That phase is the part
 * workers can share. The target stays on the whole run; the detail ratio shows whether the
 * workers scaled where they can, and the rest is what waits on FMS.
 * Prints JSON, then Markdown.
 */
import { availableParallelism } from 'node:os';
import { benchArgs, countArg, numberArg } from './bench-args.js';
import { loadAverage, markdownTable, regionsArg, round } from './bench-kit.js';
import { runRollout } from './rollout-run.js';

const TARGET_RATIO = 3;

const args = benchArgs(
  'npm run bench:scale-out -w @orgshield/bench -- [options]\n4 workers against 1 when every AWS call takes a fixed latency and nothing else limits them.',
  {
    accounts: { description: 'accounts in the sandbox organization', default: '5000' },
    ous: { description: 'organizational units', default: '500' },
    regions: { description: 'regions of the rollout, comma-separated', default: 'us-east-1,us-west-2,eu-west-1,eu-central-1' },
    latency: { description: 'milliseconds every sandbox call takes', default: '50' },
    workers: { description: 'worker processes of the larger run', default: '4' },
    concurrency: { description: "firewall jobs each worker runs at once (default: the worker's own)" },
    seed: { description: 'the sandbox seed', default: '1' },
  },
);
const accounts = countArg('accounts', args.accounts);
const ous = numberArg('ous', args.ous);
const regions = regionsArg(args.regions);
const latencyMs = numberArg('latency', args.latency);
const many = countArg('workers', args.workers);
const seed = numberArg('seed', args.seed);
const concurrency = args.concurrency === undefined ? undefined : countArg('concurrency', args.concurrency);
const cores = availableParallelism();
/** Above this share of the cores busy, the cores (not the 50 ms) were the limit. */
const CPU_LIMITED_SHARE = 0.8;

/** Every AWS call the rollout makes takes `latencyMs`, and nothing is throttled. */
const faults = { operations: { 'fms:*': { latencyMs: [latencyMs, latencyMs] as [number, number] } } };
/** orgshield's own buckets out of the way: "quotas are not the limit". */
const rateLimits = { 'fms:*': { rate: 100_000, burst: 100_000, ceiling: 100_000 } };

const runs = [];
for (const workers of [1, many]) {
  process.stderr.write(`rollout over ${accounts} accounts x ${regions.length} regions, ${latencyMs} ms per call, ${workers} worker(s)...\n`);
  const load = loadAverage();
  const run = await runRollout({ accounts, ous, regions, workers, faults, rateLimits, seed, timeoutMs: 3_600_000, ...(concurrency ? { concurrency } : {}) });
  const cpuTotal = run.cpuSeconds.workers + run.cpuSeconds.sandbox;
  const details = run.requests.filter((line) => line.operation === 'GetComplianceDetail');
  const detailSeconds = new Set(details.map((line) => Math.floor(line.t / 1000))).size;
  runs.push({
    workers,
    status: run.status,
    ...(run.status === 'completed' ? {} : { message: run.message }),
    elapsedSeconds: round(run.elapsedSeconds),
    calls: run.requests.length,
    callsPerSecond: round(run.requests.length / run.elapsedSeconds),
    /** GetComplianceDetail calls per second over the seconds in which any were made. */
    detailCallsPerSecond: round(details.length / Math.max(1, detailSeconds)),
    detailSeconds,
    putPolicy: run.putPolicy,
    workerPeakRssMb: run.workerPeakRssMb.map((mb) => round(mb)),
    cpuSeconds: { workers: round(run.cpuSeconds.workers), sandbox: round(run.cpuSeconds.sandbox) },
    cpuMsPerCall: round((cpuTotal * 1000) / run.requests.length),
    /** Share of the machine's cores busy: this run's processes and the whole machine, mean and busiest 5 s. */
    cpuShare: run.cpuShare,
    loadAverageAtStart: load,
  });
}
const [one, more] = runs as [(typeof runs)[number], (typeof runs)[number]];
const ratio = more.callsPerSecond / one.callsPerSecond;
const cpuLimited = runs.some((run) => run.cpuShare.machine.peak >= CPU_LIMITED_SHARE);
const result = {
  org: { accounts, ous, regions, seed },
  latencyMs,
  concurrency: concurrency ?? 'default',
  cores,
  cpuLimited,
  ...(cpuLimited ? { note: `in a run's busiest 5 s, ${CPU_LIMITED_SHARE * 100}% or more of the machine's ${cores} cores were busy: the cores, not the ${latencyMs} ms calls, limited it there, so the ratio does not measure the workers alone` } : {}),
  targetRatio: TARGET_RATIO,
  runs,
  ratio: round(ratio, 2),
  detailRatio: round(more.detailCallsPerSecond / one.detailCallsPerSecond, 2),
  loadAverageAtEnd: loadAverage(),
  pass: runs.every((run) => run.status === 'completed') && ratio >= TARGET_RATIO,
};
console.log(JSON.stringify(result, null, 2));
console.log();
console.log(
  markdownTable(
    ['workers', 'status', 'elapsed (s)', 'FMS calls', 'calls/s', `ratio to 1 worker (>= ${TARGET_RATIO})`, 'detail reads/s (s with any)', 'detail ratio', 'CPU ms per call', `${cores} cores busy, ours: mean / peak 5 s`, 'machine: mean / peak 5 s', 'load average at start'],
    runs.map((run) => [
      run.workers,
      run.status,
      run.elapsedSeconds,
      run.calls,
      run.callsPerSecond,
      round(run.callsPerSecond / one.callsPerSecond, 2),
      `${run.detailCallsPerSecond} (${run.detailSeconds})`,
      round(run.detailCallsPerSecond / one.detailCallsPerSecond, 2),
      run.cpuMsPerCall,
      `${run.cpuShare.ours.mean} / ${run.cpuShare.ours.peak}`,
      `${run.cpuShare.machine.mean} / ${run.cpuShare.machine.peak}`,
      run.loadAverageAtStart.join(' / '),
    ]),
  ),
);
process.exitCode = result.pass ? 0 : 1;

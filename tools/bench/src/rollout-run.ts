/**
 * One organization-wide Firewall Manager rollout on a sandbox organization, run by N built
 * worker processes (apps/worker/dist/main.js, as deployed) on one Redis, timed from submit to
 * settled. The fan-out and scale-out benchmarks both run it.
 *
 * The rollout: two policies (regional WAF baseline, Shield Advanced) in every region asked, over
 * the accounts of the top-level OUs (see rolloutScope),
 * regions in parallel, three waves as the demo has them: a canary OU in audit mode, everyone
 * in audit mode (gates halt on a violation reason, so every non-compliant account's
 * GetComplianceDetail is read: the per-account fan-out), everyone remediated (a count gate).
 * The sandbox's FMS evaluates 3 s after a change (time scale 0.01), as in the figures of
 * earlier sessions, so they stay comparable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverOrganization, saveSnapshot, type OrganizationSnapshot } from '@orgshield/accounts';
import { AwsClientFactory, type RateLimits } from '@orgshield/aws';
import { FIREWALL_QUEUE, readRolloutSource, RolloutControl } from '@orgshield/firewall';
import { bullmqStepQueue } from '@orgshield/worker-runtime';
import { JobQueues } from '@orgshield/jobs';
import { startSandbox, type FaultsConfig } from '@orgshield/sandbox';
import { connectRedis, cpuSeconds, deletePrefix, machineBusySeconds, peakRssMb, readRequestLog, REDIS_URL, type LogLine } from './bench-kit.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const workerMain = join(repoRoot, 'apps/worker/dist/main.js');

export interface RolloutRunOptions {
  accounts: number;
  ous: number;
  regions: readonly string[];
  workers: number;
  /** Firewall jobs each worker runs at once (ORGSHIELD_CONCURRENCY firewall=N); undefined: the worker's default. */
  concurrency?: number;
  /** What the sandbox enforces: quotas, latency. */
  faults: FaultsConfig;
  /** ORGSHIELD_RATE_LIMITS of the workers; undefined: orgshield's defaults, learning from there. */
  rateLimits?: RateLimits;
  seed: number;
  timeoutMs: number;
}

export interface RolloutRunResult {
  status: string;
  message: string;
  elapsedSeconds: number;
  steps: number;
  /** Accounts the last wave reached, per region. */
  accounts: number;
  /** The sandbox's log of the rollout's FMS requests (nothing else runs against it meanwhile). */
  requests: LogLine[];
  /** Each worker's peak resident set (VmHWM) over the run, MB. */
  workerPeakRssMb: number[];
  /** CPU seconds used during the rollout: the workers' together, and this process's (the sandbox, the control side). */
  cpuSeconds: { workers: number; sandbox: number };
  /**
   * The share of the machine's cores busy, sampled each second: `ours` is the workers' and this
   * process's CPU, `machine` everything (other processes included); `peak` is the busiest 5 s
   * window. A run average hides a phase where the cores were the limit; the peak shows it.
   */
  cpuShare: { ours: { mean: number; peak: number }; machine: { mean: number; peak: number } };
  /** PutPolicy calls the sandbox answered with 200 vs the put steps planned: each once. */
  putPolicy: { planned: number; answered: number };
}

/**
 * The rollout's scope is the top-level OUs but `Suspended` (the accounts directly under the root
 * are left out), as in the figures of earlier sessions, when an `all` scope did not plan.
 */
function rolloutScope(snapshot: OrganizationSnapshot): { scope: string[]; canary: string } {
  const top = snapshot.ous.filter((ou) => ou.parentId === snapshot.root.id && ou.name !== 'Suspended');
  const canary = top.find((ou) => ou.name === 'Policy Staging') ?? top[0];
  if (!canary) throw new Error('the sandbox organization has no top-level OU to roll out to; give --ous 5 or more.');
  return { scope: top.map((ou) => ou.id), canary: canary.id };
}

function policyFiles(regions: readonly string[], { scope, canary }: { scope: string[]; canary: string }): Record<string, string> {
  const list = `[${regions.join(', ')}]`;
  return {
    'policies/regional-waf.yaml': `name: bench-waf-baseline
type: WAFV2
resourceTypes: [alb, api-gateway-stage]
regions: ${list}
webACLSource: RETROFIT_EXISTING
rules:
  defaultAction: ALLOW
  firstRuleGroups:
    - managedRuleGroup: { vendor: AWS, name: AWSManagedRulesCommonRuleSet }
      override: COUNT
  lastRuleGroups:
    - managedRuleGroup: { vendor: AWS, name: AWSManagedRulesAmazonIpReputationList }
`,
    'policies/regional-shield.yaml': `name: bench-shield
type: SHIELD_ADVANCED
resourceTypes: [alb, classic-elb, eip]
regions: ${list}
`,
    'rollout.yaml': `kind: Rollout
name: bench-fan-out
policies: [policies/regional-waf.yaml, policies/regional-shield.yaml]
scope: { ous: [${scope.join(', ')}] }
regions: { order: ${list}, concurrency: parallel, failureTolerance: { count: 0 } }
waves:
  - name: canary-audit
    targets: { ous: [${canary}] }
    mode: audit
    soakTime: 500ms
    gates: { haltOnViolationReasons: [RESOURCE_INCORRECT_WEB_ACL], timeout: 30m }
  - name: rest-audit
    targets: { all: true }
    mode: audit
    soakTime: 500ms
    gates: { haltOnViolationReasons: [RESOURCE_INCORRECT_WEB_ACL], timeout: 30m }
  - name: all-remediate
    targets: { all: true }
    mode: remediate
    soakTime: 500ms
    gates: { maxNonCompliantAccounts: 0, timeout: 30m }
`,
  };
}

/** The built worker, as deployed: its whole configuration from the environment. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [workerMain], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], AWS_EC2_METADATA_DISABLED: 'true', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`worker ${child.pid}: ${chunk.toString()}`));
  return child;
}

/** Mean and busiest-5-s share of the cores from cumulative CPU samples taken each second. */
function shareOfCores(samples: readonly { at: number; ours: number; machine: number }[], which: 'ours' | 'machine'): { mean: number; peak: number } {
  const cores = availableParallelism();
  const share = (from: (typeof samples)[number], to: (typeof samples)[number]) => (to[which] - from[which]) / ((to.at - from.at) / 1000) / cores;
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at === first.at) return { mean: 0, peak: 0 };
  let peak = 0;
  for (let index = 5; index < samples.length; index++) peak = Math.max(peak, share(samples[index - 5]!, samples[index]!));
  return { mean: Number(share(first, last).toFixed(2)), peak: Number(peak.toFixed(2)) };
}

export async function runRollout(options: RolloutRunOptions): Promise<RolloutRunResult> {
  const redis = await connectRedis();
  const dir = mkdtempSync(join(tmpdir(), 'orgshield-bench-rollout-'));
  const requestLog = join(dir, 'requests.jsonl');
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const sandbox = await startSandbox({ port: 0, accounts: options.accounts, ous: options.ous, seed: options.seed, timeScale: 0.01, requestLog, faults: options.faults });
  const workers: ChildProcess[] = [];
  const queues = new JobQueues(redis, { prefix });
  try {
    // Untimed: the organization snapshot the rollout plans against, as `org sync` leaves it.
    const setupClients = new AwsClientFactory({ ...sandbox.clientConfig(), rateLimits: { 'organizations:*': { rate: 5000, burst: 5000 } } });
    const snapshot = await discoverOrganization(setupClients);
    await saveSnapshot(redis, snapshot, { keyPrefix: `${prefix}:` });
    setupClients.destroy();

    for (const [file, text] of Object.entries(policyFiles(options.regions, rolloutScope(snapshot)))) {
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    const env: Record<string, string> = {
      ...sandbox.env(),
      REDIS_URL,
      ORGSHIELD_QUEUE_PREFIX: prefix,
      ORGSHIELD_HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      ...(options.concurrency ? { ORGSHIELD_CONCURRENCY: `firewall=${options.concurrency}` } : {}),
      ...(options.rateLimits ? { ORGSHIELD_RATE_LIMITS: JSON.stringify(options.rateLimits) } : {}),
    };
    for (let index = 0; index < options.workers; index += 1) workers.push(spawnWorker(env));
    const waitStarted = Date.now();
    while ((await queues.workerCount(FIREWALL_QUEUE)) < options.workers) {
      if (workers.some((worker) => worker.exitCode !== null)) throw new Error('a worker exited before it was ready; is apps/worker built (npx nx run @orgshield/worker:build)?');
      if (Date.now() - waitStarted > 120_000) throw new Error(`only ${await queues.workerCount(FIREWALL_QUEUE)} of ${options.workers} workers connected within 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const control = new RolloutControl(redis, queues, bullmqStepQueue(queues));
    const source = await readRolloutSource(join(dir, 'rollout.yaml'));
    const workersCpu = () => workers.reduce((sum, worker) => sum + (cpuSeconds(worker.pid ?? -1) ?? 0), 0);
    const cpuAtStart = { workers: workersCpu(), sandbox: process.cpuUsage() };
    const ourCpu = () => {
      const own = process.cpuUsage();
      return workersCpu() + (own.user + own.system) / 1e6;
    };
    const samples = [{ at: performance.now(), ours: ourCpu(), machine: machineBusySeconds() }];
    const sampler = setInterval(() => samples.push({ at: performance.now(), ours: ourCpu(), machine: machineBusySeconds() }), 1000);
    const started = performance.now();
    const { rolloutId } = await control.submit(source, { requestedBy: 'bench' });
    const settled = await control.waitUntilSettled(rolloutId, { timeoutMs: options.timeoutMs, pollMs: 100 }).finally(() => clearInterval(sampler));
    const elapsedSeconds = (performance.now() - started) / 1000;
    samples.push({ at: performance.now(), ours: ourCpu(), machine: machineBusySeconds() });
    const workerPeakRssMb = workers.map((worker) => peakRssMb(worker.pid ?? -1) ?? Number.NaN);
    const sandboxCpu = process.cpuUsage(cpuAtStart.sandbox);
    const cpu = { workers: workersCpu() - cpuAtStart.workers, sandbox: (sandboxCpu.user + sandboxCpu.system) / 1e6 };

    const view = await control.view(rolloutId);
    const plan = view.record.plan;
    const lastWave = plan?.waves.at(-1);
    const requests = readRequestLog(requestLog).filter((line) => line.service === 'fms');
    return {
      status: settled.status,
      message: settled.message,
      elapsedSeconds,
      steps: plan?.steps.length ?? 0,
      accounts: lastWave && 'accounts' in lastWave ? Number(lastWave.accounts) : 0,
      requests,
      workerPeakRssMb,
      cpuSeconds: cpu,
      cpuShare: { ours: shareOfCores(samples, 'ours'), machine: shareOfCores(samples, 'machine') },
      putPolicy: {
        planned: plan?.steps.filter((step) => step.kind === 'put').length ?? 0,
        answered: requests.filter((line) => line.operation === 'PutPolicy' && line.status === 200).length,
      },
    };
  } finally {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.exitCode !== null) return resolve();
            worker.once('exit', () => resolve());
            worker.kill('SIGTERM');
          }),
      ),
    );
    await queues.close();
    await sandbox.close();
    await deletePrefix(redis, `${prefix}:`);
    redis.disconnect();
    // BENCH_REQUEST_LOG=<file> keeps the sandbox's request log, to study the run's timing
    const keep = process.env['BENCH_REQUEST_LOG'];
    if (keep) copyFileSync(requestLog, keep);
    rmSync(dir, { recursive: true, force: true });
  }
}

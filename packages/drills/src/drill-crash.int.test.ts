import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crashAtEveryPoint, type CrashRun, type CrashScenario } from '@orgshield/jobs';
import { drsPlan, startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { deletePrefix, startDrillHarness, TEST_LEASE_MS, type DrillHarness } from '../test/drill-runtime.js';
import type { DrillSource } from './drill-loader.js';

/**
 * The crash harness on drill steps: the step under test runs in a worker process of its own,
 * which is killed (SIGKILL) right after each of its Redis writes and mutating AWS calls in
 * turn; a fresh worker then finishes the drill. Every time the drill completes with the same
 * servers passed, StartRecovery named each server exactly once and TerminateRecoveryInstances
 * each of the drill's recovery instances exactly once (from the sandbox request log's
 * `resources`), and the other drill's instance of a server in this drill was never touched.
 *
 * The fresh worker takes over with a 2 s lease (TEST_LEASE_MS as its BullMQ lock and stalled
 * check): with BullMQ's default 30 s, finding the dead worker's job took 30-60 s of each run's
 * 90 s, and under load a takeover ran out of time (the "unsettled after takeover" failures).
 *
 * Size: `npm test` kills right after every mutating AWS call (StartRecovery,
 * TerminateRecoveryInstances: the points whose repeat would show) and at every fourth point of
 * each step, chosen by index so every run picks the same (11 kills, 16 runs); ORGSHIELD_TEST_SIZE=long kills every point of every step (30). Every step's points are
 * listed and checked against expectedPoints at both sizes.
 */

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const LONG = process.env['ORGSHIELD_TEST_SIZE'] === 'long';

interface World {
  sandbox: RunningSandbox;
  prefix: string;
  harness: DrillHarness;
  drillId?: string;
}

/** One wave over two servers of one account: web-0, and crm-0, which another drill's instance already runs for. */
function crashDrill(sandbox: RunningSandbox): DrillSource {
  const plan = drsPlan(sandbox.world);
  const account = plan.drillAccountIds[0] as string;
  const network = plan.networkOf(account, plan.drillRegion);
  const drill = {
    kind: 'Drill',
    name: 'crash',
    targets: { accounts: [account] },
    regions: [plan.drillRegion],
    servers: { hostnames: ['web-0.corp.example.com', 'crm-0.corp.example.com'] },
    waves: [{ name: 'all', checks: [{ type: 'http', port: 8080, path: '/', expectStatus: 200 }], checkTimeout: '30m' }],
    objectives: { rto: '1h', rpo: '1h' },
    isolation: { subnets: [network.isolatedSubnet.id], securityGroups: [network.isolatedSecurityGroup.id] },
  };
  return { file: 'crash.yaml', text: JSON.stringify(drill, null, 2), caFiles: {} };
}

function scenario(crashJob: string, options: { pollMs?: number } = {}): CrashScenario<World> {
  return {
    async setup() {
      const sandbox = await startSandbox({ accounts: 12, ous: 4, seed: 1, timeScale: 0.001, port: 0 });
      const prefix = `test:${randomBytes(6).toString('hex')}`;
      return { sandbox, prefix, harness: await startDrillHarness(sandbox, prefix) };
    },
    spawn({ sandbox, prefix }, env) {
      return spawn(process.execPath, ['--import', 'tsx', '--conditions=@orgshield/source', 'test/drill-worker-process.ts'], {
        cwd: packageRoot,
        env: { ...process.env, ...sandbox.env(), SANDBOX_URL: sandbox.url, QUEUE_PREFIX: prefix, CRASH_JOB: crashJob, DRILL_POLL_MS: String(options.pollMs ?? 100), ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    },
    async start(world) {
      world.drillId = (await world.harness.control.submit(crashDrill(world.sandbox))).drillId;
    },
    async recover({ harness, sandbox, drillId = '' }, crash) {
      // The fresh worker runs with a short lease, as a worker with ORGSHIELD_LEASE_MS=2000 would: it
      // takes the dead worker's job over within seconds, not BullMQ's default 30-60 s.
      await harness.startWorker({ leaseMs: TEST_LEASE_MS });
      const where = crash ? `after crash point ${crash.index} (${crash.point})` : 'without a crash';
      const final = await harness.control.waitUntilSettled(drillId, { timeoutMs: 90_000, pollMs: 100 });
      expect(final.status, `${where}: ${final.message}`).toBe('completed');
      const report = await harness.control.report(drillId);
      expect(report.servers.map((server) => `${server.hostname}:${server.status}`).sort(), where).toEqual(['crm-0:passed', 'web-0:passed']);
      const drs = sandbox.requests().filter((entry) => entry.service === 'drs');
      const started = drs.filter((entry) => entry.operation === 'StartRecovery' && entry.status < 300).flatMap((entry) => entry.resources ?? []);
      expect(started.sort(), where).toEqual(report.servers.map((server) => server.sourceServerId).sort());
      const terminated = drs.filter((entry) => entry.operation === 'TerminateRecoveryInstances').flatMap((entry) => entry.resources ?? []);
      expect(terminated.sort(), where).toEqual(report.servers.map((server) => server.recoveryInstanceId ?? '?').sort());
      const plan = drsPlan(sandbox.world);
      for (const recovery of plan.recoveries) expect(terminated, where).not.toContain(recovery.recoveryInstanceID);
      expect(report.servers.every((server) => server.terminatedAt !== undefined), where).toBe(true);
    },
    async teardown({ harness, sandbox, prefix }) {
      await harness.close();
      await sandbox.close();
      await deletePrefix(prefix);
    },
  };
}

/** The points killed at `npm test` size: each mutating AWS call, and every fourth point. */
const sample = (index: number, point: string) => LONG || point.startsWith('aws:') || index % 4 === 0;
/** What the harness must have killed at: the sampled points, in order. */
const sampled = (run: CrashRun) => run.points.filter((point, index) => sample(index, point));

// Each test has its own sandbox and Redis prefix, so they run side by side.
describe.concurrent('a drill step killed at every crash point', () => {
  it('start (planning): a fresh worker plans and completes the drill', { timeout: 900_000 }, async () => {
    const run = await crashAtEveryPoint(scenario('^drill\\.run\\.start:'), {
      expectedPoints: ['redis:orgshieldRunCreate <run>', 'redis:multi set <run>', 'redis:orgshieldRunTransition state', 'redis:hset meta', 'redis:addStandardJob wait'],
      sample,
    });
    expect(run.crashedAt).toEqual(sampled(run));
    expect(run.crashedAt).toHaveLength(LONG ? 5 : 2);
  });

  it('preflight: a fresh worker launches the wave and completes the drill', { timeout: 900_000 }, async () => {
    const run = await crashAtEveryPoint(scenario('^drill\\.run\\.step:preflight\\.all$'), { expectedPoints: [
        'redis:multi hset steps',
        'redis:multi xadd events',
        'redis:addStandardJob wait',
        'redis:addDelayedJob marker',
      ], sample });
    expect(run.crashedAt).toEqual(sampled(run));
  });

  it('launch: a fresh worker sends no second StartRecovery for the same servers, and cleans up', { timeout: 900_000 }, async () => {
    const run = await crashAtEveryPoint(scenario('^drill\\.run\\.step:launch\\.'), { expectedPoints: [
        'redis:orgshieldRunEnter state',
        'aws:drs:StartRecovery',
        'redis:orgshieldRunComplete inflight',
        'redis:multi hset steps',
        'redis:multi xadd events',
      ], sample });
    expect(run.crashedAt).toEqual(sampled(run));
  });

  it('watch and measure: a fresh worker measures the wave and completes the drill', { timeout: 900_000 }, async () => {
    // The watch's first look comes once both servers have launched (4 s of real time, over an hour simulated), so it measures and finishes the wave.
    const run = await crashAtEveryPoint(scenario('^drill\\.run\\.step:watch\\.all$', { pollMs: 4000 }), { expectedPoints: [
        'redis:multi hset servers',
        'redis:multi xadd events',
        'redis:multi xadd events',
        'redis:multi hset steps',
        'redis:multi xadd events',
        'redis:orgshieldDrillAddHistory history-written',
        'redis:orgshieldRunTransition state',
        'redis:addStandardJob wait',
      ], sample });
    expect(run.crashedAt).toEqual(sampled(run));
  });

  it('cleanup: a fresh worker sends no second TerminateRecoveryInstances for the same instances', { timeout: 900_000 }, async () => {
    const run = await crashAtEveryPoint(scenario('^drill\\.run\\.step:cleanup$'), { expectedPoints: [
        'redis:orgshieldRunUnderWay inflight',
        'redis:orgshieldLockAcquire <run>',
        'redis:orgshieldRunEnter state',
        'aws:drs:TerminateRecoveryInstances',
        'redis:orgshieldRunComplete inflight',
        'redis:multi xadd events',
        'redis:orgshieldLockRelease <run>',
        'redis:addDelayedJob marker',
      ], sample });
    expect(run.crashedAt).toEqual(sampled(run));
  });
});

import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { saveSnapshot } from '@orgshield/accounts';
import { DrillStore, drillStepJob } from '@orgshield/drills';
import { firewallRolloutStepJob, firewallScheduledRolloutJob, RolloutStore } from '@orgshield/firewall';
import { JobQueues } from '@orgshield/jobs';
import { recordingSetupJob, RecordingRuns } from '@orgshield/session-recording';
import { processorsFor } from './processor-registry.js';
import { createRuntime } from './runtime.js';
import { loadWorkerConfig } from './worker-config.js';
import { WorkerService } from './worker-service.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });

/**
 * A job whose worker dies holding it more often than BullMQ allows (maxStalledCount, 1) is
 * failed by BullMQ without its processor running again: the processor's own catch never sees
 * it. Its run must still end failed, saying why, instead of "running" for ever.
 */
describe('a job failed for good because its workers died holding it (real Redis)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  /** A worker runtime on a prefix of the test's own (lease 1 s), its keys deleted after the test. */
  const world = () => {
    const prefix = `test-stalled-${randomUUID()}`;
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queues = new JobQueues(redis, { prefix });
    const runtime = createRuntime(loadWorkerConfig({ REDIS_URL, ORGSHIELD_QUEUE_PREFIX: prefix, ORGSHIELD_LEASE_MS: '1000' }), redis, logger);
    cleanups.push(async () => {
      await queues.close();
      await runtime.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    });
    return { prefix, redis, queues, runtime };
  };

  it('marks its drill, rollout and recording run failed, with the reason and the way on; a superseded step leaves its rollout alone', async () => {
    const { prefix, redis, queues, runtime } = world();
    // The drill's cleanup, queued when it fails, reads the management account from the snapshot (no AWS here).
    await saveSnapshot(redis, { fetchedAt: new Date().toISOString(), managementAccountId: '111111111111', root: { id: 'r-ab12', name: 'Root' }, ous: [], accounts: [] }, { keyPrefix: runtime.keyPrefix });

    const at = new Date().toISOString();
    const drills = new DrillStore(redis, prefix);
    const drillId = `dr-${randomUUID().slice(0, 8)}`;
    await drills.create({ id: drillId, name: drillId, createdAt: at, source: { file: 'dr.yaml', text: 'name: dr', caFiles: {} }, timeScale: 1 }, { status: 'running', message: 'launching wave w1', at, generation: 0 });
    const rollouts = new RolloutStore(redis, prefix);
    const source = { file: 'fw.yaml', text: 'name: fw', policyFiles: {} };
    const rolloutId = `fw-${randomUUID().slice(0, 8)}`;
    const resumedId = `fw-resumed-${randomUUID().slice(0, 8)}`;
    for (const [id, generation] of [[rolloutId, 0], [resumedId, 1]] as const) {
      await rollouts.create({ id, name: id, createdAt: at, source }, { status: 'running', message: 'running wave 1', at, generation, runningSince: Date.now() });
    }

    const recordings = new RecordingRuns(redis, prefix);
    const { runId } = await recordings.create({ kind: 'setup', recording: `rec-${randomUUID().slice(0, 8)}`, fileId: 'f1' });

    const drillJob = await queues.submit(drillStepJob, { drillId, step: 'launch.w1', round: 0 });
    const stepJob = await queues.submit(firewallRolloutStepJob, { rolloutId, step: 'w1.us-east-1.put.p1', generation: 0 });
    const setupJob = await queues.submit(recordingSetupJob, { runId });
    // A step queued before its rollout was resumed (generation 0 of a rollout now at 1).
    const staleJob = await queues.submit(firewallRolloutStepJob, { rolloutId: resumedId, step: 'w1.us-east-1.put.p1', generation: 0 });

    // Two workers in turn take the jobs and die holding them: their locks are never released.
    for (let round = 0; round < 2; round++) await Promise.all([holdAndDie(prefix, 'drills', 1), holdAndDie(prefix, 'firewall', 2), holdAndDie(prefix, 'recording', 1)]);

    // A healthy worker finds them stalled a second time: BullMQ fails them for good.
    const service = new WorkerService({ connection: redis, logger, prefix, leaseMs: 1000, shutdownTimeoutMs: 5_000, processors: processorsFor(runtime, ['drills', 'firewall', 'recording']) });
    cleanups.push(() => service.close());
    await service.start();
    await until(async () => (await drills.state(drillId))?.status === 'failed' && (await rollouts.state(rolloutId))?.status === 'failed' && (await recordings.state(runId))?.status === 'failed' && (await queues.queue('firewall').getJobState(String(staleJob.id))) === 'failed');

    expect((await drills.state(drillId))?.status).toBe('failed');
    expect((await rollouts.state(rolloutId))?.status).toBe('failed');
    expect((await recordings.state(runId))?.status).toBe('failed');
    for (const job of [drillJob, stepJob, setupJob, staleJob]) {
      const failed = await queues.queue(job.queueName).getJob(String(job.id));
      expect(failed?.failedReason).toBe('job stalled more than allowable limit');
    }
    expect((await drills.state(drillId))?.message).toBe(
      `step launch.w1 failed: job ${drillJob.id} stalled more than allowed: its worker died while holding it; its cleanup is queued; "orgshield drill status ${drillId}" shows it, "orgshield drill run <file>" runs the drill again`,
    );
    expect((await rollouts.state(rolloutId))?.message).toBe(
      `job ${stepJob.id} stalled more than allowed: its worker died while holding it; "orgshield rollout resume ${rolloutId}" goes on from its first unfinished step`,
    );
    expect((await recordings.state(runId))?.message).toBe(
      `job ${setupJob.id} stalled more than allowed: its worker died while holding it; run "orgshield recording setup <file>" again to go on ("orgshield recording status ${runId}" shows this run)`,
    );
    expect(await rollouts.state(resumedId)).toMatchObject({ status: 'running', generation: 1 });
  }, 30_000);

  it('settles a scheduled firing left planning: its rollout fails and lets go of its name, and the schedule says so', async () => {
    const { prefix, redis, queues, runtime } = world();
    const source = {
      file: '/srv/rollouts/nightly.yaml',
      text: 'kind: Rollout\nname: nightly-waf\npolicies: [waf.yaml]\nwaves:\n  - { name: all, targets: { all: true }, mode: audit }\n',
      policyFiles: { 'waf.yaml': 'name: waf\ntype: WAFV2\nresourceTypes: [alb]\nregions: [eu-west-1]\nwebACLSource: RETROFIT_EXISTING\nrules: { defaultAction: ALLOW }\n' },
    };
    const firing = await queues.submit(firewallScheduledRolloutJob, { schedule: 'nightly', source });
    // What the firing had done when its worker died: its rollout created, planning, holding the name.
    const rollouts = new RolloutStore(redis, prefix);
    const rolloutId = `nightly-waf-nightly-${firing.timestamp.toString(36)}`;
    const at = new Date().toISOString();
    await rollouts.create({ id: rolloutId, name: 'nightly-waf', createdAt: at, source, requestedBy: 'schedule nightly', schedule: 'nightly' }, { status: 'planning', message: 'waiting to be planned', at, generation: 0, runningSince: Date.now() });

    for (let round = 0; round < 2; round++) await holdAndDie(prefix, 'firewall', 1);
    const service = new WorkerService({ connection: redis, logger, prefix, leaseMs: 1000, shutdownTimeoutMs: 5_000, processors: processorsFor(runtime, ['firewall']) });
    cleanups.push(() => service.close());
    await service.start();
    await until(async () => (await rollouts.state(rolloutId))?.status === 'failed');

    expect((await queues.queue('firewall').getJob(String(firing.id)))?.failedReason).toBe('job stalled more than allowable limit');
    const message = `job ${firing.id} stalled more than allowed: its worker died while holding it; it changed nothing: the next firing of schedule nightly starts it again, "orgshield rollout start /srv/rollouts/nightly.yaml" starts it now`;
    expect(await rollouts.state(rolloutId)).toMatchObject({ status: 'failed', message });
    expect(await rollouts.runs.nameHolder('nightly-waf')).toBeUndefined();
    expect((await rollouts.scheduleRuns('nightly')).at(-1)).toMatchObject({ rolloutId, status: 'failed', message });
  }, 30_000);
});

/**
 * Starts a worker on `queue` whose processor hangs, waits until it holds `jobs` jobs, then
 * closes it by force: it stops renewing their locks without releasing them, as a killed one does.
 * Its lock (1 s) is long enough that a loaded machine does not lose it while it is alive.
 */
async function holdAndDie(prefix: string, queue: string, jobs: number): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let held = 0;
  let holdingAll!: () => void;
  const holding = new Promise<void>((resolve) => (holdingAll = resolve));
  const worker = new Worker(
    queue,
    async () => {
      if (++held === jobs) holdingAll();
      await new Promise(() => undefined);
    },
    { connection, prefix, concurrency: jobs, lockDuration: 1000, stalledInterval: 500 },
  );
  await holding;
  await worker.close(true);
  connection.disconnect();
}

/** Waits until `condition` holds, or 20 s: the assertions after it then say what did not happen. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !(await condition())) await new Promise((resolve) => setTimeout(resolve, 100));
}

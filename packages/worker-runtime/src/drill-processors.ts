import { currentOrganization } from '@orgshield/firewall';
import { DRILL_JOBS, drillClients, DrillExecutor, DrillInProgressError, drillScheduledJob, drillStartJob, drillStepJob, parseDrillSource, type DrillRuntime } from '@orgshield/drills';
import { OrgshieldError } from '@orgshield/errors';
import { JobQueues } from '@orgshield/jobs';
import type { Runtime } from './runtime.js';
import { processor, type ProcessorMap } from './worker-service.js';

/** Whether a job is on its last attempt, or failed in a way no retry fixes. */
function lastTry(job: { attemptsMade: number; opts: { attempts?: number } }, error: unknown): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || (error instanceof OrgshieldError && error.exitCode === 2);
}

/**
 * DR drills: start (plan), step (preflight, one launch, one look at a wave, one look of the
 * cleanup) and scheduled runs. The executor queues the next steps itself through a producer
 * on the worker's own Redis connection.
 */
export function drillProcessors(runtime: Runtime): ProcessorMap<typeof DRILL_JOBS> {
  const queues = new JobQueues(runtime.redis, { prefix: runtime.config.ORGSHIELD_QUEUE_PREFIX });
  const executor = async (jobId: string | undefined) => {
    const members = await runtime.members();
    const drillRuntime: DrillRuntime = {
      redis: runtime.redis,
      prefix: runtime.config.ORGSHIELD_QUEUE_PREFIX,
      queue: { queueStep: async (payload, options) => void (await queues.submit(drillStepJob, payload, options)) },
      clients: () => drillClients(runtime.clients, members, jobId),
      organization: () => currentOrganization(runtime.clients, runtime.redis, { keyPrefix: runtime.keyPrefix }),
      timeScale: runtime.config.ORGSHIELD_TIME_SCALE,
      pollMs: runtime.config.ORGSHIELD_DRILL_POLL_MS,
      retention: runtime.retention,
      leaseMs: runtime.config.ORGSHIELD_LEASE_MS,
    };
    return new DrillExecutor(drillRuntime);
  };
  return {
    [drillStartJob.name]: processor(drillStartJob, async (payload, { job, progress }) => {
      await progress({ phase: 'planning', done: 0 });
      const drills = await executor(job.id);
      try {
        return await drills.start(payload);
      } catch (error) {
        if (lastTry(job, error)) await drills.failed(payload.drillId, 'start', error instanceof Error ? error.message : String(error));
        throw error;
      }
    }),
    [drillStepJob.name]: processor(drillStepJob, async (payload, { job }) => {
      const drills = await executor(job.id);
      try {
        return await drills.runStep(payload);
      } catch (error) {
        if (lastTry(job, error)) await drills.failed(payload.drillId, payload.step, error instanceof Error ? error.message : String(error));
        throw error;
      }
    }),
    [drillScheduledJob.name]: processor(drillScheduledJob, async (payload, { job }) => {
      const { drill } = parseDrillSource(payload.source);
      const drillId = `${drill.name}-${payload.schedule}-${job.timestamp.toString(36)}`.slice(0, 128);
      try {
        const started = await (await executor(job.id)).start({ drillId, source: payload.source, requestedBy: `schedule ${payload.schedule}`, schedule: payload.schedule });
        return { drillId, status: started.status };
      } catch (error) {
        // The previous run of this drill is still going: this firing is skipped, and says why.
        if (error instanceof DrillInProgressError) return { drillId, status: 'skipped' };
        throw error;
      }
    }),
  };
}

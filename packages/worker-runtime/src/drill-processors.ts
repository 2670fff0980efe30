import { currentOrganization } from '@orgshield/firewall';
import { DRILL_JOBS, drillClients, DrillExecutor, DrillInProgressError, drillScheduledJob, drillStartJob, drillStepJob, parseDrillSource, type DrillRuntime } from '@orgshield/drills';
import { OrgshieldError } from '@orgshield/errors';
import { JobQueues } from '@orgshield/jobs';
import type { Runtime } from './runtime.js';
import { processor, type FailedForGood, type ProcessorMap } from './worker-service.js';

/** A scheduled firing's drill id: the drill's name, the schedule and when it fired. */
function scheduledDrillId(name: string, schedule: string, firedAt: number): string {
  return `${name}-${schedule}-${firedAt.toString(36)}`.slice(0, 128);
}

/**
 * The way on after a drill's step failed: its cleanup runs by itself, a new run starts it over.
 * A failed cleanup's own message says how to run it again.
 */
function failedMessage(drillId: string, step: string, failure: FailedForGood): string {
  if (step === 'cleanup') return failure.reason;
  return `${failure.reason}; its cleanup is queued; "orgshield drill status ${drillId}" shows it, "orgshield drill run <file>" runs the drill again`;
}

/**
 * DR drills: start (plan), step (preflight, one launch, one look at a wave, one look of the
 * cleanup) and scheduled runs. The executor queues the next steps itself through a producer
 * on the worker's own Redis connection.
 */
export function drillProcessors(runtime: Runtime): ProcessorMap<typeof DRILL_JOBS> {
  const queues = new JobQueues(runtime.redis, { prefix: runtime.config.ORGSHIELD_QUEUE_PREFIX });
  const drillExecutor = (clients: DrillRuntime['clients']) =>
    new DrillExecutor({
      redis: runtime.redis,
      prefix: runtime.config.ORGSHIELD_QUEUE_PREFIX,
      queue: { queueStep: async (payload, options) => void (await queues.submit(drillStepJob, payload, options)) },
      clients,
      organization: () => currentOrganization(runtime.clients, runtime.redis, { keyPrefix: runtime.keyPrefix }),
      timeScale: runtime.config.ORGSHIELD_TIME_SCALE,
      pollMs: runtime.config.ORGSHIELD_DRILL_POLL_MS,
      retention: runtime.retention,
      leaseMs: runtime.config.ORGSHIELD_LEASE_MS,
    });
  const executor = async (jobId: string | undefined) => {
    const members = await runtime.members();
    return drillExecutor(() => drillClients(runtime.clients, members, jobId));
  };
  /**
   * A job failed for good (its processor never saw it when its worker died): the drill fails,
   * and its cleanup is queued. That is Redis only, so it needs no member credentials (AWS may be
   * what the incident is about).
   */
  const settler = drillExecutor(() => {
    throw new OrgshieldError('NoAwsHere', 'marking a drill failed makes no AWS call.');
  });
  const failed = (drillId: string, step: string, failure: FailedForGood) => settler.failed(drillId, step, failedMessage(drillId, step, failure));
  return {
    [drillStartJob.name]: processor(
      drillStartJob,
      async (payload, { job, progress }) => {
        await progress({ phase: 'planning', done: 0 });
        return (await executor(job.id)).start(payload);
      },
      (payload, failure) => failed(payload.drillId, 'start', failure),
    ),
    [drillStepJob.name]: processor(
      drillStepJob,
      async (payload, { job }) => (await executor(job.id)).runStep(payload),
      (payload, failure) => failed(payload.drillId, payload.step, failure),
    ),
    [drillScheduledJob.name]: processor(
      drillScheduledJob,
      async (payload, { job }) => {
        const { drill } = parseDrillSource(payload.source);
        const drillId = scheduledDrillId(drill.name, payload.schedule, job.timestamp);
        try {
          const started = await (await executor(job.id)).start({ drillId, source: payload.source, requestedBy: `schedule ${payload.schedule}`, schedule: payload.schedule });
          return { drillId, status: started.status };
        } catch (error) {
          // The previous run of this drill is still going: this firing is skipped, and says why.
          if (error instanceof DrillInProgressError) return { drillId, status: 'skipped' };
          throw error;
        }
      },
      (payload, failure) => failed(scheduledDrillId(parseDrillSource(payload.source).drill.name, payload.schedule, failure.timestamp), 'start', failure),
    ),
  };
}

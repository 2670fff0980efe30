import { currentOrganization } from '@orgshield/firewall';
import { OrgshieldError } from '@orgshield/errors';
import { RECORDING_JOBS, RecordingExecutor, RecordingRuns, recordingAuditJob, recordingEraseJob, recordingSetupJob } from '@orgshield/session-recording';
import type { Runtime } from './runtime.js';
import { processor, type ProcessorMap } from './worker-service.js';

/** Whether a job is on its last attempt, or failed in a way no retry fixes. */
function lastTry(job: { attemptsMade: number; opts: { attempts?: number } }, error: unknown): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || (error instanceof OrgshieldError && error.exitCode === 2);
}

/**
 * Session recording: setup, audit and erase, each one executor call on the run the job names.
 * Logs carry the run id only: the recording file and the erased person stay out of them.
 */
export function recordingProcessors(runtime: Runtime): ProcessorMap<typeof RECORDING_JOBS> {
  const executor = new RecordingExecutor({
    runs: new RecordingRuns(runtime.redis, runtime.config.ORGSHIELD_QUEUE_PREFIX, { retention: runtime.retention }),
    clients: runtime.clients,
    members: () => runtime.members(),
    organization: () => currentOrganization(runtime.clients, runtime.redis, { keyPrefix: runtime.keyPrefix }),
  });
  /** Runs `work`; when the job fails for good, its run is marked failed (an erase forgets its subject). */
  const settling = async <T>(job: { attemptsMade: number; opts: { attempts?: number } }, runId: string | undefined, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (runId !== undefined && lastTry(job, error)) await executor.failed(runId, error instanceof Error ? error.message : String(error));
      throw error;
    }
  };
  return {
    [recordingSetupJob.name]: processor(recordingSetupJob, (payload, { job, progress, logger }) => {
      logger.info({ runId: payload.runId }, 'recording setup');
      return settling(job, payload.runId, () => executor.setup(payload.runId, progress));
    }),
    [recordingAuditJob.name]: processor(recordingAuditJob, async (payload, { job, progress, logger }) => {
      logger.info({ ...('runId' in payload ? { runId: payload.runId } : { schedule: payload.schedule }) }, 'recording audit');
      const result = await settling(job, 'runId' in payload ? payload.runId : undefined, () => executor.audit(payload, { firedAt: job.timestamp, progress }));
      // The job's result stays small; the full report stays with the run.
      const { report: _report, ...summary } = result;
      return summary;
    }),
    [recordingEraseJob.name]: processor(recordingEraseJob, (payload, { job, progress, logger }) => {
      logger.info({ runId: payload.runId }, 'recording erase');
      return settling(job, payload.runId, () => executor.erase(payload.runId, progress));
    }),
  };
}

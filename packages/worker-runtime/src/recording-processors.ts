import { currentOrganization } from '@orgshield/firewall';
import { RECORDING_JOBS, RecordingExecutor, RecordingRuns, recordingAuditJob, recordingEraseJob, recordingSetupJob } from '@orgshield/session-recording';
import type { Runtime } from './runtime.js';
import { processor, type FailedForGood, type ProcessorMap } from './worker-service.js';

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
  /** A job failed for good (its processor never saw it when its worker died): its run fails, and an erase forgets its subject. */
  const failed = (runId: string, command: string, failure: FailedForGood) =>
    executor.failed(runId, `${failure.reason}; run "orgshield recording ${command}" again to go on ("orgshield recording status ${runId}" shows this run)`);
  return {
    [recordingSetupJob.name]: processor(
      recordingSetupJob,
      (payload, { progress, logger }) => {
        logger.info({ runId: payload.runId }, 'recording setup');
        return executor.setup(payload.runId, progress);
      },
      (payload, failure) => failed(payload.runId, 'setup <file>', failure),
    ),
    [recordingAuditJob.name]: processor(
      recordingAuditJob,
      async (payload, { job, progress, logger }) => {
        logger.info({ ...('runId' in payload ? { runId: payload.runId } : { schedule: payload.schedule }) }, 'recording audit');
        const result = await executor.audit(payload, { firedAt: job.timestamp, progress });
        // The job's result stays small; the full report stays with the run.
        const { report: _report, ...summary } = result;
        return summary;
      },
      async (payload, failure) => {
        if ('runId' in payload) await failed(payload.runId, 'audit <file>', failure);
      },
    ),
    [recordingEraseJob.name]: processor(
      recordingEraseJob,
      (payload, { progress, logger }) => {
        logger.info({ runId: payload.runId }, 'recording erase');
        return executor.erase(payload.runId, progress);
      },
      (payload, failure) => failed(payload.runId, 'erase <file> --user <name> --yes', failure),
    ),
  };
}

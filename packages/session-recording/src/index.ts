export {
  RecordingSchema,
  FLEET_TYPES,
  PLATFORMS,
  BUCKET_TEMPLATE_FIELDS,
  bucketNameFor,
  bucketNameProblem,
} from './recording-schema.js';
export type { Recording, RecordingInput, FleetType, Platform } from './recording-schema.js';
export { loadRecording, parseRecordingSource, RecordingFileError } from './recording-loader.js';
export type { LoadedRecording, RecordingSource } from './recording-loader.js';
export {
  renderSessionScripts,
  renderElasticScriptsZip,
  sessionScriptsConfig,
  LINUX_RECORDER,
  WINDOWS_RECORDER,
  ELASTIC_SCRIPTS_ZIP,
} from './session-scripts.js';
export type { SessionScriptFile } from './session-scripts.js';
export { sessionScriptsConfigProblems, SESSION_SCRIPTS_DIRECTORY, MAX_WAITING_TIME_SECONDS } from './session-scripts-config.js';
export type { SessionScriptsConfig, SessionScriptEvent, SessionScriptExecutable } from './session-scripts-config.js';
export { userPseudonym } from './user-pseudonym.js';
export { imageAssistantSteps, RECORDING_IMAGE_TAG } from './image-assistant-steps.js';
export { userPrefixes, userObjectVersions, listUserSessions, exportUserRecordings, eraseUserRecordings } from './user-recordings.js';
export type { RecordingTarget, UserRecordingsContext, RecordingObjectVersion, RecordedSession, ExportManifest, Erasure } from './user-recordings.js';
export { SETUP_STEPS, runSetupStep, setupTarget, AppStreamQuotaError, SetupWaitTimeoutError } from './recording-setup.js';
export type { SetupStep, SetupContext, StepResult } from './recording-setup.js';
export {
  bucketPolicy,
  bucketLifecycle,
  bucketEncryption,
  fleetRoleName,
  fleetRoleArn,
  fleetRolePolicy,
  fleetRoleTrustPolicy,
  scriptsZipKey,
  DEFAULT_KMS_KEY,
} from './recording-access.js';
export { auditRecording, parseSessionsReport } from './recording-audit.js';
export type { AuditReport, FleetAudit, FleetVerdict, SessionFinding } from './recording-audit.js';
export { SESSION_RECORDING_AWS_OPERATIONS } from './aws-operations.js';
export { RECORDING_QUEUE, RECORDING_JOBS, recordingSetupJob, recordingAuditJob, recordingEraseJob, fanOutSummarySchema } from './recording-jobs.js';
export type { FanOutSummary } from './recording-jobs.js';
export { RecordingRuns, RecordingRunHeldError, RECORDING_RUN_KINDS, RECORDING_RUN_STATUSES, SETTLED_RECORDING_STATUSES } from './recording-runs.js';
export type { RecordingRunKind, RecordingRunRecord, RecordingRunState, RecordingRunStatus, RecordingRunEvent, ErasureRecord } from './recording-runs.js';
export { RecordingExecutor } from './recording-executor.js';
export type { RecordingRuntime, SetupRunResult, AuditRunResult, EraseRunResult } from './recording-executor.js';

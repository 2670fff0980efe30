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

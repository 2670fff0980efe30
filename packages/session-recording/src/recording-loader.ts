import { parseYamlWithSchema, readInputFile, SpecFileError, type Locate, type SpecProblem } from '@orgshield/spec-files';
import { RecordingSchema, type Recording } from './recording-schema.js';

/**
 * A recording file as a job carries it by reference: the stored text, so the worker parses exactly
 * what the operator checked. The file names users, so its text stays out of job data and logs.
 */
export interface RecordingSource {
  file: string;
  text: string;
}

export interface LoadedRecording {
  source: RecordingSource;
  recording: Recording;
  /** Where a field is in the file, for problems found after the schema (the planner's). */
  locate: Locate;
}

/** A recording file is not acceptable; `problems` lists every one found. */
export class RecordingFileError extends SpecFileError {
  constructor(problems: readonly SpecProblem[]) {
    super(problems, { code: 'InvalidRecording', what: 'the recording file' });
  }
}

/** Reads and checks a recording file; nothing is sent anywhere. */
export async function loadRecording(file: string): Promise<LoadedRecording> {
  return parseRecordingSource({ file, text: await readInputFile(file, 'recording') });
}

/** Checks a recording file's text, reporting every problem with file, line, column and field. */
export function parseRecordingSource(source: RecordingSource): LoadedRecording {
  const parsed = parseYamlWithSchema(source.text, source.file, RecordingSchema);
  if (!parsed.ok) throw new RecordingFileError(parsed.problems);
  return { source, recording: parsed.value, locate: parsed.locate };
}

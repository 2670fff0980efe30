import { readFileSync } from 'node:fs';
import type { Recording } from './recording-schema.js';
import { SESSION_SCRIPTS_DIRECTORY, sessionScriptsConfigProblems, type SessionScriptsConfig } from './session-scripts-config.js';
import { zipFiles } from './session-scripts-zip.js';

/**
 * The session scripts a recording file asks for, for the platform of its image: AppStream's
 * config.json and the recorder that it starts at SessionStart and stops at SessionTermination,
 * both in the system context (root on Linux, LocalSystem on Windows), where the user cannot
 * stop them.
 */

export interface SessionScriptFile {
  /** Relative to the session scripts directory (and to `--out`). */
  name: string;
  content: string;
  executable: boolean;
}

export const LINUX_RECORDER = 'orgshield-recorder.sh';
export const WINDOWS_RECORDER = 'orgshield-recorder.ps1';
/** The zip an Elastic fleet takes at SessionScriptS3Location. */
export const ELASTIC_SCRIPTS_ZIP = 'session-scripts.zip';
const WINDOWS_POWERSHELL = 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe';

/** The recorder's settings, rendered into the header of the script (nothing else varies). */
function recorderSettings(recording: Recording): [string, string | number][] {
  return [
    ['BUCKET_TEMPLATE', recording.bucket.name],
    ['KEY_PREFIX', recording.bucket.prefix],
    ['FRAMES_PER_SECOND', recording.capture.framesPerSecond],
    ['SEGMENT_SECONDS', recording.capture.segmentSeconds],
    ['PSEUDONYM_KEY_STORE', recording.pseudonymKey.store],
    ['PSEUDONYM_KEY_NAME', recording.pseudonymKey.name],
    // The end script leaves a few seconds of AppStream's wait for its own exit.
    ['STOP_WAIT_SECONDS', Math.max(1, recording.sessionScripts.waitingTime - 5)],
  ];
}

function template(name: string): string {
  return readFileSync(new URL(`../scripts/${name}`, import.meta.url), 'utf8');
}

function withSettings(text: string, marker: string, settings: string[], source: string): string {
  if (!text.includes(marker)) throw new Error(`the recorder template has no ${marker} line`);
  return text.replace(marker, [`${marker.replace('@settings', 'settings')} from the recording file ${source} (written by orgshield recording scripts)`, ...settings].join('\n'));
}

const bashQuote = (value: string | number): string => (typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "'\\''")}'`);
const powershellQuote = (value: string | number): string => (typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`);

function linuxRecorder(recording: Recording): string {
  const settings = recorderSettings(recording).map(([name, value]) => `readonly ${name}=${bashQuote(value)}`);
  return withSettings(template('linux-recorder.sh'), '# @settings', settings, recording.name);
}

function windowsRecorder(recording: Recording): string {
  const settings = recorderSettings(recording).map(([name, value]) => `$${toPascalCase(name)} = ${powershellQuote(value)}`);
  return withSettings(template('windows-recorder.ps1'), '# @settings', settings, recording.name).replaceAll('\n', '\r\n');
}

/** BUCKET_TEMPLATE -> BucketTemplate: PowerShell's naming for script variables. */
function toPascalCase(name: string): string {
  return name
    .toLowerCase()
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

export function sessionScriptsConfig(recording: Recording): SessionScriptsConfig {
  const { waitingTime, s3LogEnabled } = recording.sessionScripts;
  const platform = recording.appstream.platform;
  const directory = SESSION_SCRIPTS_DIRECTORY[platform];
  const executable = (action: 'start' | 'stop') =>
    platform === 'linux'
      ? { context: 'system' as const, filename: `${directory}/${LINUX_RECORDER}`, arguments: action, s3LogEnabled }
      : {
          context: 'system' as const,
          filename: WINDOWS_POWERSHELL,
          arguments: `-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "${directory}\\${WINDOWS_RECORDER}" -Action ${action === 'start' ? 'Start' : 'Stop'}`,
          s3LogEnabled,
        };
  const config: SessionScriptsConfig = {
    SessionStart: { executables: [executable('start')], waitingTime },
    SessionTermination: { executables: [executable('stop')], waitingTime },
  };
  const problems = sessionScriptsConfigProblems(config);
  // The schema keeps the file within AppStream's rules; a problem here is a defect of this module.
  if (problems.length > 0) throw new Error(`orgshield wrote a config.json AppStream would refuse: ${problems.join('; ')}`);
  return config;
}

/** config.json and the recorder for the image's platform, as they go into the session scripts directory. */
export function renderSessionScripts(recording: Recording): SessionScriptFile[] {
  const config = { name: 'config.json', content: `${JSON.stringify(sessionScriptsConfig(recording), null, 2)}\n`, executable: false };
  return recording.appstream.platform === 'linux'
    ? [config, { name: LINUX_RECORDER, content: linuxRecorder(recording), executable: true }]
    : [config, { name: WINDOWS_RECORDER, content: windowsRecorder(recording), executable: false }];
}

/** The same files as one zip, for an Elastic fleet's SessionScriptS3Location. */
export function renderElasticScriptsZip(recording: Recording): Buffer {
  return zipFiles(renderSessionScripts(recording).map((file) => ({ name: file.name, content: Buffer.from(file.content), executable: file.executable })));
}

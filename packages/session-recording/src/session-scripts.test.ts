import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTools } from '../../../vitest.global-setup.js';
import { undefinedBashVariables, undefinedPowerShellVariables } from '../test/script-variables.js';
import { loadRecording } from './recording-loader.js';
import type { Recording } from './recording-schema.js';
import { MAX_WAITING_TIME_SECONDS, SESSION_SCRIPTS_DIRECTORY, sessionScriptsConfigProblems } from './session-scripts-config.js';
import { LINUX_RECORDER, renderElasticScriptsZip, renderSessionScripts, sessionScriptsConfig, WINDOWS_RECORDER } from './session-scripts.js';

const examples = (name: string) => new URL(`../examples/${name}`, import.meta.url).pathname;
const linux = (await loadRecording(examples('admin-recording.yaml'))).recording;
const windows = (await loadRecording(examples('elastic-windows-recording.yaml'))).recording;
const GOLDEN = new URL('../fixtures/golden/', import.meta.url).pathname;

/** What the Linux recorder reads from its environment: AppStream's session variables and the test's overrides. */
const LINUX_INPUTS = [
  'AppStream_Session_ID',
  'AppStream_UserName',
  'AppStream_Stack_Name',
  'AppStream_Resource_Name',
  'AppStream_Image_Arn',
  'AppStream_Instance_Type',
  'AWS_PROFILE',
  'AWS_REGION',
  'DISPLAY',
  'ORGSHIELD_RECORDER_STATE_DIR',
];

function file(recording: Recording, name: string): string {
  const found = renderSessionScripts(recording).find((script) => script.name === name);
  if (!found) throw new Error(`no ${name}`);
  return found.content;
}

describe('config.json', () => {
  it.each([
    ['linux', linux],
    ['windows', windows],
  ])('for %s runs one system executable per event within AppStream\'s wait', (platform, recording) => {
    const config = JSON.parse(file(recording, 'config.json')) as unknown;
    expect(sessionScriptsConfigProblems(config)).toEqual([]);
    const parsed = sessionScriptsConfig(recording);
    for (const event of [parsed.SessionStart, parsed.SessionTermination]) {
      expect(event.waitingTime).toBeLessThanOrEqual(MAX_WAITING_TIME_SECONDS);
      expect(event.executables).toHaveLength(1);
      expect(event.executables[0]?.context).toBe('system');
    }
    const recorder = platform === 'linux' ? `${SESSION_SCRIPTS_DIRECTORY.linux}/${LINUX_RECORDER}` : `${SESSION_SCRIPTS_DIRECTORY.windows}\\${WINDOWS_RECORDER}`;
    // The path config.json runs is where the scripts' own file goes in the directory.
    expect(JSON.stringify(parsed)).toContain(JSON.stringify(recorder).slice(1, -1));
    expect(renderSessionScripts(recording).map((script) => script.name)).toContain(platform === 'linux' ? LINUX_RECORDER : WINDOWS_RECORDER);
  });

  it('refuses what AppStream would refuse', () => {
    const executable = { context: 'system', filename: '/opt/appstream/SessionScripts/x.sh', arguments: '', s3LogEnabled: true };
    expect(
      sessionScriptsConfigProblems({
        SessionStart: { executables: [executable, executable, { ...executable, context: 'root' }], waitingTime: 61 },
        SessionTermination: { executables: [{ ...executable, filename: '' }], waitingTime: 30 },
      }),
    ).toEqual([
      'SessionStart.waitingTime must be a whole number of seconds from 1 to 60, not 61',
      'SessionStart has 2 executables in the system context; AppStream runs at most one',
      'SessionStart.executables[2].context must be "system" or "user", not "root"',
      'SessionTermination.executables[0].filename must name the executable',
    ]);
    expect(sessionScriptsConfigProblems({ SessionStart: { executables: [], waitingTime: 5 } })).toEqual(['SessionTermination is missing']);
  });
});

describe('recorder scripts', () => {
  it.each([
    ['linux', linux, ['config.json', LINUX_RECORDER]],
    ['windows', windows, ['config.json', WINDOWS_RECORDER]],
  ] as const)('for %s match their golden files', (platform, recording, names) => {
    for (const name of names) {
      const golden = join(GOLDEN, platform, name);
      const content = file(recording, name);
      if (process.env['UPDATE_GOLDEN'] === '1') {
        mkdirSync(join(GOLDEN, platform), { recursive: true });
        writeFileSync(golden, content);
      }
      expect(content, `${golden} differs; rerun with UPDATE_GOLDEN=1 after checking the change`).toBe(readFileSync(golden, 'utf8'));
    }
  });

  it('carry the recording file\'s settings', () => {
    const bash = file(linux, LINUX_RECORDER);
    expect(bash).toContain("readonly BUCKET_TEMPLATE='orgshield-recordings-{account}-{region}'");
    expect(bash).toContain('readonly SEGMENT_SECONDS=60');
    expect(bash).toContain('readonly STOP_WAIT_SECONDS=25');
    const powershell = file(windows, WINDOWS_RECORDER);
    expect(powershell).toContain("$PseudonymKeyName = 'orgshield/session-recording/pseudonym-key'");
    expect(powershell).toContain('$FramesPerSecond = 5');
    // Windows PowerShell 5.1 reads CRLF scripts; a bare LF would be a defect of the generator.
    expect(powershell.replaceAll('\r\n', '')).not.toContain('\n');
  });

  it('the bash recorder passes shellcheck', () => {
    requireTools(['shellcheck']);
    const directory = mkdtempSync(join(tmpdir(), 'recorder-'));
    const script = join(directory, LINUX_RECORDER);
    writeFileSync(script, file(linux, LINUX_RECORDER));
    // shellcheck exits non-zero on any finding, at every severity, and prints it.
    expect(execFileSync('shellcheck', ['--severity=style', script], { encoding: 'utf8' })).toBe('');
  });

  it('the bash recorder reads no variable it does not set, besides AppStream\'s session variables', () => {
    expect(undefinedBashVariables(file(linux, LINUX_RECORDER), LINUX_INPUTS)).toEqual([]);
    // The check itself finds a variable nobody sets.
    expect(undefinedBashVariables(`${file(linux, LINUX_RECORDER)}\necho "$SEGMENT_SECOND"\n`, LINUX_INPUTS)).toEqual(['SEGMENT_SECOND']);
  });

  it('the PowerShell recorder reads no variable it does not set', () => {
    const script = file(windows, WINDOWS_RECORDER);
    expect(undefinedPowerShellVariables(script)).toEqual([]);
    expect(undefinedPowerShellVariables(script.replace("$PseudonymKeyStore = 'secretsmanager'", ''))).toEqual(['pseudonymkeystore']);
  });

  it('use only paths inside the session scripts directory, their state directory and the system\'s', () => {
    const code = file(linux, LINUX_RECORDER)
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#') || line.startsWith('#!'))
      .join('\n');
    // Absolute paths as words of their own (not "$session_dir"/run-... or a sed expression).
    const bashPaths = [...code.matchAll(/(?<=^|[\s='(<>!]|:-)["']?(\/[a-z][\w./-]*)/gm)].map((match) => match[1]);
    expect(new Set(bashPaths)).toEqual(new Set(['/bin/bash', '/etc/profile.d/appstream_system_vars.sh', '/etc/profile.d/appstream_user_vars.sh', '/var/lib/orgshield-recorder', '/dev/null']));
    const windowsPaths = [...file(windows, WINDOWS_RECORDER).matchAll(/'([A-Za-z]:\\[^']*)'/g)].map((match) => match[1]!);
    expect(windowsPaths.length).toBeGreaterThan(0);
    for (const path of windowsPaths) expect(path.startsWith(SESSION_SCRIPTS_DIRECTORY.windows), path).toBe(true);
  });
});

describe('the Elastic fleet zip', () => {
  it.each([
    ['windows', windows],
    ['linux', linux],
  ])('for %s holds config.json and the recorder, as unzip reads it', (_platform, recording) => {
    requireTools(['unzip']);
    const directory = mkdtempSync(join(tmpdir(), 'scripts-zip-'));
    const zip = join(directory, 'session-scripts.zip');
    writeFileSync(zip, renderElasticScriptsZip(recording));
    execFileSync('unzip', ['-tq', zip]);
    for (const script of renderSessionScripts(recording)) {
      expect(execFileSync('unzip', ['-p', zip, script.name], { encoding: 'utf8' })).toBe(script.content);
    }
    const listing = execFileSync('zipinfo', [zip], { encoding: 'utf8' });
    if (recording.appstream.platform === 'linux') expect(listing).toMatch(/-rwxr-xr-x .* orgshield-recorder\.sh/);
    // The same recording file gives the same bytes, so an unchanged zip is not uploaded again.
    expect(renderElasticScriptsZip(recording).equals(renderElasticScriptsZip(recording))).toBe(true);
  });
});

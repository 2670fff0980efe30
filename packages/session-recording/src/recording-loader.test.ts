import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '@orgshield/errors';
import { loadRecording, parseRecordingSource, RecordingFileError } from './recording-loader.js';
import { bucketNameFor, bucketNameProblem } from './recording-schema.js';

const EXAMPLE = new URL('../examples/admin-recording.yaml', import.meta.url).pathname;
const exampleText = readFileSync(EXAMPLE, 'utf8');

/** The example with one line replaced, to see each refusal at its line. */
function withLine(find: string, replace: string): string {
  expect(exampleText).toContain(find);
  return exampleText.replace(find, replace);
}

function problemsOf(text: string): string[] {
  try {
    parseRecordingSource({ file: 'rec.yaml', text });
  } catch (error) {
    expect(error).toBeInstanceOf(RecordingFileError);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).exitCode).toBe(2);
    return (error as RecordingFileError).problems.map((problem) => `${problem.file}:${problem.line}:${problem.column} ${problem.path}: ${problem.message}`);
  }
  throw new Error('the file was accepted');
}

describe('recording file', () => {
  it('loads the example with its defaults', async () => {
    const { recording } = await loadRecording(EXAMPLE);
    expect(recording.kind).toBe('SessionRecording');
    expect(recording.appstream.fleet).toMatchObject({ name: 'admin-fleet', type: 'ON_DEMAND', maxUserDurationSeconds: 57_600, disconnectTimeoutSeconds: 900 });
    expect(recording.sessionScripts).toEqual({ waitingTime: 30, s3LogEnabled: true });
    expect(recording.appstream.allowedImages).toEqual([]);
  });

  it.each([
    ['a fleet name AppStream would refuse', '    name: admin-fleet', '    name: "-admin fleet"', 'appstream.fleet.name', 'AppStream refuses this name'],
    ['a stack name over 101 characters', '    name: admin-stack', `    name: ${'s'.repeat(102)}`, 'appstream.stack.name', 'AppStream refuses this name'],
    ['an image name with a slash', '  imageName: admin-recording-image', '  imageName: admin/image', 'appstream.imageName', 'AppStream refuses this name'],
    ['a bucket name with capitals', '  name: orgshield-recordings-{account}-{region}', '  name: Orgshield-{account}-{region}', 'bucket.name', 'lowercase letters'],
    ['a bucket name too long for S3', '  name: orgshield-recordings-{account}-{region}', `  name: ${'r'.repeat(40)}-{account}-{region}`, 'bucket.name', '3 to 63 characters'],
    ['a bucket name without the account', '  name: orgshield-recordings-{account}-{region}', '  name: orgshield-recordings-{region}', 'bucket.name', 'must hold {account}'],
    ['a bucket name with an unknown placeholder', '  name: orgshield-recordings-{account}-{region}', '  name: rec-{account}-{stack}', 'bucket.name', 'not {stack}'],
    ['a bucket name with a reserved prefix', '  name: orgshield-recordings-{account}-{region}', '  name: xn--rec-{account}', 'bucket.name', 'reserves the prefixes'],
    ['a WaitingTime over 60', '  waitingTime: 30', '  waitingTime: 61', 'sessionScripts.waitingTime', 'at most 60 seconds'],
    ['an unknown fleet type', '    type: ON_DEMAND', '    type: SPOT', 'appstream.fleet.type', 'must be "ALWAYS_ON" or "ON_DEMAND" or "ELASTIC"'],
    ['an instance type AppStream lacks', '    instanceType: stream.standard.medium\n    streamView: DESKTOP', '    streamView: DESKTOP\n    instanceType: m5.large', 'appstream.fleet.instanceType', 'stream.standard.medium'],
    ['a user that is not an email', '    - userName: ada@example.com', '    - userName: ada', 'appstream.users[0].userName', 'email address'],
    ['an unknown field', '  retentionDays: 90', '  retentionDays: 90\n  retention: 90', 'bucket.retention', 'unknown field'],
    ['SSE-S3 with a KMS key', '  encryption: SSE-KMS', '  encryption: SSE-S3\n  kmsKey: alias/mine', 'bucket.kmsKey', 'SSE-S3 takes no key'],
    ['a prefix with a leading slash', '  prefix: recordings/', '  prefix: /recordings/', 'bucket.prefix', 'folder names'],
    ['an unknown platform', '  platform: linux', '  platform: macos', 'appstream.platform', '"windows" or "linux"'],
  ])('refuses %s at its line, naming the field', (_what, find, replace, path, message) => {
    const text = withLine(find, replace);
    const problems = problemsOf(text);
    const line = text.split('\n').indexOf(replace.split('\n').at(-1)!) + 1;
    expect(problems.some((problem) => problem.startsWith(`rec.yaml:${line}:`) && problem.includes(` ${path}: `) && problem.includes(message)), problems.join('\n')).toBe(true);
  });

  it('needs maxConcurrentSessions and a VPC for an ELASTIC fleet', () => {
    const problems = problemsOf(withLine('    type: ON_DEMAND', '    type: ELASTIC'));
    expect(problems.join('\n')).toContain('appstream.fleet.capacity.maxConcurrentSessions: an ELASTIC fleet needs maxConcurrentSessions');
    expect(problems.join('\n')).toContain('appstream.imageBuilder: an ELASTIC fleet takes its scripts as a zip');
    expect(problems.join('\n')).toContain('appstream.fleet.vpc: an ELASTIC fleet needs a VPC');
  });

  it('loads the Elastic Windows example', async () => {
    const { recording } = await loadRecording(new URL('../examples/elastic-windows-recording.yaml', import.meta.url).pathname);
    expect(recording.appstream).toMatchObject({ platform: 'windows', fleet: { type: 'ELASTIC', capacity: { maxConcurrentSessions: 10 } } });
    expect(recording.appstream.imageBuilder).toBeUndefined();
  });

  it('refuses a user listed twice, whatever the case', () => {
    const problems = problemsOf(withLine('      lastName: Lovelace', '      lastName: Lovelace\n    - userName: ADA@example.com'));
    expect(problems.join('\n')).toContain('appstream.users[1].userName: user ADA@example.com is listed twice');
  });

  it('says a missing file in one sentence with exit code 2', async () => {
    await expect(loadRecording('/nonexistent/rec.yaml')).rejects.toMatchObject({ exitCode: 2, message: 'The recording file /nonexistent/rec.yaml does not exist; check the path.' });
  });
});

describe('bucket names', () => {
  it('follow the template per account and region', () => {
    expect(bucketNameFor('rec-{account}-{region}', { account: '111122223333', region: 'eu-west-1' })).toBe('rec-111122223333-eu-west-1');
  });

  it.each([
    ['ab', '3 to 63'],
    ['a'.repeat(64), '3 to 63'],
    ['-abc', 'begin and end'],
    ['abc-', 'begin and end'],
    ['a..b', 'adjacent periods'],
    ['192.168.1.1', 'IP addresses'],
    ['sthree-abc', 'reserves the prefixes'],
    ['abc-s3alias', 'reserves the suffixes'],
    ['my.bucket', 'TLS'],
  ])('refuses %s', (name, message) => {
    expect(bucketNameProblem(name)).toContain(message);
  });

  it('accepts a plain name', () => {
    expect(bucketNameProblem('orgshield-recordings-111122223333-eu-west-1')).toBeUndefined();
  });
});

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsClientFactory } from '@orgshield/aws';
import { sandboxTest as test } from '@orgshield/sandbox/fixture';
import { afterEach, expect } from 'vitest';
import { requireTools } from '../../../vitest.global-setup.js';
import { parseRecordingSource } from './recording-loader.js';
import { bucketNameFor } from './recording-schema.js';
import { LINUX_RECORDER, renderSessionScripts } from './session-scripts.js';
import { userPseudonym } from './user-pseudonym.js';

const run = promisify(execFile);
const REGION = 'eu-west-1';
const SEGMENT_SECONDS = 10;
/** Planted so that any place it leaks to (keys, the recorder's log) can be searched for it. */
const USER = 'Planted.Person-7f3a@Example.com';
const SESSION = 'c2b5e1d0-0f7e-4a8e-9d44-3a1f0b6e9c21';

/** What a test leaves running (the recorder, X servers) is stopped even when it fails. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** An X server on a free display (Xvfb picks it and writes its number to -displayfd). */
async function startXvfb(size: string, display?: string): Promise<{ display: string; server: ChildProcess }> {
  const args = display ? [display, '-screen', '0', `${size}x24`, '-nolisten', 'tcp'] : ['-displayfd', '1', '-screen', '0', `${size}x24`, '-nolisten', 'tcp'];
  const server = spawn('Xvfb', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(async () => {
    if (server.exitCode === null && server.signalCode === null) await stopXvfb(server, display ?? '');
  });
  if (display) {
    const socket = `/tmp/.X11-unix/X${display.slice(1)}`;
    await until(() => existsSync(socket), 10_000, `Xvfb did not open ${display}`);
    return { display, server };
  }
  const number = await new Promise<string>((resolve, reject) => {
    server.stdout!.once('data', (data: Buffer) => resolve(data.toString().trim()));
    server.once('exit', () => reject(new Error('Xvfb exited before it chose a display')));
  });
  return { display: `:${number}`, server };
}

/** SIGTERM lets Xvfb remove its lock and socket, so the display can be opened again. */
async function stopXvfb(server: ChildProcess, display: string): Promise<void> {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
  if (display) await until(() => !existsSync(`/tmp/.X11-unix/X${display.slice(1)}`), 10_000, `Xvfb left the socket of ${display}`);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function videoSize(file: string): string {
  return execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0:s=x', file], { encoding: 'utf8' }).trim();
}

test('the Linux recorder records the desktop under Xvfb, restarts on a display change and uploads segments and metadata to S3', { timeout: 180_000 }, async ({ sandbox }) => {
  requireTools(['Xvfb', 'ffmpeg', 'ffprobe', 'aws', 'sha256sum']);
  const config = sandbox.clientConfig();
  const factory = new AwsClientFactory({ endpoint: config.endpoint, credentials: config.credentials, region: REGION });
  const account = (await factory.client(STSClient).send(new GetCallerIdentityCommand({}))).Account!;

  const example = readFileSync(new URL('../examples/admin-recording.yaml', import.meta.url), 'utf8');
  const { recording } = parseRecordingSource({ file: 'admin-recording.yaml', text: example.replace('segmentSeconds: 60', `segmentSeconds: ${SEGMENT_SECONDS}`) });
  const bucket = bucketNameFor(recording.bucket.name, { account, region: REGION });
  const key = randomBytes(32).toString('base64');
  await factory.client(S3Client).send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  await factory.client(SecretsManagerClient).send(new CreateSecretCommand({ Name: recording.pseudonymKey.name, SecretString: key }));

  const directory = mkdtempSync(join(tmpdir(), 'linux-recorder-'));
  for (const script of renderSessionScripts(recording)) writeFileSync(join(directory, script.name), script.content, { mode: script.executable ? 0o755 : 0o644 });
  // The fleet role as AppStream offers it to the AWS CLI: the appstream_machine_role profile.
  writeFileSync(
    join(directory, 'aws-config'),
    `[profile appstream_machine_role]\naws_access_key_id = ${config.credentials.accessKeyId}\naws_secret_access_key = ${config.credentials.secretAccessKey}\n`,
  );
  const stateDirectory = join(directory, 'state');
  const first = await startXvfb('640x480');
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: directory,
    AWS_CONFIG_FILE: join(directory, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(directory, 'no-credentials'),
    AWS_ENDPOINT_URL: config.endpoint,
    DISPLAY: first.display,
    ORGSHIELD_RECORDER_STATE_DIR: stateDirectory,
    AppStream_Session_ID: SESSION,
    AppStream_UserName: USER,
    AppStream_Stack_Name: recording.appstream.stack.name,
    AppStream_Resource_Name: recording.appstream.fleet.name,
    AppStream_Image_Arn: `arn:aws:appstream:${REGION}:${account}:image/${recording.appstream.imageName}`,
    AppStream_Instance_Type: recording.appstream.fleet.instanceType,
  };
  const recorder = join(directory, LINUX_RECORDER);
  const pseudonym = userPseudonym(key, USER);
  const prefix = `recordings/${recording.appstream.stack.name}/${recording.appstream.fleet.name}/${pseudonym}/${SESSION}/`;
  const s3 = factory.client(S3Client);
  const keys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((object) => object.Key!);

  const startedAt = Date.now();
  cleanups.push(() => run(recorder, ['stop'], { env }));
  await run(recorder, ['start'], { env });
  // AppStream waits for the start script: it must hand over to the background recorder at once.
  expect(Date.now() - startedAt).toBeLessThan(5_000);
  await until(async () => (await keys()).some((name) => name.startsWith(`${prefix}segment-001-`)), 60_000, 'no segment of the first display was uploaded');

  // The display goes away and comes back at another size: the recorder captures the new one.
  await stopXvfb(first.server, first.display);
  await startXvfb('800x600', first.display);
  await until(async () => (await keys()).some((name) => name.startsWith(`${prefix}segment-002-`)), 60_000, 'no segment of the new display was uploaded');

  const stopping = Date.now();
  await run(recorder, ['stop'], { env });
  expect(Date.now() - stopping).toBeLessThanOrEqual(recording.sessionScripts.waitingTime * 1000);

  const uploaded = await keys();
  expect(uploaded.every((name) => name.startsWith(prefix)), uploaded.join('\n')).toBe(true);
  expect(uploaded).toContain(`${prefix}metadata.json`);
  expect(uploaded.join('\n').toLowerCase()).not.toContain('planted');
  const segments = uploaded.filter((name) => name.endsWith('.mp4'));
  expect(segments.every((name) => /\/segment-\d{3}-\d{5}\.mp4$/.test(name))).toBe(true);
  // Nothing left behind on the instance: every finished segment went up.
  expect(readdirSync(join(stateDirectory, 'session')).filter((name) => name.endsWith('.mp4'))).toEqual([]);

  const metadata = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}metadata.json` }))).Body!.transformToString()) as Record<string, unknown>;
  expect(metadata).toMatchObject({
    recorder: 'orgshield',
    stack: recording.appstream.stack.name,
    fleet: recording.appstream.fleet.name,
    sessionId: SESSION,
    user: USER,
    userPseudonym: pseudonym,
    image: env.AppStream_Image_Arn,
    instanceType: recording.appstream.fleet.instanceType,
    segmentSeconds: SEGMENT_SECONDS,
    framesPerSecond: recording.capture.framesPerSecond,
  });
  expect(Date.parse(String(metadata['endedAt']))).toBeGreaterThanOrEqual(Date.parse(String(metadata['startedAt'])));

  // Real video of each display, at its own size.
  for (const [run, size] of [['001', '640x480'], ['002', '800x600']] as const) {
    const name = segments.find((segment) => segment.includes(`/segment-${run}-`))!;
    const file = join(directory, `downloaded-${run}.mp4`);
    writeFileSync(file, await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: name }))).Body!.transformToByteArray());
    expect(videoSize(file)).toBe(size);
  }

  const log = readFileSync(join(stateDirectory, 'recorder.log'), 'utf8');
  expect(log).toMatch(/capturing :\d+ at 800x600 \(run 002\)/);
  expect(log.toLowerCase()).not.toContain('planted');
  expect(log).not.toContain(key);
  factory.destroy();
});

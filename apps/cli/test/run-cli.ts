import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { GetFindingsCommand, GuardDutyClient, ListDetectorsCommand, ListFindingsCommand } from '@aws-sdk/client-guardduty';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Redis } from 'ioredis';
import { incidentPlan, type RunningSandbox } from '@orgshield/sandbox';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * What a user runs: the bin npm links for the CLI (apps/cli/bin, which loads dist), and the
 * built worker. The CLI's test target builds both first (apps/cli/package.json `dependsOn`), so
 * the bin shim, the `.wasm` in dist and the analysis worker thread's file are what the tests run.
 */
export const cliBin = `${repoRoot}node_modules/.bin/orgshield`;
export const workerMain = `${repoRoot}apps/worker/dist/main.js`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a user would, through its bin, in its own process. The environment is
 * exactly `env` plus PATH and HOME: nothing of the developer's AWS configuration leaks in.
 */
export function runCli(args: string[], env: Record<string, string | undefined>, options: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Starts the built CLI through its bin, with exactly `env` plus PATH and HOME. */
export function spawnCli(args: string[], env: Record<string, string | undefined>): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(cliBin, args, { cwd: repoRoot, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts the built worker (`node apps/worker/dist/main.js`), with exactly `env` plus PATH and HOME. */
export function spawnWorker(env: Record<string, string | undefined>): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [workerMain], { cwd: repoRoot, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The built worker, its log (stdout and stderr) and its exit, once it says it is ready. */
export async function startWorker(env: Record<string, string>, options: { readyWithinMs?: number } = {}) {
  const worker = spawnWorker(env);
  const output = { log: '' };
  worker.stdout.on('data', (d: Buffer) => (output.log += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (output.log += d.toString()));
  const exited = new Promise<number | null>((resolve) => worker.on('close', resolve));
  const deadline = Date.now() + (options.readyWithinMs ?? 20_000);
  while (Date.now() < deadline && !output.log.includes('orgshield worker ready')) await new Promise((r) => setTimeout(r, 200));
  if (!output.log.includes('orgshield worker ready')) throw new Error(`the worker did not get ready:\n${output.log}`);
  return { worker, output, exited };
}

function userEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { PATH: process.env['PATH'], HOME: process.env['HOME'], AWS_EC2_METADATA_DISABLED: 'true', ...env };
}

/** Deletes every Redis key a test's CLI runs made under its queue prefix. */
export async function deleteQueuePrefix(prefix: string, redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}

/** Every key under `prefix` and every value in it, whatever the type, as text to search. */
export async function redisContents(prefix: string, redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'): Promise<string> {
  const redis = new Redis(redisUrl);
  try {
    const keys = await redis.keys(`${prefix}*`);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      // 'none': the key expired or BullMQ removed it between KEYS and TYPE.
      const value =
        type === 'none' ? []
        : type === 'string' ? [await redis.get(key)]
        : type === 'hash' ? Object.entries(await redis.hgetall(key)).flat()
        : type === 'list' ? await redis.lrange(key, 0, -1)
        : type === 'set' ? await redis.smembers(key)
        : type === 'zset' ? await redis.zrange(key, 0, -1, 'WITHSCORES')
        : type === 'stream' ? (await redis.xrange(key, '-', '+')).flat(2)
        : [`<unread type ${type}>`];
      parts.push(key, ...value.map(String));
    }
    if (parts.some((part) => part.startsWith('<unread type'))) throw new Error(`a key of a type this cannot read is under ${prefix}`);
    return parts.join('\n');
  } finally {
    await redis.quit();
  }
}

/**
 * The environment an e2e test runs the CLI with against a sandbox: its endpoint and keys, the
 * test's Redis and queue prefix, and client rate limits well above the sandbox's (it enforces
 * none unless given faults), so tests are not paced like real AWS.
 */
export function sandboxCliEnv(
  sandbox: { env(): Record<string, string> },
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...sandbox.env(),
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    ORGSHIELD_QUEUE_PREFIX: prefix,
    ORGSHIELD_RATE_LIMITS: JSON.stringify({ 'organizations:*': { rate: 500, burst: 500 }, 'fms:*': { rate: 500, burst: 500 } }),
    ...extra,
  };
}

/** GetFindings speaks PascalCase; EventBridge delivers the same finding in camelCase. */
function camelCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelCase);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.charAt(0).toLowerCase() + key.slice(1), camelCase(item)]));
}

/**
 * The sandbox's seeded TorClient finding, fetched as an operator would (GuardDuty in the member
 * account), saved in `dir` as EventBridge delivers it: the file `investigate --finding` reads.
 */
export async function writeTorClientFinding(sandbox: RunningSandbox, dir: string): Promise<{ findingFile: string; accountId: string }> {
  const tor = incidentPlan(sandbox.world).incidents.find((incident) => incident.kind === 'tor-client');
  if (!tor) throw new Error('the sandbox plants a TorClient incident');
  const accountId = tor.instance.accountId;
  const base = sandbox.clientConfig();
  const sts = new STSClient(base);
  const guardduty = await sts
    .send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'e2e' }))
    .then(({ Credentials: session }) => new GuardDutyClient({
      ...base,
      credentials: { accessKeyId: session?.AccessKeyId ?? '', secretAccessKey: session?.SecretAccessKey ?? '', sessionToken: session?.SessionToken ?? '' },
    }));
  try {
    const detectorId = (await guardduty.send(new ListDetectorsCommand({}))).DetectorIds?.[0];
    const ids = (await guardduty.send(new ListFindingsCommand({ DetectorId: detectorId }))).FindingIds;
    const finding = (await guardduty.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: ids }))).Findings?.[0];
    const findingFile = join(dir, 'tor-client.json');
    await writeFile(
      findingFile,
      JSON.stringify({ version: '0', 'detail-type': 'GuardDuty Finding', source: 'aws.guardduty', account: accountId, region: 'us-east-1', detail: camelCase(finding) }),
    );
    return { findingFile, accountId };
  } finally {
    sts.destroy();
    guardduty.destroy();
  }
}

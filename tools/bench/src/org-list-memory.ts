/**
 * Benchmark: the whole `orgshield org list` process's peak memory on a large organization.
 *
 *   npm run bench:memory -w @orgshield/bench -- [--accounts 10000] [--ous 1000] [--seed 1]
 *
 * Discovers a sandbox organization of `accounts` accounts (untimed setup) and stores its
 * snapshot as `org sync` does, then runs the built CLI (its bin, as a user does) under GNU
 * time: `org list` (the table) and `org list --output json`, each with its output read to the
 * end. The figure is the process's maximum resident set (target under 200 MB), with the
 * elapsed time and the bytes written. The worker's peak during the 5,000-account rollout is
 * bench:fan-out's. Prints JSON, then Markdown.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverOrganization, saveSnapshot } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { startSandbox } from '@orgshield/sandbox';
import { benchArgs, countArg, numberArg } from './bench-args.js';
import { connectRedis, deletePrefix, loadAverage, markdownTable, REDIS_URL, round } from './bench-kit.js';

const TARGET_MB = 200;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cliBin = join(repoRoot, 'node_modules/.bin/orgshield');
const GNU_TIME = '/usr/bin/time';

const args = benchArgs(
  'npm run bench:memory -w @orgshield/bench -- [options]\nThe peak memory of the whole `orgshield org list` process on a large sandbox organization.',
  {
    accounts: { description: 'accounts in the sandbox organization', default: '10000' },
    ous: { description: 'organizational units', default: '1000' },
    seed: { description: 'the sandbox seed', default: '1' },
  },
);
const accounts = countArg('accounts', args.accounts);
const ous = numberArg('ous', args.ous);
const seed = numberArg('seed', args.seed);
if (!existsSync(GNU_TIME)) {
  console.error(`${GNU_TIME} is missing: install GNU time (apt-get install time) to measure the process's peak memory.`);
  process.exit(2);
}

interface Measured {
  command: string;
  exitCode: number;
  maxRssMb: number;
  elapsedSeconds: number;
  stdoutBytes: number;
}

/** Runs the CLI under GNU time -v, reading its output to the end; the peak is the kernel's ru_maxrss. */
function measure(cliArgs: string[], env: Record<string, string>): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-v', cliBin, ...cliArgs], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdoutBytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdoutBytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(stderr);
      if (!rss || !wall) return reject(new Error(`GNU time printed no figures for orgshield ${cliArgs.join(' ')}:\n${stderr}`));
      resolve({
        command: `orgshield ${cliArgs.join(' ')}`,
        exitCode: code ?? -1,
        maxRssMb: Number(rss[1]) / 1024,
        elapsedSeconds: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]),
        stdoutBytes,
      });
    });
  });
}

const redis = await connectRedis();
const prefix = `bench-m-${randomUUID().slice(0, 8)}`;
const sandbox = await startSandbox({ port: 0, accounts, ous, seed });
const results: Measured[] = [];
let found = 0;
try {
  process.stderr.write(`discovering ${accounts} accounts (setup)...\n`);
  const clients = new AwsClientFactory({ ...sandbox.clientConfig(), rateLimits: { 'organizations:*': { rate: 5000, burst: 5000 } } });
  const snapshot = await discoverOrganization(clients);
  found = snapshot.accounts.length;
  clients.destroy();
  await saveSnapshot(redis, snapshot, { keyPrefix: `${prefix}:` });
  const env = { REDIS_URL, ORGSHIELD_QUEUE_PREFIX: prefix };
  for (const cliArgs of [['org', 'list'], ['org', 'list', '--output', 'json']]) results.push(await measure(cliArgs, env));
} finally {
  await sandbox.close();
  await deletePrefix(redis, `${prefix}:`);
  redis.disconnect();
}

const result = {
  org: { accounts, ous, seed, accountsInSnapshot: found },
  targetMb: TARGET_MB,
  loadAverage: loadAverage(),
  runs: results.map((run) => ({ ...run, maxRssMb: round(run.maxRssMb), elapsedSeconds: round(run.elapsedSeconds, 2) })),
  pass: results.every((run) => run.exitCode === 0 && run.maxRssMb < TARGET_MB && run.stdoutBytes > 0),
};
console.log(JSON.stringify(result, null, 2));
console.log();
console.log(
  markdownTable(
    ['command', 'accounts', 'exit code', `peak RSS (MB, < ${TARGET_MB})`, 'elapsed (s)', 'output (bytes)', 'load average'],
    result.runs.map((run) => [run.command, found, run.exitCode, run.maxRssMb, run.elapsedSeconds, run.stdoutBytes, result.loadAverage.join(' / ')]),
  ),
);
process.exitCode = result.pass ? 0 : 1;

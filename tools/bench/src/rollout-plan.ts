/**
 * Benchmark: `orgshield rollout plan` over a 5,000-account organization, from the stored
 * organization snapshot, against the same plan with `--refresh` (a walk of the organization,
 * measured in the same run as the baseline).
 *
 *   npm run bench:rollout-plan -w @orgshield/bench -- [--accounts 5000] [--ous 300] [--runs 3] [--seed 1]
 *
 * It starts the sandbox, runs the built CLI (apps/cli/dist/main.js) as a user would, with Redis
 * at REDIS_URL under a fresh key prefix: first `rollout plan --refresh` (walks and stores the
 * snapshot), then `rollout plan` `runs` times (reads it). Target: every plan from the snapshot
 * under 10 s. Prints JSON, then Markdown, with the load average.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '@orgshield/sandbox';
import { benchArgs, countArg } from './bench-args.js';
import { connectRedis, deletePrefix, loadAverage, REDIS_URL } from './bench-kit.js';

const TARGET_SECONDS = 10;
const cliMain = fileURLToPath(new URL('../../../apps/cli/dist/main.js', import.meta.url));

const args = benchArgs(
  'npm run bench:rollout-plan -w @orgshield/bench -- [options]\n`orgshield rollout plan` from the stored organization snapshot, against the same plan with --refresh.',
  {
    accounts: { description: 'accounts in the sandbox organization', default: '5000' },
    ous: { description: 'organizational units', default: '300' },
    runs: { description: 'plans from the snapshot', default: '3' },
    seed: { description: 'the sandbox seed', default: '1' },
  },
);

const accounts = countArg('accounts', args.accounts);
const ous = countArg('ous', args.ous);
const runs = countArg('runs', args.runs);
const seed = countArg('seed', args.seed);

/** Runs the CLI in its own process; asynchronously, since the sandbox answering it lives in this one. */
async function timedPlan(file: string, env: Record<string, string>, extra: string[] = []): Promise<{ seconds: number; stderr: string; stdout: string }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [cliMain, 'rollout', 'plan', file, '--output', 'json', ...extra], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (status !== 0) {
    // Thrown, not process.exit: main's finally still deletes this run's keys and stops the sandbox.
    throw new Error(`rollout plan ${extra.join(' ')} failed (exit ${status}):\n${stderr}`);
  }
  return { seconds, stderr, stdout };
}

async function main(): Promise<void> {
  const prefix = `bench-plan-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'orgshield-bench-plan-'));
  const sandbox = await startSandbox({ port: 0, accounts, ous, seed, timeScale: 0.001 });
  const redis = await connectRedis();
  try {
    // The canary is one top-level OU, as a real canary is: a tag spread over the whole organization
    // would name more single accounts than FMS takes in one policy (200), and the plan says so.
    const canary = sandbox.world.org.childOus(sandbox.world.org.root.id)[0];
    if (!canary) throw new Error(`the sandbox organization has no OU under its root (--ous ${ous})`);
    writeFileSync(join(dir, 'waf.yaml'), 'name: bench-waf\ntype: WAFV2\nresourceTypes: [alb]\nregions: [eu-west-1, us-east-1]\nrules: { defaultAction: ALLOW }\n');
    writeFileSync(join(dir, 'shield.yaml'), 'name: bench-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1, us-east-1]\n');
    writeFileSync(
      join(dir, 'rollout.yaml'),
      [
        'kind: Rollout',
        'name: bench',
        'policies: [waf.yaml, shield.yaml]',
        'regions: { order: [eu-west-1, us-east-1] }',
        'waves:',
        `  - { name: canary, targets: { ous: [${canary.id}] }, mode: audit }`,
        '  - { name: everyone-audit, targets: { all: true }, mode: audit }',
        '  - { name: everyone, targets: { all: true }, mode: remediate }',
        '',
      ].join('\n'),
    );
    const env = {
      ...sandbox.env(),
      REDIS_URL,
      ORGSHIELD_QUEUE_PREFIX: prefix,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ORGSHIELD_RATE_LIMITS: JSON.stringify({ 'organizations:*': { rate: 2000, burst: 2000 }, 'fms:*': { rate: 2000, burst: 2000 }, 'sts:*': { rate: 2000, burst: 2000 } }),
    };
    const file = join(dir, 'rollout.yaml');
    const walk = await timedPlan(file, env, ['--refresh']);
    const fromSnapshot: Awaited<ReturnType<typeof timedPlan>>[] = [];
    for (let run = 0; run < runs; run++) fromSnapshot.push(await timedPlan(file, env));
    const plan = JSON.parse(fromSnapshot[0]?.stdout ?? '{}') as { scopeAccounts?: number; steps?: unknown[] };
    const usedSnapshot = fromSnapshot.every((run) => run.stderr.includes('using the organization snapshot of'));
    const worst = Math.max(...fromSnapshot.map((run) => run.seconds));
    const figures = {
      accounts,
      ous,
      scopeAccounts: plan.scopeAccounts,
      steps: plan.steps?.length,
      walkSeconds: Number(walk.seconds.toFixed(2)),
      snapshotSeconds: fromSnapshot.map((run) => Number(run.seconds.toFixed(2))),
      ratio: Number((worst / walk.seconds).toFixed(3)),
      usedSnapshot,
      targetSeconds: TARGET_SECONDS,
      pass: usedSnapshot && worst < TARGET_SECONDS,
      loadAverage: loadAverage(),
    };
    console.log(JSON.stringify(figures, null, 2));
    console.log('\n| plan | seconds |\n|---|---|');
    console.log(`| --refresh (walk ${accounts} accounts, baseline) | ${figures.walkSeconds} |`);
    fromSnapshot.forEach((run, index) => console.log(`| from the stored snapshot, run ${index + 1} | ${run.seconds.toFixed(2)} |`));
    console.log(`\nworst from-snapshot / walk: ${figures.ratio}; target < ${TARGET_SECONDS} s: ${figures.pass ? 'met' : 'NOT met'}; load average ${figures.loadAverage.join(', ')}`);
    if (!figures.pass) process.exitCode = 1;
  } finally {
    await deletePrefix(redis, `${prefix}:`);
    redis.disconnect();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

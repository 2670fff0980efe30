import type { Command } from 'commander';
import { loadSnapshot } from '@orgshield/accounts';
import { orgSyncJob } from '@orgshield/jobs';
import { startSandbox } from '@orgshield/sandbox';
import { integerOption, note } from './cli-kit.js';
import { openSession, progressPrinter, runJob } from './job-runner.js';
import { connectOrStartRedis } from './local-redis.js';
import { renderTree } from './org-command.js';

/**
 * `npm start`: the main job on the embedded default. The sandbox organization runs in this
 * process; the queues live in Redis under their own prefix, and no worker listens there, so
 * every job runs in-process exactly as a worker would run it.
 */
export function configureDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the main jobs against the embedded sandbox organization and print what they did')
    .option('--accounts <n>', 'accounts in the sandbox organization', integerOption('--accounts', 1, 20_000), 300)
    .option('--ous <n>', 'OUs in the sandbox organization', integerOption('--ous', 0, 2_000), 30)
    .option('--seed <n>', 'seed of the sandbox organization', integerOption('--seed', 0, 2 ** 31 - 1), 1)
    .action(async (options: { accounts: number; ous: number; seed: number }) => {
      const sandbox = await startSandbox({ port: 0, accounts: options.accounts, ous: options.ous, seed: options.seed });
      const redis = await connectOrStartRedis();
      Object.assign(process.env, sandbox.env());
      process.env['ORGSHIELD_QUEUE_PREFIX'] = `orgshield-demo-${process.pid}`;
      // The sandbox enforces no quota unless given faults, so the demo lets the client go faster
      // than the conservative Organizations default (10/s) it uses against AWS.
      process.env['ORGSHIELD_RATE_LIMITS'] ??= JSON.stringify({ 'organizations:*': { rate: 100, burst: 100 } });
      note(`sandbox organization: ${options.accounts} accounts, ${options.ous} OUs (seed ${options.seed}) at ${sandbox.url}; Redis at ${redis.url}`);
      const session = await openSession();
      try {
        note('\n== org sync: discovering the organization');
        const { result } = await runJob(session, orgSyncJob, { requestedBy: 'demo' }, { wait: true, onProgress: progressPrinter('org sync') });
        if (!result) throw new Error('org sync returned no result');
        note(`synced ${result.accounts} accounts (${result.suspended} not active) in ${result.ous} OUs in ${(result.durationMs / 1000).toFixed(1)} s`);
        const snapshot = await loadSnapshot(session.redis, { keyPrefix: session.keyPrefix });
        if (snapshot) process.stdout.write(renderTree(snapshot).split('\n').slice(0, 15).join('\n') + '\n  ...\n');
      } finally {
        const keys = await session.redis.keys(`${session.config.ORGSHIELD_QUEUE_PREFIX}:*`);
        if (keys.length > 0) await session.redis.del(...keys);
        await session.close();
        await redis.stop();
        await sandbox.close();
      }
    });
}

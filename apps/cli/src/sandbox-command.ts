import type { Command } from 'commander';
import { startSandbox } from '@orgshield/sandbox';
import { integerOption, note, numberOption } from './cli-kit.js';

export function configureSandboxCommand(program: Command): void {
  const sandbox = program.command('sandbox').description('the local AWS: Organizations, STS, S3, Firewall Manager, Detective... on one port');
  sandbox
    .command('start')
    .description('run the sandbox in the foreground until stopped (Ctrl-C) and print the environment to export')
    .option('--port <n>', 'port to listen on (0 picks a free one)', integerOption('--port', 0, 65535), 4566)
    .option('--accounts <n>', 'accounts in the seeded organization', integerOption('--accounts', 1, 100_000), 300)
    .option('--ous <n>', 'organizational units in the seeded organization', integerOption('--ous', 0, 10_000), 30)
    .option('--seed <n>', 'seed of the synthetic organization', integerOption('--seed', 0, 2 ** 31 - 1), 1)
    .option('--faults <file>', 'YAML file of per-operation rates, latency, errors and resets')
    .option('--request-log <file>', 'write one JSON line per request to this file')
    .option('--time-scale <x>', 'multiply every simulated delay by this (0.01 = 100x faster)', numberOption('--time-scale', 0, 1000), 1)
    .option('--fms-evaluation-delay <s>', 'Firewall Manager: seconds from a policy change to its evaluation', numberOption('--fms-evaluation-delay', 0, 86_400), 300)
    .option('--fms-remediation-delay <s>', 'Firewall Manager: seconds from an evaluation to its remediation', numberOption('--fms-remediation-delay', 0, 86_400), 300)
    .option('--fms-blocked-accounts <n>', 'Firewall Manager: accounts whose team web ACL remediation never replaces', integerOption('--fms-blocked-accounts', 0, 100_000), 0)
    .action(async (options: {
      port: number; accounts: number; ous: number; seed: number; faults?: string; requestLog?: string; timeScale: number;
      fmsEvaluationDelay: number; fmsRemediationDelay: number; fmsBlockedAccounts: number;
    }) => {
      const running = await startSandbox({
        port: options.port,
        accounts: options.accounts,
        ous: options.ous,
        seed: options.seed,
        faults: options.faults,
        requestLog: options.requestLog,
        timeScale: options.timeScale,
        fms: {
          evaluationDelaySeconds: options.fmsEvaluationDelay,
          remediationDelaySeconds: options.fmsRemediationDelay,
          blockedCustomerWebAclAccounts: options.fmsBlockedAccounts,
        },
      });
      note(`sandbox listening on ${running.url} (${options.accounts} accounts, ${options.ous} OUs, seed ${options.seed}); Ctrl-C stops it`);
      for (const [key, value] of Object.entries(running.env())) process.stdout.write(`export ${key}=${value}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await running.close();
    });
}

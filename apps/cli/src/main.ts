#!/usr/bin/env node
<<<<<<< HEAD
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, OrgshieldError, isShapedLikeOrgshieldError, printable } from '@orgshield/errors';

type Configure = (program: Command) => void;

/**
 * Each command group's module, loaded only when needed: most pull in the AWS SDK, BullMQ and
 * Redis (about 0.8 s), which `orgshield flows analyze` or `policy validate` never use.
 */
const COMMAND_GROUPS: Record<string, () => Promise<Configure>> = {
  org: async () => (await import('./org-command.js')).configureOrgCommand,
  policy: async () => (await import('./policy-command.js')).configurePolicyCommand,
  rollout: async () => (await import('./rollout-command.js')).configureRolloutCommand,
  drill: async () => (await import('./drill-command.js')).configureDrillCommand,
  compliance: async () => (await import('./compliance-command.js')).configureComplianceCommand,
  schedule: async () => (await import('./schedule-command.js')).configureScheduleCommand,
  investigate: async () => (await import('./investigate-command.js')).configureInvestigateCommand,
  flows: async () => (await import('./flows-command.js')).configureFlowsCommand,
  recording: async () => (await import('./recording-command.js')).configureRecordingCommand,
  sandbox: async () => (await import('./sandbox-command.js')).configureSandboxCommand,
  demo: async () => (await import('./demo-command.js')).configureDemoCommand,
  iam: async () => (await import('./iam-command.js')).configureIamCommand,
  audit: async () => (await import('./audit-command.js')).configureAuditCommand,
};

/**
 * The program with the command group argv names, or with all of them when it names none
 * (`orgshield --help`, an unknown command: the listing and commander's suggestions need all).
 */
async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('orgshield')
    .description('Security work across an AWS Organization: Firewall Manager rollouts and investigations of GuardDuty findings.')
    .version('0.1.0')
    .option('--debug', 'print stack traces of errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = argv.slice(2).find((arg) => !arg.startsWith('-'));
  const groups = named !== undefined && named in COMMAND_GROUPS ? [named] : Object.keys(COMMAND_GROUPS);
  for (const configure of await Promise.all(groups.map((group) => COMMAND_GROUPS[group]!()))) configure(program);
  // Every subcommand throws instead of exiting, so main() decides the exit code.
  const overrideAll = (command: Command) => command.commands.forEach((c) => overrideAll(c.exitOverride()));
  overrideAll(program);
  return program;
}
=======
import { CommanderError } from 'commander';
import { EXIT_CODES, OrgshieldError, isShapedLikeOrgshieldError } from '@orgshield/errors';
import { buildProgram } from './program.js';
>>>>>>> main

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  // Node 20 is this project's runtime; the SDK's notice about its 2027 support window is in the README.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  if (debug) process.env['LOG_LEVEL'] ??= 'debug';
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_CODES.done;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version end with exit code 0; every other commander error is bad usage.
      return error.exitCode === 0 ? EXIT_CODES.done : EXIT_CODES.badInput;
    }
    // The sandbox (a tool that imports no package) shapes its errors the same way.
    if (error instanceof OrgshieldError || isShapedLikeOrgshieldError(error)) {
      process.stderr.write(`orgshield: ${printable(error.message)}\n`);
      if (debug) process.stderr.write(`${error.stack ?? ''}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`orgshield: unexpected error: ${printable(message)} (run with --debug for details)\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    return EXIT_CODES.failed;
  }
}

// A reader that stops early (`orgshield org list | head`) closes the pipe: end quietly, as git and
// kubectl do. They die of SIGPIPE, which a shell reports as 141; Node ignores SIGPIPE, so the
// same status is the exit code, and `set -o pipefail` scripts see what they see for git.
const SIGPIPE_EXIT_CODE = 141;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(SIGPIPE_EXIT_CODE);
    throw error;
  });
}

// Commands close what they open; exiting here also ends any connection a library left behind,
// once what was written to stdout and stderr has reached the pipe (process.exit would cut it).
const exitCode = await main(process.argv);
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
process.exit(exitCode);

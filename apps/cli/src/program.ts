import { Command } from 'commander';
import { addExamples } from './help-examples.js';

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
  findings: async () => (await import('./findings-command.js')).configureFindingsCommand,
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
export async function buildProgram(argv: readonly string[]): Promise<Command> {
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
  addExamples(program);
  return program;
}


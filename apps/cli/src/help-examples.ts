import type { EventEmitter } from 'node:events';
import type { Command } from 'commander';

/**
 * At least one example for every command's --help, by command path. A command that prints its
 * own examples (addHelpText with "Example") keeps them; a new command without one fails the test
 * in help-examples.test.ts until it has one here or of its own.
 */
export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['orgshield demo', 'orgshield rollout plan packages/firewall/examples/edge-rollout.yaml', 'orgshield schedule list'],
  org: ['orgshield org sync --wait', 'orgshield org list --ou Root/Workloads --tag env=prod'],
  'org sync': ['orgshield org sync --wait'],
  'org list': ['orgshield org list --ou Root/Workloads/Prod', 'orgshield org list --tag env=dev --output json | jq -r ".[].id"'],
  'org show': ['orgshield org show 111122223333'],
  'org tree': ['orgshield org tree'],
  policy: ['orgshield policy list', 'orgshield policy diff policies/edge-waf.yaml', 'orgshield policy validate policies/*.yaml', 'orgshield policy render policies/edge-waf.yaml --region eu-west-1 --output json'],
  'policy validate': ['orgshield policy validate packages/firewall/examples/policies/*.yaml'],
  'policy render': ['orgshield policy render edge-waf.yaml', 'orgshield policy render edge-waf.yaml --region eu-west-1 --output json > put-policy.json'],
  'policy list': ['orgshield policy list --region eu-west-1 --region us-east-1', 'orgshield policy list --output json | jq -r ".[] | select(.remediation) | .name"'],
  'policy show': ['orgshield policy show edge-waf --region eu-west-1', 'orgshield policy show 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d --output json'],
  'policy diff': ['orgshield policy diff policies/edge-waf.yaml', 'orgshield policy diff policies/edge-waf.yaml --live-name edge-waf-audit --region eu-west-1 --output json'],
  'policy import-cfn': [
    'orgshield policy import-cfn fms-template.yaml --param AWS::Region=eu-west-1 --output json',
    'AWS_REGION=eu-west-1 orgshield policy import-cfn fms-template.yaml --resolve RuleGroup.Arn=arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/rg/1',
  ],
  rollout: ['orgshield rollout plan edge-rollout.yaml', 'orgshield rollout start edge-rollout.yaml --wait'],
  'rollout plan': ['orgshield rollout plan packages/firewall/examples/edge-rollout.yaml', 'orgshield rollout plan edge-rollout.yaml --refresh --output json'],
  'rollout start': ['orgshield rollout start edge-rollout.yaml', 'orgshield rollout start edge-rollout.yaml --wait'],
  'rollout status': ['orgshield rollout status', 'orgshield rollout status edge-lx3k9a2b1c --output json'],
  'rollout watch': ['orgshield rollout watch edge-lx3k9a2b1c'],
  'rollout pause': ['orgshield rollout pause edge-lx3k9a2b1c'],
  'rollout resume': ['orgshield rollout resume edge-lx3k9a2b1c --wait'],
  'rollout abort': ['orgshield rollout abort edge-lx3k9a2b1c'],
  'rollout rollback': ['orgshield rollout rollback edge-lx3k9a2b1c --wait', 'orgshield rollout rollback edge-lx3k9a2b1c --yes   # in a script: no question asked'],
  drill: ['orgshield drill plan packages/drills/examples/payments-drill.yaml', 'orgshield drill run payments-drill.yaml --wait'],
  'drill plan': ['orgshield drill plan packages/drills/examples/payments-drill.yaml'],
  'drill run': ['orgshield drill run payments-drill.yaml --wait'],
  'drill status': ['orgshield drill status', 'orgshield drill status payments-lx3k9a2b --output json'],
  'drill report': ['orgshield drill report payments-lx3k9a2b --output html --out drill.html'],
  'drill cleanup': ['orgshield drill cleanup payments-lx3k9a2b --wait'],
  'drill history': ['orgshield drill history', 'orgshield drill history --server 111122223333:s-1234567890abcdef0'],
  'drill coverage': ['orgshield drill coverage payments-drill.yaml'],
  compliance: ['orgshield compliance summary --region eu-west-1', 'orgshield compliance report --policy edge-waf --region eu-west-1'],
  'compliance summary': ['orgshield compliance summary --region eu-west-1 --region us-east-1', 'orgshield compliance summary --non-compliant --output json'],
  'compliance report': ['orgshield compliance report --policy edge-waf --region eu-west-1 --region us-east-1', 'orgshield compliance report --policy edge-shield --output csv > shield.csv'],
  schedule: ['orgshield schedule set nightly-waf rollout edge-rollout.yaml --cron "0 3 * * *" --tz Europe/Paris', 'orgshield schedule list'],
  'schedule set': ['orgshield schedule set nightly-waf rollout edge-rollout.yaml --cron "0 3 * * *" --tz Europe/Paris', 'orgshield schedule set hourly-sync org-sync --cron "0 * * * *"'],
  'schedule list': ['orgshield schedule list', 'orgshield schedule list --output json'],
  'schedule remove': ['orgshield schedule remove nightly-waf'],
  investigate: ['orgshield investigate --finding finding.json --wait', 'orgshield investigate --finding-id 7cb6a1d2e3f4a5b6c7d8e9f0a1b2c3d4 --region us-east-1 --wait', 'orgshield investigate --instance i-0123456789abcdef0 --account 111122223333 --region eu-west-1 --from 2026-01-01T00:00:00Z --wait'],
  findings: ['orgshield findings list --severity HIGH --since 24h'],
  'findings list': [
    'orgshield findings list --region us-east-1 --severity HIGH --since 24h',
    'orgshield findings list --type "Recon:*" --account 111122223333 --since 2026-01-01T00:00:00Z --until 7d --limit 20',
    'orgshield investigate --finding-id 7cb6a1d2e3f4a5b6c7d8e9f0a1b2c3d4 --region us-east-1 --wait   # a row\'s FINDING ID',
  ],
  flows: ['orgshield flows analyze flow-logs/ --local-ip 10.0.1.15'],
  'flows analyze': ['orgshield flows analyze flow-logs/ --local-ip 10.0.1.15', 'orgshield flows analyze logs.gz --remote-port 22 --direction inbound --output csv > ssh.csv'],
  recording: ['orgshield recording plan packages/session-recording/examples/admin-recording.yaml', 'orgshield recording list admin-recording.yaml --user ana@example.com'],
  'recording scripts': ['orgshield recording scripts admin-recording.yaml --out session-scripts/'],
  'recording plan': ['orgshield recording plan packages/session-recording/examples/admin-recording.yaml'],
  'recording setup': ['orgshield recording setup admin-recording.yaml'],
  'recording audit': ['orgshield recording audit admin-recording.yaml --days 7'],
  'recording list': ['orgshield recording list admin-recording.yaml --user ana@example.com --from 2026-01-01T00:00:00Z'],
  'recording export': ['orgshield recording export admin-recording.yaml --user ana@example.com --out ana-manifest.json --expires-hours 24'],
  'recording erase': ['orgshield recording erase admin-recording.yaml --user ana@example.com', 'orgshield recording erase admin-recording.yaml --user ana@example.com --yes'],
  sandbox: ['orgshield sandbox start --accounts 300 --time-scale 0.01'],
  'sandbox start': ['orgshield sandbox start', 'orgshield sandbox start --port 4566 --accounts 5000 --faults faults.yaml'],
  demo: ['orgshield demo', 'orgshield demo --accounts 1000'],
  iam: ['orgshield iam policies --output json > roles.json'],
  'iam policies': ['orgshield iam policies', 'orgshield iam policies --role member-account --output json'],
  audit: ['orgshield audit verify', 'orgshield audit export --output csv > audit.csv'],
  'audit verify': ['orgshield audit verify'],
  'audit export': ['orgshield audit export --from 2026-01-01 --output csv > audit.csv'],
};

/** The command's path below the program: `rollout plan`; '' for the program itself. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** The whole help a command prints, examples included (what the test reads). */
export function helpText(command: Command): string {
  const saved = { ...command.configureOutput() };
  let text = '';
  command.configureOutput({ writeOut: (chunk) => (text += chunk), writeErr: (chunk) => (text += chunk) });
  try {
    command.outputHelp();
  } finally {
    command.configureOutput(saved);
  }
  return text;
}

/**
 * Adds the examples of HELP_EXAMPLES to every command of the tree that prints nothing after its
 * help of its own (a command with its own text there is trusted to show its examples; the test
 * reads every command's help and holds it to that).
 */
export function addExamples(program: Command): void {
  const visit = (command: Command) => {
    const examples = HELP_EXAMPLES[commandPath(command)];
    // A Command is an EventEmitter (addHelpText listens for 'afterHelp'); its types do not say so.
    if (examples && (command as unknown as EventEmitter).listenerCount('afterHelp') === 0) {
      command.addHelpText('after', `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`);
    }
    command.commands.forEach(visit);
  };
  visit(program);
}

import type { Command } from 'commander';
import { ORGSHIELD_ROLES, renderIamRoles, type OrgshieldRoleName } from '@orgshield/aws';
import { InvalidInputError } from '@orgshield/errors';
import { ORGSHIELD_AWS_OPERATIONS } from './aws-operation-registry.js';
import { choiceOption, formatTable, OUTPUT_FORMATS, printJson, type OutputFormat } from './cli-kit.js';

const ROLE_NAMES = Object.keys(ORGSHIELD_ROLES) as OrgshieldRoleName[];

export function configureIamCommand(program: Command): void {
  const iam = program.command('iam').description('the IAM roles orgshield needs, derived from the AWS operations its code calls');

  iam
    .command('policies')
    .description('print each role\'s IAM policy and trust policy (ExternalId required); deploy/iam/roles.json is this output')
    .option('--role <name>', `one role: ${ROLE_NAMES.join(', ')}`, choiceOption('--role', ROLE_NAMES))
    .option('--worker-account <id>', 'the account the worker runs in (default: a placeholder to fill in)')
    .option('--member-role <name>', 'the role name in member accounts, as ORGSHIELD_ROLE_NAME sets it', 'orgshield-member-account')
    .option('--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .addHelpText('after', '\nExample:\n  orgshield iam policies --role member-account --output json\n')
    .action((options: { role?: OrgshieldRoleName; workerAccount?: string; memberRole: string; output: OutputFormat }) => {
      if (options.workerAccount !== undefined && !/^\d{12}$/.test(options.workerAccount)) {
        throw new InvalidInputError(`--worker-account "${options.workerAccount}" is not an AWS account id; an account id is exactly 12 digits.`);
      }
      if (!/^[\w+=,.@-]{1,64}$/.test(options.memberRole)) {
        throw new InvalidInputError(`--member-role "${options.memberRole}" is not a valid IAM role name: use letters, digits and +=,.@_- (at most 64).`);
      }
      const all = renderIamRoles(ORGSHIELD_AWS_OPERATIONS, { workerAccountId: options.workerAccount, roleNames: { 'member-account': options.memberRole } });
      const roles = options.role ? { [options.role]: all[options.role] } : all;
      if (options.output === 'json') return printJson({ roles });
      process.stdout.write(
        formatTable(
          ['ROLE', 'ACCOUNT', 'ACTIONS'],
          Object.entries(roles).map(([name, documents]) => [
            name,
            ORGSHIELD_ROLES[name as OrgshieldRoleName].account,
            documents.policy.Statement.flatMap((statement) => statement.Action).join(' '),
          ]),
        ),
      );
    });
}

import type { Command } from 'commander';
import { InvalidInputError } from '@orgshield/errors';
import { formatSpecProblem } from '@orgshield/spec-files';
import {
  hasOuPaths,
  importCfnFile,
  loadPolicySpec,
  apiRegionOf,
  renderPutPolicy,
  validatePolicies,
  validatePolicyFiles,
  type LoadedPolicySpec,
} from '@orgshield/policies';
import { choiceOption, collect, refusingSpecProblems, formatTable, note, numberOption, OUTPUT_FORMATS, parsePair, printJson, type OutputFormat } from './cli-kit.js';

const outputOption = ['--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat] as const;

export function configurePolicyCommand(program: Command): void {
  const policy = program.command('policy').description('Firewall Manager policy specs: validate, render, import from CloudFormation');

  policy
    .command('validate')
    .description('check policy spec files (YAML or JSON) against the schema and the FMS limits, before anything is sent')
    .argument('<files...>', 'policy spec files')
    .option(...outputOption)
    .action(async (files: string[], options: { output: OutputFormat }) => {
      const reports = await validatePolicyFiles(files);
      const failed = reports.filter((report) => report.problems.length > 0);
      if (options.output === 'json') {
        printJson({ files: reports.map((report) => ({ ...report, valid: report.problems.length === 0 })) });
      } else {
        for (const report of reports) {
          if (report.problems.length === 0) process.stdout.write(`ok  ${report.file} (${report.policy})\n`);
          for (const problem of report.problems) process.stdout.write(`${formatSpecProblem(problem)}\n`);
        }
      }
      if (failed.length > 0) throw new InvalidInputError(`${failed.length} of ${reports.length} policy files have problems.`, { code: 'InvalidPolicySpec' });
      note(`${reports.length} policy file${reports.length === 1 ? '' : 's'} valid.`);
    });

  policy
    .command('render')
    .description('print the exact PutPolicy input of a spec, per region (global is CloudFront, in us-east-1)')
    .argument('<file>', 'policy spec file')
    .option('--region <region>', 'only this region of the spec; with --output json, prints the bare PutPolicy input')
    .option(...outputOption)
    .action(async (file: string, options: { region?: string; output: OutputFormat }) => {
      const loaded: LoadedPolicySpec = await refusingSpecProblems(file, 'nothing was rendered', () => loadPolicySpec(file));
      const { spec } = loaded;
      if (hasOuPaths(spec)) {
        throw new InvalidInputError(
          `${file} names OUs by path in its scope; FMS takes OU ids, which a rollout looks up in the organization when it plans: see the PutPolicy steps with "orgshield rollout plan --output json", or give OU ids here.`,
        );
      }
      // Rendering sends nothing, so quota and WCU findings are warnings here; `policy validate` refuses them.
      for (const problem of validatePolicies([spec])) note(`warning: ${file} ${problem.path || spec.name}: ${problem.message}`);
      const regions = options.region === undefined ? spec.regions : [options.region];
      const rendered = regions.map((region) => ({ region, apiRegion: apiRegionOf(region), input: renderPutPolicy(spec, { region }) }));
      if (options.output === 'json') {
        // One region asked for: the bare input, ready for `aws fms put-policy --cli-input-json`.
        if (options.region !== undefined) return printJson(rendered[0]?.input);
        return printJson(rendered.map((entry) => ({ region: entry.region, apiRegion: entry.apiRegion, putPolicy: entry.input })));
      }
      process.stdout.write(
        formatTable(
          ['REGION', 'API REGION', 'POLICY', 'TYPE', 'RESOURCE TYPES', 'REMEDIATION', 'SERVICE DATA CHARS'],
          rendered.map(({ region, apiRegion, input }) => [
            region,
            apiRegion,
            input.Policy?.PolicyName ?? '',
            input.Policy?.SecurityServicePolicyData?.Type ?? '',
            (input.Policy?.ResourceTypeList ?? [input.Policy?.ResourceType ?? '']).join(','),
            String(input.Policy?.RemediationEnabled),
            input.Policy?.SecurityServicePolicyData?.ManagedServiceData?.length ?? 0,
          ]),
        ),
      );
    });

  policy
    .command('import-cfn')
    .description('turn every AWS::FMS::Policy of a CloudFormation template into a spec and its PutPolicy input')
    .argument('<template>', 'CloudFormation template (YAML or JSON)')
    .option('--param <KEY=VALUE>', 'a template parameter, or a pseudo parameter such as AWS::Region=eu-west-1 (repeatable)', collect(parsePair('--param', 'KEY=VALUE')), [])
    .option('--resolve <Logical.Attr=VALUE>', "another resource's value: Logical.Attr for Fn::GetAtt, Logical for Ref (repeatable)", collect(parsePair('--resolve', 'Logical.Attr=VALUE')), [])
    .option('--max-expansion-mb <MB>', 'most text the template may build through Join, Split, Sub and the like', numberOption('--max-expansion-mb', 0.001, 1024), 5)
    .option(...outputOption)
    .action(async (template: string, options: { param: [string, string][]; resolve: [string, string][]; maxExpansionMb: number; output: OutputFormat }) => {
      const result = await refusingSpecProblems(template, 'nothing was imported', () =>
        importCfnFile(template, {
          params: Object.fromEntries(options.param),
          resolve: Object.fromEntries(options.resolve),
          // The stack's region is the configured one, as in every AWS tool; --param AWS::Region overrides it.
          region: process.env['AWS_REGION'] || undefined,
          maxExpansionBytes: Math.round(options.maxExpansionMb * 1024 * 1024),
        }),
      );
      for (const warning of result.warnings) note(`warning: ${warning}`);
      if (options.output === 'json') return printJson({ policies: result.policies });
      process.stdout.write(
        formatTable(
          ['LOGICAL ID', 'POLICY', 'TYPE', 'REGION', 'RESOURCE TYPES', 'REMEDIATION'],
          result.policies.map(({ logicalId, spec }) => [logicalId, spec.name, spec.type, spec.regions.join(','), spec.resourceTypes.join(','), String(spec.remediation)]),
        ),
      );
    });
}

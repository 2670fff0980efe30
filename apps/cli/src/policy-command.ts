import type { Command } from 'commander';
import { EXIT_CODES, InvalidInputError, printable } from '@orgshield/errors';
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
import { policyDocument, policyDrift, policyOverview, readPolicies } from '@orgshield/firewall';
import {
  choiceOption, collect, refusingSpecProblems, formatTable, note, numberOption, OUTPUT_FORMATS, parsePair, printJson, regionName, regionsToRead, type OutputFormat,
} from './cli-kit.js';
import { localClients, withOrganization } from './local-aws.js';

const outputOption = ['--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat] as const;
const regionsOption = ['--region <region>', 'a region to read (repeatable); default AWS_REGION', collect(regionName)] as const;

/** Runs `work` with AWS clients of this process, destroyed after. */
async function withAws<T>(work: (aws: ReturnType<typeof localClients>) => Promise<T>): Promise<T> {
  const aws = localClients();
  try {
    return await work(aws);
  } finally {
    aws.destroy();
  }
}

/** A value of a diff cell: JSON, cut to a width a terminal shows. */
function shown(value: unknown): string {
  const text = value === null || value === undefined ? '(not set)' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function configurePolicyCommand(program: Command): void {
  const policy = program.command('policy').description('Firewall Manager policies: specs validated, rendered, imported from CloudFormation; live ones listed, shown, compared');

  policy
    .command('list')
    .description('the live Firewall Manager policies of the administrator account (the caller), every page, per region')
    .option(...regionsOption)
    .option(...outputOption)
    .action(async (options: { region?: string[]; output: OutputFormat }) => {
      const regions = regionsToRead(options.region);
      const rows = (await withAws((aws) => readPolicies(aws, regions))).map(policyOverview);
      if (options.output === 'json') return printJson(rows);
      process.stdout.write(
        formatTable(
          ['REGION', 'NAME', 'ID', 'TYPE', 'REMEDIATION', 'RESOURCE TYPES', 'SCOPE'],
          rows.map((row) => [row.region, row.name, row.id, row.type, row.remediation ? 'on' : 'off', row.resourceTypes.join(','), row.scope]),
        ),
      );
      note(`${rows.length} polic${rows.length === 1 ? 'y' : 'ies'} in ${regions.join(', ')}`);
    });

  policy
    .command('show')
    .description('one live policy in full, as GetPolicy returns it, its ManagedServiceData read as JSON')
    .argument('<name-or-id>', 'the policy name or id')
    .option(...regionsOption)
    .option('--output <format>', 'table or json (json: a list, one entry per region the policy is in)', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat)
    .action(async (wanted: string, options: { region?: string[]; output: OutputFormat }) => {
      const regions = regionsToRead(options.region);
      const found = await withAws((aws) => readPolicies(aws, regions, (summary) => summary.PolicyName === wanted || summary.PolicyId === wanted));
      if (found.length === 0) {
        throw new InvalidInputError(`there is no Firewall Manager policy named or with id "${wanted}" in ${regions.join(', ')}; see "orgshield policy list", or add --region.`);
      }
      const documents = found.map(policyDocument);
      if (options.output === 'json') return printJson(documents);
      for (const [index, record] of found.entries()) {
        const row = policyOverview(record);
        const document = documents[index]!;
        const policy = record.output.Policy;
        process.stdout.write(
          `${index > 0 ? '\n' : ''}${formatTable(
            ['FIELD', 'VALUE'],
            [
              ['region', row.region],
              ['name', row.name],
              ['id', row.id],
              ['arn', record.output.PolicyArn ?? ''],
              ['type', row.type],
              ['remediation', row.remediation ? 'on' : 'off'],
              ['resource types', row.resourceTypes.join(', ')],
              ['scope', row.scope],
              ['include', JSON.stringify(policy?.IncludeMap ?? {})],
              ['exclude', JSON.stringify(policy?.ExcludeMap ?? {})],
              ['delete unused managed resources', String(policy?.DeleteUnusedFMManagedResources === true)],
              ['update token', policy?.PolicyUpdateToken ?? ''],
            ],
          )}ManagedServiceData:\n`,
        );
        const data = (document['policy'] as { SecurityServicePolicyData?: { ManagedServiceData?: unknown } }).SecurityServicePolicyData?.ManagedServiceData;
        process.stdout.write(`${typeof data === 'string' ? printable(data) : JSON.stringify(data ?? null, null, 2)}\n`);
        if (document['serviceDataError']) note(`warning: ${row.name} in ${row.region}: ${String(document['serviceDataError'])}`);
      }
    });

  policy
    .command('diff')
    .description('what differs between a policy spec file and the live policy of its name, field by field; exit 0 when equal, 1 when not (or not live), 2 on bad input')
    .argument('<file>', 'policy spec file')
    .option('--region <region>', "only this region of the spec (repeatable); default the spec's regions", collect(regionName))
    .option('--live-name <name>', "compare with the live policy of this name (an audit copy: edge-waf-audit); default the spec's name")
    .option('--refresh', 'for OU paths in the scope: walk the organization again instead of using the stored snapshot')
    .option(...outputOption)
    .action(async (file: string, options: { region?: string[]; liveName?: string; refresh?: boolean; output: OutputFormat }) => {
      const { spec } = await refusingSpecProblems(file, 'nothing was compared', () => loadPolicySpec(file));
      const name = options.liveName ?? spec.name;
      const drifts = await withAws((aws) =>
        withOrganization(aws, { refresh: options.refresh === true }, (organization) => policyDrift(aws, spec, { ...(options.region ? { regions: options.region } : {}), liveName: name, organization })),
      );
      const equal = drifts.every((drift) => drift.policyId !== undefined && drift.differences.length === 0);
      if (options.output === 'json') {
        printJson({ file, policy: name, equal, regions: drifts.map((drift) => ({ ...drift, live: drift.policyId !== undefined })) });
      } else {
        for (const drift of drifts) {
          const where = `${name} in ${drift.region}${drift.apiRegion === drift.region ? '' : ` (${drift.apiRegion})`}`;
          const line = (text: string) => process.stdout.write(`${printable(text, { oneLine: true })}\n`);
          if (drift.policyId === undefined) line(`${where}: not live`);
          else if (drift.differences.length === 0) line(`${where} (${drift.policyId}): equal to ${file}`);
          else {
            line(`${where} (${drift.policyId}): ${drift.differences.length} difference${drift.differences.length === 1 ? '' : 's'}`);
            process.stdout.write(formatTable(['FIELD', 'LIVE', 'SPEC'], drift.differences.map((d) => [d.path, shown(d.from), shown(d.to)])));
          }
        }
      }
      if (!equal) process.exitCode = EXIT_CODES.failed;
    });

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

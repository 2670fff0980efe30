import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FMSClient, PutPolicyCommand } from '@aws-sdk/client-fms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCfnFile, loadPolicySpec, PolicySpecSchema, renderPutPolicy } from '@orgshield/policies';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { deleteQueuePrefix, runCli, sandboxCliEnv } from '../test/run-cli.js';

// Paths as a user in the repository root would type them.
const fixtures = 'packages/policies/fixtures';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fromRoot = (path: string) => `${repoRoot}${path}`;

describe('orgshield policy (end to end)', () => {
  it('validate: accepts valid specs and exits 0', async () => {
    const result = await runCli(['policy', 'validate', `${fixtures}/specs/waf-regional-baseline.yaml`, `${fixtures}/specs/shield-regional.yaml`, `${fixtures}/specs/waf-cloudfront.json`], {});
    expect(result.stdout).toBe(
      [
        `ok  ${fixtures}/specs/waf-regional-baseline.yaml (org-waf-baseline)`,
        `ok  ${fixtures}/specs/shield-regional.yaml (org-shield-regional)`,
        `ok  ${fixtures}/specs/waf-cloudfront.json (org-waf-edge)`,
        '',
      ].join('\n'),
    );
    expect(result.stderr).toBe('3 policy files valid.\n');
    expect(result.code).toBe(0);
  });

  it('validate: refuses a spec with errors with file:line and field path for each, exit code 2, no stack trace', async () => {
    const bad = `${fixtures}/specs/waf-with-errors.yaml`;
    const result = await runCli(['policy', 'validate', bad, `${fixtures}/specs/shield-regional.yaml`], {});
    expect(result.stdout.split('\n')).toEqual([
      `${bad}:3:22 resourceTypes[1]: resource type "eip" cannot be protected by a WAFV2 policy; use one of alb, api-gateway-stage, cloudfront`,
      `${bad}:6:18 rules.defaultAction: must be "ALLOW" or "BLOCK", not "allow"`,
      `${bad}:10:18 rules.firstRuleGroups[0].managedRuleGroup.version: must be a string, not 1.4`,
      `${bad}:11:7 rules.firstRuleGroups[0].overide: unknown field "overide" (did you mean "override"?)`,
      `${bad}:13:16 logging.destination: WAF only logs to destinations named aws-waf-logs-*, and "waf-logs" is not; rename the bucket or stream`,
      `ok  ${fixtures}/specs/shield-regional.yaml (org-shield-regional)`,
      '',
    ]);
    expect(result.stderr).toBe('orgshield: 1 of 2 policy files have problems.\n');
    expect(result.code).toBe(2);
  });

  it('validate --output json: one entry per file with its problems', async () => {
    const result = await runCli(['policy', 'validate', `${fixtures}/specs/waf-with-errors.yaml`, '--output', 'json'], {});
    const report = JSON.parse(result.stdout) as { files: { file: string; valid: boolean; problems: { line: number; path: string }[] }[] };
    expect(report.files.map((file) => [file.valid, file.problems.map((problem) => `${problem.line} ${problem.path}`)])).toEqual([
      [false, ['3 resourceTypes[1]', '6 rules.defaultAction', '10 rules.firstRuleGroups[0].managedRuleGroup.version', '11 rules.firstRuleGroups[0].overide', '13 logging.destination']],
    ]);
    expect(result.code).toBe(2);
  });

  it('render --region --output json: the exact PutPolicy input the package renders', async () => {
    const file = `${fixtures}/specs/waf-regional-baseline.yaml`;
    const result = await runCli(['policy', 'render', file, '--region', 'eu-west-1', '--output', 'json'], {});
    expect(result.code).toBe(0);
    const { spec } = await loadPolicySpec(fromRoot(file));
    expect(JSON.parse(result.stdout)).toEqual(renderPutPolicy(spec, { region: 'eu-west-1' }));
  });

  it('render --output json: every region, global as CloudFront in us-east-1', async () => {
    const result = await runCli(['policy', 'render', `${fixtures}/specs/waf-cloudfront.json`, '--output', 'json'], {});
    const rendered = JSON.parse(result.stdout) as { region: string; apiRegion: string; putPolicy: { Policy: { ResourceType: string } } }[];
    expect(rendered.map((entry) => [entry.region, entry.apiRegion, entry.putPolicy.Policy.ResourceType])).toEqual([['global', 'us-east-1', 'AWS::CloudFront::Distribution']]);
    expect(result.code).toBe(0);
  });

  it('render: a region the spec does not name is bad input', async () => {
    const result = await runCli(['policy', 'render', `${fixtures}/specs/shield-regional.yaml`, '--region', 'us-west-2'], {});
    expect(result.stderr).toBe('orgshield: Policy org-shield-regional is not deployed to region us-west-2; its regions are eu-west-1, us-east-1.\n');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('import-cfn --output json: {"policies": [{logicalId, spec, putPolicy}]}, warnings on stderr', async () => {
    const template = `${fixtures}/cfn/org-waf-policies.yaml`;
    const params = { 'AWS::Region': 'us-east-1', pIncludeOrgUnits: 'ou-ab12-workload1' };
    const result = await runCli(
      ['policy', 'import-cfn', template, ...Object.entries(params).flatMap(([key, value]) => ['--param', `${key}=${value}`]), '--output', 'json'],
      {},
    );
    expect(result.code).toBe(0);
    const expected = await importCfnFile(fromRoot(template), { params });
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(JSON.stringify({ policies: expected.policies })));
    expect(result.stderr).toBe('warning: rFmsCloudFrontPolicy: DeleteAllPolicyResources is a delete-time option and is not imported.\n');
  });

  it('import-cfn: a value the template needs and nobody gave is named with its line, exit code 2', async () => {
    const template = `${fixtures}/cfn/waf-policy-sub-string.yaml`;
    const result = await runCli(['policy', 'import-cfn', template, '--param', 'AWS::Region=us-west-2', '--output', 'json'], {});
    expect(result.stderr.split('\n')).toEqual([
      `${template}:26:34 Resources.PolicyWAFv2.Properties.SecurityServicePolicyData.ManagedServiceData.Fn::Sub: RuleGroup.Arn is only known once RuleGroup is deployed; pass --resolve RuleGroup.Arn=VALUE`,
      `orgshield: ${template} has 1 problem (listed above); nothing was imported.`,
      '',
    ]);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('import-cfn: the Firewall Manager sample imports in the AWS_REGION region with no --param, sending the template document', async () => {
    const template = `${fixtures}/cfn/fms-sample-waf-policy.yaml`;
    const arn = 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/RuleGroup/a1b2c3d4';
    const result = await runCli(['policy', 'import-cfn', template, '--resolve', `RuleGroup.Arn=${arn}`, '--output', 'json'], { AWS_REGION: 'eu-west-1' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [policy] = (JSON.parse(result.stdout) as { policies: { spec: { regions: string[] }; putPolicy: { Policy: { SecurityServicePolicyData: { ManagedServiceData: string } } } }[] }).policies;
    expect(policy?.spec.regions).toEqual(['eu-west-1']);
    expect(JSON.parse(policy?.putPolicy.Policy.SecurityServicePolicyData.ManagedServiceData ?? '')).toEqual({
      type: 'WAFV2',
      preProcessRuleGroups: [{ ruleGroupArn: arn, overrideAction: { type: 'NONE' }, ruleGroupType: 'RuleGroup', excludeRules: [] }],
      postProcessRuleGroups: [],
      defaultAction: { type: 'BLOCK' },
      overrideCustomerWebACLAssociation: false,
    });
  });

  it('import-cfn: a template building more than --max-expansion-mb is refused in one sentence with the file, exit code 2', async () => {
    const template = `${fixtures}/cfn/fms-sample-waf-policy.yaml`;
    const arn = `arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/RuleGroup/${'a'.repeat(2000)}`;
    const result = await runCli(['policy', 'import-cfn', template, '--resolve', `RuleGroup.Arn=${arn}`, '--max-expansion-mb', '0.001'], { AWS_REGION: 'eu-west-1' });
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${template}:44:34 .*Fn::Sub: Fn::Sub takes the template's expansion past its limit of 1049 bytes of built text; if the template is trusted, raise the limit with --max-expansion-mb$`)),
      `orgshield: ${template} has 1 problem (listed above); nothing was imported.`,
      '',
    ]);
    expect(result.code).toBe(2);
  });
});

/** `policy list|show|diff` against the live policies of a sandbox's FMS administrator. */
describe('orgshield policy list|show|diff (end to end, sandbox)', () => {
  const region = 'eu-west-1';
  const prefix = `test-policy-live-${randomUUID()}`;
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  let dir: string;
  let ouPath: string;
  /** The WAF policy's spec; `extraRule` adds an excluded rule. Written as JSON (which YAML reads too). */
  const waf = (ou: string, extraRule?: string) => ({
    name: 'edge-waf',
    type: 'WAFV2',
    resourceTypes: ['alb'],
    regions: [region],
    scope: { include: { orgUnits: [ou] } },
    remediation: false,
    rules: {
      defaultAction: 'ALLOW',
      firstRuleGroups: [{ managedRuleGroup: { name: 'AWSManagedRulesCommonRuleSet' }, excludedRules: ['SizeRestrictions_BODY', 'NoUserAgent_HEADER', ...(extraRule ? [extraRule] : [])] }],
    },
  });
  const writeSpec = async (name: string, spec: object) => {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(spec, null, 2));
    return file;
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 20, ous: 4, seed: 8, timeScale: 0.001 });
    env = sandboxCliEnv(sandbox, prefix);
    dir = await mkdtemp(join(tmpdir(), 'orgshield-policy-live-'));
    const world = sandbox.world.snapshot();
    const ou = world.ous.find((candidate) => candidate.parentId === world.root.id);
    if (!ou) throw new Error('the sandbox has a top-level OU');
    ouPath = `${world.root.name}/${ou.name}`;
    const excluded = world.accounts.find((account) => account.id !== sandbox.world.org.managementAccountId)?.id ?? '';
    // Live: the WAF policy with the OU's id (what a rollout sends), and an enforcing Shield policy.
    const fms = new FMSClient({ ...sandbox.clientConfig(), region });
    try {
      await fms.send(new PutPolicyCommand(renderPutPolicy(PolicySpecSchema.parse(waf(ou.id)), { region })));
      const shield = PolicySpecSchema.parse({ type: 'SHIELD_ADVANCED', name: 'edge-shield', resourceTypes: ['eip', 'alb'], regions: [region], remediation: true, scope: { exclude: { accounts: [excluded] } } });
      await fms.send(new PutPolicyCommand(renderPutPolicy(shield, { region })));
    } finally {
      fms.destroy();
    }
  }, 60_000);

  afterAll(async () => {
    await deleteQueuePrefix(prefix);
    await sandbox?.close();
  });

  it('list: every live policy with its type, remediation, resource types and scope', { timeout: 60_000 }, async () => {
    const json = await runCli(['policy', 'list', '--region', region, '--output', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as { name: string; id: string; type: string; remediation: boolean; resourceTypes: string[]; scope: string }[];
    expect(rows.map((row) => row.name).sort()).toEqual(['edge-shield', 'edge-waf']);
    expect(rows.find((row) => row.name === 'edge-waf')).toMatchObject({ type: 'WAFV2', remediation: false, resourceTypes: ['alb'], scope: '1 OU' });
    expect(rows.find((row) => row.name === 'edge-shield')).toMatchObject({ type: 'SHIELD_ADVANCED', remediation: true, scope: 'all but 1 account' });
    expect(rows.find((row) => row.name === 'edge-shield')?.resourceTypes.sort()).toEqual(['alb', 'eip']);

    const table = await runCli(['policy', 'list', '--region', region], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${region}\\s+edge-shield\\s+\\S+\\s+SHIELD_ADVANCED\\s+on\\s+\\S+\\s+all but 1 account`));
    expect(table.stderr).toContain(`2 policies in ${region}`);
  });

  it('show: one policy in full by name or id, its ManagedServiceData as JSON; an unknown one is exit 2', { timeout: 60_000 }, async () => {
    const byName = await runCli(['policy', 'show', 'edge-waf', '--region', region, '--output', 'json'], env);
    expect(byName.code, byName.stderr).toBe(0);
    const [shown] = JSON.parse(byName.stdout) as { region: string; policy: { PolicyId: string; SecurityServicePolicyData: { Type: string; ManagedServiceData: { type: string; preProcessRuleGroups: unknown[] } } } }[];
    expect(shown?.region).toBe(region);
    expect(shown?.policy.SecurityServicePolicyData.ManagedServiceData.type).toBe('WAFV2');
    expect(shown?.policy.SecurityServicePolicyData.ManagedServiceData.preProcessRuleGroups).toHaveLength(1);
    const byId = await runCli(['policy', 'show', shown?.policy.PolicyId ?? '', '--region', region], env);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toMatch(/name\s+edge-waf\n/);
    expect(byId.stdout).toContain('ManagedServiceData:\n{\n  "type": "WAFV2"');

    const unknown = await runCli(['policy', 'show', 'nope', '--region', region], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(`orgshield: there is no Firewall Manager policy named or with id "nope" in ${region}; see "orgshield policy list", or add --region.\n`);
    const badRegion = await runCli(['policy', 'list', '--region', 'Ireland'], env);
    expect(badRegion.code).toBe(2);
    expect(badRegion.stderr).toContain('--region "Ireland" is not a region name like eu-west-1.');
  });

  it('diff: equal is exit 0 (OU path and set order aside), each changed field is exit 1, not live is exit 1, a bad spec exit 2', { timeout: 90_000 }, async () => {
    // The OU by its path, the excluded rules in another order, the keys in another order: the same policy.
    const { rules, ...rest } = waf(ouPath);
    const same = await writeSpec('same.yaml', { rules: { firstRuleGroups: [{ ...rules.firstRuleGroups[0], excludedRules: ['NoUserAgent_HEADER', 'SizeRestrictions_BODY'] }], defaultAction: 'ALLOW' }, ...rest });
    const equal = await runCli(['policy', 'diff', same], env);
    expect(equal.stdout, equal.stderr).toMatch(new RegExp(`^edge-waf in ${region} \\(\\S+\\): equal to ${same}\\n$`));
    expect(equal.code).toBe(0);

    const changed = await writeSpec('changed.yaml', { ...waf(ouPath, 'EC2MetaDataSSRF_BODY'), remediation: true });
    const json = await runCli(['policy', 'diff', changed, '--output', 'json'], env);
    expect(json.code, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as { equal: boolean; regions: { live: boolean; differences: { path: string; from: unknown; to: unknown }[] }[] };
    expect(report.equal).toBe(false);
    expect(report.regions[0]?.differences).toEqual([
      { path: 'remediation', from: false, to: true },
      {
        path: 'rules.firstRuleGroups[0].excludedRules',
        from: ['NoUserAgent_HEADER', 'SizeRestrictions_BODY'],
        to: ['EC2MetaDataSSRF_BODY', 'NoUserAgent_HEADER', 'SizeRestrictions_BODY'],
      },
    ]);
    const table = await runCli(['policy', 'diff', changed], env);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/: 2 differences\nFIELD\s+LIVE\s+SPEC\nremediation\s+false\s+true\n/);

    const other = await writeSpec('other.json', { ...waf(ouPath), name: 'edge-waf-next' });
    const notLive = await runCli(['policy', 'diff', other], env);
    expect(notLive.code).toBe(1);
    expect(notLive.stdout).toBe(`edge-waf-next in ${region}: not live\n`);
    const asLive = await runCli(['policy', 'diff', other, '--live-name', 'edge-waf'], env);
    expect(asLive.code, asLive.stdout + asLive.stderr).toBe(0);

    const missingOu = await writeSpec('missing-ou.yaml', waf('Root/Nowhere'));
    const bad = await runCli(['policy', 'diff', missingOu], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Root/Nowhere');
  });
});

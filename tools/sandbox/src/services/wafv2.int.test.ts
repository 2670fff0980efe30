import { FMSClient, PutPolicyCommand } from '@aws-sdk/client-fms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CheckCapacityCommand,
  CreateRuleGroupCommand,
  DescribeManagedRuleGroupCommand,
  GetRuleGroupCommand,
  GetWebACLCommand,
  ListAvailableManagedRuleGroupsCommand,
  ListAvailableManagedRuleGroupVersionsCommand,
  ListRuleGroupsCommand,
  ListWebACLsCommand,
  WAFDuplicateItemException,
  WAFInvalidParameterException,
  WAFNonexistentItemException,
  WAFV2Client,
  type Rule,
} from '@aws-sdk/client-wafv2';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { protectedResources, RESOURCE_TYPES } from '../world/protected-resources.js';

const credentials = { accessKeyId: 'AKIAWAFADMINTEST0001', secretAccessKey: 'test' };
const visibility = { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'm' };

let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function start(): Promise<RunningSandbox> {
  sandbox = await startSandbox({ port: 0, accounts: 60, ous: 8, seed: 9, timeScale: 0.001 });
  return sandbox;
}

function waf(sb: RunningSandbox, region = 'us-east-1', creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = credentials): WAFV2Client {
  return new WAFV2Client({ endpoint: sb.url, region, credentials: creds, maxAttempts: 1 });
}

const managed = (name: string, priority: number): Rule => ({
  Name: name,
  Priority: priority,
  Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: name } },
  OverrideAction: { None: {} },
  VisibilityConfig: visibility,
});

describe('WAFv2 in the sandbox', () => {
  it('computes capacity from managed groups, own rule groups and statements', async () => {
    const sb = await start();
    const client = waf(sb);
    const geo: Rule = { Name: 'geo', Priority: 0, Statement: { GeoMatchStatement: { CountryCodes: ['KP'] } }, Action: { Block: {} }, VisibilityConfig: visibility };
    const created = await client.send(new CreateRuleGroupCommand({ Name: 'geo-block', Scope: 'REGIONAL', Capacity: 50, Rules: [geo], VisibilityConfig: visibility }));
    const arn = created.Summary?.ARN as string;
    expect(arn).toMatch(new RegExp(`^arn:aws:wafv2:us-east-1:${sb.world.org.managementAccountId}:regional/rulegroup/geo-block/`));

    const capacity = await client.send(
      new CheckCapacityCommand({
        Scope: 'REGIONAL',
        Rules: [
          managed('AWSManagedRulesCommonRuleSet', 0),
          managed('AWSManagedRulesAmazonIpReputationList', 1),
          { Name: 'own', Priority: 2, Statement: { RuleGroupReferenceStatement: { ARN: arn } }, OverrideAction: { None: {} }, VisibilityConfig: visibility },
        ],
      }),
    );
    expect(capacity.Capacity).toBe(700 + 25 + 50);
    await expect(client.send(new CheckCapacityCommand({ Scope: 'REGIONAL', Rules: [managed('AWSManagedRulesNoSuchSet', 0)] }))).rejects.toThrow(WAFNonexistentItemException);
  });

  it('serves the CLOUDFRONT scope in us-east-1 only', async () => {
    const sb = await start();
    const refused = waf(sb, 'eu-west-1').send(new ListWebACLsCommand({ Scope: 'CLOUDFRONT' }));
    await expect(refused).rejects.toThrow(WAFInvalidParameterException);
    await expect(refused).rejects.toMatchObject({ Field: 'SCOPE_VALUE', Parameter: 'CLOUDFRONT' });
    await expect(waf(sb).send(new ListWebACLsCommand({ Scope: 'CLOUDFRONT' }))).resolves.toBeDefined();
  });

  it('keeps rule groups per account, region and scope', async () => {
    const sb = await start();
    const client = waf(sb);
    for (const name of ['a', 'b', 'c']) await client.send(new CreateRuleGroupCommand({ Name: name, Scope: 'REGIONAL', Capacity: 10, VisibilityConfig: visibility }));
    await expect(client.send(new CreateRuleGroupCommand({ Name: 'a', Scope: 'REGIONAL', Capacity: 10, VisibilityConfig: visibility }))).rejects.toThrow(WAFDuplicateItemException);

    const names: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListRuleGroupsCommand({ Scope: 'REGIONAL', Limit: 2, NextMarker: marker }));
      names.push(...(page.RuleGroups ?? []).map((g) => g.Name as string));
      marker = page.NextMarker;
    } while (marker);
    expect(names).toEqual(['a', 'b', 'c']);
    expect((await waf(sb, 'eu-west-1').send(new ListRuleGroupsCommand({ Scope: 'REGIONAL' }))).RuleGroups).toEqual([]);

    const [first] = (await client.send(new ListRuleGroupsCommand({ Scope: 'REGIONAL' }))).RuleGroups ?? [];
    const byArn = await client.send(new GetRuleGroupCommand({ ARN: first?.ARN }));
    const byName = await client.send(new GetRuleGroupCommand({ Name: first?.Name, Scope: 'REGIONAL', Id: first?.Id }));
    expect(byArn.RuleGroup).toEqual(byName.RuleGroup);
    expect(byArn.RuleGroup).toMatchObject({ Name: 'a', Capacity: 10 });
  });

  it('lists the AWS managed rule groups and the versions of each', async () => {
    const sb = await start();
    const client = waf(sb);
    const groups = (await client.send(new ListAvailableManagedRuleGroupsCommand({ Scope: 'REGIONAL' }))).ManagedRuleGroups ?? [];
    expect(groups.map((g) => g.Name)).toEqual(expect.arrayContaining(['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesAmazonIpReputationList']));
    const versions = await client.send(new ListAvailableManagedRuleGroupVersionsCommand({ VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet', Scope: 'REGIONAL' }));
    expect(versions.Versions?.map((v) => v.Name)).toContain(versions.CurrentDefaultVersion);
    expect(versions.Versions?.[0]?.Name).toBe(versions.CurrentDefaultVersion);
    const described = await client.send(new DescribeManagedRuleGroupCommand({ VendorName: 'AWS', Name: 'AWSManagedRulesSQLiRuleSet', Scope: 'REGIONAL' }));
    expect(described.Capacity).toBe(200);
  });

  it('shows the web ACL Firewall Manager creates in a member account once the policy is evaluated', async () => {
    const sb = await start();
    const fms = new FMSClient({ endpoint: sb.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    const member = [...sb.world.org.accounts.values()].find(
      (a) => a.status === 'ACTIVE' && a.id !== sb.world.org.managementAccountId && protectedResources(sb.world).inRegion(a.id, 'us-east-1').resources.some((r) => r.type === RESOURCE_TYPES.alb),
    );
    if (!member) throw new Error('no member account with a load balancer');
    const { Credentials } = await new STSClient({ endpoint: sb.url, region: 'us-east-1', credentials }).send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${member.id}:role/OrganizationAccountAccessRole`, RoleSessionName: 'waf-test' }),
    );
    const memberWaf = waf(sb, 'us-east-1', { accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretAccessKey ?? '', sessionToken: Credentials?.SessionToken ?? '' });
    const teamAcls = protectedResources(sb.world).inRegion(member.id, 'us-east-1').webAcls.filter((acl) => acl.scope === 'REGIONAL').map((acl) => acl.name);
    expect((await memberWaf.send(new ListWebACLsCommand({ Scope: 'REGIONAL' }))).WebACLs?.map((acl) => acl.Name)).toEqual(teamAcls);

    await fms.send(
      new PutPolicyCommand({
        Policy: {
          PolicyName: 'waf-baseline',
          SecurityServicePolicyData: {
            Type: 'WAFV2',
            ManagedServiceData: JSON.stringify({
              type: 'WAFV2',
              preProcessRuleGroups: [{ ruleGroupType: 'ManagedRuleGroup', managedRuleGroupIdentifier: { vendorName: 'AWS', managedRuleGroupName: 'AWSManagedRulesCommonRuleSet' }, overrideAction: { type: 'COUNT' } }],
              defaultAction: { type: 'BLOCK' },
            }),
          },
          ResourceType: RESOURCE_TYPES.alb,
          ExcludeResourceTags: false,
          RemediationEnabled: true,
        },
      }),
    );
    let managedAcl: { Name?: string; ARN?: string } | undefined;
    for (const deadline = Date.now() + 10_000; !managedAcl && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      managedAcl = (await memberWaf.send(new ListWebACLsCommand({ Scope: 'REGIONAL' }))).WebACLs?.find((acl) => acl.Name?.startsWith('FMManagedWebACLV2-waf-baseline-'));
    }
    expect(managedAcl).toBeDefined();
    const { WebACL } = await memberWaf.send(new GetWebACLCommand({ ARN: managedAcl?.ARN }));
    expect(WebACL).toMatchObject({
      ManagedByFirewallManager: true,
      DefaultAction: { Block: {} },
      Capacity: 700,
      PreProcessFirewallManagerRuleGroups: [
        { Priority: 0, OverrideAction: { Count: {} }, FirewallManagerStatement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } } },
      ],
    });
    // The administrator account is out of the policy's scope, so it has no such web ACL.
    const adminAcls = (await waf(sb).send(new ListWebACLsCommand({ Scope: 'REGIONAL' }))).WebACLs ?? [];
    expect(adminAcls.some((acl) => acl.Name?.startsWith('FMManagedWebACLV2-'))).toBe(false);
  });
});

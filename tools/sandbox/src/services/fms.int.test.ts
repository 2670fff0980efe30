import {
  DeleteNotificationChannelCommand,
  DeletePolicyCommand,
  FMSClient,
  GetAdminAccountCommand,
  GetComplianceDetailCommand,
  GetNotificationChannelCommand,
  GetPolicyCommand,
  InvalidInputException,
  InvalidOperationException,
  LimitExceededException,
  ListComplianceStatusCommand,
  ListPoliciesCommand,
  ListTagsForResourceCommand,
  PutNotificationChannelCommand,
  PutPolicyCommand,
  ResourceNotFoundException,
  type Policy,
  type PolicyComplianceStatus,
} from '@aws-sdk/client-fms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import type { SandboxOptions } from '../sandbox-options.js';
import { protectedResources, RESOURCE_TYPES } from '../world/protected-resources.js';
import { fmsPolicies } from './fms-policy-store.js';

/**
 * Firewall Manager through the real SDK client. Time scale 0.001: the default 5-minute
 * evaluation takes 0.3-0.375 s; remediation is set to 30 minutes (1.8 s) so the NON_COMPLIANT
 * phase between the two is long enough to observe on a busy machine.
 */
const TIME_SCALE = 0.001;
const credentials = { accessKeyId: 'AKIAFMSADMINTEST0001', secretAccessKey: 'test' };

let sandbox: RunningSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function start(options: SandboxOptions = {}): Promise<RunningSandbox> {
  sandbox = await startSandbox({ port: 0, accounts: 300, ous: 30, seed: 5, timeScale: TIME_SCALE, fms: { remediationDelaySeconds: 1800 }, ...options });
  return sandbox;
}

function fmsClient(sb: RunningSandbox, region = 'us-east-1', creds: typeof credentials | Awaited<ReturnType<typeof memberCredentials>> = credentials): FMSClient {
  return new FMSClient({ endpoint: sb.url, region, credentials: creds, maxAttempts: 1 });
}

async function memberCredentials(sb: RunningSandbox, accountId: string) {
  const sts = new STSClient({ endpoint: sb.url, region: 'us-east-1', credentials });
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'fms-test' }),
  );
  return { accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretAccessKey ?? '', sessionToken: Credentials?.SessionToken ?? '' };
}

function wafPolicy(name: string, document: Record<string, unknown> = {}, policy: Partial<Policy> = {}): Policy {
  return {
    PolicyName: name,
    SecurityServicePolicyData: {
      Type: 'WAFV2',
      ManagedServiceData: JSON.stringify({
        type: 'WAFV2',
        preProcessRuleGroups: [{ ruleGroupType: 'ManagedRuleGroup', managedRuleGroupIdentifier: { vendorName: 'AWS', managedRuleGroupName: 'AWSManagedRulesCommonRuleSet' }, overrideAction: { type: 'NONE' } }],
        postProcessRuleGroups: [],
        defaultAction: { type: 'ALLOW' },
        ...document,
      }),
    },
    ResourceType: RESOURCE_TYPES.alb,
    ExcludeResourceTags: false,
    RemediationEnabled: true,
    ...policy,
  };
}

async function allStatuses(client: FMSClient, policyId: string, pageSize?: number): Promise<{ statuses: PolicyComplianceStatus[]; pages: number }> {
  const statuses: PolicyComplianceStatus[] = [];
  let pages = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListComplianceStatusCommand({ PolicyId: policyId, MaxResults: pageSize, NextToken: token }));
    statuses.push(...(page.PolicyComplianceStatusList ?? []));
    token = page.NextToken;
    pages++;
  } while (token);
  return { statuses, pages };
}

/** Reads all pages until `done` holds for them, or fails after `timeoutMs`. */
async function waitForStatuses(client: FMSClient, policyId: string, done: (s: PolicyComplianceStatus[]) => boolean, timeoutMs = 10_000): Promise<PolicyComplianceStatus[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { statuses } = await allStatuses(client, policyId);
    if (done(statuses)) return statuses;
    if (Date.now() > deadline) throw new Error(`compliance did not settle in ${timeoutMs} ms; last read ${statuses.length} accounts`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const status = (s: PolicyComplianceStatus) => s.EvaluationResults?.[0]?.ComplianceStatus;
const activeMembers = (sb: RunningSandbox) =>
  [...sb.world.org.accounts.values()].filter((a) => a.status === 'ACTIVE' && a.id !== sb.world.org.managementAccountId).map((a) => a.id);

describe('Firewall Manager in the sandbox', () => {
  it('answers in the administrator account only', async () => {
    const sb = await start();
    const admin = await fmsClient(sb).send(new GetAdminAccountCommand({}));
    expect(admin).toMatchObject({ AdminAccount: sb.world.org.managementAccountId, RoleStatus: 'READY' });
    const member = activeMembers(sb)[0] as string;
    const asMember = fmsClient(sb, 'us-east-1', await memberCredentials(sb, member));
    await expect(asMember.send(new ListPoliciesCommand({}))).rejects.toThrow(InvalidOperationException);
    await expect(asMember.send(new ListPoliciesCommand({}))).rejects.toThrow(new RegExp(`${member} is not the Firewall Manager administrator`));
  });

  it('creates and updates a policy with a token that rotates, refusing a stale one', async () => {
    const sb = await start();
    const client = fmsClient(sb);
    const created = await client.send(new PutPolicyCommand({ Policy: wafPolicy('baseline'), TagList: [{ Key: 'owner', Value: 'secops' }] }));
    const id = created.Policy?.PolicyId as string;
    const firstToken = created.Policy?.PolicyUpdateToken as string;
    expect(created.PolicyArn).toBe(`arn:aws:fms:us-east-1:${sb.world.org.managementAccountId}:policy/${id}`);

    const read = await client.send(new GetPolicyCommand({ PolicyId: id }));
    expect(read.Policy?.PolicyUpdateToken).toBe(firstToken);
    // GetPolicy returns the document as FMS normalizes it, not as it was sent.
    const document = JSON.parse(read.Policy?.SecurityServicePolicyData?.ManagedServiceData as string) as Record<string, unknown>;
    expect(document).toMatchObject({ overrideCustomerWebACLAssociation: false, loggingConfiguration: null, sampledRequestsEnabledForDefaultActions: true });
    expect(document.preProcessRuleGroups).toEqual([
      expect.objectContaining({ ruleGroupArn: null, excludeRules: [], ruleActionOverrides: null, managedRuleGroupIdentifier: expect.objectContaining({ versionEnabled: null }) }),
    ]);

    const updated = await client.send(new PutPolicyCommand({ Policy: { ...wafPolicy('baseline-v2'), PolicyId: id, PolicyUpdateToken: firstToken } }));
    expect(updated.Policy?.PolicyUpdateToken).not.toBe(firstToken);
    expect((await client.send(new GetPolicyCommand({ PolicyId: id }))).Policy?.PolicyName).toBe('baseline-v2');

    const stale = client.send(new PutPolicyCommand({ Policy: { ...wafPolicy('baseline-v3'), PolicyId: id, PolicyUpdateToken: firstToken } }));
    await expect(stale).rejects.toThrow(InvalidInputException);
    await expect(stale).rejects.toThrow(/is not the current token/);
    expect((await client.send(new GetPolicyCommand({ PolicyId: id }))).Policy?.PolicyName).toBe('baseline-v2');
    expect((await client.send(new ListTagsForResourceCommand({ ResourceArn: created.PolicyArn }))).TagList).toEqual([{ Key: 'owner', Value: 'secops' }]);

    const unknown = '00000000-0000-4000-8000-000000000000';
    await expect(client.send(new GetPolicyCommand({ PolicyId: unknown }))).rejects.toThrow(ResourceNotFoundException);
    await expect(client.send(new PutPolicyCommand({ Policy: { ...wafPolicy('x'), PolicyId: unknown, PolicyUpdateToken: firstToken } }))).rejects.toThrow(ResourceNotFoundException);
    // Policies are regional: us-west-2 has no such policy.
    await expect(fmsClient(sb, 'us-west-2').send(new GetPolicyCommand({ PolicyId: id }))).rejects.toThrow(ResourceNotFoundException);

    await client.send(new DeletePolicyCommand({ PolicyId: id, DeleteAllPolicyResources: true }));
    await expect(client.send(new GetPolicyCommand({ PolicyId: id }))).rejects.toThrow(ResourceNotFoundException);
  });

  it('refuses a bad ManagedServiceData and creates nothing', async () => {
    const sb = await start();
    const client = fmsClient(sb);
    const put = (ManagedServiceData: string) =>
      client.send(new PutPolicyCommand({ Policy: { ...wafPolicy('bad'), SecurityServicePolicyData: { Type: 'WAFV2', ManagedServiceData } } }));
    await expect(put('{"type":"WAFV2",')).rejects.toThrow(/not valid JSON/);
    await expect(put(JSON.stringify({ type: 'SHIELD_ADVANCED' }))).rejects.toThrow(/has type "SHIELD_ADVANCED" but .* is WAFV2/);
    const long = JSON.stringify({ type: 'WAFV2', defaultAction: { type: 'ALLOW' }, description: 'x'.repeat(9000) });
    await expect(put(long)).rejects.toThrow(InvalidInputException);
    await expect(put(long)).rejects.toThrow(/more than the 8192 Firewall Manager accepts/);
    await expect(put(JSON.stringify({ type: 'WAFV2', preProcessRuleGroups: [] }))).rejects.toThrow(/defaultAction/);
    expect((await client.send(new ListPoliciesCommand({}))).PolicyList).toEqual([]);
  });

  it('holds 20 policies per region, CloudFront ones counting in us-east-1, and pages through them', async () => {
    const sb = await start();
    const client = fmsClient(sb);
    for (let i = 0; i < 15; i++) await client.send(new PutPolicyCommand({ Policy: wafPolicy(`regional-${i}`) }));
    for (let i = 0; i < 5; i++) await client.send(new PutPolicyCommand({ Policy: wafPolicy(`global-${i}`, {}, { ResourceType: RESOURCE_TYPES.cloudFront }) }));
    const twentyFirst = client.send(new PutPolicyCommand({ Policy: wafPolicy('one-too-many') }));
    await expect(twentyFirst).rejects.toThrow(LimitExceededException);
    await expect(twentyFirst).rejects.toThrow(/already has 20 Firewall Manager policies in us-east-1/);

    const west = fmsClient(sb, 'us-west-2');
    await expect(west.send(new PutPolicyCommand({ Policy: wafPolicy('edge', {}, { ResourceType: RESOURCE_TYPES.cloudFront }) }))).rejects.toThrow(/create the policy in us-east-1/);
    await west.send(new PutPolicyCommand({ Policy: wafPolicy('regional-west') }));

    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListPoliciesCommand({ MaxResults: 7, NextToken: token }));
      names.push(...(page.PolicyList ?? []).map((p) => p.PolicyName as string));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(new Set(names).size).toBe(20);
    expect(fmsPolicies(sb.world).policies('us-east-1')).toHaveLength(20);
    await expect(client.send(new ListPoliciesCommand({ MaxResults: 101 }))).rejects.toThrow(InvalidInputException);
  });

  it('goes NON_COMPLIANT, then COMPLIANT under remediation, except where remediation is blocked', async () => {
    const sb = await start({ fms: { remediationDelaySeconds: 1800, blockedCustomerWebAclAccounts: 5 } });
    const client = fmsClient(sb);
    const scenarioAccounts = [...protectedResources(sb.world).accountsWithBlockedWebAcls()].sort();
    const members = activeMembers(sb);
    // One more account blocked by hand: a load balancer without any web ACL.
    const handBlocked = members
      .filter((id) => !scenarioAccounts.includes(id))
      .map((id) => ({ id, alb: protectedResources(sb.world).inRegion(id, 'us-east-1').resources.find((r) => r.type === RESOURCE_TYPES.alb && !r.customerWebAclArn) }))
      .find((candidate) => candidate.alb !== undefined);
    if (!handBlocked?.alb) throw new Error('no account with a load balancer to block');
    protectedResources(sb.world).blockRemediation(handBlocked.id, handBlocked.alb.id);

    const changedAt = Date.now();
    const { Policy } = await client.send(new PutPolicyCommand({ Policy: wafPolicy('enforce', { overrideCustomerWebACLAssociation: true }) }));
    const policyId = Policy?.PolicyId as string;

    const evaluated = await waitForStatuses(client, policyId, (s) => s.length === members.length);
    expect(evaluated.some((s) => status(s) === 'NON_COMPLIANT')).toBe(true);
    expect(evaluated.every((s) => (s.LastUpdated?.getTime() ?? 0) >= changedAt)).toBe(true);
    const missing = await client.send(new GetComplianceDetailCommand({ PolicyId: policyId, MemberAccount: handBlocked.id }));
    expect(missing.PolicyComplianceDetail?.Violators).toContainEqual({ ResourceId: handBlocked.alb.id, ResourceType: RESOURCE_TYPES.alb, ViolationReason: 'RESOURCE_MISSING_WEB_ACL' });

    const settled = await waitForStatuses(client, policyId, (s) => s.filter((x) => status(x) === 'NON_COMPLIANT').length === scenarioAccounts.length + 1);
    const nonCompliant = settled.filter((s) => status(s) === 'NON_COMPLIANT').map((s) => s.MemberAccount as string);
    expect(nonCompliant.sort()).toEqual([...scenarioAccounts, handBlocked.id].sort());
    for (const accountId of scenarioAccounts) {
      const detail = await client.send(new GetComplianceDetailCommand({ PolicyId: policyId, MemberAccount: accountId }));
      expect(detail.PolicyComplianceDetail?.Violators?.length).toBeGreaterThan(0);
      for (const violator of detail.PolicyComplianceDetail?.Violators ?? []) {
        expect(violator).toMatchObject({ ViolationReason: 'RESOURCE_INCORRECT_WEB_ACL' });
      }
    }
    const stillMissing = await client.send(new GetComplianceDetailCommand({ PolicyId: policyId, MemberAccount: handBlocked.id }));
    expect(stillMissing.PolicyComplianceDetail?.Violators).toEqual([{ ResourceId: handBlocked.alb.id, ResourceType: RESOURCE_TYPES.alb, ViolationReason: 'RESOURCE_MISSING_WEB_ACL' }]);
  });

  it('keeps an audit-only policy NON_COMPLIANT and shows when an update has been evaluated', async () => {
    const sb = await start();
    const client = fmsClient(sb);
    const { Policy } = await client.send(new PutPolicyCommand({ Policy: wafPolicy('audit', {}, { RemediationEnabled: false }) }));
    const policyId = Policy?.PolicyId as string;
    const members = activeMembers(sb);
    const evaluated = await waitForStatuses(client, policyId, (s) => s.length === members.length);
    const violating = evaluated.filter((s) => status(s) === 'NON_COMPLIANT');
    expect(violating.length).toBeGreaterThan(0);

    // Past the remediation an enforcing policy would have had: nothing changed.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const { statuses: later } = await allStatuses(client, policyId);
    expect(later).toEqual(evaluated);

    const updateAt = Date.now();
    await client.send(new PutPolicyCommand({ Policy: { ...wafPolicy('audit', {}, { RemediationEnabled: false, ResourceTags: [{ Key: 'env', Value: 'prod' }] }), PolicyId: policyId, PolicyUpdateToken: Policy?.PolicyUpdateToken } }));
    const { statuses: after } = await allStatuses(client, policyId);
    // Until the update is evaluated, every account keeps its last status.
    expect(after).toHaveLength(members.length);
    expect(after.every((s) => (s.LastUpdated?.getTime() ?? 0) < updateAt)).toBe(true);
    const reevaluated = await waitForStatuses(client, policyId, (s) => s.length > 0 && s.every((x) => (x.LastUpdated?.getTime() ?? 0) >= updateAt));
    expect(reevaluated.length).toBe(members.length);
  });

  it('pages through ListComplianceStatus over 300 accounts and reports EvaluationLimitExceeded', async () => {
    const sb = await start();
    const client = fmsClient(sb);
    const { Policy } = await client.send(new PutPolicyCommand({ Policy: wafPolicy('paging', {}, { RemediationEnabled: false }) }));
    const policyId = Policy?.PolicyId as string;
    const members = activeMembers(sb);
    expect(members.length).toBeGreaterThan(280);
    await waitForStatuses(client, policyId, (s) => s.length === members.length);

    const { statuses, pages } = await allStatuses(client, policyId, 40);
    expect(pages).toBe(Math.ceil(members.length / 40));
    expect(statuses.map((s) => s.MemberAccount).sort()).toEqual([...members].sort());

    const large = statuses.filter((s) => s.EvaluationResults?.[0]?.EvaluationLimitExceeded);
    expect(large.length).toBeGreaterThan(0);
    const detail = await client.send(new GetComplianceDetailCommand({ PolicyId: policyId, MemberAccount: large[0]?.MemberAccount }));
    expect(detail.PolicyComplianceDetail?.EvaluationLimitExceeded).toBe(true);
    expect(detail.PolicyComplianceDetail?.Violators).toHaveLength(100);
    expect(large[0]?.EvaluationResults?.[0]?.ViolatorCount).toBeGreaterThan(100);
    await expect(client.send(new ListComplianceStatusCommand({ PolicyId: policyId, NextToken: 'forged.token' }))).rejects.toThrow(InvalidInputException);
  });

  it('keeps a notification channel per region', async () => {
    const sb = await start();
    const client = fmsClient(sb);
    expect((await client.send(new GetNotificationChannelCommand({}))).SnsTopicArn).toBeUndefined();
    const channel = { SnsTopicArn: `arn:aws:sns:us-east-1:${sb.world.org.managementAccountId}:fms-alerts`, SnsRoleName: `arn:aws:iam::${sb.world.org.managementAccountId}:role/AWSServiceRoleForFMS` };
    await client.send(new PutNotificationChannelCommand(channel));
    expect(await client.send(new GetNotificationChannelCommand({}))).toMatchObject(channel);
    await client.send(new DeleteNotificationChannelCommand({}));
    await expect(client.send(new DeleteNotificationChannelCommand({}))).rejects.toThrow(ResourceNotFoundException);
  });
});

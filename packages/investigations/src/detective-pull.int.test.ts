import { GetFindingsCommand, GuardDutyClient, ListDetectorsCommand, ListFindingsCommand } from '@aws-sdk/client-guardduty';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { configureDetective, type RunningSandbox } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { describe, expect } from 'vitest';
import { normalizeFinding, type NormalizedFinding } from './finding-normalize.js';
import { pullDetective } from './detective-pull.js';
import { investigationClients, type InvestigationClients } from './investigation-aws.js';
import { resolveEntity } from './investigation-entity.js';
import { findingWindow } from './investigation-window.js';

const REGION = 'us-east-1';
const test = sandboxTest.override({ sandboxOptions: { accounts: 40, ous: 8, seed: 7, timeScale: 0.001 } });
const fast = { pollMs: 20, timeoutMs: 10_000, throttle: { attempts: 6, baseDelayMs: 20, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) } };

function connect(sandbox: RunningSandbox) {
  const factory = new AwsClientFactory({
    ...sandbox.clientConfig(),
    maxAttempts: 2,
  });
  const members = new MemberCredentials(factory, { managementAccountId: sandbox.world.org.managementAccountId });
  return { factory, members, clients: investigationClients(factory, members) };
}

/** The seeded findings of the first incident accounts, read as a user would with GuardDuty. */
async function seededFinding(clients: { factory: AwsClientFactory; members: MemberCredentials }, accountId: string): Promise<NormalizedFinding> {
  const guardduty = clients.factory.client(GuardDutyClient, clients.members.target(accountId, REGION));
  const detectorId = (await guardduty.send(new ListDetectorsCommand({}))).DetectorIds?.[0];
  const ids = (await guardduty.send(new ListFindingsCommand({ DetectorId: detectorId }))).FindingIds ?? [];
  const { Findings } = await guardduty.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: ids }));
  return normalizeFinding({ Findings });
}

function incidentAccounts(sandbox: RunningSandbox): string[] {
  const org = sandbox.world.org;
  return [...org.accounts.values()].filter((a) => a.id !== org.managementAccountId && a.status === 'ACTIVE').map((a) => a.id);
}

describe('pullDetective against the sandbox', () => {
  test('investigates the TorClient instance role: every indicator over several pages, then reuses the investigation', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const accountId = incidentAccounts(sandbox)[0] as string;
    const finding = await seededFinding(connection, accountId);
    expect(finding.type).toBe('UnauthorizedAccess:EC2/TorClient');
    const entity = await resolveEntity({ kind: 'finding', finding }, { ec2: () => connection.clients.ec2(accountId, REGION), accountId, region: REGION });
    expect(entity.principalArn).toBe(`arn:aws:iam::${accountId}:role/web-app`);

    const request = { accountId, region: REGION, principalArn: entity.principalArn, window: findingWindow(finding) };
    const report = await pullDetective(request, { clients: connection.clients, ...fast });
    expect(report).toMatchObject({
      available: true,
      graphVia: 'caller',
      administratorAccountId: sandbox.world.org.managementAccountId,
      member: { accountId, status: 'ENABLED' },
      coreIngest: { coverage: 'ingesting' },
      entityArn: entity.principalArn,
      investigation: { status: 'SUCCESSFUL', severity: 'CRITICAL', reused: false, timedOut: false },
      warnings: [],
    });
    // The seeded older investigation of the same role is listed, and not reused: its scope ends before the incident.
    expect(report.existingInvestigations).toHaveLength(1);
    const indicators = report.investigation?.indicators ?? [];
    expect(indicators.length).toBeGreaterThan(100);
    expect(indicators).toContainEqual({ type: 'FLAGGED_IP_ADDRESS', detail: { IpAddress: finding.remotes[0]?.ip, Reason: 'AWS_THREAT_INTELLIGENCE' } });
    expect(indicators.find((i) => i.type === 'RELATED_FINDING')?.detail).toMatchObject({ Arn: finding.arn, Type: finding.type });
    expect(sandbox.requests().filter((r) => r.operation === 'ListIndicators')).toHaveLength(2);

    const gets = (): number => sandbox.requests().filter((r) => r.operation === 'GetInvestigation').length;
    const before = gets();
    const again = await pullDetective(request, { clients: connection.clients, ...fast });
    expect(again.investigation).toMatchObject({ id: report.investigation?.id, reused: true, severity: 'CRITICAL' });
    expect(again.existingInvestigations).toHaveLength(2);
    expect(sandbox.requests().filter((r) => r.operation === 'StartInvestigation')).toHaveLength(1);
    // The reused investigation (listed first, the newest) is read once: finished, it is not read again to wait on it.
    expect(gets() - before).toBe(1);
    connection.factory.destroy();
  });

  test('says which graph is missing when the caller is not the Detective administrator', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const member = incidentAccounts(sandbox)[1] as string;
    // A caller whose Detective is a member account's: no graph of its own, no say over the organization.
    const asMember: InvestigationClients = { ...connection.clients, detective: (region) => connection.clients.detective(region, { accountId: member }) };
    const now = Date.now();
    const report = await pullDetective(
      { accountId: member, region: REGION, window: { from: new Date(now - 3_600_000), to: new Date(now) } },
      { clients: asMember, ...fast },
    );
    expect(report.available).toBe(false);
    expect(report.reason).toMatch(/^No Detective behavior graph in us-east-1 is visible to the caller; enable Detective in the administrator account/);
    connection.factory.destroy();
  });

  test('reaches the graph through a delegated administrator the management account names', async ({ sandbox }) => {
    const [torAccount, , , , security] = incidentAccounts(sandbox) as string[];
    configureDetective(sandbox.world, { administratorAccountId: security });
    const connection = connect(sandbox);
    const now = Date.now();
    const report = await pullDetective(
      { accountId: torAccount ?? '', region: REGION, principalArn: `arn:aws:iam::${torAccount}:role/web-app`, window: { from: new Date(now - 3_600_000), to: new Date(now) } },
      { clients: connection.clients, ...fast },
    );
    expect(report).toMatchObject({ available: true, graphVia: 'delegated-administrator', administratorAccountId: security, member: { status: 'ENABLED' } });
    expect(report.graphArn).toMatch(new RegExp(`^arn:aws:detective:us-east-1:${security}:graph:[0-9a-f]{32}$`));
    // The caller asked the organization, then worked in the administrator's account.
    expect(sandbox.requests().filter((r) => r.service === 'detective').map((r) => [r.operation, r.account === security])).toEqual(
      expect.arrayContaining([
        ['ListGraphs', false],
        ['ListOrganizationAdminAccounts', false],
        ['GetMembers', true],
        ['StartInvestigation', true],
      ]),
    );
    connection.factory.destroy();
  });

  test('reports an account outside the graph and an entity without a role, without failing', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const suspended = [...sandbox.world.org.accounts.values()].find((a) => a.status !== 'ACTIVE');
    expect(suspended).toBeDefined();
    const now = Date.now();
    const report = await pullDetective(
      { accountId: suspended?.id ?? '', region: REGION, window: { from: new Date(now - 3_600_000), to: new Date(now) } },
      { clients: connection.clients, ...fast },
    );
    expect(report.available).toBe(true);
    expect(report.member?.status).toBe('NOT_MEMBER');
    expect(report.coreIngest?.coverage).toBe('not-ingesting');
    expect(report.warnings).toEqual([
      expect.stringMatching(/^Account \d{12} is not a member of the Detective graph of us-east-1/),
      expect.stringMatching(/Detective was not ingesting DETECTIVE_CORE/),
      expect.stringMatching(/There is no IAM role or user to investigate/),
    ]);
    connection.factory.destroy();
  });
});

describe('pullDetective under Detective throttling', () => {
  const throttled = sandboxTest.override({
    sandboxOptions: { accounts: 40, ous: 8, seed: 7, timeScale: 0.001, faults: { operations: { 'detective:ListIndicators': { rate: 2, burst: 1 } } } },
  });

  throttled('still collects every indicator when ListIndicators answers TooManyRequestsException', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const accountId = incidentAccounts(sandbox)[0] as string;
    const finding = await seededFinding(connection, accountId);
    const report = await pullDetective(
      { accountId, region: REGION, principalArn: `arn:aws:iam::${accountId}:role/web-app`, window: findingWindow(finding) },
      { clients: connection.clients, ...fast },
    );
    expect(report.investigation?.indicators.length).toBeGreaterThan(100);
    const calls = sandbox.requests().filter((r) => r.operation === 'ListIndicators');
    expect(calls.some((r) => r.error === 'TooManyRequestsException')).toBe(true);
    expect(calls.filter((r) => r.status === 200)).toHaveLength(2);
    connection.factory.destroy();
  });
});

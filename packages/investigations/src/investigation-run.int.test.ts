import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GetFindingsCommand, GuardDutyClient, ListDetectorsCommand, ListFindingsCommand, type Finding } from '@aws-sdk/client-guardduty';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { InvalidInputError } from '@orgshield/errors';
import { type IncidentKind, incidentPlan, type RunningSandbox } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { investigationClients } from './investigation-aws.js';
import { type InvestigationProgress, InvestigationResultSchema, runInvestigation } from './investigation-run.js';

const REGION = 'us-east-1';
const test = sandboxTest.override({ sandboxOptions: { accounts: 40, ous: 8, seed: 3, timeScale: 0.001 } });
const detective = { pollMs: 20, timeoutMs: 10_000 };

let reports: string;
beforeEach(async () => {
  reports = await mkdtemp(join(tmpdir(), 'orgshield-investigation-'));
});
afterEach(async () => {
  await rm(reports, { recursive: true, force: true });
});

function connect(sandbox: RunningSandbox) {
  const factory = new AwsClientFactory({
    ...sandbox.clientConfig(),
  });
  const members = new MemberCredentials(factory, { managementAccountId: sandbox.world.org.managementAccountId });
  return { factory, members, deps: { clients: investigationClients(factory, members), detective, reportRoot: reports } };
}

/** The account the sandbox planted an incident of this kind in, from its own plan. */
function incidentAccount(sandbox: RunningSandbox, kind: IncidentKind): string {
  const incident = incidentPlan(sandbox.world).incidents.find((i) => i.kind === kind);
  if (!incident) throw new Error(`the sandbox plants no ${kind} incident`);
  return incident.instance.accountId;
}

async function findingOf(connection: ReturnType<typeof connect>, accountId: string): Promise<Finding> {
  const guardduty = connection.factory.client(GuardDutyClient, connection.members.target(accountId, REGION));
  const detectorId = (await guardduty.send(new ListDetectorsCommand({}))).DetectorIds?.[0];
  const ids = (await guardduty.send(new ListFindingsCommand({ DetectorId: detectorId }))).FindingIds ?? [];
  const finding = (await guardduty.send(new GetFindingsCommand({ DetectorId: detectorId, FindingIds: ids }))).Findings?.[0];
  if (!finding) throw new Error(`no seeded finding in ${accountId}`);
  return finding;
}

describe('runInvestigation keeps its paths under their roots', () => {
  test('refuses report and flow-log paths that climb out, are absolute, hold NUL or lead through a link out, before any AWS call', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const outside = await mkdtemp(join(tmpdir(), 'orgshield-outside-'));
    await mkdir(join(reports, 'logs'));
    await symlink(outside, join(reports, 'escape'));
    const deps = { ...connection.deps, flowLogRoot: reports };
    const request = { instanceId: 'i-0123456789abcdef0', accountId: '123456789012', region: REGION };
    const before = sandbox.requests().length;
    const refusals: [Record<string, string>, string][] = [
      [{ reportDir: '../../../../tmp/owned' }, `The report folder "../../../../tmp/owned" climbs out with ".."; name a path under ${reports} (ORGSHIELD_REPORT_DIR).`],
      [{ reportDir: outside }, `The report folder ${JSON.stringify(outside)} is an absolute path; name one relative to ${reports} (ORGSHIELD_REPORT_DIR).`],
      [{ reportDir: 'a\0b' }, 'The report folder "a\\u0000b" contains a NUL byte; name a path without one.'],
      [{ reportDir: 'escape/sub' }, `The report folder "escape/sub" leads through a symbolic link to ${JSON.stringify(outside)}, outside ${reports} (ORGSHIELD_REPORT_DIR); name a path under it.`],
      [{ flowLogs: '../etc' }, `The flow-log path "../etc" climbs out with ".."; name a path under ${reports} (ORGSHIELD_FLOW_LOG_DIR).`],
      [{ flowLogs: '/etc/passwd' }, `The flow-log path "/etc/passwd" is an absolute path; name one relative to ${reports} (ORGSHIELD_FLOW_LOG_DIR).`],
      [{ flowLogs: 'escape' }, `The flow-log path "escape" leads through a symbolic link to ${JSON.stringify(outside)}, outside ${reports} (ORGSHIELD_FLOW_LOG_DIR); name a path under it.`],
    ];
    for (const [paths, message] of refusals) {
      const error = await runInvestigation(deps, { ...request, ...paths }).catch((e: unknown) => e);
      expect(error, JSON.stringify(paths)).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).toBe(message);
    }
    expect(sandbox.requests().length).toBe(before);
    expect(await readdir(outside)).toEqual([]);
    await rm(outside, { recursive: true, force: true });
    connection.factory.destroy();
  });

  test('a finding whose id is "../../../../" writes its reports in a folder inside the report root', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const accountId = incidentAccount(sandbox, 'tor-client');
    const finding = { ...(await findingOf(connection, accountId)), Id: '../../../../' };
    const result = await runInvestigation(connection.deps, { finding: { Findings: [finding] }, accountId, region: REGION });
    for (const path of Object.values(result.reportPaths)) if (path !== null) expect(relative(reports, path)).toMatch(/^\d{8}T\d{6}Z-finding-_\/flow-/);
    connection.factory.destroy();
  });
});

describe('runInvestigation against the sandbox', () => {
  test('investigates the seeded TorClient finding: the upload to the Tor relay, Detective, three reports', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const accountId = incidentAccount(sandbox, 'tor-client');
    const finding = await findingOf(connection, accountId);
    const progress: InvestigationProgress[] = [];
    const result = await runInvestigation(connection.deps, { finding: { Findings: [finding] }, accountId, region: REGION }, (p) => progress.push(p));

    expect(InvestigationResultSchema.parse(result)).toEqual(result);
    expect(result.subject).toMatchObject({ kind: 'instance', instanceId: finding.Resource?.InstanceDetails?.InstanceId, principalArn: `arn:aws:iam::${accountId}:role/web-app` });
    expect(result.flowLogs).toMatchObject({ via: 'describe-flow-logs', problems: 0 });
    expect(result.flowLogs.files).toBeGreaterThan(0);
    expect(result.records.matched).toBeGreaterThan(1000);
    // The 3 GiB upload is the exfiltration, marked as the finding's; its volume also stands out of the timeline.
    const exfiltration = result.findings.find((f) => f.kind === 'exfiltration');
    expect(exfiltration).toMatchObject({ remoteIp: '198.51.100.23', fromFinding: true });
    for (const other of result.findings.filter((f) => f !== exfiltration)) {
      expect(other.kind).toBe('traffic-spike');
      expect(Date.parse(other.evidence.from)).toBeLessThan(Date.parse(exfiltration?.evidence.to ?? ''));
      expect(Date.parse(other.evidence.to)).toBeGreaterThan(Date.parse(exfiltration?.evidence.from ?? ''));
    }
    expect(result.detective).toMatchObject({ available: true, memberStatus: 'ENABLED', coreIngest: 'ingesting', investigation: { status: 'SUCCESSFUL', severity: 'CRITICAL' } });
    expect(result.warnings).toEqual([]);
    // The VPC's primary block, its EKS pods' 100.64.0.0/16 and its IPv6 /56.
    expect(result.vpcRanges).toEqual({ source: 'vpc', vpcIds: [expect.stringMatching(/^vpc-/)], cidrs: [expect.stringMatching(/^10\.\d+\.0\.0\/16$/), '100.64.0.0/16', expect.stringMatching(/^2600:1f18:[0-9a-f:]+::\/56$/)] });
    expect(progress.map((p) => p.phase)).toEqual(expect.arrayContaining(['resolve', 'detective', 'flow-logs', 'report']));
    expect(progress.at(-1)).toMatchObject({ phase: 'report', done: 4, total: 4 });

    const json = JSON.parse(await readFile(result.reportPaths.json, 'utf8')) as { findings: unknown[]; sections: { title: string }[] };
    expect(json.findings).toHaveLength(result.findings.length);
    expect(json.sections.map((s) => s.title)).toEqual(['Subject', 'GuardDuty finding', 'Amazon Detective', 'Detective indicators', 'Notes']);
    expect(await readFile(result.reportPaths.markdown, 'utf8')).toContain('198.51.100.23');
    expect(await readFile(result.reportPaths.html, 'utf8')).toContain('UnauthorizedAccess:EC2/TorClient');
    connection.factory.destroy();
  });

  test('finds what each seeded finding planted, and nothing on the clean neighbour', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const probe = incidentAccount(sandbox, 'port-probe');
    const brute = incidentAccount(sandbox, 'ssh-brute-force');
    const dos = incidentAccount(sandbox, 'dos-tcp');
    const expected: [string, string, string | undefined][] = [
      [probe, 'port-scan', '203.0.113.45'],
      [brute, 'brute-force', '192.0.2.77'],
      [dos, 'traffic-spike', undefined],
    ];
    for (const [accountId, kind, remoteIp] of expected) {
      const finding = await findingOf(connection, accountId);
      const result = await runInvestigation(connection.deps, { finding, accountId, region: REGION });
      expect(result.findings.map((f) => [f.kind, f.remoteIp])).toEqual([[kind, remoteIp]]);
    }

    // The worker instance shares the flow-log files of the port-probed one, with clean traffic only.
    const probeFinding = await findingOf(connection, probe);
    const clean = incidentPlan(sandbox.world).incidents.find((i) => i.instance.accountId === probe)?.neighbour;
    const result = await runInvestigation(connection.deps, {
      instanceId: clean?.instanceId,
      accountId: probe,
      region: REGION,
      from: new Date(Date.parse(probeFinding.Service?.EventFirstSeen ?? '') - 3_600_000).toISOString(),
      to: probeFinding.Service?.EventLastSeen,
    });
    expect(result.records.matched).toBeGreaterThan(1000);
    expect(result.findings).toEqual([]);
    connection.factory.destroy();
  });

  test('assumes the role anew when AWS calls the member session expired before its time, and finishes', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const probe = incidentAccount(sandbox, 'port-probe');
    // Reading the finding assumes the role; the investigation's clients share that session.
    const finding = await findingOf(connection, probe);
    const assumed = () => sandbox.requests().filter((r) => r.service === 'sts' && r.operation === 'AssumeRole' && r.error === null).length;
    const before = assumed();
    expect(sandbox.world.credentials.expireSessions(probe)).toBeGreaterThan(0);

    const result = await runInvestigation(connection.deps, { finding, accountId: probe, region: REGION });
    expect(result.findings.map((f) => [f.kind, f.remoteIp])).toEqual([['port-scan', '203.0.113.45']]);
    expect(sandbox.requests().some((r) => r.service === 'ec2' && /Expired/.test(r.error ?? ''))).toBe(true);
    expect(assumed()).toBe(before + 1);
    connection.factory.destroy();
  });

  test('reads a named S3 location for an IP address, and refuses a finding from another account', async ({ sandbox }) => {
    const connection = connect(sandbox);
    const accountId = incidentAccount(sandbox, 'ssh-brute-force');
    const finding = await findingOf(connection, accountId);
    const instanceIp = finding.Resource?.InstanceDetails?.NetworkInterfaces?.[0]?.PrivateIpAddress ?? '';
    const bucket = `aws-flow-logs-archive-${sandbox.world.org.managementAccountId}`;
    const result = await runInvestigation(connection.deps, {
      ip: instanceIp,
      accountId,
      region: REGION,
      from: finding.Service?.EventFirstSeen,
      to: finding.Service?.EventLastSeen,
      flowLogs: `s3://${bucket}/AWSLogs/${accountId}/vpcflowlogs/`,
      reportDir: 'by-ip',
    });
    // The address belongs to the brute-forced instance: its interface and addresses are used.
    expect(result.subject).toMatchObject({ kind: 'ip', instanceId: finding.Resource?.InstanceDetails?.InstanceId });
    expect(result.subject.localIps).toContain(instanceIp);
    expect(result.flowLogs).toMatchObject({ via: 'request', source: `s3://${bucket}/AWSLogs/${accountId}/vpcflowlogs/` });
    expect(result.findings.map((f) => f.kind)).toEqual(['brute-force']);
    expect(result.reportPaths.html).toBe(join(reports, 'by-ip', 'flow-report.html'));

    await expect(runInvestigation(connection.deps, { finding, accountId: incidentAccount(sandbox, 'tor-client'), region: REGION })).rejects.toThrow(InvalidInputError);
    await expect(runInvestigation(connection.deps, { instanceId: 'i-0123456789abcdef0', accountId, region: REGION })).rejects.toThrow(
      /Instance i-0123456789abcdef0 does not exist in account \d{12} region us-east-1/,
    );
    connection.factory.destroy();
  });
});

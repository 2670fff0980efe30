import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { incidentPlan, type RunningSandbox } from '@orgshield/sandbox';
import { sandboxTest } from '@orgshield/sandbox/fixture';
import { writeFlowLogFiles } from '@orgshield/sandbox/flow-logs';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { PRIVATE_RANGES } from './flow-findings.js';
import { investigationClients } from './investigation-aws.js';
import type { ResolvedEntity } from './investigation-entity.js';
import { type InvestigationResult, InvestigationResultSchema, runInvestigation } from './investigation-run.js';
import { vpcRanges } from './investigation-vpc.js';

/**
 * The investigation judges "inside the VPC" by the ENI's VPC (DescribeVpcs), not by the private
 * ranges: the port-probed instance's VPC has a secondary block outside RFC 1918 (11.48.0.0/16).
 */
const REGION = 'us-east-1';
const OPTIONS = { accounts: 30, ous: 5, seed: 3, timeScale: 0.001 };
const test = sandboxTest.override({ sandboxOptions: OPTIONS });
/** An address in the VPC's secondary block. */
const STAGING = '11.48.7.9';
const HOUR_MS = 3_600_000;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'orgshield-investigation-vpc-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Three hours of the port-probed instance's flows with 2 GiB sent to STAGING in half an hour, written under the root; then the investigation of that instance. */
async function investigate(sandbox: RunningSandbox): Promise<{ result: InvestigationResult; vpcId: string; primary: string }> {
  const incident = incidentPlan(sandbox.world).incidents.find((i) => i.kind === 'port-probe');
  if (!incident) throw new Error('the sandbox plants a port probe');
  const { instance } = incident;
  const from = new Date(Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 4 * HOUR_MS);
  const to = new Date(from.getTime() + 3 * HOUR_MS);
  await writeFlowLogFiles(
    {
      seed: 11,
      from,
      to,
      recordsPerMinute: 60,
      localIp: instance.privateIp,
      accountId: instance.accountId,
      region: REGION,
      interfaceId: instance.networkInterfaceId,
      incidents: [{ kind: 'exfiltration', remoteIp: STAGING, at: new Date(from.getTime() + HOUR_MS), remotePort: 5432, bytes: 2 * 2 ** 30, durationSeconds: 1800 }],
    },
    { dir: join(root, 'flows'), files: 6 },
  );
  const factory = new AwsClientFactory({ ...sandbox.clientConfig() });
  const members = new MemberCredentials(factory, { managementAccountId: sandbox.world.org.managementAccountId });
  try {
    const result = await runInvestigation(
      { clients: investigationClients(factory, members), detective: { pollMs: 20, timeoutMs: 10_000 }, reportRoot: root, flowLogRoot: root },
      { instanceId: instance.instanceId, accountId: instance.accountId, region: REGION, from: from.toISOString(), to: to.toISOString(), flowLogs: 'flows', reportDir: 'report' },
    );
    expect(InvestigationResultSchema.parse(result)).toEqual(result);
    return { result, vpcId: instance.vpcId, primary: `${instance.privateIp.split('.').slice(0, 2).join('.')}.0.0/16` };
  } finally {
    factory.destroy();
  }
}

describe('an investigation judges transfers by the ENI’s VPC ranges', () => {
  test('a large transfer to the VPC’s secondary block outside RFC 1918 is an internal-transfer, and the reports name the ranges', async ({ sandbox }) => {
    const { result, vpcId, primary } = await investigate(sandbox);
    // The disassociated 172.31.0.0/16 no longer routes in the VPC: left out.
    expect(result.vpcRanges).toEqual({ source: 'vpc', vpcIds: [vpcId], cidrs: [primary, '11.48.0.0/16'] });
    const transfers = result.findings.filter((f) => f.remoteIp === STAGING);
    expect(transfers.map((f) => f.kind)).toEqual(['internal-transfer']);
    expect(result.findings.some((f) => f.kind === 'exfiltration')).toBe(false);
    expect(result.warnings).toEqual([]);
    expect(sandbox.requests().some((r) => r.operation === 'DescribeVpcs' && r.error === null)).toBe(true);

    const json = JSON.parse(await readFile(result.reportPaths.json, 'utf8')) as { sections: { title: string; rows: { item?: string; value?: string }[] }[] };
    const inside = json.sections.find((s) => s.title === 'Subject')?.rows.find((row) => row.item === 'Inside the VPC');
    expect(inside?.value).toBe(`${primary}, 11.48.0.0/16 (its associated blocks, from DescribeVpcs)`);
    for (const path of [result.reportPaths.markdown, result.reportPaths.html]) expect(await readFile(path, 'utf8')).toContain(`${primary}, 11.48.0.0/16`);
  });
});

describe('vpcRanges', () => {
  test('a result stored before investigations read the VPC reads back as judged by the private ranges, and says so', async ({ sandbox }) => {
    const { result } = await investigate(sandbox);
    const { vpcRanges: _, ...older } = result;
    expect(InvestigationResultSchema.parse(older).vpcRanges).toEqual({
      source: 'private-ranges',
      vpcIds: [],
      cidrs: [...PRIVATE_RANGES],
      reason: 'this investigation ran before orgshield read the VPC ranges',
    });
  });


  test('falls back, naming the error, for a VPC that does not exist or a malformed id, and when no VPC is known', async ({ sandbox }) => {
    const incident = incidentPlan(sandbox.world).incidents.find((i) => i.kind === 'port-probe');
    if (!incident) throw new Error('the sandbox plants a port probe');
    const { accountId, networkInterfaceId, vpcId } = incident.instance;
    const factory = new AwsClientFactory({ ...sandbox.clientConfig() });
    const members = new MemberCredentials(factory, { managementAccountId: sandbox.world.org.managementAccountId });
    const clients = investigationClients(factory, members);
    const ec2 = (fresh: boolean) => clients.ec2(accountId, REGION, { fresh });
    const entity = (vpcIds: (string | undefined)[]): ResolvedEntity => ({
      kind: 'instance',
      accountId,
      region: REGION,
      networkInterfaces: vpcIds.map((id, i) => ({ id: `${networkInterfaceId}${i}`, privateIps: [], vpcId: id })),
      localIps: [],
      notes: [],
    });
    const fallback = { source: 'private-ranges', cidrs: [...PRIVATE_RANGES] };
    expect(await vpcRanges(entity(['vpc-0123456789abcdef0']), ec2)).toEqual({
      ...fallback,
      vpcIds: ['vpc-0123456789abcdef0'],
      reason: `VPC vpc-0123456789abcdef0 could not be read (InvalidVpcID.NotFound), so the private ranges (${PRIVATE_RANGES.join(', ')}) are taken as its ranges; a transfer to another range of the VPC is reported as exfiltration.`,
    });
    expect((await vpcRanges(entity(['vpc-<script>']), ec2)).reason).toMatch(/^VPC vpc-<script> could not be read \(InvalidVpcID\.Malformed\)/);
    expect(await vpcRanges(entity([undefined]), ec2)).toEqual({
      ...fallback,
      vpcIds: [],
      reason: `No VPC is known for the subject, so the private ranges (${PRIVATE_RANGES.join(', ')}) are taken as the VPC's ranges.`,
    });
    // Two interfaces in one VPC: asked once, its blocks once.
    expect(await vpcRanges(entity([vpcId, vpcId]), ec2)).toMatchObject({ source: 'vpc', vpcIds: [vpcId], cidrs: [expect.stringMatching(/^10\./), '11.48.0.0/16'] });
    factory.destroy();
  });
});

describe('an investigation that cannot read the VPC', () => {
  // Inside the describe: the override holds for this block only.
  const denied = sandboxTest.override({ sandboxOptions: { ...OPTIONS, faults: { operations: { 'ec2:DescribeVpcs': { deny: true } } } } });

  denied('falls back to the private ranges, calls the same transfer exfiltration, and says why in the result and every report', async ({ sandbox }) => {
    const { result, vpcId } = await investigate(sandbox);
    expect(result.vpcRanges).toMatchObject({ source: 'private-ranges', vpcIds: [vpcId], cidrs: [...PRIVATE_RANGES] });
    const reason = result.vpcRanges.reason ?? '';
    expect(reason).toBe(
      `VPC ${vpcId} could not be read (UnauthorizedOperation: ec2:DescribeVpcs is not allowed), so the private ranges (${PRIVATE_RANGES.join(', ')}) are taken as its ranges; a transfer to another range of the VPC is reported as exfiltration.`,
    );
    expect(result.warnings).toContain(reason);
    expect(result.findings.filter((f) => f.remoteIp === STAGING).map((f) => f.kind)).toEqual(['exfiltration']);
    expect(sandbox.requests().some((r) => r.operation === 'DescribeVpcs' && r.error === 'UnauthorizedOperation')).toBe(true);
    for (const path of [result.reportPaths.json, result.reportPaths.markdown]) {
      const text = await readFile(path, 'utf8');
      expect(text).toContain('the private ranges; see Notes for why');
      expect(text).toContain('ec2:DescribeVpcs is not allowed');
    }
    expect(await readFile(result.reportPaths.html, 'utf8')).toContain('ec2:DescribeVpcs is not allowed');
  });
});

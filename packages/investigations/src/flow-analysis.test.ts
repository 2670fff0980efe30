import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@orgshield/errors';
import { CUSTOM_FLOW_LOG_FIELDS, type FlowLogScenario, type PlantedIncident, writeFlowLogFiles } from '@orgshield/sandbox/flow-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFlowLogs, type FlowAnalysisOptions } from './flow-analysis.js';
import type { FlowFinding } from './flow-findings.js';
import { fileSink, type OutputSink, writeConversationsCsv, writeFlowAnalysisJson } from './flow-output.js';
import { flowAnalysisJsonSchema } from './report-json.js';

const LOCAL = '10.0.1.25';
const LOCAL6 = '2600:1f18:abcd::25';
const from = new Date('2025-06-01T00:00:00Z');
const at = (hours: number, minutes = 0): Date => new Date(from.getTime() + (hours * 60 + minutes) * 60000);
let root: string;
let count = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flow-analysis-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function logs(scenario: Partial<FlowLogScenario>, options: Partial<Parameters<typeof writeFlowLogFiles>[1]> = {}): Promise<string> {
  const dir = join(root, String(count++));
  await writeFlowLogFiles({ seed: 7, from, to: at(6), recordsPerMinute: 200, localIp: LOCAL, ...scenario }, { dir, files: 12, ...options });
  return dir;
}

/** An analysis as plain data (its conversations read into an array), its temporary files removed. */
async function analyze(dir: string | string[], options: FlowAnalysisOptions = { localIps: [LOCAL] }) {
  const { conversations, dispose, spilled: _, ...analysis } = await analyzeFlowLogs({ paths: Array.isArray(dir) ? dir : [dir] }, options);
  const all = [...conversations];
  dispose();
  return { ...analysis, conversations: all };
}

describe('findings on generated traffic', () => {
  const cases: { incident: PlantedIncident; expect: Record<string, unknown> }[] = [
    { incident: { kind: 'port-scan', remoteIp: '45.33.32.156', at: at(2) }, expect: { kind: 'port-scan', remoteIp: '45.33.32.156' } },
    { incident: { kind: 'brute-force', remoteIp: '185.220.101.4', at: at(2), port: 3389, attempts: 60 }, expect: { kind: 'brute-force', remoteIp: '185.220.101.4', localPort: 3389 } },
    { incident: { kind: 'ddos', at: at(3), port: 443, sources: 1500 }, expect: { kind: 'ddos', localPort: 443 } },
    { incident: { kind: 'exfiltration', remoteIp: '91.219.236.18', at: at(4), bytes: 2 * 1024 ** 3 }, expect: { kind: 'exfiltration', remoteIp: '91.219.236.18' } },
    { incident: { kind: 'spike', at: at(3, 30), factor: 6 }, expect: { kind: 'traffic-spike' } },
  ];

  for (const seed of [1, 2, 3]) {
    it(`finds each planted incident with its evidence and nothing on the clean traffic (seed ${seed})`, async () => {
      const clean = await analyze(await logs({ seed }));
      expect(clean.records.matched).toBeGreaterThan(6 * 60 * 190);
      expect(clean.findings).toEqual([]);
      for (const c of cases) {
        const analysis = await analyze(await logs({ seed, incidents: [c.incident] }));
        const found = analysis.findings.filter((f) => f.kind === c.expect.kind);
        expect(found, c.incident.kind).toEqual([expect.objectContaining(c.expect)]);
        const evidence = found[0]!.evidence;
        expect(Date.parse(evidence.from)).toBeGreaterThanOrEqual(c.incident.at.getTime() - 600_000);
        expect(Date.parse(evidence.from)).toBeLessThan(c.incident.at.getTime() + 3600_000);
        // Only traffic spikes may come along (a flood or an upload is also a lot of bytes).
        expect(analysis.findings.filter((f) => f.kind !== c.expect.kind && f.kind !== 'traffic-spike'), c.incident.kind).toEqual([]);
      }
    });
  }

  it('says why: evidence numbers of a port scan and a brute force', async () => {
    const analysis = await analyze(await logs({ incidents: [
      { kind: 'port-scan', remoteIp: '45.33.32.156', at: at(1), ports: 120 },
      { kind: 'brute-force', remoteIp: '185.220.101.4', at: at(2), attempts: 40 },
    ] }));
    const scan = analysis.findings.find((f) => f.kind === 'port-scan')!;
    expect(scan.evidence.metrics).toMatchObject({ localPorts: 120 });
    expect(scan.evidence.examples.slice(0, 3)).toEqual(['1', '2', '3']);
    const brute = analysis.findings.find((f) => f.kind === 'brute-force')!;
    expect(brute.evidence.metrics.connections).toBe(40);
    expect(brute.evidence.summary).toBe('185.220.101.4 opened 40 short connections to admin port 22.');
  });

  it('stays quiet on two clean days with IPv6 clients and a custom format', async () => {
    const analysis = await analyze(
      await logs({ seed: 11, to: at(48), recordsPerMinute: 60, localIpv6: LOCAL6 }, { fields: CUSTOM_FLOW_LOG_FIELDS }),
      { localIps: [LOCAL, LOCAL6] },
    );
    expect(analysis.findings).toEqual([]);
    const v6 = [...analysis.conversations].filter((c) => c.remoteIp.includes(':'));
    expect(v6.length).toBeGreaterThan(10);
    expect(v6.every((c) => c.localPort === 443 && c.direction === 'inbound')).toBe(true);
  });

  it('marks the conversations and findings of the GuardDuty finding', async () => {
    const analysis = await analyze(await logs({ incidents: [{ kind: 'exfiltration', remoteIp: '91.219.236.18', at: at(4), remotePort: 9001 }] }), {
      localIps: [LOCAL], markFrom: { ips: ['91.219.236.18'], ports: [9001] },
    });
    expect([...analysis.conversations].filter((c) => c.fromFinding).map((c) => [c.remoteIp, c.remotePort])).toEqual([['91.219.236.18', 9001]]);
    expect(analysis.findings.find((f) => f.kind === 'exfiltration')?.fromFinding).toBe(true);
    expect(analysis.findings.filter((f) => f.fromFinding)).toHaveLength(1);
  });
});

describe('large transfers out, judged against the instance\'s own baseline (each case fails with the old "1 GiB to one remote" rule)', () => {
  const transfers = (findings: FlowFinding[]) => findings.filter((f) => f.kind === 'exfiltration' || f.kind === 'internal-transfer');

  it('finds 250 MB to one external address in a day of otherwise steady traffic, naming why', async () => {
    const analysis = await analyze(await logs({ seed: 21, to: at(24), recordsPerMinute: 100, incidents: [
      { kind: 'exfiltration', remoteIp: '91.219.236.18', at: at(14, 10), bytes: 250e6 },
    ] }));
    const found = transfers(analysis.findings);
    expect(found).toEqual([expect.objectContaining({ kind: 'exfiltration', remoteIp: '91.219.236.18' })]);
    const { metrics, summary } = found[0]!.evidence;
    expect(metrics).toMatchObject({ outBytes: Math.floor(250e6 / 30) * 30, minutes: 30, minBytes: 100 * 1024 ** 2, recurringDays: 0 });
    expect(metrics.overBaseline).toBeGreaterThanOrEqual(metrics.baselineFactor!);
    expect(metrics.asymmetry).toBeGreaterThanOrEqual(metrics.minAsymmetry!);
    expect(summary).toMatch(/^238\.4 MiB sent to 91\.219\.236\.18 in 30 minutes \(accepted\): [\d.]+x what the instance usually sends in as long/);
  });

  it('does not flag a nightly 1 GiB backup that runs every night of a 7-day window, and still finds a one-off dump among it', async () => {
    const nights = Array.from({ length: 7 }, (_, day): PlantedIncident => ({
      kind: 'exfiltration', remoteIp: '203.0.113.50', at: at(day * 24 + 2, day * 3), bytes: 1024 ** 3, localPort: 50100 + day, remotePort: 873,
    }));
    const week = { seed: 22, to: at(7 * 24), recordsPerMinute: 20 };
    const backups = await analyze(await logs({ ...week, incidents: nights }));
    expect(transfers(backups.findings)).toEqual([]);
    const withDump = await analyze(await logs({ ...week, incidents: [...nights, { kind: 'exfiltration', remoteIp: '91.219.236.18', at: at(75), bytes: 1024 ** 3 }] }));
    expect(transfers(withDump.findings).map((f) => f.remoteIp)).toEqual(['91.219.236.18']);
  });

  it('reports 2 GiB to an address in the VPC as internal-transfer (--vpc-cidr or the private ranges), outside it as exfiltration', async () => {
    const dir = await logs({ seed: 23, incidents: [{ kind: 'exfiltration', remoteIp: '10.0.7.9', at: at(3), bytes: 2 * 1024 ** 3 }] });
    const byDefault = await analyze(dir);
    expect(transfers(byDefault.findings)).toEqual([expect.objectContaining({ kind: 'internal-transfer', remoteIp: '10.0.7.9' })]);
    expect(transfers(byDefault.findings)[0]!.evidence.summary).toContain('sent to 10.0.7.9, inside the VPC, in 30 minutes');
    const vpc = await analyze(dir, { localIps: [LOCAL], vpcCidrs: ['10.0.0.0/16'] });
    expect(transfers(vpc.findings).map((f) => f.kind)).toEqual(['internal-transfer']);
    const otherVpc = await analyze(dir, { localIps: [LOCAL], vpcCidrs: ['10.1.0.0/16', '2600:1f18::/40'] });
    expect(transfers(otherVpc.findings).map((f) => f.kind)).toEqual(['exfiltration']);
  });

  it('refuses a bad VPC range and bad thresholds in one sentence each', async () => {
    await expect(analyzeFlowLogs({ paths: [root] }, { vpcCidrs: ['10.0.0.0/33'] })).rejects.toThrow(new InvalidInputError('VPC range 10.0.0.0/33 is not a CIDR such as 10.0.0.0/16.'));
    await expect(analyzeFlowLogs({ paths: [root] }, { thresholds: { exfiltration: { asymmetry: -1 } } })).rejects.toThrow(new InvalidInputError('Threshold exfiltration.asymmetry must be more than 0, not -1.'));
  });
});

describe('local side, direction, ENI, window and filters', () => {
  it('takes direction from TCP flags and the local side from flow-direction when the format has them', async () => {
    const dir = await logs({}, { fields: CUSTOM_FLOW_LOG_FIELDS });
    const withIps = await analyze(dir);
    const withoutIps = await analyze(dir, {});
    expect(withoutIps.records).toEqual(withIps.records);
    expect([...withoutIps.conversations]).toEqual([...withIps.conversations]);
    // Service calls go out from ephemeral ports; web clients come in to 443.
    const outbound = [...withIps.conversations].filter((c) => c.remotePort === 5432);
    expect(outbound.length).toBeGreaterThan(0);
    expect(outbound.every((c) => c.direction === 'outbound')).toBe(true);
  });

  it('without flow-direction and local IPs, skips each file and says why', async () => {
    const analysis = await analyze(await logs({ to: at(1) }, { files: 2 }), {});
    expect(analysis.records.total).toBe(0);
    expect(analysis.problems.map((p) => p.code)).toEqual(['missing-field', 'missing-field']);
    expect(analysis.problems[0]!.message).toMatch(/has no flow-direction field and no local address was given.*give --local-ip/);
  });

  it('keeps to the records of one ENI', async () => {
    const a = await logs({ interfaceId: 'eni-0aaaaaaaaaaaaaaa1', to: at(2) });
    const b = await logs({ interfaceId: 'eni-0bbbbbbbbbbbbbbb2', to: at(2), seed: 99 });
    const both = await analyze([a, b]);
    const onlyA = await analyze([a, b], { localIps: [LOCAL], eni: 'eni-0aaaaaaaaaaaaaaa1' });
    const aAlone = await analyze(a);
    expect(onlyA.records.matched).toBe(aAlone.records.matched);
    expect([...onlyA.conversations]).toEqual([...aAlone.conversations]);
    expect(both.records.matched).toBeGreaterThan(onlyA.records.matched);
  });

  it('counts a record when its start is in [from, to) and buckets the timeline over that window', async () => {
    const dir = await logs({});
    const whole = await analyze(dir);
    const first = await analyze(dir, { localIps: [LOCAL], from: at(0), to: at(3) });
    const second = await analyze(dir, { localIps: [LOCAL], from: at(3), to: at(6) });
    expect(first.records.matched + second.records.matched).toBe(whole.records.matched);
    expect(first.window).toEqual({ from: at(0).toISOString(), to: at(3).toISOString() });
    expect(first.timeline[0]!.start).toBe(at(0).toISOString());
    expect(first.timeline.at(-1)!.end).toBe(at(3).toISOString());
    for (const c of [...first.conversations]) expect(Date.parse(c.firstSeen)).toBeLessThan(at(3).getTime());
    expect(first.records.total).toBe(whole.records.total);
  });

  it('applies every filter to every conversation it keeps', async () => {
    const dir = await logs({ incidents: [{ kind: 'port-scan', remoteIp: '45.33.32.156', at: at(1) }] });
    const check = async (options: FlowAnalysisOptions, keep: (c: Awaited<ReturnType<typeof analyze>>['conversations'][number]) => boolean) => {
      const analysis = await analyze(dir, { localIps: [LOCAL], ...options });
      expect([...analysis.conversations].length).toBeGreaterThan(0);
      expect([...analysis.conversations].every(keep)).toBe(true);
      expect(analysis.records.matched).toBe([...analysis.conversations].reduce((n, c) => n + c.accepted + c.rejected, 0));
      return analysis;
    };
    const scan = await check({ filters: { remote: ['45.33.0.0/16'] } }, (c) => c.remoteIp.startsWith('45.33.'));
    expect([...scan.conversations].filter((c) => c.remoteIp === '45.33.32.156')).toHaveLength(300);
    await check({ filters: { remotePorts: [53], protocols: [17] } }, (c) => c.remotePort === 53 && c.protocol === 17);
    await check({ filters: { direction: 'outbound' } }, (c) => c.direction === 'outbound');
    await check({ filters: { action: 'REJECT' } }, (c) => c.accepted === 0 && c.rejected > 0);
    // Nothing listens on 65000 (above the ephemeral range and the scan).
    const none = await analyze(dir, { localIps: [LOCAL], filters: { localPorts: [65000] } });
    expect(none.records.matched).toBe(0);
    expect(none.timeline).toEqual([]);
  });

  it('counts NODATA and SKIPDATA apart from the matched records', async () => {
    const analysis = await analyze(await logs({ to: at(48), recordsPerMinute: 5 }));
    expect(analysis.records.nodata + analysis.records.skipdata).toBeGreaterThan(0);
    expect(analysis.records.total).toBe(analysis.records.matched + analysis.records.nodata + analysis.records.skipdata);
  });

  it('takes an address however it is written: one IPv6 address in two spellings is one conversation, a bad one is malformed', async () => {
    const dir = join(root, String(count++));
    await mkdir(dir);
    const t = from.getTime() / 1000;
    const line = (src: string, dst: string, bytes: number) => `2 123456789012 eni-0a1b2c3d4e5f60718 ${src} ${dst} 51000 443 6 1 ${bytes} ${t} ${t + 60} ACCEPT OK`;
    await writeFile(join(dir, 'a.log'), [
      line('2001:db8::9', LOCAL6, 100), line('2001:0DB8:0:0::9', LOCAL6, 20), line('2001:db8::9', '2600:1f18:abcd:0::25', 3),
      line('2001:db8::zz', LOCAL6, 1), line('10.0.1.300', LOCAL, 1), line('198.51.100.7', LOCAL, 5),
    ].join('\n'));
    const analysis = await analyze(dir, { localIps: [LOCAL, '2600:1F18:ABCD::25'] });
    expect([...analysis.conversations].map((c) => [c.remoteIp, c.inBytes, c.accepted])).toEqual([['2001:db8::9', 123, 3], ['198.51.100.7', 5, 1]]);
    expect(analysis.problems.map((p) => p.message)).toEqual([
      `${join(dir, 'a.log')}:4 has srcaddr '2001:db8::zz', which is not valid; the record is skipped.`,
      `${join(dir, 'a.log')}:5 has srcaddr '10.0.1.300', which is not valid; the record is skipped.`,
    ]);
  });

  it('gives the same answer read by reader threads as read in one thread', async () => {
    const dir = await logs({ incidents: [{ kind: 'ddos', at: at(3) }] }, { files: 9 });
    const one = await analyze(dir, { localIps: [LOCAL], workers: 1 });
    const three = await analyze(dir, { localIps: [LOCAL], workers: 3 });
    expect(three).toEqual(one);
    const filtered = { localIps: [LOCAL], filters: { remote: ['0.0.0.0/1'] } };
    expect(await analyze(dir, { ...filtered, workers: 3 })).toEqual(await analyze(dir, { ...filtered, workers: 1 }));
  });

  it('prints exactly the documented JSON shape, written as it is produced', async () => {
    const dir = await logs({ to: at(1) });
    const analysis = await analyzeFlowLogs({ paths: [dir] }, { localIps: [LOCAL] });
    const pieces: string[] = [];
    await writeFlowAnalysisJson(analysis, async (piece) => void pieces.push(Buffer.from(piece).toString('latin1')));
    const json = JSON.parse(pieces.join('')) as Record<string, unknown>;
    expect(pieces.length).toBeGreaterThan(1);
    expect(Object.keys(json)).toEqual(['records', 'conversations', 'timeline', 'findings', 'problems']);
    expect(flowAnalysisJsonSchema.parse(json)).toEqual(json);
    expect(json.conversations).toEqual(JSON.parse(JSON.stringify([...analysis.conversations])));
    analysis.dispose();
  });
});

describe('output of a spilled analysis', () => {
  it('writes the same CSV and JSON in two threads (halves cut at a pivot) as in one, and leaves no file of its own', async () => {
    const dir = await logs({ to: at(2), incidents: [{ kind: 'ddos', at: at(1), sources: 3000 }] });
    const analysis = await analyzeFlowLogs({ paths: [dir] }, { localIps: [LOCAL], memory: 64 * 1024 });
    expect(analysis.spilled).toBe(true);
    const written = async (write: (sink: (piece: string | Uint8Array) => Promise<void>) => Promise<void>): Promise<string> => {
      const pieces: string[] = [];
      await write(async (piece) => void pieces.push(Buffer.from(piece).toString('latin1')));
      return pieces.join('');
    };
    const csv = await written((sink) => writeConversationsCsv(analysis.conversations, sink));
    expect(csv.split('\n').length).toBe(analysis.conversations.length + 2); // header, rows, final line break
    expect(await written((sink) => writeConversationsCsv(analysis.conversations, sink, { parallelRows: 1 }))).toBe(csv);
    const json = await written((sink) => writeFlowAnalysisJson(analysis, sink));
    expect(await written((sink) => writeFlowAnalysisJson(analysis, sink, { parallelRows: 1 }))).toBe(json);
    // Into a file, the output thread writes its half in place, where the first half's bytes end.
    const inFile = async (write: (sink: OutputSink) => Promise<void>): Promise<string> => {
      const folder = await mkdtemp(join(tmpdir(), 'orgshield-output-test-'));
      const handle = await open(join(folder, 'out'), 'w');
      try {
        await write(fileSink(handle));
      } finally {
        await handle.close();
      }
      const text = readFileSync(join(folder, 'out'), 'latin1');
      await rm(folder, { recursive: true });
      return text;
    };
    expect(await inFile((sink) => writeConversationsCsv(analysis.conversations, sink, { parallelRows: 1 }))).toBe(csv);
    expect(await inFile((sink) => writeFlowAnalysisJson(analysis, sink, { parallelRows: 1 }))).toBe(json);
    expect((JSON.parse(json) as { conversations: unknown[] }).conversations).toEqual(JSON.parse(JSON.stringify([...analysis.conversations])));
    for (const name of readdirSync(tmpdir()).filter((folder) => folder.startsWith('orgshield-flows-'))) {
      expect(readdirSync(join(tmpdir(), name)).filter((file) => file.startsWith('output-'))).toEqual([]);
    }
    analysis.dispose();
  });
});

describe('options', () => {
  it.each([
    [{ localIps: ['10.0.0.300'] }, 'Local IP 10.0.0.300 is not an IPv4 or IPv6 address.'],
    [{ eni: 'eni-xyz' }, 'ENI eni-xyz is not a network interface id such as eni-0a1b2c3d4e5f60718.'],
    [{ filters: { remote: ['10.0.0.0/33'] } }, 'Remote filter 10.0.0.0/33 is not an IP address or CIDR such as 203.0.113.0/24.'],
    [{ filters: { localPorts: [70000] } }, 'Local port 70000 is not a port number (0 to 65535).'],
    [{ from: at(2), to: at(1) }, `The window ${at(2).toISOString()} to ${at(1).toISOString()} is empty; give a start before the end.`],
    [{ bucketSeconds: 90 }, 'Bucket size 90 seconds is not a whole number of minutes.'],
    [{ localIps: Array.from({ length: 65 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }, '65 local IPs were given; an instance is analysed with at most 64.'],
  ] as [FlowAnalysisOptions, string][])('refuses %j in one sentence', async (options, message) => {
    const error = await analyzeFlowLogs({ paths: [root] }, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toBe(message);
  });
});

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeFlowLogFiles } from '@orgshield/sandbox/flow-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli.js';

const LOCAL = '10.0.1.25';
const from = new Date('2025-06-01T00:00:00Z');
const at = (hours: number): Date => new Date(from.getTime() + hours * 3600_000);

describe('orgshield flows analyze (end to end)', () => {
  let dir: string;
  let logs: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orgshield-flows-'));
    logs = join(dir, 'logs');
    await writeFlowLogFiles({
      seed: 4, from, to: at(6), recordsPerMinute: 100, localIp: LOCAL,
      incidents: [{ kind: 'port-scan', remoteIp: '45.33.32.156', at: at(2) }, { kind: 'brute-force', remoteIp: '185.220.101.4', at: at(4) }],
    }, { dir: logs, files: 6, layout: 'aws' });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the documented JSON with the planted incidents found', async () => {
    const result = await runCli(['flows', 'analyze', logs, '--local-ip', LOCAL, '--output', 'json'], {});
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { records: { total: number; matched: number; nodata: number; skipdata: number }; conversations: { remoteIp: string }[]; timeline: unknown[]; findings: { kind: string; remoteIp?: string; localPort?: number }[] };
    expect(Object.keys(json)).toEqual(['records', 'conversations', 'timeline', 'findings', 'problems']);
    expect(json.records.total).toBeGreaterThan(6 * 60 * 95);
    expect(json.records.matched).toBe(json.records.total - json.records.nodata - json.records.skipdata);
    expect(json.findings.map((f) => [f.kind, f.remoteIp, f.localPort])).toEqual([['port-scan', '45.33.32.156', undefined], ['brute-force', '185.220.101.4', 22]]);
    expect(json.timeline.length).toBeGreaterThan(100);
  });

  it('prints every conversation as CSV, the JSON\'s rows in the JSON\'s order, and leaves no temporary folder', async () => {
    const temp = await mkdtemp(join(dir, 'tmp-'));
    const csv = await runCli(['flows', 'analyze', logs, '--local-ip', LOCAL, '--output', 'csv', '--memory', '64'], { TMPDIR: temp });
    expect([csv.code, csv.stderr]).toEqual([0, '']);
    const json = await runCli(['flows', 'analyze', logs, '--local-ip', LOCAL, '--output', 'json'], {});
    const conversations = (JSON.parse(json.stdout) as { conversations: Record<string, unknown>[] }).conversations;
    const [header, ...rows] = csv.stdout.trimEnd().split('\n');
    expect(header).toBe('remoteIp,localPort,remotePort,protocol,direction,inBytes,outBytes,inPackets,outPackets,accepted,rejected,firstSeen,lastSeen,fromFinding');
    expect(rows).toEqual(conversations.map((c) => [...header!.split(',').slice(0, 13).map((k) => String(c[k])), 'false'].join(',')));
    expect((await readdir(temp)).filter((name) => name.startsWith('orgshield-flows-'))).toEqual([]);
  });

  it('prints tables and writes the three reports', async () => {
    const reports = join(dir, 'reports');
    const result = await runCli(['flows', 'analyze', logs, '--local-ip', LOCAL, '--report', reports, '--limit', '3'], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+ records in 6 files: \d+ matched/);
    expect(result.stdout).toMatch(/brute-force\s+185\.220\.101\.4\s+22/);
    expect(result.stdout).toContain('(the 3 largest of');
    expect(result.stdout).toMatch(/\(\d+ more\)\s+\S+/); // the rest, totalled in one row
    const csv = await readFile(join(reports, 'flow-conversations.csv'), 'utf8');
    expect(csv.trimEnd().split('\n').length - 1).toBe((JSON.parse(await readFile(join(reports, 'flow-report.json'), 'utf8')) as { conversationCount: number }).conversationCount);
    expect(await readFile(join(reports, 'flow-report.md'), 'utf8')).toContain('[flow-conversations.csv](flow-conversations.csv)');
    expect(result.stderr).toContain(`report: ${join(reports, 'flow-report.html')}`);
    expect(await readFile(join(reports, 'flow-report.html'), 'utf8')).toContain('<svg id="timeline-chart"');
    expect(existsSync(join(reports, 'flow-report.md'))).toBe(true);
    expect(JSON.parse(await readFile(join(reports, 'flow-report.json'), 'utf8'))).toMatchObject({ schemaVersion: 1 });
  });

  it('applies the window and filters', async () => {
    const result = await runCli([
      'flows', 'analyze', logs, '--local-ip', LOCAL, '--from', at(1).toISOString(), '--to', at(3).toISOString(),
      '--protocol', 'udp', '--remote-port', '53', '--direction', 'outbound', '--output', 'json',
    ], {});
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { conversations: { remotePort: number; protocol: number; direction: string; firstSeen: string }[] };
    expect(json.conversations.length).toBeGreaterThan(0);
    for (const c of json.conversations) {
      expect([c.remotePort, c.protocol, c.direction]).toEqual([53, 17, 'outbound']);
      expect(Date.parse(c.firstSeen)).toBeGreaterThanOrEqual(at(1).getTime());
    }
  });

  it('reports bad lines and a cut gzip file on stderr and in the JSON with file and line, analyses the rest, and exits 3 (done on incomplete input; it was 0)', async () => {
    const bad = join(dir, 'bad');
    await writeFlowLogFiles({ seed: 4, from, to: at(1), recordsPerMinute: 50, localIp: LOCAL }, { dir: bad, files: 1 });
    await writeFile(join(bad, 'junk.log'), `2 123456789012 eni-1 198.51.100.7 ${LOCAL} 40000 443 6 1 100 1748736000 1748736060 ACCEPT OK\nnot a record\n`);
    const records = Array.from({ length: 3000 }, (_, i) => `2 123456789012 eni-1 198.51.100.${i % 200} ${LOCAL} 40000 443 6 1 100 ${1748736000 + i} ${1748736060 + i} ACCEPT OK`);
    const gz = gzipSync(records.join('\n'));
    await writeFile(join(bad, 'cut.log.gz'), gz.subarray(0, gz.length >> 1));
    const result = await runCli(['flows', 'analyze', bad, '--local-ip', LOCAL, '--output', 'json'], {});
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`warning: ${join(bad, 'junk.log')}:2 has 3 fields where its format has 14; the record is skipped.`);
    expect(result.stderr).toMatch(/warning: .*cut\.log\.gz is cut short or corrupt after line \d+ \(unexpected end of file\); the lines before were analysed\./);
    expect(result.stderr).toContain('warning: 1 file was not read to the end (listed above); the totals cover what was read.');
    const json = JSON.parse(result.stdout) as { records: { matched: number }; problems: { file: string; code: string }[] };
    expect(json.records.matched).toBeGreaterThan(2000);
    expect(json.problems).toContainEqual(expect.objectContaining({ file: join(bad, 'cut.log.gz'), code: 'truncated-gzip' }));
  });

  it('shows control characters from file names and flow-log text on stderr as escapes, and keeps them exact in the JSON', async () => {
    const hostile = join(dir, 'hostile');
    const name = 'evil\x1b[2J\x1b]0;owned\x07.log';
    await writeFlowLogFiles({ seed: 4, from, to: at(1), recordsPerMinute: 5, localIp: LOCAL }, { dir: hostile, files: 1 });
    await writeFile(join(hostile, name), `2 123456789012 eni-1 198.51.100.7 ${LOCAL} 40000 443 \x1b[31m6\r 1 100 1748736000 1748736060 ACCEPT OK\n`);
    const result = await runCli(['flows', 'analyze', hostile, '--local-ip', LOCAL, '--output', 'json'], {});
    expect(result.code).toBe(0);
    for (const c of ['\x1b', '\x07', '\r']) expect(result.stderr).not.toContain(c);
    expect(result.stderr).toContain('evil\\x1b[2J\\x1b]0;owned\\x07.log:1 ');
    const json = JSON.parse(result.stdout) as { problems: { file: string; message: string }[] };
    expect(json.problems.map((p) => p.file)).toContain(join(hostile, name));
  });

  it.each([
    [['--local-ip', '10.0.1.300'], 'orgshield: Local IP 10.0.1.300 is not an IPv4 or IPv6 address.\n'],
    [['--from', 'yesterday'], 'orgshield: --from yesterday is not an ISO 8601 time such as 2025-06-01T10:00:00Z.\n'],
    [['--protocol', 'gopher'], 'orgshield: --protocol gopher is not tcp, udp, icmp, icmpv6 or a protocol number (0 to 255).\n'],
    [['--eni', 'eth0'], 'orgshield: ENI eth0 is not a network interface id such as eni-0a1b2c3d4e5f60718.\n'],
    [['--vpc-cidr', '10.0.0.0/16', '--vpc-cidr', '10.1.0.0/40'], 'orgshield: VPC range 10.1.0.0/40 is not a CIDR such as 10.0.0.0/16.\n'],
    [['--vpc-cidr', '10.0.0.0'], 'orgshield: VPC range 10.0.0.0 is not a CIDR such as 10.0.0.0/16.\n'],
  ])('refuses %j with exit code 2 and one sentence', async (flags, message) => {
    const result = await runCli(['flows', 'analyze', logs, ...flags], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(message);
    expect(result.stdout).toBe('');
  });

  it('takes thresholds from a file: a lower floor finds a smaller upload; a misspelt or bad field is located, with "did you mean", exit 2', async () => {
    const upload = join(dir, 'upload');
    await writeFlowLogFiles({
      seed: 5, from, to: at(6), recordsPerMinute: 60, localIp: LOCAL, incidents: [{ kind: 'exfiltration', remoteIp: '91.219.236.18', at: at(3), bytes: 60e6 }],
    }, { dir: upload, files: 2 });
    const kinds = async (extra: string[]) => {
      const run = await runCli(['flows', 'analyze', upload, '--local-ip', LOCAL, '--output', 'json', ...extra], {});
      expect([run.code, run.stderr]).toEqual([0, '']);
      return (JSON.parse(run.stdout) as { findings: { kind: string; evidence: { metrics: Record<string, number> } }[] }).findings;
    };
    expect((await kinds([])).filter((f) => f.kind === 'exfiltration')).toEqual([]);
    const file = join(dir, 'thresholds.yaml');
    await writeFile(file, 'exfiltration:\n  minBytes: 52428800\n');
    const found = (await kinds(['--thresholds', file])).filter((f) => f.kind === 'exfiltration');
    expect(found.map((f) => f.evidence.metrics.minBytes)).toEqual([52428800]);

    await writeFile(file, 'exfiltration:\n  minBytes: 52428800\n  asymetry: 4\nddos:\n  factor: -1\n');
    const bad = await runCli(['flows', 'analyze', upload, '--local-ip', LOCAL, '--thresholds', file], {});
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(
      `${file}:5:11 ddos.factor: must be more than 0, not -1\n` +
      `${file}:3:3 exfiltration.asymetry: unknown field "asymetry" (did you mean "asymmetry"?)\n` +
      `orgshield: The thresholds file ${file} has 2 problems (listed above); nothing was analysed.\n`,
    );
    const missing = await runCli(['flows', 'analyze', upload, '--thresholds', join(dir, 'none.yaml')], {});
    expect([missing.code, missing.stderr]).toEqual([2, `orgshield: The flow thresholds file ${join(dir, 'none.yaml')} does not exist; check the path.\n`]);
  });

  it('fails with exit 1 and says why when nothing was analysed: no --local-ip on default-format logs, or a file of junk lines', async () => {
    const noDirection = await runCli(['flows', 'analyze', logs], {});
    expect(noDirection.code).toBe(1);
    expect(noDirection.stdout).toBe('');
    expect(noDirection.stderr.trimEnd().split('\n').at(-1)).toBe(
      "orgshield: Nothing was analysed: the 6 files have no flow-direction field, so without --local-ip no record can be told in from out; give the instance's addresses with --local-ip.",
    );
    const junk = join(dir, 'junk');
    await mkdir(junk);
    await writeFile(join(junk, 'junk.log'), 'hello\nthis is not a flow log\n\x00\x01\x02\n');
    const result = await runCli(['flows', 'analyze', junk, '--local-ip', LOCAL, '--output', 'json'], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(/^orgshield: Nothing was analysed: (no line of the 1 file is a flow-log record|every one of the 1 file was skipped)/);
  });

  it('refuses a path that does not exist and an S3 URL', async () => {
    const missing = await runCli(['flows', 'analyze', join(dir, 'nope')], {});
    expect([missing.code, missing.stderr]).toEqual([2, `orgshield: Flow log path ${join(dir, 'nope')} does not exist; name a flow log file or a folder of them.\n`]);
    const s3 = await runCli(['flows', 'analyze', 's3://bucket/AWSLogs/'], {});
    expect(s3.code).toBe(2);
    expect(s3.stderr).toMatch(/^orgshield: flows analyze reads local files, not s3:\/\/bucket\/AWSLogs\/;/);
  });
});

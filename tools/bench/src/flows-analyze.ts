/**
 * Benchmark: orgshield's flow-log analysis against DuckDB on the same files.
 *
 *   cd tools/bench && npx tsx --conditions=@orgshield/source src/flows-analyze.ts [--records 8000000 --files 400 --rounds 3]
 *
 * Generates (once, cached in the temp dir by parameters) a day of an instance's flow logs
 * in hundreds of gzip files, then times, round after round, orgshield's analysis (running
 * the compiled packages as `orgshield flows analyze` does: the npm script builds them
 * first) and DuckDB (2 threads, read_csv over the same files) computing the same
 * conversations, each in a fresh child process of its own (so peak memory is each one's
 * own, and neither reuses memory an earlier round paged in), and checks the numbers are
 * identical. A second input twice as large shows that orgshield's peak memory does not
 * grow with it. Prints the figures as JSON and as a Markdown table.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { analyzeFlowLogs, type Conversation, listFlowLogFiles } from '@orgshield/investigations/flow-logs';
import { type FlowLogScenario, writeFlowLogFiles } from '@orgshield/sandbox/flow-logs';

const LOCAL_IP = '10.0.1.25';
const DAY_MINUTES = 1440;
const TARGET_RATIO = 1.5;
const TARGET_RSS_MB = 300;

interface Options {
  records: number;
  files: number;
  rounds: number;
  seed: number;
  double: boolean;
}

function readOptions(): Options & { child?: string } {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '8000000' },
      files: { type: 'string', default: '400' },
      rounds: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      'no-double': { type: 'boolean', default: false },
      child: { type: 'string' },
    },
  });
  const whole = (flag: string, value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} needs a positive whole number, not ${value}.`);
    return n;
  };
  return {
    records: whole('records', values.records), files: whole('files', values.files), rounds: whole('rounds', values.rounds), seed: whole('seed', values.seed),
    double: !values['no-double'], ...(values.child === undefined ? {} : { child: values.child }),
  };
}

/** The traffic: a clean day (or days) of a web server, plus a few planted incidents. */
function scenario(records: number, days: number, seed: number): FlowLogScenario {
  const from = new Date('2025-06-01T00:00:00Z');
  const at = (hours: number): Date => new Date(from.getTime() + hours * 3600_000);
  return {
    seed,
    from,
    to: at(24 * days),
    recordsPerMinute: Math.round(records / (DAY_MINUTES * days)),
    localIp: LOCAL_IP,
    webClients: 20_000,
    incidents: [
      { kind: 'port-scan', remoteIp: '45.33.32.156', at: at(3) },
      { kind: 'brute-force', remoteIp: '185.220.101.4', at: at(7) },
      { kind: 'exfiltration', remoteIp: '91.219.236.18', at: at(15) },
      { kind: 'spike', at: at(19) },
    ],
  };
}

/** The input's folder, generated unless a complete one is cached. */
async function dataset(records: number, files: number, days: number, seed: number): Promise<{ dir: string; records: number; files: number; bytes: number }> {
  const key = createHash('sha256').update(JSON.stringify({ version: 2, records, files, days, seed })).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'orgshield-bench-flows', key);
  const marker = join(dir, 'complete.json');
  if (existsSync(marker)) return JSON.parse(await readFile(marker, 'utf8')) as { dir: string; records: number; files: number; bytes: number };
  await rm(dir, { recursive: true, force: true });
  process.stderr.write(`generating ${records.toLocaleString('en-US')} records in ${files} gzip files under ${dir} ...\n`);
  const started = Date.now();
  const written = await writeFlowLogFiles(scenario(records, days, seed), { dir: join(dir, 'logs'), files, layout: 'aws' });
  const sizes = await Promise.all(written.map(async (file) => (await stat(file.path)).size));
  const bytes = sizes.reduce((sum, size) => sum + size, 0);
  const summary = { dir: join(dir, 'logs'), records: written.reduce((sum, f) => sum + f.records, 0), files: written.length, bytes };
  await writeFile(marker, JSON.stringify(summary));
  process.stderr.write(`generated in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return summary;
}

/** Reads every file once so both contenders start from a warm page cache. */
async function warm(dir: string): Promise<void> {
  for (const file of await listFlowLogFiles([dir])) {
    await new Promise<void>((resolve, reject) => createReadStream(file.path).on('data', () => undefined).on('end', resolve).on('error', reject));
  }
}

interface ChildResult {
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  /** orgshield's counts and findings (DuckDB computes conversations only). */
  records?: { total: number; matched: number; nodata: number; skipdata: number };
  findings?: string[];
  /** The conversations, as JSON. */
  out: string;
}

type Tool = 'orgshield' | 'duckdb';

/**
 * The child side: one run of one tool in a fresh process, reporting time, CPU and peak
 * memory. Both tools run this way, so neither finds its memory already paged in by an
 * earlier round (on a VM, first-touch page faults are a large part of a run).
 */
async function child(tool: Tool, dir: string, out: string): Promise<void> {
  const cpu = process.cpuUsage();
  let result: ChildResult;
  if (tool === 'duckdb') {
    const run = await runDuckDb(dir);
    const used = process.cpuUsage(cpu);
    await writeFile(out, JSON.stringify(run.rows));
    result = { ms: run.ms, cpuMs: (used.user + used.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, out };
  } else {
    const started = performance.now();
    const analysis = await analyzeFlowLogs({ paths: [dir] }, { localIps: [LOCAL_IP] });
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    await writeFile(out, JSON.stringify(analysis.conversations));
    result = { ms, cpuMs: (used.user + used.system) / 1000, maxRssMb, records: analysis.records, findings: analysis.findings.map((f) => f.kind), out };
  }
  process.stdout.write(JSON.stringify(result));
}

async function runChild(tool: Tool, dir: string, out: string): Promise<ChildResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    // Without the source condition the child imports the built packages, as the CLI does.
    const execArgv = process.execArgv.filter((arg) => arg !== '--conditions=@orgshield/source');
    const proc = spawn(process.execPath, [...execArgv, script, '--child', JSON.stringify({ tool, dir, out })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as ChildResult) : reject(new Error(`the ${tool} run exited with code ${code}`))));
  });
}

/** A conversation as DuckDB computes it: times in epoch seconds. */
type DuckRow = Omit<Conversation, 'firstSeen' | 'lastSeen' | 'fromFinding'> & { firstSeen: number; lastSeen: number };

/** The same conversations in SQL: the local side is the instance's address, as orgshield takes it. */
function conversationSql(dir: string): string {
  const columns = {
    version: 'INTEGER', account_id: 'VARCHAR', interface_id: 'VARCHAR', srcaddr: 'VARCHAR', dstaddr: 'VARCHAR', srcport: 'INTEGER', dstport: 'INTEGER',
    protocol: 'INTEGER', packets: 'BIGINT', bytes: 'BIGINT', start: 'BIGINT', end: 'BIGINT', action: 'VARCHAR', log_status: 'VARCHAR',
  };
  const spec = Object.entries(columns).map(([name, type]) => `'${name}': '${type}'`).join(', ');
  return `
    WITH records AS (
      SELECT * FROM read_csv('${dir}/**/*.log.gz', delim = ' ', header = true, nullstr = '-', auto_detect = false, columns = {${spec}})
      WHERE log_status = 'OK' AND (srcaddr = '${LOCAL_IP}') <> (dstaddr = '${LOCAL_IP}')
    ), sides AS (
      SELECT srcaddr = '${LOCAL_IP}' AS outgoing,
        CASE WHEN srcaddr = '${LOCAL_IP}' THEN dstaddr ELSE srcaddr END AS remote_ip,
        coalesce(CASE WHEN srcaddr = '${LOCAL_IP}' THEN srcport ELSE dstport END, 0) AS local_port,
        coalesce(CASE WHEN srcaddr = '${LOCAL_IP}' THEN dstport ELSE srcport END, 0) AS remote_port,
        protocol, coalesce(bytes, 0) AS bytes, coalesce(packets, 0) AS packets, action, start, coalesce("end", start) AS finish
      FROM records
    )
    SELECT remote_ip, local_port, remote_port, protocol,
      CASE WHEN remote_port > local_port THEN 'inbound' WHEN remote_port < local_port THEN 'outbound' ELSE 'unknown' END AS direction,
      sum(CASE WHEN outgoing THEN 0 ELSE bytes END)::DOUBLE AS in_bytes, sum(CASE WHEN outgoing THEN bytes ELSE 0 END)::DOUBLE AS out_bytes,
      sum(CASE WHEN outgoing THEN 0 ELSE packets END)::DOUBLE AS in_packets, sum(CASE WHEN outgoing THEN packets ELSE 0 END)::DOUBLE AS out_packets,
      count(*) FILTER (WHERE action = 'ACCEPT')::DOUBLE AS accepted, count(*) FILTER (WHERE action = 'REJECT')::DOUBLE AS rejected,
      min(start)::DOUBLE AS first_seen, max(finish)::DOUBLE AS last_seen
    FROM sides GROUP BY ALL`;
}

async function runDuckDb(dir: string): Promise<{ ms: number; rows: DuckRow[] }> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  await connection.run('SET threads = 2');
  const started = performance.now();
  const reader = await connection.runAndReadAll(conversationSql(dir));
  const ms = performance.now() - started;
  const rows = reader.getRows().map((r): DuckRow => ({
    remoteIp: String(r[0]), localPort: Number(r[1]), remotePort: Number(r[2]), protocol: Number(r[3]), direction: String(r[4]) as DuckRow['direction'],
    inBytes: Number(r[5]), outBytes: Number(r[6]), inPackets: Number(r[7]), outPackets: Number(r[8]), accepted: Number(r[9]), rejected: Number(r[10]),
    firstSeen: Number(r[11]), lastSeen: Number(r[12]),
  }));
  connection.closeSync();
  instance.closeSync();
  return { ms, rows };
}

/** Every conversation of one side must be in the other with the same numbers; returns the first difference. */
function compare(ours: readonly Conversation[], theirs: readonly DuckRow[]): string | null {
  if (ours.length !== theirs.length) return `orgshield has ${ours.length} conversations, DuckDB ${theirs.length}`;
  const key = (c: { remoteIp: string; localPort: number; remotePort: number; protocol: number }): string => `${c.remoteIp} ${c.localPort} ${c.remotePort} ${c.protocol}`;
  const byKey = new Map(theirs.map((row) => [key(row), row]));
  for (const c of ours) {
    const row = byKey.get(key(c));
    if (row === undefined) return `DuckDB has no conversation ${key(c)}`;
    const mine = [c.direction, c.inBytes, c.outBytes, c.inPackets, c.outPackets, c.accepted, c.rejected, Date.parse(c.firstSeen) / 1000, Date.parse(c.lastSeen) / 1000];
    const other = [row.direction, row.inBytes, row.outBytes, row.inPackets, row.outPackets, row.accepted, row.rejected, row.firstSeen, row.lastSeen];
    if (mine.some((v, i) => v !== other[i])) return `conversation ${key(c)} differs: orgshield ${JSON.stringify(mine)}, DuckDB ${JSON.stringify(other)}`;
  }
  return null;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function main(): Promise<void> {
  const options = readOptions();
  if (options.child !== undefined) {
    const { tool, dir, out } = JSON.parse(options.child) as { tool: Tool; dir: string; out: string };
    await child(tool, dir, out);
    return;
  }
  const input = await dataset(options.records, options.files, 1, options.seed);
  const work = join(tmpdir(), `orgshield-bench-flows-run-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    await warm(input.dir);
    const ours: ChildResult[] = [];
    const theirs: ChildResult[] = [];
    for (let round = 0; round < options.rounds; round++) {
      ours.push(await runChild('orgshield', input.dir, join(work, `orgshield-${round}.json`)));
      theirs.push(await runChild('duckdb', input.dir, join(work, `duckdb-${round}.json`)));
      process.stderr.write(`round ${round + 1}: orgshield ${ours.at(-1)!.ms.toFixed(0)} ms, DuckDB ${theirs.at(-1)!.ms.toFixed(0)} ms\n`);
    }
    const duckRows = JSON.parse(await readFile(theirs.at(-1)!.out, 'utf8')) as DuckRow[];
    const conversations = JSON.parse(await readFile(ours.at(-1)!.out, 'utf8')) as Conversation[];
    const difference = compare(conversations, duckRows);

    let double: { records: number; files: number; ms: number; maxRssMb: number } | null = null;
    if (options.double) {
      const twice = await dataset(options.records * 2, options.files * 2, 2, options.seed);
      await warm(twice.dir);
      const run = await runChild('orgshield', twice.dir, join(work, 'orgshield-2x.json'));
      double = { records: twice.records, files: twice.files, ms: run.ms, maxRssMb: run.maxRssMb };
    }

    const oursMs = median(ours.map((r) => r.ms));
    const duckMs = median(theirs.map((r) => r.ms));
    const figures = {
      records: input.records,
      files: input.files,
      gzipMb: Math.round(input.bytes / 2 ** 20),
      matched: ours[0]!.records!.matched,
      conversations: conversations.length,
      findings: ours[0]!.findings,
      orgshieldMs: Math.round(oursMs),
      orgshieldCpuMs: Math.round(median(ours.map((r) => r.cpuMs))),
      duckdbMs: Math.round(duckMs),
      ratio: Math.round((duckMs / oursMs) * 100) / 100,
      orgshieldRecordsPerSecond: Math.round(input.records / (oursMs / 1000)),
      orgshieldPeakRssMb: Math.round(Math.max(...ours.map((r) => r.maxRssMb))),
      double: double === null ? null : { ...double, ms: Math.round(double.ms), maxRssMb: Math.round(double.maxRssMb) },
      identical: difference === null,
      duckdbPeakRssMb: Math.round(Math.max(...theirs.map((r) => r.maxRssMb))),
      rounds: { orgshieldMs: ours.map((r) => Math.round(r.ms)), duckdbMs: theirs.map((r) => Math.round(r.ms)) },
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n\n`);
    const rows: [string, string, string][] = [
      ['records / gzip files', `${input.records.toLocaleString('en-US')} / ${input.files} (${figures.gzipMb} MB)`, ''],
      ['conversations (orgshield = DuckDB)', `${conversations.length.toLocaleString('en-US')}`, difference === null ? 'identical' : `DIFFERENT: ${difference}`],
      ['orgshield flows analyze (median)', `${figures.orgshieldMs} ms`, `${(figures.orgshieldRecordsPerSecond / 1e6).toFixed(1)} M records/s`],
      ['DuckDB, 2 threads (median)', `${figures.duckdbMs} ms`, `peak RSS ${figures.duckdbPeakRssMb} MB`],
      ['ratio DuckDB / orgshield', `${figures.ratio}x`, figures.ratio >= TARGET_RATIO ? `meets >= ${TARGET_RATIO}x` : `MISSES ${TARGET_RATIO}x`],
      ['orgshield peak RSS', `${figures.orgshieldPeakRssMb} MB`, figures.orgshieldPeakRssMb < TARGET_RSS_MB ? `under ${TARGET_RSS_MB} MB` : `OVER ${TARGET_RSS_MB} MB`],
    ];
    if (double !== null) {
      rows.push(['orgshield peak RSS, 2x input', `${figures.double!.maxRssMb} MB`, `${double.records.toLocaleString('en-US')} records in ${double.files} files, ${figures.double!.ms} ms`]);
    }
    process.stdout.write(`| flows analyze benchmark | value | note |\n| --- | --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`);
    if (difference !== null) process.exitCode = 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();

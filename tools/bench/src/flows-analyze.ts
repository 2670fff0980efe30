/**
 * Benchmark: orgshield's flow-log analysis against DuckDB on the same files.
 *
 *   npm run bench:flows-analyze -w @orgshield/bench [-- --records 8000000 --files 400 --rounds 3 --inputs standard,ddos]
 *   npm run bench:flows-analyze -w @orgshield/bench -- --distinct 10000000 [--remotes one]
 *
 * Two inputs, side by side: `standard`, a day of an instance's flow logs (about 87,000
 * conversations), and `ddos`, the same day under a DDoS from many sources (1.2 million
 * distinct conversations for 8 million records) plus a scan, brute force and a bulk transfer. Each is
 * generated once (cached in the temp dir by parameters) in hundreds of gzip files. Round
 * after round, orgshield's analysis (the compiled packages, as `orgshield flows analyze`
 * runs them: the npm script builds them first) and DuckDB (2 threads, read_csv over the
 * same files) each compute every conversation and write it, largest first, as CSV, each in
 * a fresh child process (so peak memory is each one's own; neither starts a process of its
 * own, so a child's peak RSS is its process tree's); the CSVs are compared row by row.
 *
 * `--distinct N` instead generates N distinct conversations (one record each), checks every
 * row against DuckDB's, that no temporary file is left, and that none is left after SIGINT
 * in the middle of a run either. With `--remotes one` the N conversations are all one remote
 * address's (its ports vary): more than the merge's table holds, so its partition is merged
 * in pieces split by conversation.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { analyzeFlowLogs, fileSink, listFlowLogFiles, writeConversationsCsv } from '@orgshield/investigations/flow-logs';
import { type FlowLogScenario, writeFlowLogFiles } from '@orgshield/sandbox/flow-logs';
import { badArg, benchArgs, countArg } from './bench-args.js';

const LOCAL_IP = '10.0.1.25';
/** --distinct --remotes one: the one remote address. */
const ONE_REMOTE = '203.0.113.9';
const DAY_MINUTES = 1440;
const TARGET_RATIO = 1.5;
const TARGET_RSS_MB = 300;
const INPUTS = ['standard', 'ddos'] as const;
type Input = (typeof INPUTS)[number];

interface Options {
  records: number;
  files: number;
  rounds: number;
  seed: number;
  inputs: Input[];
  distinct: number | null;
  /** --distinct's conversations: each remote address with a few (many), or all of one (one). */
  remotes: 'many' | 'one';
}

function readOptions(): Options & { child?: string } {
  const values = benchArgs('npm run bench:flows-analyze -w @orgshield/bench -- [options]\norgshield\'s flow-log analysis against DuckDB on the same generated files.', {
    records: { description: 'flow-log records of each input', default: '8000000' },
    files: { description: 'gzip files they are spread over', default: '400' },
    rounds: { description: 'rounds of each tool on each input', default: '3' },
    seed: { description: 'the generator seed', default: '1' },
    inputs: { description: `inputs to run, comma-separated (${INPUTS.join(', ')})`, default: INPUTS.join(',') },
    distinct: { description: 'instead: N distinct conversations, checked row by row and after SIGINT' },
    remotes: { description: 'with --distinct: many (a few conversations each) or one (every conversation one address\'s)', default: 'many' },
    child: { description: 'internal: one run of one tool, as JSON (the benchmark starts its children with it)' },
  });
  const inputs = values.inputs.split(',').map((name) => {
    if (!(INPUTS as readonly string[]).includes(name)) badArg(`--inputs takes ${INPUTS.join(' and ')}, not "${name}".`);
    return name as Input;
  });
  return {
    records: countArg('records', values.records), files: countArg('files', values.files), rounds: countArg('rounds', values.rounds), seed: countArg('seed', values.seed),
    inputs, distinct: values.distinct === undefined ? null : countArg('distinct', values.distinct), remotes: remotesArg(values.remotes),
    ...(values.child === undefined ? {} : { child: values.child }),
  };
}

/** DDoS sources of the high-cardinality input, per record (1.2 million of 8 million): each one a conversation of its own. */
const DDOS_SOURCES_PER_RECORD = 0.15;

/** The traffic: a clean day of a web server, a few planted incidents, and for `ddos` a flood from many sources. */
function scenario(input: Input, records: number, seed: number): FlowLogScenario {
  const from = new Date('2025-06-01T00:00:00Z');
  const at = (hours: number): Date => new Date(from.getTime() + hours * 3600_000);
  // A flood exchange is two records: the background makes up the rest of the count.
  const sources = Math.round(records * DDOS_SOURCES_PER_RECORD);
  const background = input === 'ddos' ? records - 2 * sources : records;
  return {
    seed,
    from,
    to: at(24),
    recordsPerMinute: Math.round(background / DAY_MINUTES),
    localIp: LOCAL_IP,
    webClients: 20_000,
    incidents: [
      { kind: 'port-scan', remoteIp: '45.33.32.156', at: at(3) },
      { kind: 'brute-force', remoteIp: '185.220.101.4', at: at(7) },
      { kind: 'exfiltration', remoteIp: '91.219.236.18', at: at(15) },
      ...(input === 'ddos' ? [{ kind: 'ddos' as const, at: at(10), port: 443, sources, durationSeconds: 4 * 3600 }] : [{ kind: 'spike' as const, at: at(19) }]),
    ],
  };
}

interface Dataset { dir: string; records: number; files: number; bytes: number }

/** The input's folder, generated unless a complete one is cached. */
async function dataset(key: object, generate: (dir: string) => Promise<{ records: number; files: number }>): Promise<Dataset> {
  const hash = createHash('sha256').update(JSON.stringify({ version: 3, ...key })).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'orgshield-bench-flows', hash);
  const marker = join(dir, 'complete.json');
  if (existsSync(marker)) return JSON.parse(await readFile(marker, 'utf8')) as Dataset;
  await rm(dir, { recursive: true, force: true });
  process.stderr.write(`generating ${JSON.stringify(key)} under ${dir} ...\n`);
  const started = Date.now();
  const written = await generate(join(dir, 'logs'));
  const files = await listFlowLogFiles([join(dir, 'logs')]);
  const summary: Dataset = { dir: join(dir, 'logs'), records: written.records, files: written.files, bytes: files.reduce((sum, f) => sum + f.size, 0) };
  await writeFile(marker, JSON.stringify(summary));
  process.stderr.write(`generated in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return summary;
}

async function scenarioDataset(input: Input, options: Options): Promise<Dataset> {
  return dataset({ input, records: options.records, files: options.files, seed: options.seed }, async (dir) => {
    const written = await writeFlowLogFiles(scenario(input, options.records, options.seed), { dir, files: options.files, layout: 'aws' });
    return { records: written.reduce((sum, f) => sum + f.records, 0), files: written.length };
  });
}

function remotesArg(value: string): Options['remotes'] {
  if (value !== 'many' && value !== 'one') badArg(`--remotes takes many or one, not "${value}".`);
  return value;
}

/**
 * `distinct` conversations, one record each, in files of a million records: each remote
 * address with a few ports (many), or all from one address, its local and remote ports
 * varying (one).
 */
async function distinctDataset(distinct: number, remotes: Options['remotes']): Promise<Dataset> {
  return dataset(remotes === 'one' ? { distinct, remotes } : { distinct }, async (dir) => {
    await mkdir(dir, { recursive: true });
    const perFile = 1_000_000;
    const start = Date.parse('2025-06-01T00:00:00Z') / 1000;
    let files = 0;
    for (let first = 0; first < distinct; first += perFile) {
      const lines = ['version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status'];
      for (let i = first; i < Math.min(distinct, first + perFile); i++) {
        const t = start + (i % 86400);
        let ports: string;
        let remote = ONE_REMOTE;
        if (remotes === 'one') {
          // Remote ports 1024 to 65535 against local ports from 443 up.
          ports = `${1024 + (i % 64512)} ${443 + Math.floor(i / 64512)}`;
        } else {
          // 100.64.0.0/10 and up: millions of remote addresses, each from a few ports.
          const ip = 0x64400000 + (i >>> 2);
          remote = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
          ports = `${40000 + (i & 3)} 443`;
        }
        lines.push(`2 123456789012 eni-0a1b2c3d4e5f60718 ${remote} ${LOCAL_IP} ${ports} 6 ${1 + (i % 7)} ${100 + (i % 9973)} ${t} ${t + 5} ${i % 11 === 0 ? 'REJECT' : 'ACCEPT'} OK`);
      }
      await writeFile(join(dir, `part-${String(files).padStart(4, '0')}.log.gz`), gzipSync(`${lines.join('\n')}\n`));
      files++;
    }
    return { records: distinct, files };
  });
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
  spilled?: boolean;
  /** The conversations, as CSV, largest first. */
  out: string;
}

type Tool = 'orgshield' | 'duckdb';

/**
 * The child side: one run of one tool in a fresh process, computing every conversation and
 * writing it as CSV, reporting time (both included), CPU and peak memory. Both tools run
 * this way, so neither finds its memory already paged in by an earlier round.
 */
async function child(tool: Tool, dir: string, out: string): Promise<void> {
  const cpu = process.cpuUsage();
  let result: ChildResult;
  if (tool === 'duckdb') {
    const ms = await runDuckDb(dir, out);
    const used = process.cpuUsage(cpu);
    result = { ms, cpuMs: (used.user + used.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, out };
  } else {
    const started = performance.now();
    const analysis = await analyzeFlowLogs({ paths: [dir] }, { localIps: [LOCAL_IP] });
    const handle = await open(out, 'w');
    await writeConversationsCsv(analysis.conversations, fileSink(handle));
    await handle.close();
    analysis.dispose();
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    result = {
      ms, cpuMs: (used.user + used.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, records: analysis.records,
      findings: analysis.findings.map((f) => f.kind), spilled: analysis.spilled, out,
    };
  }
  process.stdout.write(JSON.stringify(result));
}

async function runChild(tool: Tool, dir: string, out: string, env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    // Without the source condition the child imports the built packages, as the CLI does.
    const execArgv = process.execArgv.filter((arg) => arg !== '--conditions=@orgshield/source');
    const proc = spawn(process.execPath, [...execArgv, script, '--child', JSON.stringify({ tool, dir, out })], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let stdout = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as ChildResult) : reject(new Error(`the ${tool} run exited with code ${code}`))));
  });
}

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

/** Runs the conversations query and writes them as CSV, largest first (ties as orgshield orders them); returns the time taken. */
async function runDuckDb(dir: string, out: string): Promise<number> {
  // Loaded here, in DuckDB's child only: its native library is DuckDB's memory, not orgshield's.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  await connection.run('SET threads = 2');
  const started = performance.now();
  await connection.run(`COPY (
      SELECT remote_ip, local_port, remote_port, protocol, direction, in_bytes::BIGINT, out_bytes::BIGINT, in_packets::BIGINT, out_packets::BIGINT,
        accepted::BIGINT, rejected::BIGINT, first_seen::BIGINT, last_seen::BIGINT
      FROM (${conversationSql(dir)})
      ORDER BY in_bytes + out_bytes DESC, remote_ip, local_port, remote_port, protocol
    ) TO '${out}' (HEADER false, DELIMITER ',')`);
  const ms = performance.now() - started;
  connection.closeSync();
  instance.closeSync();
  return ms;
}

/**
 * Compares the two CSVs row by row (orgshield's times are ISO 8601, DuckDB's epoch
 * seconds; its fromFinding column is left out): the first difference, or null, and the rows.
 */
async function compareCsv(ours: string, theirs: string): Promise<{ difference: string | null; rows: number }> {
  const a = createInterface({ input: createReadStream(ours), crlfDelay: Infinity })[Symbol.asyncIterator]();
  const b = createInterface({ input: createReadStream(theirs), crlfDelay: Infinity })[Symbol.asyncIterator]();
  await a.next(); // orgshield's header
  for (let rows = 0; ; rows++) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    if (x.done || y.done) return { difference: x.done === y.done ? null : `orgshield has ${x.done ? 'fewer' : 'more'} rows than DuckDB (${rows} in common)`, rows };
    const mine = x.value.split(',').slice(0, 13);
    mine[11] = String(Date.parse(mine[11]!) / 1000);
    mine[12] = String(Date.parse(mine[12]!) / 1000);
    if (mine.join(',') !== y.value) return { difference: `row ${rows + 1} differs: orgshield ${mine.join(',')}, DuckDB ${y.value}`, rows };
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

interface InputFigures {
  input: string;
  records: number;
  files: number;
  gzipMb: number;
  conversations: number;
  identical: boolean;
  difference: string | null;
  findings: string[];
  spilled: boolean;
  orgshieldMs: number;
  orgshieldCpuMs: number;
  duckdbMs: number;
  duckdbCpuMs: number;
  ratio: number;
  orgshieldPeakRssMb: number;
  duckdbPeakRssMb: number;
  rounds: { orgshieldMs: number[]; duckdbMs: number[] };
}

async function measure(name: string, input: Dataset, rounds: number, work: string): Promise<InputFigures> {
  await warm(input.dir);
  const ours: ChildResult[] = [];
  const theirs: ChildResult[] = [];
  for (let round = 0; round < rounds; round++) {
    ours.push(await runChild('orgshield', input.dir, join(work, `${name}-orgshield-${round}.csv`)));
    theirs.push(await runChild('duckdb', input.dir, join(work, `${name}-duckdb-${round}.csv`)));
    process.stderr.write(`${name} round ${round + 1}: orgshield ${ours.at(-1)!.ms.toFixed(0)} ms, DuckDB ${theirs.at(-1)!.ms.toFixed(0)} ms\n`);
  }
  const { difference, rows } = await compareCsv(ours.at(-1)!.out, theirs.at(-1)!.out);
  const oursMs = median(ours.map((r) => r.ms));
  const duckMs = median(theirs.map((r) => r.ms));
  return {
    input: name, records: input.records, files: input.files, gzipMb: Math.round(input.bytes / 2 ** 20), conversations: rows, identical: difference === null, difference,
    findings: ours[0]!.findings!, spilled: ours.some((r) => r.spilled === true),
    orgshieldMs: Math.round(oursMs), orgshieldCpuMs: Math.round(median(ours.map((r) => r.cpuMs))), duckdbMs: Math.round(duckMs),
    duckdbCpuMs: Math.round(median(theirs.map((r) => r.cpuMs))), ratio: Math.round((duckMs / oursMs) * 100) / 100,
    orgshieldPeakRssMb: Math.round(Math.max(...ours.map((r) => r.maxRssMb))), duckdbPeakRssMb: Math.round(Math.max(...theirs.map((r) => r.maxRssMb))),
    rounds: { orgshieldMs: ours.map((r) => Math.round(r.ms)), duckdbMs: theirs.map((r) => Math.round(r.ms)) },
  };
}

/** The spill folders a run left in `root` (its TMPDIR). */
async function leftovers(root: string): Promise<string[]> {
  return (await readdir(root)).filter((name) => name.startsWith('orgshield-flows-'));
}

/**
 * Interrupts an orgshield run with SIGINT once it has spilled (its spill folder holds
 * files) and returns what it left in its temporary folder.
 */
async function interruptedRun(dir: string, work: string): Promise<{ signal: string | null; spilledBeforeSignal: boolean; left: string[] }> {
  const root = await mkdtemp(join(work, 'sigint-'));
  const script = fileURLToPath(import.meta.url);
  const execArgv = process.execArgv.filter((arg) => arg !== '--conditions=@orgshield/source');
  const proc = spawn(process.execPath, [...execArgv, script, '--child', JSON.stringify({ tool: 'orgshield', dir, out: join(work, 'sigint.csv') })], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TMPDIR: root },
  });
  const exited = new Promise<string | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  let spilledBeforeSignal = false;
  for (let tries = 0; tries < 1200 && proc.exitCode === null; tries++) {
    const folders = await leftovers(root);
    if (folders.length > 0 && (await readdir(join(root, folders[0]!)).catch(() => [])).length > 0) {
      spilledBeforeSignal = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proc.kill('SIGINT');
  const signal = await exited;
  return { signal, spilledBeforeSignal, left: await leftovers(root) };
}

async function distinctMode(distinct: number, remotes: Options['remotes'], work: string): Promise<void> {
  const input = await distinctDataset(distinct, remotes);
  await warm(input.dir);
  const root = await mkdtemp(join(work, 'tmp-'));
  const ours = await runChild('orgshield', input.dir, join(work, 'distinct-orgshield.csv'), { ...process.env, TMPDIR: root });
  const left = await leftovers(root);
  const theirs = await runChild('duckdb', input.dir, join(work, 'distinct-duckdb.csv'));
  const { difference, rows } = await compareCsv(ours.out, theirs.out);
  const interrupted = await interruptedRun(input.dir, work);
  const figures = {
    distinct, remotes, records: input.records, files: input.files, gzipMb: Math.round(input.bytes / 2 ** 20), rows, identical: difference === null, difference,
    spilled: ours.spilled, orgshieldMs: Math.round(ours.ms), duckdbMs: Math.round(theirs.ms), ratio: Math.round((theirs.ms / ours.ms) * 100) / 100,
    orgshieldPeakRssMb: Math.round(ours.maxRssMb), duckdbPeakRssMb: Math.round(theirs.maxRssMb), temporaryFilesLeft: left.length, sigint: interrupted,
  };
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n\n`);
  const rowsTable: [string, string, string][] = [
    ['distinct conversations / records / files', `${distinct.toLocaleString('en-US')} / ${input.records.toLocaleString('en-US')} / ${input.files} (${figures.gzipMb} MB)`, remotes === 'one' ? `all of one remote address, ${ONE_REMOTE}` : ''],
    ['rows (orgshield = DuckDB)', rows.toLocaleString('en-US'), difference === null ? 'identical' : `DIFFERENT: ${difference}`],
    ['orgshield / DuckDB (2 threads)', `${figures.orgshieldMs} ms / ${figures.duckdbMs} ms`, `ratio ${figures.ratio}x`],
    ['peak RSS orgshield / DuckDB', `${figures.orgshieldPeakRssMb} MB / ${figures.duckdbPeakRssMb} MB`, figures.orgshieldPeakRssMb < TARGET_RSS_MB ? `under ${TARGET_RSS_MB} MB` : `OVER ${TARGET_RSS_MB} MB`],
    ['temporary files left after the run', String(left.length), ''],
    ['after SIGINT mid-run', `${interrupted.left.length} left`, `signal ${interrupted.signal}, spilled before it: ${interrupted.spilledBeforeSignal}`],
  ];
  process.stdout.write(`| flows analyze, distinct mode | value | note |\n| --- | --- | --- |\n${rowsTable.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`);
  if (difference !== null || left.length > 0 || interrupted.left.length > 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  const options = readOptions();
  if (options.child !== undefined) {
    const { tool, dir, out } = JSON.parse(options.child) as { tool: Tool; dir: string; out: string };
    await child(tool, dir, out);
    return;
  }
  const work = join(tmpdir(), `orgshield-bench-flows-run-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    if (options.distinct !== null) {
      await distinctMode(options.distinct, options.remotes, work);
      return;
    }
    const all: InputFigures[] = [];
    for (const name of options.inputs) all.push(await measure(name, await scenarioDataset(name, options), options.rounds, work));
    process.stdout.write(`${JSON.stringify(all, null, 2)}\n\n`);
    const row = (label: string, value: (f: InputFigures) => string): string => `| ${label} | ${all.map(value).join(' | ')} |`;
    process.stdout.write([
      `| flows analyze benchmark | ${all.map((f) => f.input).join(' | ')} |`,
      `| --- | ${all.map(() => '---').join(' | ')} |`,
      row('records / gzip files', (f) => `${f.records.toLocaleString('en-US')} / ${f.files} (${f.gzipMb} MB)`),
      row('conversations (orgshield = DuckDB)', (f) => `${f.conversations.toLocaleString('en-US')} ${f.identical ? 'identical' : `DIFFERENT: ${f.difference}`}`),
      row('orgshield (median, CSV written)', (f) => `${f.orgshieldMs} ms (CPU ${f.orgshieldCpuMs} ms)${f.spilled ? ', spilled' : ''}`),
      row('DuckDB, 2 threads (median, CSV written)', (f) => `${f.duckdbMs} ms (CPU ${f.duckdbCpuMs} ms)`),
      row('ratio DuckDB / orgshield', (f) => `${f.ratio}x ${f.ratio >= TARGET_RATIO ? `meets >= ${TARGET_RATIO}x` : `MISSES ${TARGET_RATIO}x`}`),
      row('peak RSS orgshield', (f) => `${f.orgshieldPeakRssMb} MB ${f.orgshieldPeakRssMb < TARGET_RSS_MB ? `under ${TARGET_RSS_MB} MB` : `OVER ${TARGET_RSS_MB} MB`}`),
      row('peak RSS DuckDB', (f) => `${f.duckdbPeakRssMb} MB`),
      row('findings', (f) => f.findings.join(', ')),
    ].join('\n') + '\n');
    if (all.some((f) => !f.identical)) process.exitCode = 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();

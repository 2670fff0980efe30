import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { mix } from '../world/prng.js';
import { DEFAULT_FLOW_LOG_FIELDS, formatFlowRecord, type GeneratedFlowField } from './flow-log-format.js';
import { generateFlowRecords } from './flow-record-generator.js';
import type { FlowLogScenario } from './flow-scenario.js';

/* Flow logs as S3 delivers them: text chunks, object names and gzipped files. */

export interface FlowLogFileOptions {
  dir: string;
  /** How many files the window is split into (by time, like 5-minute deliveries). */
  files: number;
  fields?: readonly GeneratedFlowField[];
  /** Write the header line (S3 delivery always does; default true). */
  header?: boolean;
  gzip?: boolean;
  /** gzip level, default 6 like gzip(1). */
  level?: number;
  /** `flat`: files directly in dir; `aws`: under AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/. */
  layout?: 'flat' | 'aws';
}

export interface WrittenFlowLogFile {
  path: string;
  records: number;
  from: Date;
  to: Date;
}

/** The text of one flow log file, as chunks of about 256 KiB: header line (optional), then records. */
export function* flowLogText(
  scenario: FlowLogScenario,
  options: { from: Date; to: Date; fields?: readonly GeneratedFlowField[]; header?: boolean },
): Generator<string> {
  const fields = options.fields ?? DEFAULT_FLOW_LOG_FIELDS;
  let chunk = options.header === false ? '' : `${fields.join(' ')}\n`;
  for (const r of generateFlowRecords(scenario, options)) {
    chunk += `${formatFlowRecord(r, fields)}\n`;
    if (chunk.length >= 262144) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

function stamp(date: Date): string {
  return date.toISOString().slice(0, 16).replace(/[-:]/g, '');
}

/** S3's object name for a delivery: {account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmm}Z_{hash}.log.gz */
export function flowLogFileName(accountId: string, region: string, start: Date, index: number, gzip = true): string {
  const hash = mix(index, start.getTime() / 1000).toString(16).padStart(8, '0');
  return `${accountId}_vpcflowlogs_${region}_fl-0123456789abcdef0_${stamp(start)}Z_${hash}.log${gzip ? '.gz' : ''}`;
}

/**
 * Writes the scenario's window as `files` files, each a contiguous slice of whole minutes,
 * streamed through gzip: memory stays flat whatever the record count.
 */
export async function writeFlowLogFiles(scenario: FlowLogScenario, options: FlowLogFileOptions): Promise<WrittenFlowLogFile[]> {
  const gzip = options.gzip ?? true;
  const accountId = scenario.accountId ?? '123456789012';
  const region = scenario.region ?? 'us-east-1';
  const firstMinute = Math.ceil(scenario.from.getTime() / 60000);
  const minutes = Math.ceil(scenario.to.getTime() / 60000) - firstMinute;
  const files = Math.max(1, Math.min(options.files, minutes));
  const written: WrittenFlowLogFile[] = [];
  for (let i = 0; i < files; i++) {
    const from = new Date((firstMinute + Math.floor((i * minutes) / files)) * 60000);
    const to = new Date((firstMinute + Math.floor(((i + 1) * minutes) / files)) * 60000);
    const day = from.toISOString().slice(0, 10).split('-').join('/');
    const dir = options.layout === 'aws' ? join(options.dir, 'AWSLogs', accountId, 'vpcflowlogs', region, day) : options.dir;
    await mkdir(dir, { recursive: true });
    const path = join(dir, flowLogFileName(accountId, region, from, i, gzip));
    let records = 0;
    const counted = function* (): Generator<string> {
      for (const chunk of flowLogText(scenario, { from, to, fields: options.fields, header: options.header })) {
        for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) records++;
        yield chunk;
      }
    };
    const source = Readable.from(counted());
    const sink = createWriteStream(path);
    if (gzip) await pipeline(source, createGzip({ level: options.level ?? 6 }), sink);
    else await pipeline(source, sink);
    if (options.header !== false) records--;
    written.push({ path, records, from, to });
  }
  return written;
}

import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CUSTOM_FLOW_LOG_FIELDS, DEFAULT_FLOW_LOG_FIELDS, type FlowLogScenario, flowLogText, formatFlowRecord, generateFlowRecords, writeFlowLogFiles,
} from './flow-logs.js';

const from = new Date('2025-06-01T00:00:00Z');
const minutes = (n: number): Date => new Date(from.getTime() + n * 60000);
const scenario = (extra: Partial<FlowLogScenario> = {}): FlowLogScenario => ({
  seed: 42, from, to: minutes(120), recordsPerMinute: 100, localIp: '10.0.1.25', ...extra,
});
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('generateFlowRecords', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = [...generateFlowRecords(scenario())].map((r) => formatFlowRecord(r));
    const b = [...generateFlowRecords(scenario())].map((r) => formatFlowRecord(r));
    const c = [...generateFlowRecords(scenario({ seed: 43 }))].map((r) => formatFlowRecord(r));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBeGreaterThan(110 * 100);
  });

  it('yields for any sub-range exactly the records the whole window has in those minutes', () => {
    const whole = [...generateFlowRecords(scenario())].map((r) => formatFlowRecord(r));
    fc.assert(fc.property(fc.integer({ min: 0, max: 119 }), fc.integer({ min: 1, max: 30 }), (start, length) => {
      const range = { from: minutes(start), to: minutes(Math.min(120, start + length)) };
      const part = [...generateFlowRecords(scenario(), range)].map((r) => formatFlowRecord(r));
      // Every record starts within its minute's first seconds: its minute is floor(start / 60).
      const expected = whole.filter((line) => {
        const minute = Math.floor(Number(line.split(' ')[10]) / 60) * 60000;
        return minute >= range.from.getTime() && minute < range.to.getTime();
      });
      expect(part).toEqual(expected);
    }), { numRuns: 20 });
  });

  it('keeps the clean background to a bounded set of conversations however long the window', () => {
    const keys = (hours: number): number => {
      const seen = new Set<string>();
      for (const r of generateFlowRecords(scenario({ to: minutes(hours * 60), webClients: 200 }))) {
        if (r.logStatus === 'OK') seen.add(`${r.srcaddr} ${r.srcport} ${r.dstaddr} ${r.dstport} ${r.protocol}`);
      }
      return seen.size;
    };
    const day = keys(24);
    expect(keys(48)).toBeLessThan(day * 1.1);
  });

  it('plants incidents in their minutes only', () => {
    const incidents = [{ kind: 'port-scan' as const, remoteIp: '45.33.32.156', at: minutes(30), ports: 100 }];
    const probes = [...generateFlowRecords(scenario({ incidents }))].filter((r) => r.srcaddr === '45.33.32.156');
    expect(new Set(probes.map((r) => r.dstport)).size).toBe(100);
    for (const r of probes) expect(r.start).toBeGreaterThanOrEqual(minutes(30).getTime() / 1000);
    for (const r of probes) expect(r.start).toBeLessThan(minutes(33).getTime() / 1000);
  });

  it('writes NODATA and SKIPDATA records with dashes for every traffic field', () => {
    const quiet = [...generateFlowRecords(scenario({ to: minutes(24 * 60), recordsPerMinute: 5 }))].filter((r) => r.logStatus !== 'OK');
    expect(quiet.length).toBeGreaterThan(0);
    expect(formatFlowRecord(quiet[0]!)).toMatch(/^2 123456789012 eni-\S+ - - - - - - - \d+ \d+ - (NODATA|SKIPDATA)$/);
  });
});

describe('writeFlowLogFiles', () => {
  it('splits the window into gzip files with a header line and the same records as the generator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-logs-'));
    dirs.push(dir);
    const written = await writeFlowLogFiles(scenario(), { dir, files: 7 });
    expect(written).toHaveLength(7);
    expect((await readdir(dir)).filter((f) => f.endsWith('.log.gz'))).toHaveLength(7);
    const lines: string[] = [];
    for (const file of written) {
      const text = gunzipSync(await readFile(file.path)).toString('utf8').trimEnd().split('\n');
      expect(text[0]).toBe(DEFAULT_FLOW_LOG_FIELDS.join(' '));
      expect(text.length - 1).toBe(file.records);
      lines.push(...text.slice(1));
    }
    expect(lines).toEqual([...generateFlowRecords(scenario())].map((r) => formatFlowRecord(r)));
  });

  it('writes custom formats, plain text and the S3 folder layout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-logs-'));
    dirs.push(dir);
    const written = await writeFlowLogFiles(scenario({ to: minutes(10) }), { dir, files: 2, fields: CUSTOM_FLOW_LOG_FIELDS, gzip: false, layout: 'aws' });
    expect(written[0]!.path).toMatch(/AWSLogs\/123456789012\/vpcflowlogs\/us-east-1\/2025\/06\/01\/123456789012_vpcflowlogs_us-east-1_fl-[0-9a-f]+_20250601T0000Z_[0-9a-f]{8}\.log$/);
    const text = (await readFile(written[0]!.path, 'utf8')).split('\n');
    expect(text[0]).toBe(CUSTOM_FLOW_LOG_FIELDS.join(' '));
    expect(text[1]!.split(' ')).toHaveLength(CUSTOM_FLOW_LOG_FIELDS.length);
  });

  it('streams text in bounded chunks', () => {
    const chunks = [...flowLogText(scenario({ to: minutes(60), recordsPerMinute: 2000 }), { from, to: minutes(60) })];
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) expect(chunk.length).toBeLessThan(300_000);
  });
});

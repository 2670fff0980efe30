import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DrillFileError, loadDrill, parseDrillSource } from './drill-loader.js';
import { parseDuration } from './drill-schema.js';

const EXAMPLE = join(import.meta.dirname, '../examples/payments-drill.yaml');

const BASE = `kind: Drill
name: d1
targets: { all: true }
regions: [us-east-1]
waves:
  - name: w1
objectives: { rto: 30m, rpo: 15m }
isolation: { subnets: [subnet-0a1b2c3d], securityGroups: [sg-0a1b2c3d] }
`;

function problemsOf(text: string, caFiles: Record<string, string> = {}): string[] {
  try {
    parseDrillSource({ file: 'drill.yaml', text, caFiles });
  } catch (error) {
    if (error instanceof DrillFileError) return error.problems.map((p) => `${p.line ?? '-'}:${p.column ?? '-'} ${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('drill loader', () => {
  it('loads the example with its defaults', async () => {
    const { drill } = await loadDrill(EXAMPLE);
    expect(drill.name).toBe('payments-dr');
    expect(drill.waves.map((wave) => wave.name)).toEqual(['databases', 'web']);
    expect(drill.objectives).toEqual({ rto: parseDuration('30m'), rpo: parseDuration('15m') });
    expect(drill.waves[1]?.checks[0]).toMatchObject({ type: 'http', path: '/health', expectStatus: 200, expectBody: 'ok' });
    expect(drill.waves[1]?.checkTimeout).toBe(parseDuration('10m'));
    expect(drill.cleanup).toBe('terminate');
  });

  it('reads the recovery point forms', () => {
    const before = parseDrillSource({ file: 'd.yaml', text: `${BASE}recoveryPoint: { before: "2026-12-01T04:00:00Z" }\n`, caFiles: {} });
    expect(before.drill.recoveryPoint).toEqual({ before: '2026-12-01T04:00:00Z' });
    const maxAge = parseDrillSource({ file: 'd.yaml', text: `${BASE}recoveryPoint: { maxAge: 2h }\n`, caFiles: {} });
    expect(maxAge.drill.recoveryPoint).toEqual({ maxAge: 7_200_000 });
    expect(parseDrillSource({ file: 'd.yaml', text: BASE, caFiles: {} }).drill.recoveryPoint).toBe('latest');
  });

  it('names the file, line, column and field of every problem', () => {
    const text = BASE.replace('rto: 30m', 'rto: soon').replace('subnet-0a1b2c3d', 'subnet-prod').replace('  - name: w1', '  - name: w1\n    checks: [{ type: tcp, port: 70000 }]');
    expect(problemsOf(text)).toEqual([
      '7:33 waves[0].checks[0].port: must be at most 65535, not 70000',
      '8:20 objectives.rto: a duration looks like 30s, 10m or 1h30m',
      '9:24 isolation.subnets[0]: a subnet id looks like subnet-0123456789abcdef0',
    ]);
  });

  it('refuses isDrill in one sentence: a drill file never starts a real recovery', () => {
    const [problem] = problemsOf(`${BASE}isDrill: false\n`);
    expect(problem).toBe('9:1 isDrill: a drill file cannot start a real recovery: every launch is a drill (isDrill: true); remove isDrill');
  });

  it('refuses a before time without its zone and an empty selector', () => {
    const text = `${BASE.replace('  - name: w1', '  - name: w1\n  - name: w2\n    servers: {}')}recoveryPoint: { before: "2026-12-01T04:00:00" }\n`;
    const problems = problemsOf(text);
    expect(problems.some((p) => /^11:\d+ recoveryPoint/.test(p))).toBe(true);
    expect(problems.some((p) => /^8:\d+ waves\[1\]\.servers: a server selector needs ids, hostnames or tags$/.test(p))).toBe(true);
  });

  it('refuses a wave or a region named twice', () => {
    const text = BASE.replace('regions: [us-east-1]', 'regions: [us-east-1, us-east-1]').replace('  - name: w1', '  - name: w1\n  - name: w1');
    expect(problemsOf(text)).toEqual(['7:11 waves[1].name: wave w1 is named twice', '4:22 regions[1]: region us-east-1 is listed twice']);
  });

  it('refuses bad YAML with its position', () => {
    const [problem] = problemsOf('kind: Drill\nname: [unclosed\n');
    expect(problem).toMatch(/^\d+:\d+ : not valid YAML or JSON/);
  });

  it('reads a CA beside the drill file and refuses one that is missing or not PEM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drill-loader-'));
    const check = '  - name: w1\n    checks: [{ type: https, port: 443, ca: ca.pem }]';
    await writeFile(join(dir, 'drill.yaml'), BASE.replace('  - name: w1', check));
    await expect(loadDrill(join(dir, 'drill.yaml'))).rejects.toThrow(/drill\.yaml:7:\d+ waves\[0\]\.checks\[0\]\.ca: CA file ca\.pem was not read/);
    await writeFile(join(dir, 'ca.pem'), 'not a certificate');
    await expect(loadDrill(join(dir, 'drill.yaml'))).rejects.toThrow(/CA file ca\.pem holds no PEM certificate/);
    await writeFile(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const { source } = await loadDrill(join(dir, 'drill.yaml'));
    expect(Object.keys(source.caFiles)).toEqual(['ca.pem']);
  });

  it('refuses a CA on a plain http check', () => {
    const text = BASE.replace('  - name: w1', '  - name: w1\n    checks: [{ type: http, ca: x.pem }]');
    expect(problemsOf(text).some((p) => p.includes('a CA is for https checks'))).toBe(true);
  });
});

import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS, FALLBACK_RATE_LIMIT, rateLimitsSchema } from '@orgshield/aws';
import { DrillSchema, loadDrill } from '@orgshield/drills';
import { loadRollout, RolloutSchema } from '@orgshield/firewall';
import { DEFAULT_FLOW_THRESHOLDS, flowThresholdsSchema, GuardDutyFindingSchema, parseFindingJson } from '@orgshield/investigations';
import { loadPolicySpec, PolicySpecSchema } from '@orgshield/policies';
import { faultsConfigSchema, loadFaultsFile } from '@orgshield/sandbox';
import { loadRecording, RecordingSchema } from '@orgshield/session-recording';
import { readInputFile } from '@orgshield/spec-files';
import { configuredRateLimits, WorkerConfigSchema } from '@orgshield/worker-runtime';
import { loadThresholds } from './flows-command.js';

const docs = new URL('../../../docs/reference/', import.meta.url);
const repo = new URL('../../../', import.meta.url);

/** Every field path a schema accepts (`waves[].gates.timeout`), through optionals, defaults, unions, lists and maps. */
function fieldPaths(schema: z.ZodType): string[] {
  const paths = new Set<string>();
  const walk = (node: unknown, path: string) => {
    const def = (node as { _zod?: { def?: Record<string, unknown> & { type: string } } })._zod?.def;
    if (!def) return;
    switch (def.type) {
      case 'object':
        for (const [key, child] of Object.entries(def['shape'] as Record<string, unknown>)) {
          const next = path ? `${path}.${key}` : key;
          paths.add(next);
          walk(child, next);
        }
        break;
      case 'array':
        walk(def['element'], `${path}[]`);
        break;
      // A map's keys are the user's (tags, `service:Operation`): its values' fields are `KEY.field`.
      case 'record':
        walk(def['valueType'], path ? `${path}.KEY` : 'KEY');
        break;
      case 'union':
        for (const option of def['options'] as unknown[]) walk(option, path);
        break;
      case 'pipe':
        walk(def['in'], path);
        break;
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
        walk(def['innerType'], path);
        break;
    }
  };
  walk(schema, '');
  return [...paths];
}

/**
 * Each kind of file (or JSON setting) a user hands orgshield: its page, its schema, which field
 * paths the page must name, and how its full example (the page's first yaml or json block,
 * written as `example.yaml` or `example.json` in a folder of its own) is loaded by the loader the
 * CLI uses. `files` writes what the example names beside it.
 */
const pages: readonly {
  file: string;
  schema: z.ZodType;
  /** How many field paths the schema has at least (a walk that finds none must not pass). */
  minFields?: number;
  documented?: (path: string) => boolean;
  files?: (dir: string) => Promise<void>;
  load: (file: string) => Promise<unknown>;
}[] = [
  { file: 'policy-spec.md', schema: PolicySpecSchema, load: loadPolicySpec },
  {
    file: 'rollout-file.md',
    schema: RolloutSchema,
    // An inline spec's fields are the policy spec's, documented there.
    documented: (path) => !path.startsWith('policies[].spec.'),
    files: (dir) => cp(fileURLToPath(new URL('packages/firewall/examples/policies', repo)), join(dir, 'policies'), { recursive: true }),
    load: loadRollout,
  },
  {
    file: 'drill-file.md',
    schema: DrillSchema,
    files: async (dir) => {
      await mkdir(join(dir, 'certs'));
      await writeFile(join(dir, 'certs', 'internal-ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    },
    load: loadDrill,
  },
  { file: 'recording-file.md', schema: RecordingSchema, load: loadRecording },
  { file: 'flow-thresholds.md', schema: flowThresholdsSchema, load: loadThresholds },
  {
    file: 'guardduty-finding.md',
    schema: GuardDutyFindingSchema,
    // A probe's and an API call's remoteIpDetails have the connection's members, documented there.
    documented: (path) => !/^service\.action\.(portProbeAction\.portProbeDetails\[\]|awsApiCallAction)\.remoteIpDetails\./.test(path),
    // As `investigate --finding FILE` reads it.
    load: async (file) => parseFindingJson(await readInputFile(file, 'finding'), file),
  },
  {
    file: 'limits.md',
    schema: rateLimitsSchema,
    minFields: 3,
    // The example is the value of ORGSHIELD_RATE_LIMITS, read as the worker reads its settings.
    load: async (file) => configuredRateLimits(WorkerConfigSchema.parse({ ORGSHIELD_RATE_LIMITS: await readFile(file, 'utf8') })),
  },
  { file: 'sandbox-faults.md', schema: faultsConfigSchema, minFields: 10, load: async (file) => loadFaultsFile(file) },
];

/** The page's first yaml or json block: its full example, and the file extension it is written with. */
function fullExample(text: string): { extension: string; text: string } {
  const match = /^```(yaml|json)\n([\s\S]*?)^```$/m.exec(text);
  if (!match?.[1] || !match[2]) throw new Error('the page has no yaml or json block');
  return { extension: match[1], text: match[2] };
}

describe('file format references (docs/reference)', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'orgshield-reference-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it.each(pages.map((page) => [page.file, page] as const))('%s names every field of its schema', async (file, page) => {
    const text = await readFile(new URL(file, docs), 'utf8');
    const paths = fieldPaths(page.schema).filter((path) => page.documented?.(path) ?? true);
    expect(paths.length).toBeGreaterThanOrEqual(page.minFields ?? 16);
    expect(paths.filter((path) => !text.includes(`\`${path}\``))).toEqual([]);
  });

  it.each(pages.map((page) => [page.file, page] as const))('the full example of %s loads through its loader', async (file, page) => {
    const dir = join(work, file.replace(/\.md$/, ''));
    await mkdir(dir);
    await page.files?.(dir);
    const { extension, text } = fullExample(await readFile(new URL(file, docs), 'utf8'));
    const example = join(dir, `example.${extension}`);
    await writeFile(example, text);
    await expect(page.load(example)).resolves.toBeDefined();
  });

  it('flow-thresholds.md gives each threshold the default the detectors use', async () => {
    const text = await readFile(new URL('flow-thresholds.md', docs), 'utf8');
    const rows = Object.entries(DEFAULT_FLOW_THRESHOLDS).flatMap(([group, fields]) =>
      Object.entries(fields).map(([field, value]) => `| \`${group}.${field}\` | \`${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}\``),
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((row) => !text.includes(row))).toEqual([]);
  });

  it('limits.md lists the default rate limits as the code has them', async () => {
    const text = await readFile(new URL('limits.md', docs), 'utf8');
    // Without a ceiling, a bucket learns up to ten times its rate (token-bucket.ts, defaultCeilingFactor).
    const rows = Object.entries(DEFAULT_RATE_LIMITS).map(([key, { rate, burst, ceiling }]) => `| \`${key}\` | ${rate} | ${burst} | ${ceiling ?? rate * 10} |`);
    expect(rows.filter((row) => !text.includes(row))).toEqual([]);
    expect(text).toContain(`goes at ${FALLBACK_RATE_LIMIT.rate} per second, burst ${FALLBACK_RATE_LIMIT.burst}`);
  });

  it('every page in docs/reference is checked here, and the README links every one', async () => {
    const files = (await readdir(docs)).filter((name) => name.endsWith('.md'));
    expect(files.sort()).toEqual(pages.map((page) => page.file).sort());
    const readme = await readFile(new URL('README.md', repo), 'utf8');
    expect(files.filter((file) => !readme.includes(`(docs/reference/${file})`))).toEqual([]);
  });
});

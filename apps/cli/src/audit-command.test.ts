import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { deleteQueuePrefix, runCli, sandboxCliEnv } from '../test/run-cli.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * `orgshield audit` end to end: a rollout run by the CLI (in-process worker) against a sandbox
 * writes its PutPolicy calls to the trail, before and after, with the job and the rollout;
 * export shows them, verify passes, and fails once an entry is removed from Redis.
 */
describe('orgshield audit (end to end)', () => {
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  let dir: string;
  const prefix = `test-audit-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, accounts: 12, ous: 3, seed: 5, timeScale: 0.001 });
    env = sandboxCliEnv(sandbox, prefix);
    dir = await mkdtemp(join(tmpdir(), 'orgshield-audit-cli-'));
    await writeFile(join(dir, 'shield.yaml'), 'name: audit-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [eip]\nregions: [eu-west-1]\n');
    await writeFile(
      join(dir, 'rollout.yaml'),
      'kind: Rollout\nname: audited\npolicies: [shield.yaml]\nregions: { order: [eu-west-1] }\nwaves:\n  - { name: everyone, targets: { all: true }, mode: audit, gates: { timeout: 30s } }\n',
    );
  });
  afterAll(async () => {
    await sandbox?.close();
    await deleteQueuePrefix(prefix);
  });

  it('records a rollout\'s mutating calls with who, what and why; export and verify read them; a removed entry is caught', { timeout: 240_000 }, async () => {
    const start = await runCli(['rollout', 'start', join(dir, 'rollout.yaml'), '--wait'], env, { timeoutMs: 150_000 });
    expect(start.code, start.stderr).toBe(0);
    const rolloutId = /rollout (audited-\w+) queued/.exec(start.stderr)?.[1] ?? '';
    expect(rolloutId).not.toBe('');

    const exported = await runCli(['audit', 'export'], env);
    expect(exported.code, exported.stderr).toBe(0);
    const entries = exported.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const puts = entries.filter((entry) => entry['operation'] === 'PutPolicy');
    expect(puts.map((entry) => entry['phase'])).toEqual(['before', 'after']);
    const management = sandbox.world.snapshot().managementAccountId;
    expect(puts[1]).toMatchObject({
      service: 'fms',
      accountId: management,
      region: 'eu-west-1',
      resource: expect.stringContaining('audit-shield'),
      who: { accountId: management, arn: expect.stringContaining(management) },
      jobId: expect.any(String),
      runId: rolloutId,
      result: 'ok',
      callId: puts[0]?.['callId'],
      prev: puts[0]?.['hash'],
    });
    expect(exported.stdout).not.toMatch(/secretAccessKey|SecretAccessKey|sessionToken/i);
    expect(exported.stdout).not.toContain(sandbox.env()['AWS_SECRET_ACCESS_KEY'] ?? 'no secret');

    const csv = await runCli(['audit', 'export', '--output', 'csv', '--from', '2000-01-01'], env);
    expect(csv.stdout.split('\n')[0]).toBe('id,at,phase,callId,whoArn,whoAccountId,service,operation,accountId,region,resource,jobId,runId,result,error,requestId,prev,hash');
    expect(csv.stdout.trim().split('\n')).toHaveLength(entries.length + 1);
    const backwards = await runCli(['audit', 'export', '--from', '2026-02-01', '--to', '2026-01-01'], env);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toContain('--from 2026-02-01T00:00:00.000Z is after --to 2026-01-01T00:00:00.000Z; give the earlier time first.');

    const clean = await runCli(['audit', 'verify'], env);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stderr).toBe(`audit trail intact: ${entries.length} entries.\n`);

    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.xdel(`${prefix}:{audit}`, String(puts[0]?.['id']))).toBe(1);
    } finally {
      await redis.quit();
    }
    const broken = await runCli(['audit', 'verify'], env);
    expect(broken.code, `${broken.stdout}${broken.stderr}`).toBe(1);
    expect(broken.stdout).toContain(`${String(puts[1]?.['id'])}  entry ${String(puts[1]?.['id'])} does not follow the entry before it: the entry it follows is missing (an entry was removed)`);
    expect(broken.stderr).toContain(`the audit trail of ${entries.length - 1} entries has 1 problem (listed above): it was changed after it was written.`);
  });
});

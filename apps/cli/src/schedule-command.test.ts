import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteQueuePrefix, runCli } from '../test/run-cli.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** `orgshield schedule` end to end: job schedulers in Redis (no worker needed to set and list them). */
describe('orgshield schedule (end to end)', () => {
  const prefix = `test-schedule-${randomUUID()}`;
  const env = { REDIS_URL, ORGSHIELD_QUEUE_PREFIX: prefix };
  let file: string;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orgshield-schedule-cli-'));
    await writeFile(join(dir, 'shield.yaml'), 'name: edge-shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1]\n');
    file = join(dir, 'rollout.yaml');
    await writeFile(file, 'kind: Rollout\nname: nightly-shield\npolicies: [shield.yaml]\nwaves:\n  - { name: everyone, targets: { all: true }, mode: remediate }\n');
  });

  afterAll(async () => {
    await deleteQueuePrefix(prefix, REDIS_URL);
  });

  it('sets, lists and removes a rollout schedule', { timeout: 120_000 }, async () => {
    const set = await runCli(['schedule', 'set', 'nightly', '--cron', '0 3 * * *', '--tz', 'Europe/Paris', 'rollout', file], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toMatch(/schedule nightly: rollout nightly-shield at "0 3 \* \* \*" \(Europe\/Paris\), next 20\d\d-/);

    const list = await runCli(['schedule', 'list', '--output', 'json'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      { kind: 'rollout', name: 'nightly', cron: '0 3 * * *', tz: 'Europe/Paris', rollout: 'nightly-shield', file, next: expect.stringMatching(/T0[12]:00:00\.000Z$/) },
    ]);
    const table = await runCli(['schedule', 'list'], env);
    expect(table.stdout).toMatch(/nightly\s+rollout\s+0 3 \* \* \*\s+Europe\/Paris\s+nightly-shield/);

    const removed = await runCli(['schedule', 'remove', 'nightly'], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse((await runCli(['schedule', 'list', '--output', 'json'], env)).stdout)).toEqual([]);
  });

  it('sets, lists and removes an org-sync schedule beside the rollout ones', { timeout: 120_000 }, async () => {
    const set = await runCli(['schedule', 'set', 'hourly-sync', '--cron', '0 * * * *', 'org-sync'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toMatch(/schedule hourly-sync: org-sync at "0 \* \* \* \*", next 20\d\d-\d\d-\d\dT\d\d:00:00\.000Z/);
    const list = await runCli(['schedule', 'list', '--output', 'json'], env);
    expect(JSON.parse(list.stdout)).toEqual([{ kind: 'org-sync', name: 'hourly-sync', cron: '0 * * * *', next: expect.stringMatching(/:00:00\.000Z$/) }]);
    expect((await runCli(['schedule', 'remove', 'hourly-sync'], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['schedule', 'list', '--output', 'json'], env)).stdout)).toEqual([]);
  });

  it('refuses bad input with exit code 2, naming it', { timeout: 120_000 }, async () => {
    const cases: [string[], string][] = [
      [['schedule', 'set', 'n1', '--cron', 'every night', 'rollout', file], '--cron "every night" is not a cron expression'],
      [['schedule', 'set', 'n1', '--cron', '0 3 * * *', '--tz', 'Mars/Olympus', 'rollout', file], '--tz "Mars/Olympus" is not a time zone'],
      [['schedule', 'set', 'n1', '--cron', '0 3 * * *', 'investigation', file], '"investigation" cannot be scheduled'],
      [['schedule', 'set', 'bad name', '--cron', '0 3 * * *', 'rollout', file], 'schedule name "bad name" is not valid'],
      [['schedule', 'set', 'n1', '--cron', '0 3 * * *', 'rollout', '/nonexistent.yaml'], 'The rollout file /nonexistent.yaml does not exist'],
      [['schedule', 'remove', 'never-set'], 'there is no rollout schedule named "never-set"'],
      [['schedule', 'set', 'n1', '--cron', '0 3 * * *', 'org-sync', file], 'an org-sync schedule takes no file'],
      [['schedule', 'set', 'n1', '--cron', '0 3 * * *', 'rollout'], 'a rollout schedule needs its rollout file'],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      expect(result.stderr).toContain(message);
      expect(result.code, result.stderr).toBe(2);
    }
  });
});

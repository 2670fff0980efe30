import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '@orgshield/sandbox';
import { deleteQueuePrefix, runCli, sandboxCliEnv, spawnCli } from '../test/run-cli.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** ouPath as the issue defines it: the names from Root down to the account's parent. */
function ouPathOf(snapshot: ReturnType<RunningSandbox['world']['snapshot']>, parentId: string): string {
  const names: string[] = [];
  for (let id: string | undefined = parentId; id && id !== snapshot.root.id; ) {
    const ou = snapshot.ous.find((o) => o.id === id);
    if (!ou) throw new Error(`no OU ${id}`);
    names.unshift(ou.name);
    id = ou.parentId;
  }
  return [snapshot.root.name, ...names].join('/');
}

describe('orgshield org (end to end, against the sandbox and Redis)', () => {
  let sandbox: RunningSandbox;
  let env: Record<string, string>;
  const prefix = `test-org-${randomUUID()}`;

  beforeAll(async () => {
    // Large enough that the JSON of org list (~150 KB) outgrows a pipe's buffer: a CLI that exits
    // before stdout drains would cut it.
    sandbox = await startSandbox({ port: 0, accounts: 600, ous: 40, seed: 7 });
    env = sandboxCliEnv(sandbox, prefix);
  });

  afterAll(async () => {
    await deleteQueuePrefix(prefix, REDIS_URL);
    await sandbox?.close();
  });

  it('org list --output json after org sync --wait equals the sandbox organization, field for field', async () => {
    const sync = await runCli(['org', 'sync', '--wait'], env);
    expect(sync.stderr).toContain('organization synced: 600 accounts');
    expect(sync.code).toBe(0);

    const list = await runCli(['org', 'list', '--output', 'json'], env);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Record<string, unknown>[];

    const truth = sandbox.world.snapshot();
    const expected = truth.accounts.map((a) => ({
      id: a.id,
      name: a.name,
      email: a.email,
      status: a.status,
      parentId: a.parentId,
      ouPath: ouPathOf(truth, a.parentId),
      tags: a.tags,
    }));
    const byId = (x: { id?: unknown }, y: { id?: unknown }) => String(x.id).localeCompare(String(y.id));
    expect(listed.sort(byId)).toEqual(expected.sort(byId));
    // Each account has exactly the documented fields, in that shape.
    expect(Object.keys(listed[0] ?? {}).sort()).toEqual(['email', 'id', 'name', 'ouPath', 'parentId', 'status', 'tags']);
  });

  it('ends quietly with the SIGPIPE status when its reader has closed (org list --output json | head -c 100)', async () => {
    // Runs after the sync above. The reader is gone before the CLI writes its ~150 KB of JSON,
    // as `head -c 100` is gone after its first read: every write meets a closed pipe (EPIPE).
    const child = spawnCli(['org', 'list', '--output', 'json'], env);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });

  it('filters by OU path (with its descendants) and by tag', async () => {
    const truth = sandbox.world.snapshot();
    const nested = truth.ous.find((o) => o.parentId !== truth.root.id) ?? truth.ous[0];
    if (!nested) throw new Error('the seeded org has no OU');
    const path = ouPathOf(truth, nested.id);
    const list = await runCli(['org', 'list', '--ou', path, '--output', 'json'], env);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as { ouPath: string }[];
    const expectedCount = truth.accounts.filter((a) => {
      const p = ouPathOf(truth, a.parentId);
      return p === path || p.startsWith(`${path}/`);
    }).length;
    expect(listed).toHaveLength(expectedCount);
    expect(listed.every((a) => a.ouPath === path || a.ouPath.startsWith(`${path}/`))).toBe(true);

    const [key, value] = Object.entries(truth.accounts.find((a) => Object.keys(a.tags).length > 0)?.tags ?? {})[0] ?? [];
    const tagged = await runCli(['org', 'list', '--tag', `${key}=${value}`, '--output', 'json'], env);
    expect(tagged.code).toBe(0);
    const taggedAccounts = JSON.parse(tagged.stdout) as { tags: Record<string, string> }[];
    expect(taggedAccounts).toHaveLength(truth.accounts.filter((a) => a.tags[key ?? ''] === value).length);
  });

  it('org tree shows every OU', async () => {
    const tree = await runCli(['org', 'tree'], env);
    expect(tree.code).toBe(0);
    for (const ou of sandbox.world.snapshot().ous) expect(tree.stdout).toContain(`${ou.name} (${ou.id})`);
  });

  it.each([
    [['org', 'list', '--ou', 'Root/NoSuchUnit'], /OU "Root\/NoSuchUnit" is not in the organization/],
    [['org', 'show', '12345'], /"12345" is not an AWS account id/],
    [['org', 'show', '000000000000'], /account 000000000000 is not in the organization/],
    [['org', 'list', '--output', 'xml'], /--output must be one of table, json, got "xml"/],
    [['org', 'list', '--tag', 'novalue'], /--tag "novalue" is not KEY=VALUE/],
    [['org', 'frobnicate'], /unknown command/],
  ])('refuses bad input %j with one sentence and exit code 2', async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });

  it('says so in one line, exit 1, when Redis is down', async () => {
    const result = await runCli(['org', 'list'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'orgshield: Redis is not reachable at redis://127.0.0.1:1: start it (redis-server --daemonize yes) or point REDIS_URL at a running one.',
    );
  });

  it('an unreachable endpoint or missing credentials fail the sync in one line, and the snapshot is untouched', async () => {
    const before = await runCli(['org', 'list', '--output', 'json'], env);
    const unreachable = await runCli(['org', 'sync', '--wait'], { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_MAX_ATTEMPTS: '2' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/127\.0\.0\.1:1/);
    expect(unreachable.stderr.trim().split('\n').filter((l) => l.startsWith('orgshield:'))).toHaveLength(1);

    const { AWS_ACCESS_KEY_ID: _k, AWS_SECRET_ACCESS_KEY: _s, ...noKeys } = env;
    const noCredentials = await runCli(['org', 'sync', '--wait'], { ...noKeys, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' });
    expect(noCredentials.code).toBe(1);
    expect(noCredentials.stderr).toMatch(/no AWS credentials/i);

    const after = await runCli(['org', 'list', '--output', 'json'], env);
    expect(after.stdout).toBe(before.stdout);
  });
});

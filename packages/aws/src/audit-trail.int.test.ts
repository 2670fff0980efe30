import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, entryHash, RedisAuditTrail, type StoredAuditEntry } from './audit-trail.js';
import type { MutationAuditEntry } from './client-factory.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

function trail(options: { retentionMs?: number } = {}) {
  const keyPrefix = `test:audit:${randomUUID()}:`;
  prefixes.push(keyPrefix);
  return { keyPrefix, trail: new RedisAuditTrail(redis, { keyPrefix, ...options }), stream: `${keyPrefix}{audit}` };
}

function mutation(n: number, phase: 'before' | 'after' = 'before'): MutationAuditEntry {
  return {
    callId: `call-${n}`,
    phase,
    who: { arn: 'arn:aws:iam::111111111111:role/orgshield-worker', accountId: '111111111111' },
    service: 'fms',
    operation: 'PutPolicy',
    accountId: '111111111111',
    region: 'us-east-1',
    resource: `policy-${n}`,
    jobId: `job-${n}`,
    runId: 'rollout-1',
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    ...(phase === 'after' ? { result: 'ok' as const, requestId: `req-${n}` } : {}),
  };
}

async function all(audit: RedisAuditTrail): Promise<StoredAuditEntry[]> {
  const entries: StoredAuditEntry[] = [];
  for await (const entry of audit.entries()) entries.push(entry);
  return entries;
}

/** Rewrites the stream with the given entries under the original ids, as someone with Redis access could. */
async function rewrite(stream: string, ids: string[], entries: StoredAuditEntry[]): Promise<void> {
  await redis.del(stream);
  for (const [index, { id: _id, ...entry }] of entries.entries()) await redis.xadd(stream, ids[index] ?? '*', 'entry', JSON.stringify(entry));
}

describe('RedisAuditTrail', () => {
  it('chains every entry on the one before, from concurrent writers, and verifies clean', async () => {
    const { trail: audit, keyPrefix } = trail();
    // Two workers appending at once: the head check makes the loser retry on the new head.
    const connection = redis.duplicate();
    const other = new RedisAuditTrail(connection, { keyPrefix });
    await Promise.all(Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? audit : other).append(mutation(n))));
    const entries = await all(audit);
    expect(entries).toHaveLength(40);
    expect(entries[0]?.prev).toBe(AUDIT_GENESIS);
    for (let i = 1; i < entries.length; i += 1) expect(entries[i]?.prev).toBe(entries[i - 1]?.hash);
    const { id: _id, prev, hash, ...content } = entries[5]!;
    expect(entryHash(prev, content)).toBe(hash);
    expect(await audit.verify()).toEqual({ entries: 40, problems: [], trimmedBefore: false });
    connection.disconnect();
  });

  it('detects a removed entry', async () => {
    const { trail: audit, stream } = trail();
    for (let n = 0; n < 5; n += 1) await audit.append(mutation(n));
    const entries = await all(audit);
    await redis.xdel(stream, entries[2]!.id);
    expect((await audit.verify()).problems).toEqual([
      { id: entries[3]!.id, message: `entry ${entries[3]!.id} does not follow the entry before it: the entry it follows is missing (an entry was removed)` },
    ]);
  });

  it('detects entries removed at the end, and an entry that is not an entry at all (the fuzz suite found both)', async () => {
    const { trail: audit, stream } = trail();
    for (let n = 0; n < 3; n += 1) await audit.append(mutation(n));
    const entries = await all(audit);
    await redis.xdel(stream, entries[2]!.id);
    expect((await audit.verify()).problems).toEqual([
      { id: entries[1]!.id, message: `the trail ends at entry ${entries[1]!.id}, but the last entry written has hash ${entries[2]!.hash.slice(0, 12)}…: entries at its end were removed` },
    ]);
    await redis.xadd(stream, '*', 'entry', 'null');
    const problems = (await audit.verify()).problems.map((problem) => problem.message);
    expect(problems).toContainEqual(expect.stringMatching(/was changed after it was written/));
  });

  it('detects removed entries at the start, where the retention did not drop them', async () => {
    const { trail: audit, stream } = trail();
    for (let n = 0; n < 3; n += 1) await audit.append(mutation(n));
    const entries = await all(audit);
    await redis.xdel(stream, entries[0]!.id);
    expect((await audit.verify()).problems.map((problem) => problem.id)).toEqual([entries[1]!.id]);
  });

  it('detects reordered entries', async () => {
    const { trail: audit, stream } = trail();
    for (let n = 0; n < 5; n += 1) await audit.append(mutation(n));
    const entries = await all(audit);
    const ids = entries.map((entry) => entry.id);
    await rewrite(stream, ids, [entries[0]!, entries[1]!, entries[3]!, entries[2]!, entries[4]!]);
    const { problems } = await audit.verify();
    expect(problems.map((problem) => problem.id)).toEqual([ids[2], ids[3], ids[4]]);
    expect(problems.every((problem) => problem.message.includes('out of order'))).toBe(true);
  });

  it('detects an edited entry, even one whose own hash was recomputed', async () => {
    const { trail: audit, stream } = trail();
    for (let n = 0; n < 4; n += 1) await audit.append(mutation(n, n % 2 === 0 ? 'before' : 'after'));
    const entries = await all(audit);
    const ids = entries.map((entry) => entry.id);
    const edited = { ...entries[1]!, result: 'error' as const };
    await rewrite(stream, ids, [entries[0]!, edited, entries[2]!, entries[3]!]);
    expect((await audit.verify()).problems).toEqual([
      { id: ids[1], message: `entry ${ids[1]} was changed after it was written: its content does not match its hash` },
    ]);
    // Recomputing the edited entry's hash moves the break to the next entry.
    const { id: _id, prev, hash: _hash, ...content } = edited;
    await rewrite(stream, ids, [entries[0]!, { ...edited, hash: entryHash(prev, content) }, entries[2]!, entries[3]!]);
    expect((await audit.verify()).problems.map((problem) => problem.id)).toEqual([ids[2]]);
  });

  it('drops entries past the retention as it appends, and exports by time', async () => {
    const { trail: audit, keyPrefix } = trail();
    await audit.append(mutation(1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const cut = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await audit.append(mutation(2));
    expect((await all(audit)).map((entry) => entry.resource)).toEqual(['policy-1', 'policy-2']);
    const later: string[] = [];
    for await (const entry of audit.entries({ from: cut })) later.push(entry.resource ?? '');
    expect(later).toEqual(['policy-2']);
    await expect(audit.entries({ from: new Date(2026, 1, 2), to: new Date(2026, 1, 1) }).next()).rejects.toThrow(/is after --to/);
    // Past the retention, the next append drops what came before; the chain still verifies from there.
    await new Promise((resolve) => setTimeout(resolve, 60));
    await new RedisAuditTrail(redis, { keyPrefix, retentionMs: 50 }).append(mutation(3));
    expect((await all(audit)).map((entry) => entry.resource)).toEqual(['policy-3']);
    expect(await audit.verify()).toEqual({ entries: 1, problems: [], trimmedBefore: true });
  });
});

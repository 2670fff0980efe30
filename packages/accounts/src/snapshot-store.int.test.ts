import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../test/organization-arbitrary.js';
import { SnapshotUnreadableError, loadSnapshot, saveSnapshot } from './snapshot-store.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.disconnect());

describe('snapshot store', () => {
  const snapshot = buildSnapshot({ ouParents: [-1, 0], accounts: [{ parent: 1, status: 0, tags: [[0, 1]] }, { parent: -1, status: 3, tags: [] }], management: 1 });

  it('gives back what was saved, with its time, under its own prefix', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    expect(await loadSnapshot(redis, { keyPrefix })).toBeUndefined();
    await saveSnapshot(redis, snapshot, { keyPrefix });
    expect(await loadSnapshot(redis, { keyPrefix })).toEqual(snapshot);
    expect(await loadSnapshot(redis, { keyPrefix: `test:${randomUUID()}:` })).toBeUndefined();
    await redis.del(`${keyPrefix}org:snapshot`);
  });

  it('refuses to save a snapshot that breaks the schema, and says so when the stored one is unreadable', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    await expect(saveSnapshot(redis, { ...snapshot, managementAccountId: 'nope' }, { keyPrefix })).rejects.toThrow(
      /the snapshot is not saved: managementAccountId an account id is exactly 12 digits/,
    );
    expect(await redis.exists(`${keyPrefix}org:snapshot`)).toBe(0);
    await redis.set(`${keyPrefix}org:snapshot`, '{"fetchedAt": 1}');
    await expect(loadSnapshot(redis, { keyPrefix })).rejects.toBeInstanceOf(SnapshotUnreadableError);
    await redis.del(`${keyPrefix}org:snapshot`);
  });
});

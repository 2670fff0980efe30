import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { sandboxTest as test } from '@orgshield/sandbox/fixture';
import { JobQueues } from '@orgshield/jobs';
import { writeTree } from '../test/rollout-harness.js';
import { RolloutControl } from './rollout-control.js';
import { readRolloutSource } from './rollout-loader.js';
import { RolloutStore, type RolloutState } from './rollout-store.js';

const source = { file: 'r.yaml', text: 'kind: Rollout', policyFiles: {} };
const running: RolloutState = { status: 'running', message: 'go', at: '', generation: 0, runningSince: 0 };

async function withStore(prefix: string, work: (store: RolloutStore) => Promise<void>): Promise<void> {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  try {
    await work(new RolloutStore(redis, prefix));
  } finally {
    redis.disconnect();
  }
}

describe('RolloutStore (Redis)', () => {
  test('lets one of two racing transitions win', async ({ redisPrefix }) => {
    await withStore(redisPrefix, async (store) => {
      await store.create({ id: 'r1', name: 'r', createdAt: new Date().toISOString(), source }, running);
      const results = await Promise.all([
        store.transition('r1', ['running'], () => ({ status: 'paused', message: 'pause' })),
        store.transition('r1', ['running'], () => ({ status: 'halted', message: 'gate' })),
      ]);
      expect(results.filter((result) => result !== undefined)).toHaveLength(1);
      expect(['paused', 'halted']).toContain((await store.state('r1'))?.status);
    });
  });

  test("keeps a policy's first previous version, listed with it; and one rollout per name until it finishes", async ({ redisPrefix }) => {
    await withStore(redisPrefix, async (store) => {
      await store.keepPrevious('r1', { region: 'eu-west-1', name: 'p', existed: false, recordedAt: '1' });
      await store.keepPrevious('r1', { region: 'eu-west-1', name: 'p', existed: true, recordedAt: '2' });
      expect(await store.previous('r1')).toEqual([{ region: 'eu-west-1', name: 'p', existed: false, recordedAt: '1' }]);

      const record = (id: string) => ({ id, name: 'edge', createdAt: new Date().toISOString(), source, plan: { steps: [] } as never });
      expect(await store.create(record('r1'), running)).toEqual({ created: true });
      expect(await store.create(record('r2'), running)).toEqual({ created: false, exists: false, holder: 'r1' });
      await store.transition('r1', ['running'], () => ({ status: 'halted', message: 'gate' }));
      expect(await store.create(record('r2'), running)).toMatchObject({ holder: 'r1' });
      await store.transition('r1', ['halted'], () => ({ status: 'aborted', message: 'operator' }));
      expect(await store.create(record('r2'), running)).toEqual({ created: true });
      expect((await store.events('r1')).events.map((event) => event.message)).toEqual(['gate', 'operator']);
    });
  });

  test('a submit that fails after claiming the name lets go of it in the same step as it fails the rollout', async ({ redisPrefix }) => {
    await withStore(redisPrefix, async (store) => {
      const root = await writeTree({
        'shield.yaml': 'name: s\ntype: SHIELD_ADVANCED\nresourceTypes: [eip]\nregions: [eu-west-1]\n',
        'rollout.yaml': 'kind: Rollout\nname: claimed\npolicies: [shield.yaml]\nwaves:\n  - { name: all, targets: { all: true }, mode: remediate }\n',
      });
      const source = await readRolloutSource(`${root}/rollout.yaml`);
      const queues = new JobQueues(store.redis, { prefix: redisPrefix });
      // Redis takes the record and the claim, then the queue refuses the start job.
      queues.submit = () => Promise.reject(new Error('queue unavailable'));
      const control = new RolloutControl(store.redis, queues, { enqueueStep: async () => undefined, enqueueDetails: async () => undefined, prioritizeDetails: async () => undefined });
      await expect(control.submit(source)).rejects.toThrow('queue unavailable');
      const [failed] = await control.list();
      expect(failed).toMatchObject({ name: 'claimed', status: 'failed', message: 'could not be queued: queue unavailable' });
      expect(await store.runs.nameHolder('claimed')).toBeUndefined();
      await queues.close();
    });
  });
});

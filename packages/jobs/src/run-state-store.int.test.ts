import { describe, expect } from 'vitest';
import type { Redis } from 'ioredis';
import { redisTest as test } from '../test/redis-fixture.js';
import { FencedLocks } from './fenced-lock.js';
import { RunStateStore } from './run-state-store.js';

interface State {
  status: string;
  generation: number;
}
interface Event {
  at: string;
  message: string;
}

const DAY = 24 * 3600 * 1000;
const running: State = { status: 'running', generation: 0 };

function store(redis: Redis, prefix: string, maxEvents?: number) {
  return new RunStateStore<{ name: string }, State, Event>(redis, {
    keyPrefix: `${prefix}:drills`,
    kind: 'drill',
    releasedStatuses: ['completed', 'aborted'],
    retention: { runsMs: 3 * DAY, keptMs: 300 * DAY },
    ...(maxEvents === undefined ? {} : { maxEvents }),
  });
}

describe('RunStateStore (Redis)', () => {
  test('creates record, state, index entry and name claim in one step, and refuses a second run of the name with the first id', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    expect(await runs.create({ id: 'd1', name: 'nightly', record: { name: 'nightly' }, state: running, createdAt: Date.now() })).toEqual({ created: true });
    expect(await runs.state('d1')).toEqual(running);
    expect(await runs.record('d1')).toEqual({ name: 'nightly' });
    expect(await runs.list()).toEqual(['d1']);
    expect(await runs.nameHolder('nightly')).toBe('d1');

    expect(await runs.create({ id: 'd2', name: 'nightly', record: { name: 'nightly' }, state: running, createdAt: Date.now() })).toEqual({ created: false, exists: false, holder: 'd1' });
    expect(await runs.record('d2')).toBeUndefined();
    expect(await runs.state('d2')).toBeUndefined();
    expect(await runs.create({ id: 'd1', name: 'nightly', record: { name: 'other' }, state: running, createdAt: Date.now() })).toEqual({ created: false, exists: true });
    expect(await runs.record('d1')).toEqual({ name: 'nightly' });
  });

  test('a released status lets go of the name in the same step as the state change and its event', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', name: 'nightly', record: { name: 'nightly' }, state: running, createdAt: Date.now() });
    await runs.transition('d1', ['running'], () => ({ status: 'halted' }), { event: () => ({ message: 'halted' }) });
    expect(await runs.nameHolder('nightly')).toBe('d1');
    await runs.transition('d1', ['halted'], () => ({ status: 'completed' }), { event: () => ({ message: 'done' }) });
    expect(await runs.nameHolder('nightly')).toBeUndefined();
    expect((await runs.events('d1')).events.map((event) => event.message)).toEqual(['halted', 'done']);
    expect(await runs.create({ id: 'd2', name: 'nightly', record: { name: 'nightly' }, state: running, createdAt: Date.now() })).toEqual({ created: true });
  });

  test('releaseName lets a failed run go of its name; a name whose holder expired is taken over', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', name: 'n', record: { name: 'n' }, state: running, createdAt: Date.now() });
    await runs.transition('d1', ['running'], () => ({ status: 'failed' }), { releaseName: true });
    expect(await runs.nameHolder('n')).toBeUndefined();

    await runs.create({ id: 'd2', name: 'n', record: { name: 'n' }, state: running, createdAt: Date.now() });
    await redis.del(runs.runKey('d2', 'state'));
    expect(await runs.create({ id: 'd3', name: 'n', record: { name: 'n' }, state: running, createdAt: Date.now() })).toEqual({ created: true });
    expect(await runs.nameHolder('n')).toBe('d3');
  });

  test('of two racing transitions one wins', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    const results = await Promise.all([runs.transition('d1', ['running'], () => ({ status: 'paused' })), runs.transition('d1', ['running'], () => ({ status: 'halted' }))]);
    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
  });

  test('addOnce stores and lists a value together, the first one winning', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    expect(await runs.addOnce('d1', 'previous', 'a', '1')).toBe(true);
    expect(await runs.addOnce('d1', 'previous', 'b', '2')).toBe(true);
    expect(await runs.addOnce('d1', 'previous', 'a', '3')).toBe(false);
    expect(await runs.ordered('d1', 'previous')).toEqual(['1', '2']);
  });

  test('every key of a run expires after the retention', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', name: 'n', record: { name: 'n' }, state: running, createdAt: Date.now() });
    await runs.setField('d1', 'steps', 's', 'done');
    await runs.addOnce('d1', 'previous', 'a', '1');
    await runs.addEvent('d1', { message: 'hello' });
    await runs.transition('d1', ['running'], () => ({ status: 'paused' }));
    const keys = [runs.runKey('d1'), runs.runKey('d1', 'state'), runs.runKey('d1', 'steps'), runs.runKey('d1', 'previous'), runs.runKey('d1', 'previous', 'order'), runs.runKey('d1', 'events'), `${prefix}:drills:drills`];
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(3 * DAY - 60_000);
      expect(ttl, key).toBeLessThanOrEqual(3 * DAY);
    }
  });

  test('drops index entries older than the retention when a run is created', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'old', record: { name: 'x' }, state: running, createdAt: Date.now() - 4 * DAY });
    await runs.create({ id: 'new', record: { name: 'x' }, state: running, createdAt: Date.now() });
    expect(await runs.list()).toEqual(['new']);
  });

  test('reads events by stream id: trimming the oldest neither skips nor repeats one', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    for (let i = 0; i < 5; i++) await runs.addEvent('d1', { message: `e${i}` });
    const first = await runs.events('d1');
    expect(first.events.map((event) => event.message)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    // Retention trims the three oldest while the reader is away; with list offsets it would now skip e5..e7.
    await redis.xtrim(runs.runKey('d1', 'events'), 'MAXLEN', 2);
    for (let i = 5; i < 8; i++) await runs.addEvent('d1', { message: `e${i}` });
    const next = await runs.events('d1', first.cursor);
    expect(next.events.map((event) => event.message)).toEqual(['e5', 'e6', 'e7']);
    expect((await runs.events('d1', next.cursor)).events).toEqual([]);
    expect(await runs.lastEventCursor('d1')).toBe(next.cursor);
  });

  test('a step enters the guard only while the run is in the status and generation asked', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    const work = async () => 'worked';
    expect(await runs.guarded('d1', { status: 'running', generation: 1, member: 'a' }, work)).toEqual({ entered: false, status: 'superseded' });
    expect(await runs.guarded('d1', { status: 'running', generation: 0, member: 'a' }, work)).toEqual({ entered: true, value: 'worked' });
    await runs.transition('d1', ['running'], () => ({ status: 'rolling-back' }));
    expect(await runs.guarded('d1', { status: 'running', generation: 0, member: 'b' }, work)).toEqual({ entered: false, status: 'rolling-back' });
    expect(await runs.guarded('missing', { status: 'running', generation: 0, member: 'c' }, work)).toEqual({ entered: false, status: 'missing' });
  });

  test('a step whose result is recorded already does not enter, and gets the result; completing records result and event together', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    const done = { part: 'steps', field: 's1' };
    let worked = 0;
    const step = (member: string) =>
      runs.guarded('d1', { status: 'running', generation: 0, member, done }, async (guard) => {
        worked += 1;
        expect(await redis.zcard(runs.runKey('d1', 'inflight'))).toBe(1);
        return guard.complete({ part: 'steps', field: 's1', value: 'result', event: { message: 's1 done' } });
      });
    expect(await step('a')).toEqual({ entered: true, value: true });
    expect(await runs.field('d1', 'steps', 's1')).toBe('result');
    expect((await runs.events('d1')).events.map((event) => event.message)).toEqual(['s1 done']);
    // The rerun (a stalled job's second attempt) sees the result and does not work or register.
    expect(await step('b')).toEqual({ entered: false, status: 'running', done: 'result' });
    expect(worked).toBe(1);
    expect(await redis.zcard(runs.runKey('d1', 'inflight'))).toBe(0);
    // Status and generation are checked before the result: a superseded step is not "done".
    expect(await runs.guarded('d1', { status: 'running', generation: 1, member: 'c', done }, async () => 'x')).toEqual({ entered: false, status: 'superseded' });
    // A result refused (guard lapsed) appends no event either.
    await runs.guarded('d1', { status: 'running', generation: 0, member: 'd', done: { part: 'steps', field: 's2' } }, async (guard) => {
      await redis.zrem(runs.runKey('d1', 'inflight'), 'd');
      expect(await guard.complete({ part: 'steps', field: 's2', value: 'result', event: { message: 's2 done' } })).toBe(false);
    });
    expect(await runs.field('d1', 'steps', 's2')).toBeUndefined();
    expect((await runs.events('d1')).events).toHaveLength(1);
  });

  test('completeAndRead answers with the state and the fields of the hash as the step left them, in the same script; nothing when not counted', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    await runs.setField('d1', 'steps', 'earlier', 'result');
    const after = await runs.guarded('d1', { status: 'running', generation: 0, member: 'a', done: { part: 'steps', field: 's1' } }, (guard) =>
      guard.completeAndRead({ part: 'steps', field: 's1', value: 'result', event: { message: 's1 done' } }),
    );
    expect(after).toEqual({ entered: true, value: { state: running, fields: ['earlier', 's1'] } });
    expect(await runs.field('d1', 'steps', 's1')).toBe('result');
    const lost = await runs.guarded('d1', { status: 'running', generation: 0, member: 'b' }, async (guard) => {
      await redis.zrem(runs.runKey('d1', 'inflight'), 'b');
      return guard.completeAndRead({ part: 'steps', field: 's2', value: 'result' });
    });
    expect(lost).toEqual({ entered: true, value: undefined });
    expect(await runs.field('d1', 'steps', 's2')).toBeUndefined();
  });

  test('a rollback that comes while a step is inside waits for it; one that comes first keeps it out', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    const order: string[] = [];
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const step = runs.guarded('d1', { status: 'running', generation: 0, member: 's1', ttlMs: 150 }, async (guard) => {
      inside();
      // Longer than the guard's ttl: renewal keeps the step inside.
      await new Promise((resolve) => setTimeout(resolve, 500));
      order.push('step wrote');
      expect(await guard.complete({ part: 'steps', field: 's1', value: 'done' })).toBe(true);
    });
    await entered;
    await runs.transition('d1', ['running'], () => ({ status: 'rolling-back' }));
    await runs.waitForSteps('d1');
    order.push('rollback restored');
    await step;
    expect(order).toEqual(['step wrote', 'rollback restored']);
    expect(await runs.field('d1', 'steps', 's1')).toBe('done');
  });

  test('a step whose worker died holds the guard only until its deadline', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    // What a dead worker leaves: its entry, never renewed, with a deadline 300 ms out.
    await redis.zadd(runs.runKey('d1', 'inflight'), Date.now() + 300, 'dead');
    expect(await runs.stepsUnderWay('d1')).toEqual(['dead']);
    const started = Date.now();
    await runs.waitForSteps('d1', { pollMs: 20 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(await runs.stepsUnderWay('d1')).toEqual([]);
  });

  test("two steps inside the guard claiming the same items: each item held by one, done items by none, a holder's items free once it leaves or lapses", async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    await runs.setField('d1', 'cache', 'i0', 'read before');
    const claims = (fields: string[]) => ({ part: 'reading', doneIn: 'cache', fields });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    // The first run of a batch (a stalled job's, say), still working when its rerun enters.
    const first = runs.guarded('d1', { status: 'running', generation: 0, member: 'first', ttlMs: 150, claims: claims(['i0', 'i1', 'i2']) }, async (guard) => {
      expect(guard.claimed).toEqual({ held: ['i1', 'i2'], taken: [] });
      entered();
      await released;
      await runs.setField('d1', 'cache', 'i1', 'read by first');
      // Leaves without a result for i2 (failed): i2 is free again, not done.
    });
    await inside;
    // Past the first's ttl: renewal keeps its claims.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await runs.guarded('d1', { status: 'running', generation: 0, member: 'second', claims: claims(['i1', 'i2', 'i3']) }, async (guard) => {
      expect(guard.claimed).toEqual({ held: ['i3'], taken: ['i1', 'i2'] });
      expect(await guard.claim(['i1', 'i2'])).toEqual({ held: [], taken: ['i1', 'i2'] });
      release();
      await first;
      expect(await guard.claim(['i1', 'i2'])).toEqual({ held: ['i2'], taken: [] });
      // Its own place lapsed: it claims nothing more.
      await redis.zrem(runs.runKey('d1', 'inflight'), 'second');
      await expect(guard.claim(['i4'])).rejects.toThrow(/lost its place/);
    });
    // A holder whose worker died holds its items only until its deadline.
    await redis.zadd(runs.runKey('d1', 'inflight'), Date.now() + 200, 'dead');
    await redis.hset(runs.runKey('d1', 'reading'), 'i5', 'dead');
    const claimI5 = () => runs.guarded('d1', { status: 'running', generation: 0, member: `m${Date.now()}`, claims: claims(['i5']) }, async (guard) => guard.claimed);
    expect(await claimI5()).toEqual({ entered: true, value: { held: [], taken: ['i5'] } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await claimI5()).toEqual({ entered: true, value: { held: ['i5'], taken: [] } });
  });

  test('a result written under a lost lock is not counted', async ({ redis, prefix }) => {
    const runs = store(redis, prefix);
    const locks = new FencedLocks(redis, `${prefix}:drills`);
    await runs.create({ id: 'd1', record: { name: 'x' }, state: running, createdAt: Date.now() });
    await runs.guarded('d1', { status: 'running', generation: 0, member: 's1' }, (guard) =>
      locks.withLock('dest', async (lease) => {
        // The lock lapsed and someone else took it (another token) while this step worked.
        await redis.set(lease.key, '999999');
        expect(await guard.complete({ part: 'steps', field: 's1', value: 'done', lease })).toBe(false);
      }),
    );
    expect(await runs.field('d1', 'steps', 's1')).toBeUndefined();
    expect(await redis.zcard(runs.runKey('d1', 'inflight'))).toBe(0);
  });
});

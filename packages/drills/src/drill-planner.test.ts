import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drillOf, ISOLATED_GROUP, ISOLATED_SUBNET, NOW, regionOf, retentionSnapshots, serverOf, sourceServerId } from '../test/drill-fixtures.js';
import { DrillPlanError, planDrill } from './drill-planner.js';
import { chooseRecoveryPoint, formatDuration } from './recovery-point.js';

const A = '111111111111';
const B = '222222222222';
const C = '333333333333';

describe('planDrill', () => {
  it('plans two waves over three accounts, each server with its recovery point and RPO', () => {
    const live = [A, B, C].map((account, a) => regionOf(account, [0, 1, 2, 3].map((i) => serverOf(account, a * 10 + i))));
    const plan = planDrill({ drill: drillOf(), accounts: [A, B, C], live, now: NOW });
    expect(plan.problems).toEqual([]);
    expect(plan.servers).toHaveLength(12);
    expect(plan.servers.every((server) => server.action === 'launch')).toBe(true);
    // Servers 0, 3, 10... carry tier=db: the first wave; the rest fall to the catch-all wave.
    expect(plan.servers.filter((server) => server.wave === 'db').map((server) => server.hostname)).toEqual(['host-0', 'host-3', 'host-12', 'host-21']);
    expect(plan.waves.map((wave) => wave.batches.map((batch) => `${batch.id}:${batch.servers.length}`))).toEqual([
      [`db.${A}.us-east-1.1:2`, `db.${B}.us-east-1.1:1`, `db.${C}.us-east-1.1:1`],
      [`web.${A}.us-east-1.1:2`, `web.${B}.us-east-1.1:3`, `web.${C}.us-east-1.1:3`],
    ]);
    // latest: the newest snapshot taken, 10 minutes (less 7 s) before now.
    const first = plan.servers[0];
    expect(first?.recoveryPoint?.at).toBe(new Date(NOW - 600_000 + 7_000).toISOString());
    expect(first?.plannedRpoMs).toBe(593_000);
  });

  it('splits a 250-server wave into StartRecovery batches of at most 200 (and of the wave concurrency)', () => {
    const servers = Array.from({ length: 250 }, (_, i) => serverOf(A, i + 1, { tags: { tier: 'web' } }));
    const plan = planDrill({ drill: drillOf({ waves: [{ name: 'all' }] }), accounts: [A], live: [regionOf(A, servers)], now: NOW });
    expect(plan.waves[0]?.batches.map((batch) => batch.servers.length)).toEqual([200, 50]);
    const ids = plan.waves[0]?.batches.flatMap((batch) => batch.servers.map((server) => server.sourceServerId));
    expect(new Set(ids).size).toBe(250);

    const limited = planDrill({ drill: drillOf({ waves: [{ name: 'all', concurrency: 100 }] }), accounts: [A], live: [regionOf(A, servers)], now: NOW });
    expect(limited.waves[0]?.batches.map((batch) => batch.servers.length)).toEqual([100, 100, 50]);
    expect(limited.waves[0]?.concurrency).toBe(100);
  });

  it('refuses a server whose launch template leaves the isolation, naming the server and the subnet', () => {
    const live = [regionOf(A, [serverOf(A, 1), serverOf(A, 2, { launchTemplate: { id: 'lt-1', subnetIds: ['subnet-0badbadbadbadbad0'], securityGroupIds: [ISOLATED_GROUP] } })])];
    const plan = planDrill({ drill: drillOf(), accounts: [A], live, now: NOW });
    expect(plan.problems).toEqual([
      `server ${sourceServerId(2)} (host-2) in ${A}'s launch template puts it in subnet subnet-0badbadbadbadbad0, which is not one of the drill's isolation subnets (${ISOLATED_SUBNET})`,
    ]);
    const error = new DrillPlanError(plan);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('subnet-0badbadbadbadbad0');
  });

  it('refuses a security group outside the isolation and a template with no subnet', () => {
    const live = [regionOf(A, [serverOf(A, 1, { launchTemplate: { id: 'lt-1', subnetIds: [], securityGroupIds: ['sg-0ffffffffffffffff'] } })])];
    const plan = planDrill({ drill: drillOf(), accounts: [A], live, now: NOW });
    expect(plan.problems).toHaveLength(2);
    expect(plan.problems[0]).toContain('names no subnet');
    expect(plan.problems[1]).toContain('security group sg-0ffffffffffffffff');
  });

  it('skips stalled, disconnected, never-synced and unconfigured servers with a reason, and notes lag and holding jobs', () => {
    const live = [
      regionOf(A, [
        serverOf(A, 1, { replicationState: 'STALLED' }),
        serverOf(A, 2, { replicationState: 'DISCONNECTED' }),
        serverOf(A, 4, { replicationState: 'INITIAL_SYNC', snapshots: [] }),
        serverOf(A, 5, { launchTemplate: undefined }),
        serverOf(A, 7, { lagMs: 20 * 60_000, activeJobIds: ['drsjob-0000000000000000a'] }),
      ]),
    ];
    const plan = planDrill({ drill: drillOf(), accounts: [A], live, now: NOW });
    expect(plan.servers.map((server) => [server.hostname, server.action, server.reason ?? server.notes.join('; ')])).toEqual([
      ['host-1', 'skip', `server ${sourceServerId(1)} (host-1) in ${A} is not launched: replication is stalled`],
      ['host-2', 'skip', `server ${sourceServerId(2)} (host-2) in ${A} is not launched: the replication agent is disconnected`],
      ['host-4', 'skip', `server ${sourceServerId(4)} (host-4) in ${A} is not launched: replication has never completed its initial sync`],
      ['host-5', 'skip', `server ${sourceServerId(5)} (host-5) in ${A} has no launch configuration (no EC2 launch template), so it is not launched`],
      ['host-7', 'launch', 'replication lags 20m, more than the 15m RPO; DRS job drsjob-0000000000000000a holds the server; its launch waits for it'],
    ]);
    expect(plan.problems).toEqual([]);
  });

  it('reports an account without DRS and goes on with the others', () => {
    const live = [regionOf(A, [], { unavailable: 'DRS is not initialized in this account and region' }), regionOf(B, [serverOf(B, 1)])];
    const plan = planDrill({ drill: drillOf(), accounts: [A, B], live, now: NOW });
    expect(plan.unavailable).toEqual([{ accountId: A, region: 'us-east-1', reason: 'DRS is not initialized in this account and region' }]);
    expect(plan.servers.map((server) => server.action)).toEqual(['launch']);
  });

  it('before: picks on every server the newest snapshot older than the time; a server with none is skipped in one sentence', () => {
    const before = new Date(NOW - 3 * 3_600_000 - 60_000).toISOString();
    const servers = [serverOf(A, 1), serverOf(A, 2), serverOf(A, 3, { snapshots: retentionSnapshots(3).slice(0, 6) })];
    const plan = planDrill({ drill: drillOf({ recoveryPoint: { before } }), accounts: [A], live: [regionOf(A, servers)], now: NOW });
    expect(plan.referenceTime).toBe(before);
    const [one, two, three] = plan.servers;
    // The hourly snapshot at now-4h (+7 s) is the newest taken before now-3h01m.
    expect(one?.recoveryPoint?.at).toBe(new Date(NOW - 4 * 3_600_000 + 7_000).toISOString());
    expect(two?.recoveryPoint?.at).toBe(one?.recoveryPoint?.at);
    expect(one?.plannedRpoMs).toBe(3_600_000 - 60_000 - 7_000);
    expect(three?.action).toBe('skip');
    expect(three?.reason).toBe(`server ${sourceServerId(3)} (host-3) in ${A} has no point-in-time snapshot taken before ${before} (its oldest is from ${new Date(NOW - 3_600_000 + 7_000).toISOString()}), so it is not launched`);
  });

  it('keeps to the targets, the regions and the drill server selector, and notes names it did not find', () => {
    const live = [regionOf(A, [serverOf(A, 1), serverOf(A, 2, { tags: { app: 'other' } })]), regionOf(B, [serverOf(B, 3)]), { ...regionOf(A, [serverOf(A, 4)]), region: 'eu-west-1' }];
    const drill = drillOf({ servers: { ids: [sourceServerId(1), sourceServerId(99)], hostnames: ['HOST-3'] } });
    const plan = planDrill({ drill, accounts: [A], live, now: NOW });
    expect(plan.servers.map((server) => server.sourceServerId)).toEqual([sourceServerId(1)]);
    // host-3 exists, but in an account the drill does not target: to the drill, it is not there.
    expect(plan.notes).toEqual([
      `source server ${sourceServerId(99)} is named in the drill file but no target account and region has it`,
      'hostname HOST-3 is named in the drill file but no target account and region has it',
    ]);
  });
});

describe('chooseRecoveryPoint', () => {
  it('ignores snapshots not yet taken and checks their own timestamp, not the expected one', () => {
    const snapshots = [
      { snapshotId: 'pit-1', expectedTimestamp: '2026-12-06T10:00:00Z', timestamp: '2026-12-06T10:00:30Z' },
      { snapshotId: 'pit-2', expectedTimestamp: '2026-12-06T11:00:00Z' },
    ];
    expect(chooseRecoveryPoint(snapshots, 'latest', { now: NOW, server: 's' })).toEqual({ ok: true, point: { snapshotId: 'pit-1', at: '2026-12-06T10:00:30.000Z' } });
    // Expected before 10:00:10, taken after it: not a point before the incident.
    expect(chooseRecoveryPoint(snapshots, { before: '2026-12-06T10:00:10Z' }, { now: NOW, server: 's' }).ok).toBe(false);
  });

  it('maxAge refuses a newest snapshot that is too old', () => {
    const snapshots = [{ snapshotId: 'pit-1', expectedTimestamp: '2026-12-06T09:00:00Z', timestamp: '2026-12-06T09:00:00Z' }];
    expect(chooseRecoveryPoint(snapshots, { maxAge: 4 * 3_600_000 }, { now: NOW, server: 's' }).ok).toBe(true);
    const refused = chooseRecoveryPoint(snapshots, { maxAge: 2 * 3_600_000 }, { now: NOW, server: 's-x' });
    expect(refused).toEqual({ ok: false, reason: "server s-x's newest snapshot is from 2026-12-06T09:00:00.000Z, older than the drill's maxAge of 2h, so it is not launched" });
  });

  it('before: is the newest snapshot strictly older than the time (property, against a linear scan)', () => {
    const snapshot = fc.record({ id: fc.integer({ min: 0, max: 1e6 }), at: fc.integer({ min: 0, max: 10_000 }), taken: fc.boolean() });
    fc.assert(
      fc.property(fc.array(snapshot, { maxLength: 60 }), fc.integer({ min: 0, max: 10_000 }), (raw, beforeSeconds) => {
        const base = Date.parse('2026-01-01T00:00:00Z');
        const snapshots = raw.map((s, i) => ({
          snapshotId: `pit-${i}`,
          expectedTimestamp: new Date(base + s.at * 1000).toISOString(),
          ...(s.taken ? { timestamp: new Date(base + s.at * 1000).toISOString() } : {}),
        }));
        const before = base + beforeSeconds * 1000;
        const choice = chooseRecoveryPoint(snapshots, { before: new Date(before).toISOString().replace('.000Z', 'Z') }, { now: NOW, server: 's' });
        const older = raw.map((s, i) => ({ ...s, i })).filter((s) => s.taken && base + s.at * 1000 < before);
        const best = Math.max(...older.map((s) => s.at));
        if (older.length === 0) return !choice.ok;
        return choice.ok && Date.parse(choice.point.at) === base + best * 1000;
      }),
    );
  });

  it('formats durations for people', () => {
    expect([350, 42_000, 15 * 60_000, 3_900_000, 90_061_000].map(formatDuration)).toEqual(['350ms', '42s', '15m', '1h05m', '1d1h01m']);
  });
});

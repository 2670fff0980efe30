import { describe, expect, it } from 'vitest';
import { NOW } from '../test/drill-fixtures.js';
import { assessCoverage } from './drill-coverage.js';

const DAY = 86_400_000;
const A = '111111111111';
const B = '222222222222';

describe('assessCoverage', () => {
  it('finds tagged instances not replicated, servers never or long ago drilled, replication in trouble, and accounts without DRS', () => {
    const report = assessCoverage(
      [
        {
          accountId: A,
          region: 'us-east-1',
          mustRecover: [{ instanceId: 'i-00000000000000001', name: 'db-1' }, { instanceId: 'i-00000000000000002' }],
          sourceServers: [
            { sourceServerId: 's-00000000000000000a', hostname: 'db-1', ec2InstanceId: 'i-00000000000000001', replicationState: 'CONTINUOUS', lagMs: 1000 },
            { sourceServerId: 's-00000000000000000b', replicationState: 'STALLED' },
            { sourceServerId: 's-00000000000000000c', replicationState: 'CONTINUOUS', lagMs: 40 * 60_000 },
          ],
        },
        { accountId: B, region: 'us-east-1', mustRecover: [], sourceServers: [], unavailable: 'Elastic Disaster Recovery is not initialized in this account and region' },
      ],
      {
        settings: { drilledWithin: 90 * DAY },
        lastDrilled: new Map([
          [`${A}:s-00000000000000000a`, NOW - 10 * DAY],
          [`${A}:s-00000000000000000c`, NOW - 120 * DAY],
        ]),
        now: NOW,
        lagLimitMs: 15 * 60_000,
      },
    );
    expect(report.gaps.map((gap) => `${gap.kind}: ${gap.message}`)).toEqual([
      'not-replicated: instance i-00000000000000002 must be recoverable but is not a DRS source server',
      'never-drilled: s-00000000000000000b has never been drilled',
      'replication-trouble: s-00000000000000000b replication is STALLED',
      'drill-overdue: s-00000000000000000c was last drilled 120d ago, more than 90d',
      'replication-trouble: s-00000000000000000c replication lags 40m, more than 15m',
      'unavailable: Elastic Disaster Recovery is not initialized in this account and region',
    ]);
    expect(report).toMatchObject({ accounts: 2, sourceServers: 3, mustRecover: 2 });
  });

  it('finds nothing to say about a covered, recently drilled, healthy fleet of thousands', () => {
    const servers = Array.from({ length: 5000 }, (_, i) => ({ sourceServerId: `s-${String(i).padStart(17, '0')}`, ec2InstanceId: `i-${String(i).padStart(17, '0')}`, replicationState: 'CONTINUOUS', lagMs: 1000 }));
    const report = assessCoverage([{ accountId: A, region: 'us-east-1', mustRecover: servers.map((s) => ({ instanceId: s.ec2InstanceId })), sourceServers: servers }], {
      settings: { drilledWithin: 90 * DAY },
      lastDrilled: new Map(servers.map((s) => [`${A}:${s.sourceServerId}`, NOW - DAY])),
      now: NOW,
    });
    expect(report.gaps).toEqual([]);
  });
});

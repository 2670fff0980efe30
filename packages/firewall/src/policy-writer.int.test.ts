import { FMSClient, GetPolicyCommand, PutPolicyCommand } from '@aws-sdk/client-fms';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { PolicySpecSchema, renderPutPolicy, type PolicySpec } from '@orgshield/policies';
import { harnessTest } from '../test/harness-fixture.js';
import { findPolicy, fmsClient } from './live-policies.js';
import { applyDelete, applyPut } from './policy-writer.js';
import type { PutPolicyStep } from './rollout-plan.js';
import { RolloutStore } from './rollout-store.js';

const test = harnessTest.override({ sandboxOptions: { accounts: 10, ous: 2, seed: 3 } });

const spec = (remediation: boolean): PolicySpec =>
  PolicySpecSchema.parse({ type: 'SHIELD_ADVANCED', name: 'edge-shield', resourceTypes: ['eip'], regions: ['eu-west-1'], remediation });

function putStep(desired: PolicySpec): PutPolicyStep {
  return { kind: 'put', id: 'w.eu-west-1.0-edge-shield.enforce.put', wave: 'w', region: 'eu-west-1', policy: 'edge-shield', variant: 'enforce', spec: desired, specRegion: 'eu-west-1', action: 'update', differences: [], accounts: 9 };
}

describe('policy writes', () => {
  test('a PutPolicy whose token went stale is retried with a fresh one; a repeated step writes nothing', async ({ sandbox, redisPrefix, harness }) => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      const env = sandbox.env();
      const other = new FMSClient({ endpoint: sandbox.url, region: 'eu-west-1', credentials: { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' } });
      const created = await other.send(new PutPolicyCommand(renderPutPolicy(spec(false), { region: 'eu-west-1' })));
      const policyId = created.Policy?.PolicyId;

      // Another writer updates the policy between our GetPolicy and our first PutPolicy.
      const fms = fmsClient(harness.aws, 'eu-west-1');
      let interfered = false;
      fms.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'PutPolicyCommand' && !interfered) {
            interfered = true;
            const current = await other.send(new GetPolicyCommand({ PolicyId: policyId }));
            await other.send(new PutPolicyCommand({ Policy: { ...current.Policy!, PolicyDescription: 'edited meanwhile' } }));
          }
          return next(args);
        },
        { step: 'initialize', name: 'interfere' },
      );
      const store = new RolloutStore(redis, redisPrefix);
      const context = { fms, store, rolloutId: 'r1', holder: 'job-1' };
      const record = await applyPut(putStep(spec(true)), context);
      expect(record).toMatchObject({ outcome: 'updated', policyId });

      const puts = sandbox.requests().filter((entry) => entry.operation === 'PutPolicy');
      expect(puts.map((entry) => entry.error)).toEqual([null, null, 'InvalidInputException', null]);
      const live = await other.send(new GetPolicyCommand({ PolicyId: policyId }));
      expect(live.Policy).toMatchObject({ RemediationEnabled: true });
      // The version kept for rollback is the one the step first read, before anything it did.
      const kept = (await store.previous('r1'))[0];
      expect(kept).toMatchObject({ existed: true, policy: { RemediationEnabled: false } });
      expect(kept?.policy?.PolicyDescription).toBeUndefined();

      expect(await applyPut(putStep(spec(true)), context)).toMatchObject({ outcome: 'unchanged' });
      expect(sandbox.requests().filter((entry) => entry.operation === 'PutPolicy')).toHaveLength(4);

      const deleteStep = { kind: 'delete' as const, id: 'w.eu-west-1.0-edge-shield.audit.delete', wave: 'w', region: 'eu-west-1', policy: 'edge-shield', variant: 'audit' as const, name: 'edge-shield' };
      expect(await applyDelete(deleteStep, context)).toMatchObject({ outcome: 'deleted' });
      expect(await applyDelete(deleteStep, context)).toMatchObject({ outcome: 'absent' });
      expect(await findPolicy(fms, 'edge-shield')).toBeUndefined();
      other.destroy();
    } finally {
      redis.disconnect();
    }
  });
});

import { FMSClient, GetPolicyCommand, PutPolicyCommand } from '@aws-sdk/client-fms';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { LockLostError } from '@orgshield/jobs';
import { PolicySpecSchema, renderPutPolicy, type PolicySpec } from '@orgshield/policies';
import { harnessTest } from '../test/harness-fixture.js';
import { findPolicy, fmsClient } from './live-policies.js';
import { applyDelete, applyPut } from './policy-writer.js';
import type { PutPolicyStep } from './rollout-plan.js';
import { RolloutStore, type StepRecord } from './rollout-store.js';

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
      const context = { fms, store, rolloutId: 'r1', commit: (done: StepRecord) => store.markStep('r1', done) };
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

  test('a write to a logging destination whose lock was lost meanwhile is not counted; the retry finds it made', async ({ sandbox, redisPrefix, harness }) => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      const store = new RolloutStore(redis, redisPrefix);
      const waf = PolicySpecSchema.parse({
        type: 'WAFV2',
        name: 'logged',
        regions: ['eu-west-1'],
        resourceTypes: ['alb'],
        rules: { defaultAction: 'ALLOW' },
        logging: { destination: 'arn:aws:s3:::aws-waf-logs-central' },
      });
      const step: PutPolicyStep = { ...putStep(waf), id: 'w.eu-west-1.0-logged.enforce.put', policy: 'logged' };
      const fms = fmsClient(harness.aws, 'eu-west-1');
      const runs = store.runs;
      await store.create({ id: 'r1', name: 'r', createdAt: new Date().toISOString(), source: { file: 'r', text: 'r', policyFiles: {} } }, { status: 'running', message: '', at: '', generation: 0, runningSince: 0 });
      // While PutPolicy is under way the lock lapses (its worker stalled) and someone else takes it.
      let stolen = false;
      fms.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName === 'PutPolicyCommand' && !stolen) {
            stolen = true;
            await redis.set(store.locks.key('logging:arn:aws:s3:::aws-waf-logs-central'), '999999', 'PX', 60_000);
          }
          return result;
        },
        { step: 'initialize', name: 'steal-lock' },
      );
      const attempt = (member: string) =>
        runs.guarded('r1', { status: 'running', generation: 0, member }, (guard) =>
          applyPut(step, {
            fms,
            store,
            rolloutId: 'r1',
            commit: async (done, lease) => {
              if (!(await guard.complete({ part: 'steps', field: done.step, value: JSON.stringify(done), ...(lease ? { lease } : {}) }))) throw new LockLostError('logging', lease?.token ?? '');
            },
          }),
        );
      await expect(attempt('a')).rejects.toBeInstanceOf(LockLostError);
      expect(await store.step('r1', step.id)).toBeUndefined();
      // The thief lets go; the retry takes a new token, finds the policy written, and records it with the first write's time.
      await redis.del(store.locks.key('logging:arn:aws:s3:::aws-waf-logs-central'));
      const retried = await attempt('b');
      expect(retried).toMatchObject({ entered: true, value: { outcome: 'unchanged', changedAt: expect.any(Number) } });
      expect(await store.step('r1', step.id)).toMatchObject({ outcome: 'unchanged' });
      expect(sandbox.requests().filter((entry) => entry.operation === 'PutPolicy')).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });

  test('"after the change" is taken before the write is sent, so an evaluation made before its answer is read still counts', async ({ sandbox, redisPrefix, harness }) => {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      const store = new RolloutStore(redis, redisPrefix);
      const fms = fmsClient(harness.aws, 'eu-west-1');
      // The answers of PutPolicy and DeletePolicy reach the step 200 ms late (a loaded worker):
      // FMS has the write, and may have evaluated it, well before the step reads the answer.
      fms.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName === 'PutPolicyCommand' || context.commandName === 'DeletePolicyCommand') await new Promise((resolve) => setTimeout(resolve, 200));
          return result;
        },
        { step: 'initialize', name: 'late-answer' },
      );
      const context = { fms, store, rolloutId: 'r1', commit: (done: StepRecord) => store.markStep('r1', done) };
      const received = (operation: string) => sandbox.requests().find((entry) => entry.operation === operation)?.t ?? 0;
      const put = await applyPut(putStep(spec(true)), context);
      expect(put.outcome).toBe('created');
      // The sandbox logs a request as it arrives; an evaluation of the write comes after that.
      expect(put.changedAt).toBeLessThanOrEqual(received('PutPolicy'));
      const deleteStep = { kind: 'delete' as const, id: 'w.eu-west-1.0-edge-shield.audit.delete', wave: 'w', region: 'eu-west-1', policy: 'edge-shield', variant: 'audit' as const, name: 'edge-shield' };
      const deleted = await applyDelete(deleteStep, context);
      expect(deleted.outcome).toBe('deleted');
      expect(deleted.changedAt).toBeLessThanOrEqual(received('DeletePolicy'));
    } finally {
      redis.disconnect();
    }
  });
});

import { DeletePolicyCommand, PutPolicyCommand, type FMSClient, type Policy } from '@aws-sdk/client-fms';
import { AwsCallError } from '@orgshield/aws';
import { OrgshieldError } from '@orgshield/errors';
import type { LockLease } from '@orgshield/jobs';
import { diffPolicy, parseLivePolicy, renderPutPolicy, type PolicySpec } from '@orgshield/policies';
import { findPolicy } from './live-policies.js';
import type { DeletePolicyStep, PutPolicyStep } from './rollout-plan.js';
import type { PreviousPolicy, RolloutStore, StepRecord } from './rollout-store.js';

/** Tries of a write whose PolicyUpdateToken went stale between our GetPolicy and PutPolicy. */
const STALE_TOKEN_TRIES = 4;

export interface WriteContext {
  fms: FMSClient;
  store: RolloutStore;
  rolloutId: string;
  /** Lifetime of a shared lock between renewals. */
  leaseMs?: number;
  /**
   * Records the step's result, counted only if the step still holds its guard and, when it
   * wrote under a lock, the lock's token is still its own (checked in the same script); throws
   * otherwise, so the step is retried and finds the write made.
   */
  commit(record: StepRecord, lease?: LockLease): Promise<void>;
}

/**
 * FMS refuses an update whose token is not the policy's current one; the service answers
 * InvalidOperationException or InvalidInputException naming the token (both are reported).
 */
function isStaleToken(error: unknown): boolean {
  if (!(error instanceof AwsCallError) || error.operation !== 'PutPolicy') return false;
  return error.awsCode === 'InvalidOperationException' || (error.awsCode === 'InvalidInputException' && /token/i.test(error.message));
}

/** Whether the live policy already is the desired one (a crashed run may have written it). */
function matches(desired: PolicySpec, live: Parameters<typeof parseLivePolicy>[0], region: string): boolean {
  try {
    return diffPolicy(desired, parseLivePolicy(live, { region })).length === 0;
  } catch (error) {
    // A live policy orgshield cannot read is not what we want it to be: it gets overwritten.
    if (error instanceof OrgshieldError) return false;
    throw error;
  }
}

/**
 * One PutPolicy step, idempotent: re-read the policy (by name) for its id and a fresh update
 * token, keep its current version for rollback (first write wins), skip the write if FMS
 * already holds the desired policy, and retry with a fresh token if another writer got there
 * first. Writes to policies that log to the same destination are serialized.
 */
export async function applyPut(step: PutPolicyStep, context: WriteContext): Promise<StepRecord> {
  const write = async (lease?: LockLease): Promise<StepRecord> => {
    const done = await writePut(step, context, lease);
    await context.commit(done, lease);
    return done;
  };
  const destination = step.spec.type === 'WAFV2' ? step.spec.logging?.destination : undefined;
  // Renewed while held, so a PutPolicy retried for minutes under throttling keeps it.
  return destination ? context.store.locks.withLock(`logging:${destination}`, write, context.leaseMs === undefined ? {} : { ttlMs: context.leaseMs }) : write();
}

async function writePut(step: PutPolicyStep, context: WriteContext, lease: LockLease | undefined): Promise<StepRecord> {
  for (let attempt = 1; ; attempt++) {
    const found = await findPolicy(context.fms, step.spec.name);
    await keepPrevious(context, step.region, step.spec.name, found?.output.Policy);
    if (found && matches(step.spec, found.output, step.region)) {
      // Already as wanted: written by an earlier run of this step that died before recording it (its
      // intent says when), or by someone else (no intent: nothing changed on our account).
      const changedAt = await context.store.intent(context.rolloutId, step.id);
      return { step: step.id, outcome: 'unchanged', at: new Date().toISOString(), policyId: found.summary.PolicyId, ...(changedAt === undefined ? {} : { changedAt }) };
    }
    const input = renderPutPolicy(step.spec, {
      region: step.specRegion,
      ...(found ? { policyId: found.summary.PolicyId, policyUpdateToken: found.output.Policy?.PolicyUpdateToken } : {}),
    });
    try {
      await context.store.noteIntent(context.rolloutId, step.id, Date.now());
      await lease?.assertHeld();
      // "After the change" starts before the write is sent: FMS may evaluate it before its answer
      // is read here (at a small time scale, or under load), and an evaluation taken for "before"
      // would leave the gate waiting for one that never comes.
      const sentAt = Date.now();
      const output = await context.fms.send(new PutPolicyCommand(input));
      return {
        step: step.id,
        outcome: found ? 'updated' : 'created',
        at: new Date().toISOString(),
        policyId: output.Policy?.PolicyId,
        changedAt: sentAt,
      };
    } catch (error) {
      if (attempt < STALE_TOKEN_TRIES && isStaleToken(error)) continue;
      throw error;
    }
  }
}

/** Deletes the audit copy once no account is left in it (an empty scope would mean "everyone"). */
export async function applyDelete(step: DeletePolicyStep, context: WriteContext): Promise<StepRecord> {
  const found = await findPolicy(context.fms, step.name);
  let done: StepRecord;
  if (!found?.summary.PolicyId) {
    // Gone: never there, or deleted by an earlier run of this step that died before recording it.
    const changedAt = await context.store.intent(context.rolloutId, step.id);
    done = { step: step.id, outcome: 'absent', at: new Date().toISOString(), ...(changedAt === undefined ? {} : { changedAt }) };
  } else {
    await keepPrevious(context, step.region, step.name, found.output.Policy);
    await context.store.noteIntent(context.rolloutId, step.id, Date.now());
    const sentAt = Date.now();
    await context.fms.send(new DeletePolicyCommand({ PolicyId: found.summary.PolicyId, DeleteAllPolicyResources: true }));
    done = { step: step.id, outcome: 'deleted', at: new Date().toISOString(), policyId: found.summary.PolicyId, changedAt: sentAt };
  }
  await context.commit(done);
  return done;
}

async function keepPrevious(context: WriteContext, region: string, name: string, policy: Policy | undefined): Promise<void> {
  const previous: PreviousPolicy = { region, name, existed: policy !== undefined, recordedAt: new Date().toISOString() };
  if (policy) previous.policy = policy;
  await context.store.keepPrevious(context.rolloutId, previous);
}

export type RestoreOutcome = 'restored' | 'deleted' | 'unchanged';

/**
 * Puts one policy back the way it was before the rollout: the kept version (under the current
 * id and a fresh token, or re-created if the rollout deleted it), or deleted if the rollout
 * created it. Idempotent like every write here: a policy already as it was is left alone.
 */
export async function restorePrevious(previous: PreviousPolicy, fms: FMSClient): Promise<RestoreOutcome> {
  for (let attempt = 1; ; attempt++) {
    const found = await findPolicy(fms, previous.name);
    if (!previous.existed || !previous.policy) {
      if (!found?.summary.PolicyId) return 'unchanged';
      await fms.send(new DeletePolicyCommand({ PolicyId: found.summary.PolicyId, DeleteAllPolicyResources: true }));
      return 'deleted';
    }
    const { PolicyId: _id, PolicyUpdateToken: _token, PolicyStatus: _status, ...kept } = previous.policy as Policy;
    if (found?.output.Policy && samePolicy(kept, found.output.Policy, previous.region)) return 'unchanged';
    const policy: Policy = found ? { ...kept, PolicyId: found.summary.PolicyId, PolicyUpdateToken: found.output.Policy?.PolicyUpdateToken } : kept;
    try {
      await fms.send(new PutPolicyCommand({ Policy: policy }));
      return 'restored';
    } catch (error) {
      if (attempt < STALE_TOKEN_TRIES && isStaleToken(error)) continue;
      throw error;
    }
  }
}

function samePolicy(kept: Policy, live: Policy, region: string): boolean {
  try {
    const before = parseLivePolicy({ Policy: kept }, { region });
    return diffPolicy(before.spec, parseLivePolicy({ Policy: live }, { region })).length === 0 && before.unmodeled.length === 0;
  } catch (error) {
    if (error instanceof OrgshieldError) return false;
    throw error;
  }
}

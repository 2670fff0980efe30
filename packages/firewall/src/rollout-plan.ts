import type { PolicyDifference, PolicySpec } from '@orgshield/policies';
import type { FailureTolerance, RegionStrategy, WaveGates } from './rollout-schema.js';

/**
 * The plan: everything a rollout will do, decided before anything is done. It is plain JSON,
 * stored with the rollout's state, so apply steps and `rollout status` read the same decisions.
 */

/** `enforce` is the policy itself (remediation on); `audit` its audit-only copy. */
export type PolicyVariant = 'enforce' | 'audit';

export type PolicyAction = 'create' | 'update' | 'unchanged' | 'delete';

/** What the rollout does to one FMS policy in one region, first state to last. */
export interface PolicyChange {
  region: string;
  /** The rollout policy it belongs to (the enforcing policy's name). */
  policy: string;
  variant: PolicyVariant;
  /** Its name in FMS. */
  name: string;
  action: PolicyAction;
  differences: PolicyDifference[];
  accountsBefore: number;
  accountsAfter: number;
}

export interface PutPolicyStep {
  kind: 'put';
  id: string;
  wave: string;
  region: string;
  policy: string;
  variant: PolicyVariant;
  /** The whole desired policy: its name, scope and remediation as this step leaves them. */
  spec: PolicySpec;
  /** The spec region to render (`global` for CloudFront), which FMS keeps in `region`. */
  specRegion: string;
  action: 'create' | 'update';
  differences: PolicyDifference[];
  /** Accounts the policy covers after this step. */
  accounts: number;
}

export interface DeletePolicyStep {
  kind: 'delete';
  id: string;
  wave: string;
  region: string;
  policy: string;
  variant: PolicyVariant;
  name: string;
}

/** Which accounts a gate judges, and against which policy. */
export interface GateCheck {
  policy: string;
  variant: PolicyVariant;
  name: string;
  accounts: string[];
}

export interface GateStep {
  kind: 'gate';
  id: string;
  wave: string;
  region: string;
  mode: 'audit' | 'remediate';
  checks: GateCheck[];
  gates: WaveGates;
  soakTimeMs: number;
  /** The per-region tolerance (StackSets) in accounts, worked out from the wave's size here. */
  toleratedFailures: number;
}

export type PlanStep = PutPolicyStep | DeletePolicyStep | GateStep;

export interface WavePlan {
  name: string;
  mode: 'audit' | 'remediate';
  /** Accounts the wave reaches (its targets within the rollout's scope), sorted. */
  accounts: string[];
  /** Of those, how many each policy moves into audit or into enforcement, by region. */
  moves: { region: string; policy: string; toAudit: number; toEnforce: number }[];
}

export interface PlanProblem {
  /** The wave or policy the problem is about, when it is about one. */
  wave?: string;
  policy?: string;
  region?: string;
  message: string;
}

export interface RolloutPlan {
  rollout: string;
  /** API regions (global policies live in us-east-1) in the order they are taken. */
  regions: string[];
  concurrency: RegionStrategy['concurrency'];
  failureTolerance: FailureTolerance;
  scopeAccounts: number;
  policies: PolicyChange[];
  waves: WavePlan[];
  steps: PlanStep[];
  /** Anything here and the plan cannot be applied. */
  problems: PlanProblem[];
  /** Things worth knowing that do not stop the plan. */
  notes: string[];
}

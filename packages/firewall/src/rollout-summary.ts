import { fileURLToPath } from 'node:url';
import type { AwsClientFactory } from '@orgshield/aws';
import { complianceReport, type ComplianceReport } from './compliance-report.js';
import type { RolloutControl, RolloutView } from './rollout-control.js';
import { readRolloutSource } from './rollout-loader.js';
import type { RolloutEvent, RolloutState } from './rollout-store.js';

/** One wave as `rollout status` and the demo show it: per region, its writes and its gate. */
export interface WaveSummary {
  name: string;
  mode: 'audit' | 'remediate';
  accounts: number;
  regions: {
    region: string;
    writes: string[];
    gate: { status: string; judged: number; nonCompliantAccounts: number; nonCompliantResources: number; reason: string } | undefined;
  }[];
}

export function summarizeWaves(view: RolloutView): WaveSummary[] {
  const plan = view.record.plan;
  if (!plan) return [];
  const outcomes = new Map(view.steps.map((step) => [step.step, step.outcome]));
  const gates = new Map(view.gates.map((gate) => [gate.step, gate]));
  return plan.waves.map((wave) => ({
    name: wave.name,
    mode: wave.mode,
    accounts: wave.accounts.length,
    regions: plan.regions.map((region) => {
      const steps = plan.steps.filter((step) => step.wave === wave.name && step.region === region);
      const writes = steps.flatMap((step) => {
        if (step.kind === 'gate') return [];
        const name = step.kind === 'put' ? step.spec.name : step.name;
        const verb = step.kind === 'put' ? step.action : 'delete';
        return [`${verb} ${name}: ${outcomes.get(step.id) ?? 'pending'}`];
      });
      const gateStep = steps.find((step) => step.kind === 'gate');
      const report = gateStep ? gates.get(gateStep.id) : undefined;
      return {
        region,
        writes,
        gate: report && {
          status: outcomes.get(report.step) === 'passed' ? 'passed' : report.status,
          judged: report.accounts,
          nonCompliantAccounts: report.nonCompliantAccounts.length,
          nonCompliantResources: report.nonCompliantResources,
          reason: report.reason,
        },
      };
    }),
  }));
}

/** The rollout `npm start` runs on the sandbox: see examples/demo-rollout.yaml. */
export const DEMO_ROLLOUT_FILE = fileURLToPath(new URL('../examples/demo-rollout.yaml', import.meta.url));

export interface DemoRolloutResult {
  rolloutId: string;
  state: RolloutState;
  waves: WaveSummary[];
  /** Each policy's final compliance over the rollout's regions. */
  compliance: ComplianceReport[];
}

/**
 * Runs the demo rollout to its end and gathers what to print. A worker must be consuming the
 * firewall queue (the CLI runs one in-process when none is connected); the sandbox should run
 * with a small time scale (0.001), which the demo file's soak times and timeouts assume.
 */
export async function runDemoRollout(options: {
  control: RolloutControl;
  aws: AwsClientFactory;
  onEvent?: (event: RolloutEvent) => void;
  timeoutMs?: number;
}): Promise<DemoRolloutResult> {
  const { rolloutId, loaded } = await options.control.submit(await readRolloutSource(DEMO_ROLLOUT_FILE), { requestedBy: 'demo' });
  const state = await options.control.waitUntilSettled(rolloutId, { timeoutMs: options.timeoutMs ?? 300_000, ...(options.onEvent ? { onEvent: options.onEvent } : {}) });
  const view = await options.control.view(rolloutId);
  const regions = view.record.plan?.regions ?? [];
  const compliance: ComplianceReport[] = [];
  for (const policy of loaded.policies) compliance.push(await complianceReport(options.aws, { policy: policy.spec.name, regions }));
  return { rolloutId, state, waves: summarizeWaves(view), compliance };
}

import { fileURLToPath } from 'node:url';
import type { RolloutView } from './rollout-control.js';

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

/** The rollout `npm start` runs on the sandbox: see examples/demo-rollout.yaml (its policy files sit beside it). */
export const DEMO_ROLLOUT_FILE = fileURLToPath(new URL('../examples/demo-rollout.yaml', import.meta.url));

import type { AwsClientFactory } from '@orgshield/aws';
import {
  complianceReport,
  DEMO_ROLLOUT_FILE,
  readRolloutSource,
  summarizeWaves,
  type ComplianceReport,
  type RolloutControl,
  type RolloutEvent,
  type RolloutState,
  type WaveSummary,
} from '@orgshield/firewall';

export interface DemoRolloutResult {
  rolloutId: string;
  state: RolloutState;
  waves: WaveSummary[];
  /** Each policy's final compliance over the rollout's regions. */
  compliance: ComplianceReport[];
}

/**
 * Runs the demo rollout to its end and gathers what `demo` prints. A worker must be consuming the
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

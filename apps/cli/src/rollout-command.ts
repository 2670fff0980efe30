import type { Command } from 'commander';
import { AwsClientFactory } from '@orgshield/aws';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { discoverOrganization } from '@orgshield/accounts';
import {
  loadRollout,
  planAgainstAws,
  readRolloutSource,
  FIREWALL_QUEUE,
  RolloutControl,
  RolloutPlanError,
  SETTLED_STATUSES,
  summarizeWaves,
  type RolloutEvent,
  type RolloutPlan,
  type RolloutState,
  type RolloutView,
} from '@orgshield/firewall';
import { JobQueues } from '@orgshield/jobs';
import { bullmqStepQueue, configuredRateLimits, loadWorkerConfig, workerRetention } from '@orgshield/worker-runtime';
import { choiceOption, formatTable, note, OUTPUT_FORMATS, printJson, refusingSpecProblems, type OutputFormat } from './cli-kit.js';
import { withLocalWorker, withSession, type CliSession } from './job-runner.js';

/** Clients for commands that run here without Redis: limits from ORGSHIELD_RATE_LIMITS, buckets in this process. */
export function localClients(env: NodeJS.ProcessEnv = process.env): AwsClientFactory {
  return new AwsClientFactory({ rateLimits: configuredRateLimits(loadWorkerConfig(env)) });
}

/**
 * Runs `work` with a rollout control on the session's queues, and with a firewall worker in
 * this process while it runs if `local` is asked and no worker is connected: one command then
 * carries a rollout to its end on a laptop.
 */
export async function withRolloutControl<T>(
  session: CliSession,
  options: { local: boolean },
  work: (control: RolloutControl, queues: JobQueues) => Promise<T>,
): Promise<T> {
  const queues = new JobQueues(session.redis, { prefix: session.config.ORGSHIELD_QUEUE_PREFIX });
  try {
    return await withLocalWorker(session, { queues, queue: FIREWALL_QUEUE, local: options.local }, () =>
      work(new RolloutControl(session.redis, queues, bullmqStepQueue(queues), { retention: workerRetention(session.config) }), queues),
    );
  } finally {
    await queues.close();
  }
}

function printEvent(event: RolloutEvent): void {
  note(`${event.at.slice(11, 19)} ${event.level === 'info' ? '' : `${event.level.toUpperCase()} `}${event.message}`);
}

/** A settled rollout that did not complete is a failed command (exit 1), said in its own words. */
function requireCompleted(rolloutId: string, state: RolloutState, wanted: RolloutState['status'] = 'completed'): void {
  if (state.status !== wanted) throw new OrgshieldError(`Rollout${state.status}`, `rollout ${rolloutId} is ${state.status}: ${state.message}.`, { exitCode: EXIT_CODES.failed });
}

function printPlan(plan: RolloutPlan): void {
  process.stdout.write(`rollout ${plan.rollout}: ${plan.scopeAccounts} accounts in scope, regions ${plan.regions.join(', ')} (${plan.concurrency})\n\n`);
  process.stdout.write(
    formatTable(
      ['REGION', 'POLICY', 'FORM', 'ACTION', 'ACCOUNTS', 'CHANGES'],
      plan.policies.map((change) => [
        change.region,
        change.name,
        change.variant === 'audit' ? 'audit copy' : 'enforcing',
        change.action,
        `${change.accountsBefore} -> ${change.accountsAfter}`,
        change.differences.map((difference) => difference.path).join(', '),
      ]),
    ),
  );
  process.stdout.write('\n');
  process.stdout.write(
    formatTable(
      ['WAVE', 'MODE', 'ACCOUNTS', 'MOVES (region policy: +audit +enforce)'],
      plan.waves.map((wave) => [
        wave.name,
        wave.mode,
        wave.accounts.length,
        wave.moves.filter((move) => move.toAudit + move.toEnforce > 0).map((move) => `${move.region} ${move.policy}: +${move.toAudit} +${move.toEnforce}`).join('; '),
      ]),
    ),
  );
  const writes = plan.steps.filter((step) => step.kind !== 'gate').length;
  process.stdout.write(`\n${plan.steps.length} steps: ${writes} policy writes and ${plan.steps.length - writes} gates\n`);
  for (const text of plan.notes) note(`note: ${text}`);
  for (const problem of plan.problems) note(`problem: ${problem.message}`);
}

function printView(view: RolloutView): void {
  const { record, state } = view;
  process.stdout.write(`rollout ${record.id} (${record.name}): ${state.status}, ${view.done}/${view.total} steps; ${state.message}\n\n`);
  const rows = summarizeWaves(view).flatMap((wave) =>
    wave.regions.map((region) => [
      wave.name,
      wave.mode,
      region.region,
      wave.accounts,
      region.writes.join('; ') || '-',
      region.gate ? `${region.gate.status}: ${region.gate.nonCompliantAccounts}/${region.gate.judged} accounts, ${region.gate.nonCompliantResources} resources non-compliant` : '-',
    ]),
  );
  process.stdout.write(formatTable(['WAVE', 'MODE', 'REGION', 'ACCOUNTS', 'WRITES', 'GATE'], rows));
  const failed = view.gates.filter((gate) => gate.status === 'failed');
  for (const gate of failed) {
    process.stdout.write(`\ngate ${gate.step} failed: ${gate.reason}\n`);
    const byAccount = new Map<string, string[]>();
    for (const violator of gate.violators) byAccount.set(violator.account, [...(byAccount.get(violator.account) ?? []), `${violator.reason} ${violator.resourceId}`]);
    process.stdout.write(
      formatTable(
        ['ACCOUNT', 'VIOLATIONS'],
        [...byAccount].slice(0, 50).map(([account, violations]) => [account, `${violations.length}: ${violations.slice(0, 3).join(', ')}${violations.length > 3 ? ', ...' : ''}`]),
      ),
    );
    if (byAccount.size > 50) process.stdout.write(`... and ${byAccount.size - 50} more accounts (--output json has them all)\n`);
    for (const entry of gate.evaluationLimitExceeded) process.stdout.write(`${entry.account}: over 100 violators in ${entry.policy} (FMS lists the first 100)\n`);
  }
}

/**
 * Waits for `waiting`, unless the user presses Ctrl-C first: the rollout is then paused at once
 * (so whoever resumes it continues from its last finished step) and the command ends with exit
 * code 130 and a line saying how to resume. Steps running in this process finish their current
 * call while the local worker shuts down.
 */
async function untilInterrupted<T>(control: RolloutControl, rolloutId: string, waiting: Promise<T>): Promise<T> {
  let onSigint: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onSigint = () => {
      void control.interrupt(rolloutId).then(
        (paused) =>
          reject(
            new OrgshieldError(
              'Interrupted',
              paused
                ? `rollout ${rolloutId} paused (interrupted); continue it with "orgshield rollout resume ${rolloutId} --wait".`
                : `interrupted; rollout ${rolloutId} was not running, "orgshield rollout status ${rolloutId}" shows where it stands.`,
              { exitCode: EXIT_CODES.interrupted },
            ),
          ),
        reject,
      );
    };
    process.once('SIGINT', onSigint);
  });
  try {
    return await Promise.race([waiting, interrupted]);
  } finally {
    if (onSigint) process.off('SIGINT', onSigint);
  }
}

const idArgument = ['<rollout-id>', 'the id "rollout start" printed'] as const;

export function configureRolloutCommand(program: Command): void {
  const rollout = program.command('rollout').description('Firewall Manager rollouts: plan, start and steer staged policy rollouts');
  const outputOption = ['--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat] as const;

  rollout
    .command('plan')
    .description('what a rollout would do, per region, policy and wave (reads only; no Redis needed)')
    .argument('<file>', 'the rollout file (YAML or JSON)')
    .option(...outputOption)
    .action(async (file: string, options: { output: OutputFormat }) => {
      const loaded = await refusingSpecProblems(file, 'nothing was planned', () => loadRollout(file));
      const aws = localClients();
      try {
        note('reading the organization and the live policies...');
        const plan = await planAgainstAws(aws, loaded, () => discoverOrganization(aws));
        if (options.output === 'json') printJson(plan);
        else printPlan(plan);
        if (plan.problems.length > 0) throw new RolloutPlanError(plan);
      } finally {
        aws.destroy();
      }
    });

  rollout
    .command('start')
    .description('queue a rollout; a worker plans and applies it wave by wave')
    .argument('<file>', 'the rollout file (YAML or JSON)')
    .option('--wait', 'follow it to its end; runs it in this process when no worker is connected')
    .option(...outputOption)
    .action(async (file: string, options: { wait?: boolean; output: OutputFormat }) => {
      const source = await readRolloutSource(file);
      await withSession((session) =>
        withRolloutControl(session, { local: options.wait === true }, async (control) => {
          const { rolloutId } = await refusingSpecProblems(file, 'nothing was queued', () => control.submit(source, { requestedBy: 'cli' }));
          note(`rollout ${rolloutId} queued`);
          if (!options.wait) {
            if (options.output === 'json') printJson({ rolloutId });
            else process.stdout.write(`${rolloutId}\n`);
            return;
          }
          const state = await untilInterrupted(control, rolloutId, control.waitUntilSettled(rolloutId, { onEvent: printEvent, requireWorker: true }));
          const view = await control.view(rolloutId);
          if (options.output === 'json') printJson(view);
          else printView(view);
          requireCompleted(rolloutId, state);
        }),
      );
    });

  rollout
    .command('status')
    .description('one rollout in detail, or the latest rollouts')
    .argument('[rollout-id]', 'a rollout id; without it, the latest rollouts')
    .option(...outputOption)
    .action(async (rolloutId: string | undefined, options: { output: OutputFormat }) =>
      withSession((session) =>
        withRolloutControl(session, { local: false }, async (control) => {
          if (!rolloutId) {
            const list = await control.list();
            if (options.output === 'json') return printJson(list);
            process.stdout.write(formatTable(['ID', 'STATUS', 'STEPS', 'CREATED', 'MESSAGE'], list.map((r) => [r.id, r.status, `${r.done}/${r.total}`, r.createdAt, r.message])));
            return;
          }
          const view = await control.view(rolloutId);
          if (options.output === 'json') printJson(view);
          else printView(view);
        }),
      ),
    );

  rollout
    .command('watch')
    .description('follow a rollout until it settles, printing each event')
    .argument(...idArgument)
    .action(async (rolloutId: string) =>
      withSession((session) =>
        withRolloutControl(session, { local: false }, async (control) => {
          // Stops at a pause too, and when no worker is there to advance it: watch never waits for nobody.
          const state = await control.waitUntilSettled(rolloutId, { onEvent: printEvent, requireWorker: true, until: [...SETTLED_STATUSES, 'paused'] });
          printView(await control.view(rolloutId));
          requireCompleted(rolloutId, state);
        }),
      ),
    );

  rollout
    .command('pause')
    .description('stop queuing steps (the step under way finishes)')
    .argument(...idArgument)
    .action(async (rolloutId: string) =>
      withSession((session) => withRolloutControl(session, { local: false }, async (control) => note(`rollout ${rolloutId}: ${(await control.pause(rolloutId)).status}`))),
    );

  rollout
    .command('resume')
    .description('continue a paused, halted or failed rollout from its first unfinished step (a halted gate is judged again)')
    .argument(...idArgument)
    .option('--wait', 'follow it to its end; runs it in this process when no worker is connected')
    .action(async (rolloutId: string, options: { wait?: boolean }) =>
      withSession(async (session) => {
        // Resumed before any worker starts here, so a rollout whose owner is gone (no worker
        // connected) is recognised as such and taken over.
        const fromEvent = await withRolloutControl(session, { local: false }, async (control) => {
          const cursor = await control.lastEventCursor(rolloutId);
          note(`rollout ${rolloutId}: ${(await control.resume(rolloutId)).status}`);
          return cursor;
        });
        if (!options.wait) return;
        await withRolloutControl(session, { local: true }, async (control) => {
          const state = await untilInterrupted(control, rolloutId, control.waitUntilSettled(rolloutId, { onEvent: printEvent, requireWorker: true, ...(fromEvent ? { fromEvent } : {}) }));
          printView(await control.view(rolloutId));
          requireCompleted(rolloutId, state);
        });
      }),
    );

  rollout
    .command('abort')
    .description('stop a rollout for good, leaving the policies as they are (rollback undoes them)')
    .argument(...idArgument)
    .action(async (rolloutId: string) =>
      withSession((session) => withRolloutControl(session, { local: false }, async (control) => note(`rollout ${rolloutId}: ${(await control.abort(rolloutId)).status}`))),
    );

  rollout
    .command('rollback')
    .description('put every policy the rollout changed back as it was (delete those it created)')
    .argument(...idArgument)
    .option('--wait', 'wait until it is rolled back; runs it in this process when no worker is connected')
    .action(async (rolloutId: string, options: { wait?: boolean }) =>
      withSession((session) =>
        withRolloutControl(session, { local: options.wait === true }, async (control) => {
          const fromEvent = await control.lastEventCursor(rolloutId);
          await control.rollback(rolloutId);
          note(`rollout ${rolloutId}: rolling back`);
          if (!options.wait) return;
          const state = await control.waitUntilSettled(rolloutId, { onEvent: printEvent, until: ['rolled-back', 'failed'], ...(fromEvent ? { fromEvent } : {}) });
          requireCompleted(rolloutId, state, 'rolled-back');
        }),
      ),
    );
}

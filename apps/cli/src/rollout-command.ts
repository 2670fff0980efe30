import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { EXIT_CODES, InvalidInputError, OrgshieldError } from '@orgshield/errors';
import {
  loadRollout,
  parseRolloutSource,
  planAgainstAws,
  readRolloutSource,
  FIREWALL_DETAILS_QUEUE,
  FIREWALL_QUEUE,
  RolloutControl,
  RolloutPlanError,
  SETTLED_STATUSES,
  summarizeWaves,
  type LoadedRollout,
  type PolicyChange,
  type RolloutEvent,
  type RolloutPlan,
  type RolloutRecord,
  type RolloutSource,
  type RolloutState,
  type RolloutView,
} from '@orgshield/firewall';
import { JobQueues, type RedisClient } from '@orgshield/jobs';
import { bullmqStepQueue, workerRetention } from '@orgshield/worker-runtime';
import { choiceOption, formatTable, note, OUTPUT_FORMATS, printJson, refusingSpecProblems, type OutputFormat } from './cli-kit.js';
import { withLocalWorker, withSession, type CliSession } from './job-runner.js';
import { localClients, organizationForPlan, withOrganization } from './local-aws.js';
import { progressLine } from './progress-line.js';

/**
 * Plans a rollout here, as a worker would, so a bad target ("OU ... is not in the organization")
 * is refused before anything is queued. Prints its notes (regions that come from the specs).
 */
async function planHere(loaded: LoadedRollout, options: { redis: RedisClient; keyPrefix: string; refresh: boolean }): Promise<RolloutPlan> {
  const aws = localClients();
  try {
    note('reading the live policies...');
    return await planAgainstAws(aws, loaded, () => organizationForPlan(aws, { redis: options.redis, keyPrefix: options.keyPrefix }, options.refresh));
  } finally {
    aws.destroy();
  }
}

/**
 * Follows the waiting gates of a rollout on a progress line until `waiting` ends: which gate,
 * how many accounts FMS has evaluated since the change, how many are non-compliant, elapsed.
 */
async function withGateProgress<T>(control: RolloutControl, rolloutId: string, waiting: Promise<T>): Promise<T> {
  const lines = new Map<string, ReturnType<typeof progressLine>>();
  const poll = async () => {
    const gates = await control.store.gates(rolloutId).catch(() => new Map());
    for (const gate of gates.values()) {
      const line = lines.get(gate.step) ?? progressLine(`${gate.wave}/${gate.region} gate`);
      lines.set(gate.step, line);
      if (gate.status !== 'waiting') continue;
      const evaluated = gate.accounts - gate.notEvaluated.length;
      line.update(`${evaluated}/${gate.accounts} accounts evaluated, non-compliant ${gate.nonCompliantAccounts.length}; ${gate.reason}`);
    }
  };
  const timer = setInterval(() => void poll(), 1000);
  try {
    return await waiting;
  } finally {
    clearInterval(timer);
    for (const line of lines.values()) line.done();
  }
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
    return await withLocalWorker(session, { queues, queue: FIREWALL_QUEUE, alongside: [FIREWALL_DETAILS_QUEUE], local: options.local }, () =>
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
      region.gate ? `${region.gate.status}: non-compliant ${region.gate.nonCompliantAccounts}/${region.gate.judged} accounts, ${region.gate.nonCompliantResources} resources` : '-',
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
    if (byAccount.size > 50) process.stdout.write(`... and ${byAccount.size - 50} more accounts in the sample (--output json has it)\n`);
    if (gate.violatorsLeftOut > 0) {
      process.stdout.write(`${gate.violatorsLeftOut} more violator(s) counted but not kept in the report; "orgshield compliance report" lists them all\n`);
    }
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

/** An enforcing policy covering at least this many accounts is confirmed before a rollback, whatever the organization's size. */
export const LARGE_ENFORCEMENT_ACCOUNTS = 50;

/**
 * The enforcing policies a rollback would delete or put back that are org-wide or large: each
 * covers (before or after the rollout) every account of a rollout scoped to the whole
 * organization, or at least LARGE_ENFORCEMENT_ACCOUNTS accounts. A rollout file that no
 * longer reads counts as org-wide: it is asked rather than not.
 */
export function largeEnforcements(record: RolloutRecord, previous: readonly { region: string; name: string }[]): PolicyChange[] {
  const plan = record.plan;
  let orgWide = true;
  try {
    const { scope } = parseRolloutSource(record.source).rollout;
    orgWide = scope.all === true && !scope.tags && !scope.exclude;
  } catch {
    // unreadable: treated as org-wide
  }
  const enforcing = new Map((plan?.policies ?? []).filter((change) => change.variant === 'enforce').map((change) => [`${change.region} ${change.name}`, change]));
  return previous
    .map((entry) => enforcing.get(`${entry.region} ${entry.name}`))
    .filter((change) => change !== undefined)
    .filter((change) => {
      const accounts = Math.max(change.accountsAfter, change.accountsBefore);
      return accounts >= LARGE_ENFORCEMENT_ACCOUNTS || (orgWide && accounts >= (plan?.scopeAccounts ?? 0));
    });
}

/**
 * A rollback that deletes or puts back an org-wide or large enforcing policy changes protection
 * across the accounts it covers in seconds: it is confirmed at a terminal, and refused (exit 2)
 * without --yes where nobody can answer. A rollback of audit copies, or of enforcing policies
 * on part of the organization (under LARGE_ENFORCEMENT_ACCOUNTS accounts), goes ahead.
 */
async function confirmRollback(control: RolloutControl, rolloutId: string): Promise<void> {
  const record = await control.store.record(rolloutId);
  if (!record) return; // rollback itself says the rollout does not exist
  const touched = largeEnforcements(record, await control.store.previous(rolloutId));
  if (touched.length === 0) return;
  const accounts = Math.max(...touched.map((change) => Math.max(change.accountsAfter, change.accountsBefore)));
  const what = `rolling back ${rolloutId} deletes or puts back ${touched.length} enforcing polic${touched.length === 1 ? 'y' : 'ies'} (${touched.map((change) => `${change.name} in ${change.region}`).join(', ')}) covering up to ${accounts} accounts`;
  if (!process.stdin.isTTY) throw new InvalidInputError(`${what}; pass --yes to confirm (stdin is not a terminal, so nobody can be asked). Nothing was changed.`);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${what}. Type "yes" to roll back: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new InvalidInputError(`rollback of ${rolloutId} not confirmed ("${answer.trim()}"); nothing was changed.`);
  } finally {
    prompt.close();
  }
}

const idArgument = ['<rollout-id>', 'the id "rollout start" printed'] as const;

export function configureRolloutCommand(program: Command): void {
  const rollout = program.command('rollout').description('Firewall Manager rollouts: plan, start and steer staged policy rollouts');
  const outputOption = ['--output <format>', 'table or json', choiceOption('--output', OUTPUT_FORMATS), 'table' as OutputFormat] as const;

  rollout
    .command('plan')
    .description('what a rollout would do, per region, policy and wave (reads only; uses the stored organization snapshot when Redis answers, walks the organization otherwise)')
    .argument('<file>', 'the rollout file (YAML or JSON)')
    .option('--refresh', 'walk the organization again instead of using the stored snapshot')
    .option(...outputOption)
    .action(async (file: string, options: { output: OutputFormat; refresh?: boolean }) => {
      const loaded = await refusingSpecProblems(file, 'nothing was planned', () => loadRollout(file));
      const aws = localClients();
      try {
        note('reading the live policies...');
        const plan = await withOrganization(aws, { refresh: options.refresh === true }, (organization) => planAgainstAws(aws, loaded, organization));
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
    .option('--refresh', 'walk the organization again instead of using the stored snapshot for the check before queuing')
    .option(...outputOption)
    .action(async (file: string, options: { wait?: boolean; refresh?: boolean; output: OutputFormat }) => {
      const source: RolloutSource = await readRolloutSource(file);
      const loaded = await refusingSpecProblems(file, 'nothing was queued', async () => parseRolloutSource(source));
      await withSession(async (session) => {
        // Planned here first: a target that does not exist is refused now, not later in a worker.
        const plan = await planHere(loaded, { redis: session.redis, keyPrefix: session.keyPrefix, refresh: options.refresh === true });
        for (const text of plan.notes) note(`note: ${text}`);
        if (plan.problems.length > 0) {
          for (const problem of plan.problems) note(`problem: ${problem.message}`);
          throw new RolloutPlanError(plan);
        }
        await withRolloutControl(session, { local: options.wait === true }, async (control) => {
          const { rolloutId } = await refusingSpecProblems(file, 'nothing was queued', () => control.submit(source, { requestedBy: 'cli' }));
          note(`rollout ${rolloutId} queued`);
          if (!options.wait) {
            if (options.output === 'json') printJson({ rolloutId });
            else process.stdout.write(`${rolloutId}\n`);
            return;
          }
          const state = await untilInterrupted(control, rolloutId, withGateProgress(control, rolloutId, control.waitUntilSettled(rolloutId, { onEvent: printEvent, requireWorker: true })));
          const view = await control.view(rolloutId);
          if (options.output === 'json') printJson(view);
          else printView(view);
          requireCompleted(rolloutId, state);
        });
      });
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
          const state = await withGateProgress(control, rolloutId, control.waitUntilSettled(rolloutId, { onEvent: printEvent, requireWorker: true, until: [...SETTLED_STATUSES, 'paused'] }));
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
          const state = await untilInterrupted(
            control,
            rolloutId,
            withGateProgress(control, rolloutId, control.waitUntilSettled(rolloutId, { onEvent: printEvent, requireWorker: true, ...(fromEvent ? { fromEvent } : {}) })),
          );
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
    .option('--yes', 'do not ask for confirmation when org-wide or large enforcing policies are deleted or put back (required then when stdin is not a terminal)')
    .action(async (rolloutId: string, options: { wait?: boolean; yes?: boolean }) =>
      withSession((session) =>
        withRolloutControl(session, { local: options.wait === true }, async (control) => {
          if (!options.yes) await confirmRollback(control, rolloutId);
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

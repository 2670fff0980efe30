import type { GateStep } from './rollout-plan.js';

/** One account's standing against one policy, from ListComplianceStatus and GetComplianceDetail. */
export interface AccountCompliance {
  account: string;
  /** The FMS policy's name. */
  policy: string;
  status: 'COMPLIANT' | 'NON_COMPLIANT' | 'NOT_EVALUATED';
  /** LastUpdated of the account's evaluation results (ISO), when FMS has evaluated it. */
  evaluatedAt?: string;
  violatorCount: number;
  /** FMS lists at most 100 violators; beyond that it says so here, and the count is a floor. */
  evaluationLimitExceeded: boolean;
  violators: Violator[];
}

export interface Violator {
  resourceId: string;
  resourceType: string;
  reason: string;
}

export interface GateViolator extends Violator {
  account: string;
  policy: string;
}

/** How many violators a gate report keeps (see GateReport.violators). */
export const VIOLATOR_SAMPLE = 200;

export type GateStatus = 'waiting' | 'passed' | 'failed';

/** What a gate saw and decided; stored with the rollout and shown by `rollout status`. */
export interface GateReport {
  step: string;
  wave: string;
  region: string;
  mode: 'audit' | 'remediate';
  status: GateStatus;
  /** One sentence: why it waits, passed or failed. */
  reason: string;
  judgedAt: string;
  accounts: number;
  compliantAccounts: number;
  nonCompliantAccounts: string[];
  nonCompliantResources: number;
  /** Accounts whose evaluation is not yet newer than the wave's change. */
  notEvaluated: string[];
  /** Accounts where FMS stopped listing violators at 100: counted, never dropped. */
  evaluationLimitExceeded: { account: string; policy: string }[];
  /**
   * The first violators found, in account order, at most VIOLATOR_SAMPLE: a gate over thousands
   * of accounts would otherwise keep (and store, and send with every status) tens of thousands.
   * `violationsByReason` counts all of them; `orgshield compliance report` lists all of them.
   */
  violators: GateViolator[];
  /** Violators found but left out of `violators`. */
  violatorsLeftOut: number;
  violationsByReason: Record<string, number>;
  /** The thresholds that were exceeded, one sentence each. */
  breaches: string[];
  /** While the wave soaks: when the soak ends (ISO), the earliest the gate can be judged. */
  soakEndsAt?: string;
}

export interface GateTiming {
  now: number;
  /** When this wave last wrote each policy in this region (ms), by policy name. */
  changedAt: Record<string, number>;
  /** The timeout counts from the later of the wave's last change and this. */
  waitingSince: number;
}

/**
 * Judges a wave's gate in one region: pure, from the compliance read and the clock.
 *
 * It waits while the wave soaks and while any account's evaluation is older than the change to
 * its policy. Then, in an audit wave, the evaluation is final (nothing remediates), so the gate
 * passes or fails at once; in a remediate wave FMS keeps fixing resources, so a failing gate is
 * judged again until its timeout, and fails only then.
 */
export function judgeGate(step: GateStep, compliance: readonly AccountCompliance[], timing: GateTiming): GateReport {
  const timedOut = gateTimedOut(step, timing);
  const byKey = new Map(compliance.map((entry) => [`${entry.policy}|${entry.account}`, entry]));

  const notEvaluated = new Set<string>();
  const nonCompliant = new Set<string>();
  const limitExceeded: { account: string; policy: string }[] = [];
  const violators: GateViolator[] = [];
  const violationsByReason: Record<string, number> = {};
  let found = 0;
  let resources = 0;
  const accounts = new Set<string>();
  for (const check of step.checks) {
    const changedAt = timing.changedAt[check.name];
    for (const account of check.accounts) {
      accounts.add(account);
      const entry = byKey.get(`${check.name}|${account}`);
      if (!entry || !evaluatedSince(entry, changedAt)) {
        notEvaluated.add(account);
        continue;
      }
      if (entry.evaluationLimitExceeded) limitExceeded.push({ account, policy: check.name });
      if (entry.status === 'NON_COMPLIANT' || entry.evaluationLimitExceeded) nonCompliant.add(account);
      resources += Math.max(entry.violatorCount, entry.violators.length);
      for (const violator of entry.violators) {
        violationsByReason[violator.reason] = (violationsByReason[violator.reason] ?? 0) + 1;
        if (found++ < VIOLATOR_SAMPLE) violators.push({ ...violator, account, policy: check.name });
      }
    }
  }
  const report = (status: GateStatus, reason: string, breaches: string[] = []): GateReport => ({
    step: step.id,
    wave: step.wave,
    region: step.region,
    mode: step.mode,
    status,
    reason,
    judgedAt: new Date(timing.now).toISOString(),
    accounts: accounts.size,
    compliantAccounts: [...accounts].filter((account) => !nonCompliant.has(account) && !notEvaluated.has(account)).length,
    nonCompliantAccounts: [...nonCompliant].sort(),
    nonCompliantResources: resources,
    notEvaluated: [...notEvaluated].sort(),
    evaluationLimitExceeded: limitExceeded,
    violators,
    violatorsLeftOut: found - violators.length,
    violationsByReason,
    breaches,
  });

  const soakEnds = soakEnd(step, timing);
  if (soakEnds !== undefined) {
    return { ...report('waiting', `soaking until ${new Date(soakEnds).toISOString()}`), soakEndsAt: new Date(soakEnds).toISOString() };
  }
  if (notEvaluated.size > 0) {
    if (!timedOut) return report('waiting', `waiting for FMS to evaluate ${notEvaluated.size} account(s) after the change`);
    return report('failed', `${notEvaluated.size} account(s) were not evaluated after the change within ${formatMs(step.gates.timeout)}`, [
      `${notEvaluated.size} account(s) not evaluated in time`,
    ]);
  }

  const breaches = thresholdBreaches(step, nonCompliant.size, resources, violationsByReason);
  if (breaches.length === 0) return report('passed', `${accounts.size} account(s) judged: ${nonCompliant.size} non-compliant, ${resources} non-compliant resource(s), within the gates`);
  if (step.mode === 'remediate' && !timedOut) {
    return report('waiting', `remediation in progress: ${breaches.join('; ')}`, breaches);
  }
  return report('failed', breaches.join('; '), breaches);
}

/** While the wave soaks (its last change was less than the soak time ago): when the soak ends (ms). */
export function soakEnd(step: GateStep, timing: GateTiming): number | undefined {
  const lastChange = Math.max(0, ...Object.values(timing.changedAt));
  return lastChange > 0 && timing.now < lastChange + step.soakTimeMs ? lastChange + step.soakTimeMs : undefined;
}

/** Since when the gate waits (ms): the later of the wave's last change and `waitingSince`. */
export function waitingFrom(timing: GateTiming): number {
  return Math.max(0, ...Object.values(timing.changedAt), timing.waitingSince);
}

/** Whether the gate's timeout, counted from waitingFrom, has passed. */
export function gateTimedOut(step: GateStep, timing: GateTiming): boolean {
  return timing.now >= waitingFrom(timing) + step.gates.timeout;
}

/** Whether FMS has evaluated the account since its policy changed at `changedAt` (ms; undefined: this wave did not change it). */
export function evaluatedSince(entry: AccountCompliance, changedAt: number | undefined): boolean {
  if (entry.status === 'NOT_EVALUATED') return false;
  return changedAt === undefined || (entry.evaluatedAt !== undefined && Date.parse(entry.evaluatedAt) >= changedAt);
}

/**
 * Why the gate waits whatever the accounts not read yet say, from those read so far (of its
 * accounts), if it does, so a look reading page by page may stop: before the timeout, an account
 * read is not evaluated since its policy's change, or, in a remediate wave, those read breach a
 * count threshold already (counts only grow with more accounts, and the wave waits on a breach).
 * `checkedBefore`: how many of `read` an earlier call has seen (and answered undefined for).
 */
export function waitsWhateverTheRest(step: GateStep, read: readonly AccountCompliance[], timing: GateTiming, checkedBefore = 0): string | undefined {
  if (gateTimedOut(step, timing)) return undefined;
  // Those before `checkedBefore` were all evaluated since the change (an earlier call said so):
  // a read page by page checks each page's evaluation times once, not every page's again.
  for (let i = checkedBefore; i < read.length; i++) {
    const entry = read[i]!;
    if (!evaluatedSince(entry, timing.changedAt[entry.policy])) return 'an account FMS has not evaluated since the change';
  }
  if (step.mode !== 'remediate') return undefined;
  const nonCompliant = new Set(read.filter((entry) => entry.status === 'NON_COMPLIANT' || entry.evaluationLimitExceeded).map((entry) => entry.account));
  const resources = read.reduce((sum, entry) => sum + Math.max(entry.violatorCount, entry.violators.length), 0);
  const breaches = thresholdBreaches(step, nonCompliant.size, resources, {});
  return breaches.length > 0 ? `remediation in progress: ${breaches.join('; ')}` : undefined;
}

/**
 * Whether a judgement needs the violators (GetComplianceDetail per non-compliant account) and
 * not only the counts ListComplianceStatus gives: when the gate halts on violation reasons, or
 * when it failed and its report shows why. Never while it soaks or waits for evaluations:
 * those violators would be read again at the next look.
 */
export function needsViolators(step: GateStep, report: GateReport): boolean {
  if (report.soakEndsAt !== undefined || report.notEvaluated.length > 0) return false;
  if (report.nonCompliantAccounts.length === 0) return false;
  return step.gates.haltOnViolationReasons.length > 0 || report.status === 'failed';
}

function thresholdBreaches(step: GateStep, nonCompliantAccounts: number, resources: number, byReason: Readonly<Record<string, number>>): string[] {
  const breaches: string[] = [];
  const { maxNonCompliantAccounts, maxNonCompliantResources, haltOnViolationReasons } = step.gates;
  if (maxNonCompliantAccounts !== undefined && nonCompliantAccounts > maxNonCompliantAccounts) {
    breaches.push(`${nonCompliantAccounts} non-compliant account(s), more than the gate's ${maxNonCompliantAccounts}`);
  }
  if (maxNonCompliantResources !== undefined && resources > maxNonCompliantResources) {
    breaches.push(`${resources} non-compliant resource(s), more than the gate's ${maxNonCompliantResources}`);
  }
  if (step.mode === 'remediate' && nonCompliantAccounts > step.toleratedFailures) {
    breaches.push(`${nonCompliantAccounts} account(s) still non-compliant after remediation, more than the region's failure tolerance of ${step.toleratedFailures}`);
  }
  const halting = new Set<string>(haltOnViolationReasons);
  for (const [reason, count] of Object.entries(byReason)) {
    if (halting.has(reason)) breaches.push(`${count} resource(s) with violation ${reason}, on which the gate halts`);
  }
  return breaches;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}


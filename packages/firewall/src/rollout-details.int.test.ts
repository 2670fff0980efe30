import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { harnessTest } from '../test/harness-fixture.js';
import { firewallRolloutDetailsJob, FIREWALL_DETAILS_QUEUE } from './rollout-jobs.js';
import { readRolloutSource } from './rollout-loader.js';
import { writeTree } from '../test/rollout-harness.js';

/**
 * A gate's detail reads as jobs of their own: a gate over 400 accounts, most of them
 * non-compliant, halting on a violation reason, so every non-compliant account's
 * GetComplianceDetail is read. The batches are shared by two workers, and each account's
 * evaluation is read once (from the sandbox's request log, which names the account read).
 */
const test = harnessTest.override({ sandboxOptions: { accounts: 400, ous: 10, seed: 4, timeScale: 0.001 } });
/** Enough accounts for 14 batches a region: a slot is handed on at every batch's end, each a chance for the old order to go wrong. */
const wideTest = harnessTest.override({ sandboxOptions: { accounts: 2000, ous: 10, seed: 4, timeScale: 0.001 } });

const SHIELD = 'name: shield\ntype: SHIELD_ADVANCED\nresourceTypes: [alb, eip]\nregions: [eu-west-1]\n';
const WAF = 'name: waf\ntype: WAFV2\nresourceTypes: [alb]\nregions: [eu-west-1]\nwebACLSource: RETROFIT_EXISTING\nrules: { defaultAction: ALLOW }\n';
const ROLLOUT = `kind: Rollout
name: details
policies: [shield.yaml, waf.yaml]
waves:
  - { name: look, targets: { all: true }, mode: audit, gates: { haltOnViolationReasons: [RESOURCE_INCORRECT_WEB_ACL], timeout: 60s } }
`;

describe('detail batches', () => {
  test("a gate's detail reads are batch jobs both workers take, each evaluation read once", { timeout: 120_000 }, async ({ sandbox, harness }) => {
    // One job at a time each, so neither can take every batch while the other waits.
    await harness.startWorker({ name: 'one', concurrency: 1 });
    await harness.startWorker({ name: 'two', concurrency: 1 });
    const root = await writeTree({ 'shield.yaml': SHIELD, 'waf.yaml': WAF, 'rollout.yaml': ROLLOUT });
    const { rolloutId } = await harness.control.submit(await readRolloutSource(join(root, 'rollout.yaml')));
    // At rest about 15 s; at load 12 the start job alone took 28 s.
    const settled = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 110_000 });
    expect(['completed', 'halted']).toContain(settled.status);

    const [gate] = (await harness.control.view(rolloutId)).gates;
    expect(gate?.status).not.toBe('waiting');
    const nonCompliant = gate?.nonCompliantAccounts.length ?? 0;
    expect(nonCompliant).toBeGreaterThan(250);

    // Each account's evaluation read once per policy: no batch read twice, no account left out.
    const reads = sandbox.requests().filter((entry) => entry.operation === 'GetComplianceDetail');
    const read = reads.map((entry) => entry.resources?.[0] ?? '?');
    expect(reads.every((entry) => entry.status === 200)).toBe(true);
    expect(new Set(read).size).toBe(read.length);
    expect(new Set(read.map((key) => key.split('/')[1])).size).toBe(nonCompliant);
    // What the report counts is what was read, once: every violator counted once.
    const counted = Object.values(gate?.violationsByReason ?? {}).reduce((sum, count) => sum + count, 0);
    expect(counted).toBe((gate?.violators.length ?? 0) + (gate?.violatorsLeftOut ?? 0));
    expect(gate?.violatorsLeftOut).toBeGreaterThan(0);

    // The reads ran as batch jobs of about 250 accounts, and both workers took some.
    const batches = (await harness.queues.queue(FIREWALL_DETAILS_QUEUE).getJobs(['completed'])).filter((job) => job.name === firewallRolloutDetailsJob.name);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(read.length / 350));
    expect(batches.reduce((sum, job) => sum + (job.returnvalue as { read: number }).read, 0)).toBe(read.length);
    expect(new Set(batches.map((job) => job.processedBy))).toEqual(new Set(['one', 'two']));
  });

  test('a look reads no compliance while the wave soaks', { timeout: 120_000 }, async ({ sandbox, harness }) => {
    await harness.startWorker({ name: 'one' });
    const root = await writeTree({ 'shield.yaml': SHIELD, 'waf.yaml': WAF, 'rollout.yaml': ROLLOUT.replace('mode: audit, gates', 'mode: audit, soakTime: 1s, gates') });
    const { rolloutId } = await harness.control.submit(await readRolloutSource(join(root, 'rollout.yaml')));
    const settled = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 110_000 });
    expect(['completed', 'halted'], settled.message).toContain(settled.status);

    // The gate's first look comes as the last put is done, and finds the wave soaking: it reads nothing.
    const requests = sandbox.requests();
    const changed = Math.max(...requests.filter((entry) => entry.operation === 'PutPolicy').map((entry) => entry.t));
    const lists = requests.filter((entry) => entry.operation === 'ListComplianceStatus').map((entry) => entry.t - changed);
    expect(lists.filter((at) => at < 900)).toEqual([]);
    expect(lists.length).toBeGreaterThan(0);
  });

  wideTest("a free slot takes the next batch of a region with none under way before a second batch of another region", { timeout: 240_000 }, async ({ sandbox, harness }) => {
    // As many slots as regions: taken by batch order alone, a slot freed by one region's batch
    // would take the other region's next one while this region's next waits.
    await harness.startWorker({ name: 'one', concurrency: 2 });
    const regions = '[eu-west-1, us-east-1]';
    const root = await writeTree({
      'shield.yaml': SHIELD.replace('[eu-west-1]', regions),
      'waf.yaml': WAF.replace('[eu-west-1]', regions),
      'rollout.yaml': ROLLOUT.replace('policies: [shield.yaml, waf.yaml]', `policies: [shield.yaml, waf.yaml]\nregions: { order: ${regions}, concurrency: parallel }`).replace('timeout: 60s', 'timeout: 200s'),
    });
    const { rolloutId } = await harness.control.submit(await readRolloutSource(join(root, 'rollout.yaml')));
    const settled = await harness.control.waitUntilSettled(rolloutId, { timeoutMs: 220_000 });
    expect(['completed', 'halted']).toContain(settled.status);

    const batches = (await harness.queues.queue(FIREWALL_DETAILS_QUEUE).getJobs(['completed'])).filter((job) => job.name === firewallRolloutDetailsJob.name);
    // When each evaluation's read (GetComplianceDetail of `<policy id>/<account>` in a region) was answered.
    const reads = sandbox.requests().filter((entry) => entry.operation === 'GetComplianceDetail');
    const answered = new Map<string, number>();
    for (const entry of reads) answered.set(`${entry.region}/${entry.resources?.[0] ?? '?'}`, entry.t + entry.latencyMs);
    // Per gate (one a region, its step `look.<region>.gate`), each batch's time queued (timestamp), started
    // (processedOn) and done reading: its evaluations' reads all answered. Not its job's end (finishedOn):
    // after its reads a batch moves its gate's next ahead, and a slot another batch frees then rightly
    // takes that one while this job still looks under way. A batch that read nothing (another batch
    // read its evaluations first) was never under way: it ended as it began.
    const spans = new Map<string, { added: number; start: number; end: number; read: number }[]>();
    for (const job of batches) {
      const { step, policyId, evaluations } = job.data as { step: string; policyId: string; evaluations: { account: string }[] };
      const region = step.split('.')[1];
      const start = job.processedOn ?? 0;
      const count = (job.returnvalue as { read: number }).read;
      const end = count > 0 ? Math.max(start, ...evaluations.map(({ account }) => answered.get(`${region}/${policyId}/${account}`) ?? 0)) : start;
      spans.set(step, [...(spans.get(step) ?? []), { added: job.timestamp, start, end, read: count }].sort((x, y) => x.start - y.start));
    }
    expect(spans.size).toBe(2);
    const violations: string[] = [];
    for (const [gate, own] of spans) {
      // A look that found the gate still waiting leaves its batches queued, and the next look's,
      // grouped from shifted pages, read their evaluations first; those left find them all cached
      // and end in milliseconds, reading none: judged are the batches that read.
      const reading = own.filter((batch) => batch.read > 0);
      expect(reading.length, gate).toBeGreaterThanOrEqual(10);
      const theirs = [...spans].filter(([other]) => other !== gate).flatMap(([, batches]) => batches);
      for (const batch of reading) {
        const at = batch.start;
        const besideOwn = own.some((other) => other !== batch && other.start <= at && other.end > at);
        // The other region had none under way and one queued: its batch was the next, and should have had the slot.
        const otherUnderWay = theirs.some((other) => other.start <= at && other.end > at);
        const otherWaiting = theirs.some((other) => other.added < at && other.start > at);
        if (besideOwn && !otherUnderWay && otherWaiting) violations.push(`${gate}: a batch started at ${at} beside another of its region, while the other region had none under way and one queued`);
      }
    }
    // None is let pass: a gate has one next batch at most, a later look's included (see promoteNext).
    expect(violations, violations.join('\n')).toEqual([]);
    // Each evaluation still read once.
    const read = reads.map((entry) => `${entry.region}/${entry.resources?.[0] ?? '?'}`);
    expect(new Set(read).size).toBe(read.length);
    expect(batches.reduce((sum, job) => sum + (job.returnvalue as { read: number }).read, 0)).toBe(read.length);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartRecoveryCommand } from '@aws-sdk/client-drs';
import { describe, expect, it, vi } from 'vitest';
import { drsPlan, HEALTHY_BODY_PREFIX, holdDrsServer, releaseDrsServer, type RunningSandbox } from '@orgshield/sandbox';
import { sandboxWebDrill, withSandboxDrills, type DrillHarness } from '../test/drill-runtime.js';
import type { DrillSource } from './drill-loader.js';

/**
 * Checks a user acceptance test needs, and servers another DRS job holds, on the sandbox:
 * HTTPS against a CA made here with Debian's openssl (no certificate is fetched or committed),
 * and the wait behind a DRS job holding a server (the sandbox keeps that job running until the
 * test lets it end).
 */

/** A test CA, a certificate it signs for app.drill.test, and a second CA that signed nothing. */
function makeCertificates(): { ca: string; otherCa: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'orgshield-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=orgshield test CA');
  openssl('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=another test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=app.drill.test');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:app.drill.test\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { ca: read('ca.pem'), otherCa: read('other-ca.pem'), cert: read('server.pem'), key: read('server.key') };
}

const certificates = makeCertificates();

/** A drill over the three drill accounts' `web-N` servers (or those named); `waves` says what each checks. */
function webDrill(sandbox: RunningSandbox, waves: unknown[], options: { caFiles?: Record<string, string>; hostnames?: string[] } = {}): DrillSource {
  return sandboxWebDrill(sandbox, { name: 'checks', ...options, fields: { waves } });
}

const SANDBOX = { accounts: 12, ous: 4, seed: 1, timeScale: 0.001 };

describe('drill checks', () => {
  it('HTTPS: the drill CA verifies the certificate; another CA or another name fail with the reason; without a CA the report says it did not verify', { timeout: 120_000 }, () =>
    withSandboxDrills({ sandbox: { ...SANDBOX, drs: { tls: { cert: certificates.cert, key: certificates.key } } } }, async (sandbox, harness) => {
    const https = { type: 'https', port: 8443, path: '/', expectStatus: 200, expectBody: HEALTHY_BODY_PREFIX };
    const source = webDrill(
      sandbox,
      [
        { name: 'verified', servers: { hostnames: ['web-0.corp.example.com'] }, checks: [{ ...https, name: 'with-ca', ca: 'ca.pem', serverName: 'app.drill.test' }, { ...https, name: 'without-ca' }] },
        { name: 'wrong-ca', servers: { hostnames: ['web-1.corp.example.com'] }, checks: [{ ...https, ca: 'other-ca.pem', serverName: 'app.drill.test' }], checkTimeout: '10m' },
        { name: 'wrong-name', servers: { hostnames: ['web-2.corp.example.com'] }, checks: [{ ...https, ca: 'ca.pem', serverName: 'intranet.drill.test' }], checkTimeout: '10m' },
      ],
      { caFiles: { 'ca.pem': certificates.ca, 'other-ca.pem': certificates.otherCa } },
    );
    const { drillId } = await harness.control.submit(source);
    const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 90_000, pollMs: 100 });
    expect(state.status, state.message).toBe('completed');
    const report = await harness.control.report(drillId);
    const byHost = new Map(report.servers.map((server) => [server.hostname, server]));
    const verified = byHost.get('web-0');
    expect(verified?.status, verified?.reason).toBe('passed');
    expect(verified?.checks.map((check) => [check.name, check.passed, check.certificate])).toEqual([
      ['with-ca', true, 'verified'],
      ['without-ca', true, 'not verified'],
    ]);
    expect(byHost.get('web-1')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^check https:8443\/ \(the certificate of 127\.\d+\.\d+\.\d+:8443 is not signed by the drill's CA other-ca\.pem \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\), \d+ tries\) did not pass within 600s of launch$/),
    });
    expect(byHost.get('web-2')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/the certificate of 127\.\d+\.\d+\.\d+:8443 is not for intranet\.drill\.test \(ERR_TLS_CERT_ALTNAME_INVALID\)/),
    });
    }));

  /**
   * web-0 of the first drill account, and a DRS client there: the server another job holds. The
   * sandbox holds that job STARTED (holdDrsServer) until the test releases it, so how long it is
   * in the way is decided here, not by the machine's load.
   */
  function heldServer(sandbox: RunningSandbox, harness: DrillHarness) {
    const plan = drsPlan(sandbox.world);
    const account = plan.drillAccountIds[0] as string;
    const drs = harness.executor['runtime'].clients().drs(account, plan.drillRegion);
    const web = plan.servers.find((server) => server.accountId === account && server.hostname.startsWith('web-0'));
    if (!web) throw new Error(`the sandbox has no web-0 in ${account}`);
    holdDrsServer(sandbox.world, { sourceServerID: web.sourceServerID });
    return { account, web, drs };
  }
  const drsCalls = (sandbox: RunningSandbox, operation: string) => sandbox.requests().filter((entry) => entry.service === 'drs' && entry.operation === operation);

  it('a server another DRS job holds is waited for while DescribeJobs shows the job running, then launched once: never two launches at once', { timeout: 150_000 }, () =>
    // The drill would wait a week (simulated) for it: only the job's end lets it go on.
    withSandboxDrills({ sandbox: SANDBOX, harness: { holdTimeoutMs: 7 * 24 * 3600_000 } }, async (sandbox, harness) => {
    const { web, drs } = heldServer(sandbox, harness);
    const other = await drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [{ sourceServerID: web.sourceServerID }], tags: { owner: 'someone else' } }));
    const { drillId } = await harness.control.submit(webDrill(sandbox, [{ name: 'all', checks: [{ type: 'http', port: 8080 }] }], { hostnames: ['web-0.corp.example.com'] }));
    const waiting = `waiting for DRS job ${other.job?.jobID ?? '?'}, which holds ${web.sourceServerID}`;
    const messages = async () => (await harness.control.store.events(drillId)).events.map((event) => event.message);
    await vi.waitUntil(async () => (await messages()).some((message) => message.includes(waiting)), { timeout: 60_000, interval: 100 });
    // While the job holds the server the drill keeps reading DescribeJobs and sends no StartRecovery of its own.
    const looks = drsCalls(sandbox, 'DescribeJobs').length;
    await vi.waitUntil(() => drsCalls(sandbox, 'DescribeJobs').length >= looks + 3, { timeout: 60_000, interval: 50 });
    expect(drsCalls(sandbox, 'StartRecovery')).toHaveLength(1);
    expect((await harness.control.store.state(drillId))?.status).toBe('running');

    releaseDrsServer(sandbox.world, { sourceServerID: web.sourceServerID });
    const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 90_000, pollMs: 100 });
    expect(state.status, state.message).toBe('completed');
    const report = await harness.control.report(drillId);
    expect(report.servers.map((server) => server.status)).toEqual(['passed']);
    expect((await messages()).filter((message) => message.includes(waiting))).toHaveLength(1);
    // The other job's and the drill's: the drill's came after the other job ended, and DRS never answered it with a conflict.
    expect(drsCalls(sandbox, 'StartRecovery').map((entry) => [entry.resources, entry.status])).toEqual([
      [[web.sourceServerID], 202],
      [[web.sourceServerID], 202],
    ]);
    const terminated = sandbox.requests().filter((entry) => entry.operation === 'TerminateRecoveryInstances').flatMap((entry) => entry.resources ?? []);
    expect(terminated).toEqual([report.servers[0]?.recoveryInstanceId]);
    }));

  it('a server held longer than the drill waits is reported and not launched', { timeout: 150_000 }, () =>
    withSandboxDrills({ sandbox: SANDBOX, harness: { holdTimeoutMs: 10 * 60_000 } }, async (sandbox, harness) => {
    const { account, web, drs } = heldServer(sandbox, harness);
    const other = await drs.send(new StartRecoveryCommand({ isDrill: true, sourceServers: [{ sourceServerID: web.sourceServerID }] }));
    const { drillId } = await harness.control.submit(webDrill(sandbox, [{ name: 'all' }], { hostnames: ['web-0.corp.example.com'] }));
    const state = await harness.control.waitUntilSettled(drillId, { timeoutMs: 120_000, pollMs: 200 });
    expect(state.status, state.message).toBe('completed');
    const report = await harness.control.report(drillId);
    expect(report.servers).toEqual([
      expect.objectContaining({ status: 'skipped', reason: `server ${web.sourceServerID} in ${account} stayed held by DRS job ${other.job?.jobID ?? '?'}, so it was not launched` }),
    ]);
    expect(drsCalls(sandbox, 'StartRecovery')).toHaveLength(1);
    expect(sandbox.requests().filter((entry) => entry.operation === 'TerminateRecoveryInstances')).toEqual([]);
    }));
});

import { execFile } from 'node:child_process';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { requireTools } from '../../../../vitest.global-setup.js';
import { drsPlan } from '../world/seeded-drs.js';

/**
 * The AWS CLI against the sandbox, as an operator would run it. Needs `aws` on the PATH: the
 * test setup installs Debian's awscli when it is missing (the project asks with `tools: ['aws']`);
 * where it cannot, the test fails saying so, rather than skip and prove nothing.
 */
let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, accounts: 12, ous: 3, seed: 5 });
});
afterAll(() => sandbox.close());

function runCli(args: string[], credentials: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    AWS_ACCESS_KEY_ID: credentials.AccessKeyId ?? '',
    AWS_SECRET_ACCESS_KEY: credentials.SecretAccessKey ?? '',
    AWS_SESSION_TOKEN: credentials.SessionToken ?? '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PAGER: '',
  };
  return new Promise((resolve) => {
    execFile('aws', [...args, '--endpoint-url', sandbox.url, '--region', 'us-east-1', '--output', 'json'], { env, timeout: 170_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('aws drs through the CLI', () => {
  it('has the AWS CLI to run', () => {
    requireTools(['aws']);
  });

  // Each CLI call starts a Python interpreter: seconds apiece on a busy machine.
  it('describe-source-servers returns what the SDK sees, and the management account is uninitialized', { timeout: 180_000 }, async () => {
    const plan = drsPlan(sandbox.world);
    const [accountId] = plan.drillAccountIds;
    const sts = new STSClient(sandbox.clientConfig());
    const session = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'cli' }))).Credentials ?? {};
    sts.destroy();
    const listed = await runCli(['drs', 'describe-source-servers'], session);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const items = (JSON.parse(listed.stdout) as { items: { sourceServerID: string; dataReplicationInfo: { dataReplicationState: string } }[] }).items;
    const seeded = plan.servers.filter((s) => s.accountId === accountId && s.region === 'us-east-1');
    expect(items.map((s) => s.sourceServerID).sort()).toEqual(seeded.map((s) => s.sourceServerID).sort());
    expect(items.find((s) => s.sourceServerID === plan.named.stalled[0])?.dataReplicationInfo.dataReplicationState).toBe('STALLED');

    const management = await runCli(['drs', 'describe-source-servers'], { AccessKeyId: 'AKIACLIMANAGEMENT001', SecretAccessKey: 'test' });
    expect(management.code).not.toBe(0);
    expect(management.stderr).toContain('UninitializedAccountException');
  });
});

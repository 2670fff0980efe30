import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../sandbox-server.js';
import { recordingPlan } from '../world/seeded-recordings.js';

/** The AWS CLI (Debian's awscli) against the sandbox: the CLI must be able to talk to it. */
const run = promisify(execFile);
const running: RunningSandbox[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

describe('the AWS CLI', () => {
  // Each CLI call starts a Python interpreter: seconds apiece on a busy machine.
  it('describes the seeded AppStream fleets and stacks of a member account', { timeout: 180_000 }, async () => {
    const sandbox = await startSandbox({ port: 0, accounts: 8, ous: 1, seed: 2 });
    running.push(sandbox);
    const account = recordingPlan(sandbox.world).accounts[0];
    if (!account) throw new Error('recordings are seeded');
    const c = (await new STSClient(sandbox.clientConfig()).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account.accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'cli-test' }))).Credentials;
    // Older CLIs ignore AWS_ENDPOINT_URL, so the endpoint is passed as --endpoint-url; no local profile is read.
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      AWS_ACCESS_KEY_ID: c?.AccessKeyId ?? '',
      AWS_SECRET_ACCESS_KEY: c?.SecretAccessKey ?? '',
      AWS_SESSION_TOKEN: c?.SessionToken ?? '',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_PAGER: '',
    };
    const aws = async (...args: string[]) => JSON.parse((await run('aws', [...args, '--endpoint-url', sandbox.url, '--region', 'us-east-1', '--output', 'json'], { env })).stdout) as Record<string, unknown>;

    const fleets = (await aws('appstream', 'describe-fleets')) as { Fleets: { Name: string; State: string; IamRoleArn?: string }[] };
    expect(fleets.Fleets.map((f) => f.Name).sort()).toEqual(account.fleets.map((f) => f.name).sort());
    expect(fleets.Fleets.find((f) => f.Name === 'recorded-fleet')).toMatchObject({ State: 'RUNNING', IamRoleArn: account.roleArn });
    const stacks = (await aws('appstream', 'describe-stacks')) as { Stacks: { Name: string }[] };
    expect(stacks.Stacks.map((s) => s.Name).sort()).toEqual(account.fleets.map((f) => f.stack).sort());
    const sessions = (await aws('appstream', 'describe-sessions', '--stack-name', 'admin-stack', '--fleet-name', 'recorded-fleet')) as { Sessions: { Id: string }[] };
    expect(sessions.Sessions.map((s) => s.Id).sort()).toEqual(account.sessions.filter((s) => s.current && s.fleet === 'recorded-fleet').map((s) => s.id).sort());
    // An error comes back as the CLI shows AppStream's own.
    await expect(aws('appstream', 'describe-stacks', '--names', 'no-such-stack')).rejects.toThrow(/ResourceNotFoundException/);
    const versions = (await aws('s3api', 'list-object-versions', '--bucket', account.bucket, '--prefix', 'recordings/', '--max-items', '5')) as { Versions?: unknown[] };
    expect(versions.Versions?.length).toBeGreaterThan(0);
  });
});

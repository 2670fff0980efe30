import { createServer } from 'node:net';
import { ListRootsCommand, OrganizationsClient, TagResourceCommand } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsClientFactory, isMutatingOperation, serviceKey, type MutationAuditEntry } from './client-factory.js';
import { InvalidInputError } from '@orgshield/errors';
import { CredentialsMissingError, EndpointUnreachableError } from './errors.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

/** A port nobody listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

let factory: AwsClientFactory | undefined;
afterEach(() => factory?.destroy());

describe('isMutatingOperation', () => {
  it('treats reads as reads and everything else as a change', () => {
    for (const op of ['GetPolicy', 'ListRoots', 'DescribeOrganization', 'BatchGetGraphMemberDatasources', 'CheckCapacity', 'SearchGraphs', 'HeadObject']) {
      expect(isMutatingOperation(op)).toBe(false);
    }
    for (const op of ['PutPolicy', 'DeletePolicy', 'TagResource', 'AssumeRole', 'StartInvestigation', 'Listen', 'Getaway']) {
      expect(isMutatingOperation(op)).toBe(true);
    }
  });
});

describe('serviceKey', () => {
  it('spells services as AWS_ENDPOINT_URL_<SERVICE> does, lower case', () => {
    expect(serviceKey('Organizations')).toBe('organizations');
    expect(serviceKey('WAFV2')).toBe('wafv2');
    expect(serviceKey('AppStream')).toBe('appstream');
  });
});

describe('AwsClientFactory', () => {
  it('shares one client per service, account and region', () => {
    factory = new AwsClientFactory({ region: 'us-east-1', credentials });
    const a = factory.client(OrganizationsClient);
    expect(factory.client(OrganizationsClient)).toBe(a);
    expect(factory.client(OrganizationsClient, { region: 'eu-west-1' })).not.toBe(a);
    expect(factory.client(OrganizationsClient, { accountId: '222222222222' })).not.toBe(a);
  });

  it('makes a fresh client in place of the shared one on request, and closes both when destroyed', () => {
    factory = new AwsClientFactory({ region: 'us-east-1', credentials });
    const a = factory.client(OrganizationsClient);
    const fresh = factory.client(OrganizationsClient, {}, { fresh: true });
    expect(fresh).not.toBe(a);
    expect(factory.client(OrganizationsClient)).toBe(fresh);
    const destroyed: unknown[] = [];
    for (const client of [a, fresh]) client.destroy = () => void destroyed.push(client);
    factory.destroy();
    expect(destroyed).toEqual([fresh, a]);
    factory = undefined;
  });

  it('refuses to guess a region', () => {
    const saved = process.env['AWS_REGION'];
    delete process.env['AWS_REGION'];
    try {
      factory = new AwsClientFactory({ credentials });
      expect(() => factory!.client(OrganizationsClient)).toThrow(InvalidInputError);
      expect(() => factory!.client(OrganizationsClient)).toThrow(/AWS_REGION/);
    } finally {
      if (saved !== undefined) process.env['AWS_REGION'] = saved;
    }
  });

  it('passes an explicit endpoint and the retry settings to the client, path-style for S3', async () => {
    factory = new AwsClientFactory({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:4566', maxAttempts: 7, retryMode: 'standard' });
    const s3 = factory.client(S3Client);
    expect(s3.config.forcePathStyle).toBe(true);
    expect(await s3.config.maxAttempts()).toBe(7);
    const modeOf = async (client: S3Client): Promise<string> => {
      const mode: string | (() => Promise<string>) = client.config.retryMode;
      return typeof mode === 'string' ? mode : mode();
    };
    expect(await modeOf(s3)).toBe('standard');
    const endpoint = await s3.config.endpoint?.();
    expect(endpoint?.hostname).toBe('127.0.0.1');
    // Without a setting (and without AWS_RETRY_MODE), clients slow down on throttles: adaptive.
    if (process.env['AWS_RETRY_MODE'] === undefined) {
      expect(await modeOf(new AwsClientFactory({ region: 'us-east-1', credentials, endpoint: 'http://127.0.0.1:4566' }).client(S3Client))).toBe('adaptive');
    }
  });

  it('fails fast with one sentence when nothing listens at the endpoint, after its retries', async () => {
    const port = await closedPort();
    const audit: MutationAuditEntry[] = [];
    factory = new AwsClientFactory({
      region: 'us-east-1',
      credentials,
      endpoint: `http://127.0.0.1:${port}`,
      callerAccountId: '111111111111',
      onMutation: (entry) => audit.push(entry),
    });
    const organizations = factory.client(OrganizationsClient);
    const started = Date.now();
    const error = await organizations.send(new ListRootsCommand({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect((error as Error).message).toBe(
      `the AWS endpoint http://127.0.0.1:${port} for organizations:ListRoots is unreachable: check AWS_ENDPOINT_URL and your network, or start the sandbox (orgshield sandbox start).`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);

    // a failed change is still a change someone tried: it is audited, with the error
    await organizations.send(new TagResourceCommand({ ResourceId: '222222222222', Tags: [] })).catch(() => undefined);
    expect(audit).toEqual([
      expect.objectContaining({ phase: 'before', service: 'organizations', operation: 'TagResource', accountId: '111111111111', region: 'us-east-1', resource: '222222222222' }),
      expect.objectContaining({ phase: 'after', service: 'organizations', operation: 'TagResource', accountId: '111111111111', result: 'error', error: 'ECONNREFUSED' }),
    ]);
    expect(audit[0]?.who).toEqual({ arn: 'unknown', accountId: '111111111111' });
    // The audit entry's "who" asked STS (unreachable too, so it is unknown).
    expect(factory.usedOperations()).toEqual(['organizations:ListRoots', 'organizations:TagResource', 'sts:GetCallerIdentity']);
  });

  it('says how to provide credentials when the standard chain finds none', async () => {
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
    Object.assign(process.env, {
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    try {
      factory = new AwsClientFactory({ region: 'us-east-1', endpoint: `http://127.0.0.1:${await closedPort()}` });
      const error = await factory.client(OrganizationsClient).send(new ListRootsCommand({})).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CredentialsMissingError);
      expect((error as CredentialsMissingError).exitCode).toBe(2);
    } finally {
      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('AwsClientFactory clients per session', () => {
  it('keeps one client per credentials provider, and retire() drops a finished session\'s clients', async () => {
    factory = new AwsClientFactory({ region: 'us-east-1' });
    const jobOne = async () => ({ ...credentials, accountId: '222222222222' });
    const jobTwo = async () => ({ ...credentials, accountId: '222222222222' });
    const one = factory.client(OrganizationsClient, { accountId: '222222222222', credentials: jobOne });
    expect(factory.client(OrganizationsClient, { accountId: '222222222222', credentials: jobOne })).toBe(one);
    expect(factory.client(OrganizationsClient, { accountId: '222222222222', credentials: jobTwo })).not.toBe(one);
    let destroyed = 0;
    const destroy = one.destroy.bind(one);
    one.destroy = () => {
      destroyed += 1;
      destroy();
    };
    factory.retire(jobOne, { graceMs: 10 });
    expect(factory.client(OrganizationsClient, { accountId: '222222222222', credentials: jobOne })).not.toBe(one);
    expect(destroyed).toBe(0); // calls in flight get their grace period
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(destroyed).toBe(1);
  });
});

import {
  AccessDeniedException,
  DescribeAccountCommand,
  InvalidInputException,
  ListAccountsCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  paginateListAccountsForParent,
  paginateListOrganizationalUnitsForParent,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-organizations';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, vi } from 'vitest';
import { sandboxTest as test } from './fixture.js';
import type { RunningSandbox } from './sandbox-server.js';

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

function config(sandbox: RunningSandbox, credentials?: Credentials) {
  const env = sandbox.env();
  return {
    endpoint: env['AWS_ENDPOINT_URL'],
    region: 'us-east-1',
    credentials: credentials ?? { accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? '', secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '' },
    maxAttempts: 1,
  };
}

async function assumeMember(sandbox: RunningSandbox, accountId: string): Promise<Credentials> {
  const sts = new STSClient(config(sandbox));
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'int-test', DurationSeconds: 900 }),
  );
  return { accessKeyId: Credentials?.AccessKeyId ?? '', secretAccessKey: Credentials?.SecretAccessKey ?? '', sessionToken: Credentials?.SessionToken ?? '' };
}

function activeMember(sandbox: RunningSandbox): string {
  const { accounts, managementAccountId } = sandbox.world.snapshot();
  const member = accounts.find((a) => a.status === 'ACTIVE' && a.id !== managementAccountId);
  if (!member) throw new Error('the seeded organization has no active member account');
  return member.id;
}

describe('Organizations through the SDK', () => {
  test('walks the whole tree top-down and finds the sandbox organization, tags included', async ({ sandbox }) => {
    const org = new OrganizationsClient(config(sandbox));
    const { Roots } = await org.send(new ListRootsCommand({}));
    const rootId = Roots?.[0]?.Id ?? '';
    const ous: { id: string; name: string; parentId: string }[] = [];
    const accounts: { id: string; parentId: string; status: string; tags: Record<string, string> }[] = [];
    const walk = async (parentId: string): Promise<void> => {
      for await (const page of paginateListAccountsForParent({ client: org, pageSize: 3 }, { ParentId: parentId })) {
        for (const account of page.Accounts ?? []) {
          const { Tags } = await org.send(new ListTagsForResourceCommand({ ResourceId: account.Id }));
          accounts.push({
            id: account.Id ?? '',
            parentId,
            status: account.Status ?? '',
            tags: Object.fromEntries((Tags ?? []).map((t) => [t.Key, t.Value])),
          });
        }
      }
      for await (const page of paginateListOrganizationalUnitsForParent({ client: org, pageSize: 2 }, { ParentId: parentId })) {
        for (const ou of page.OrganizationalUnits ?? []) {
          ous.push({ id: ou.Id ?? '', name: ou.Name ?? '', parentId });
          await walk(ou.Id ?? '');
        }
      }
    };
    await walk(rootId);

    const snapshot = sandbox.world.snapshot();
    expect(rootId).toBe(snapshot.root.id);
    const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(ous)).toEqual(byId(snapshot.ous));
    expect(byId(accounts)).toEqual(byId(snapshot.accounts.map(({ id, parentId, status, tags }) => ({ id, parentId, status, tags }))));
    const { Parents } = await org.send(new ListParentsCommand({ ChildId: snapshot.ous[0]?.id }));
    expect(Parents).toEqual([{ Id: snapshot.ous[0]?.parentId, Type: snapshot.ous[0]?.parentId === rootId ? 'ROOT' : 'ORGANIZATIONAL_UNIT' }]);
  });

  test('pages ListAccounts at the real cap with opaque tokens, and refuses a forged one', async ({ sandbox }) => {
    const org = new OrganizationsClient(config(sandbox));
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await org.send(new ListAccountsCommand({ NextToken: token }));
      expect(page.Accounts?.length).toBeLessThanOrEqual(20);
      ids.push(...(page.Accounts ?? []).map((a) => a.Id ?? ''));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(ids).toEqual(sandbox.world.snapshot().accounts.map((a) => a.id));

    const first = await org.send(new ListAccountsCommand({ MaxResults: 5 }));
    const forged = Buffer.from('35').toString('base64url') + (first.NextToken ?? '').slice((first.NextToken ?? '').indexOf('.'));
    const error = await org.send(new ListAccountsCommand({ NextToken: forged })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputException);
    expect(error).toMatchObject({ Reason: 'INVALID_NEXT_TOKEN', $metadata: { httpStatusCode: 400 } });
  });

  test('answers bad input with typed InvalidInputException naming the member', async ({ sandbox }) => {
    const org = new OrganizationsClient(config(sandbox));
    const overCap = await org.send(new ListAccountsCommand({ MaxResults: 21 })).catch((e: unknown) => e);
    expect(overCap).toBeInstanceOf(InvalidInputException);
    expect(overCap).toMatchObject({ Reason: 'MAX_VALUE_EXCEEDED', message: expect.stringContaining("at 'maxResults'") });
    const badId = await org.send(new DescribeAccountCommand({ AccountId: '12345' })).catch((e: unknown) => e);
    expect(badId).toBeInstanceOf(InvalidInputException);
    expect(badId).toMatchObject({ Reason: 'INVALID_PATTERN', message: expect.stringContaining("Value '12345' at 'accountId'") });
    const unknown = await org.send(new DescribeAccountCommand({ AccountId: '000000000000' })).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ name: 'AccountNotFoundException', $metadata: { httpStatusCode: 400 } });
  });
});

describe('STS through the SDK', () => {
  test('AssumeRole into a member account changes who the caller is; Organizations refuses the member', async ({ sandbox }) => {
    const memberId = activeMember(sandbox);
    const before = await new STSClient(config(sandbox)).send(new GetCallerIdentityCommand({}));
    expect(before.Account).toBe(sandbox.world.org.managementAccountId);

    const credentials = await assumeMember(sandbox, memberId);
    expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    const after = await new STSClient(config(sandbox, credentials)).send(new GetCallerIdentityCommand({}));
    expect(after).toMatchObject({ Account: memberId, Arn: `arn:aws:sts::${memberId}:assumed-role/OrganizationAccountAccessRole/int-test` });

    const denied = await new OrganizationsClient(config(sandbox, credentials)).send(new ListRootsCommand({})).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AccessDeniedException);
  });

  test('refuses unknown roles, suspended accounts, bad session names and too long sessions', async ({ sandbox }) => {
    const sts = new STSClient(config(sandbox));
    const memberId = activeMember(sandbox);
    const assume = (input: { RoleArn: string; RoleSessionName?: string; DurationSeconds?: number; ExternalId?: string }) =>
      sts.send(new AssumeRoleCommand({ RoleSessionName: 'ok', ...input })).catch((e: unknown) => e);

    expect(await assume({ RoleArn: `arn:aws:iam::${memberId}:role/NoSuchRole` })).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const suspended = sandbox.world.snapshot().accounts.find((a) => a.status === 'SUSPENDED');
    sandbox.world.account(memberId);
    if (suspended) {
      expect(await assume({ RoleArn: `arn:aws:iam::${suspended.id}:role/OrganizationAccountAccessRole` })).toMatchObject({ name: 'AccessDenied' });
    }
    const badName = await assume({ RoleArn: `arn:aws:iam::${memberId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'has space' });
    expect(badName).toBeInstanceOf(STSServiceException);
    expect(badName).toMatchObject({ name: 'ValidationError', message: expect.stringContaining("at 'roleSessionName'"), $metadata: { httpStatusCode: 400 } });
    expect(await assume({ RoleArn: `arn:aws:iam::${memberId}:role/OrganizationAccountAccessRole`, DurationSeconds: 43_201 })).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("at 'durationSeconds'"),
    });
    expect(await assume({ RoleArn: `arn:aws:iam::${memberId}:role/OrganizationAccountAccessRole`, DurationSeconds: 7200 })).toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('MaxSessionDuration'),
    });
  });

  test('requires the ExternalId a role is configured with', async ({ sandbox }) => {
    const memberId = activeMember(sandbox);
    sandbox.world.account(memberId).putRole({ name: 'AuditRole', maxSessionDurationSeconds: 3600, trustedAccountIds: [sandbox.world.org.managementAccountId], externalId: 'ext-123' });
    const sts = new STSClient(config(sandbox));
    const RoleArn = `arn:aws:iam::${memberId}:role/AuditRole`;
    await expect(sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 's' + 'x' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'sx', ExternalId: 'wrong' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    const { AssumedRoleUser } = await sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: 'sx', ExternalId: 'ext-123' }));
    expect(AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${memberId}:assumed-role/AuditRole/sx`);
  });

  test('expired session credentials get ExpiredToken errors', async ({ sandbox }) => {
    const credentials = await assumeMember(sandbox, activeMember(sandbox));
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 901_000);
      await expect(new STSClient(config(sandbox, credentials)).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'ExpiredToken',
        $metadata: { httpStatusCode: 403 },
      });
      await expect(new OrganizationsClient(config(sandbox, credentials)).send(new ListRootsCommand({}))).rejects.toMatchObject({ name: 'ExpiredTokenException' });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('faults', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'sandbox-log-'));
  const requestLog = join(logDir, 'requests.jsonl');
  test.override({
    sandboxOptions: {
      accounts: 10,
      ous: 2,
      requestLog,
      faults: {
        operations: {
          'organizations:ListRoots': { rate: 1, burst: 2 },
          'organizations:DescribeOrganization': { errorRate: 1 },
          'organizations:ListAccounts': { resetRate: 1 },
          'sts:GetCallerIdentity': { latencyMs: [60, 60] },
        },
      },
    },
  });

  test('throttles over the rate with TooManyRequestsException, fails and resets on request, and logs it all', async ({ sandbox }) => {
    const org = new OrganizationsClient(config(sandbox));
    await org.send(new ListRootsCommand({}));
    await org.send(new ListRootsCommand({}));
    const throttled = await org.send(new ListRootsCommand({})).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(TooManyRequestsException);
    expect(throttled).toMatchObject({ $metadata: { httpStatusCode: 400 } });

    await expect(org.send(new DescribeAccountCommand({ AccountId: sandbox.world.org.managementAccountId }))).resolves.toBeDefined();
    const failed = await org.send(new (await import('@aws-sdk/client-organizations')).DescribeOrganizationCommand({})).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ServiceException);
    expect(failed).toMatchObject({ $metadata: { httpStatusCode: 500 } });
    const reset = await org.send(new ListAccountsCommand({})).catch((e: unknown) => e);
    expect(reset).toMatchObject({ code: 'ECONNRESET' });

    const started = performance.now();
    await new STSClient(config(sandbox)).send(new GetCallerIdentityCommand({}));
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);

    const entries = sandbox.requests();
    expect(entries.map((e) => [e.operation, e.status, e.error])).toEqual([
      ['ListRoots', 200, null],
      ['ListRoots', 200, null],
      ['ListRoots', 400, 'TooManyRequestsException'],
      ['DescribeAccount', 200, null],
      ['DescribeOrganization', 500, 'ServiceException'],
      ['ListAccounts', 0, 'ConnectionReset'],
      ['GetCallerIdentity', 200, null],
    ]);
    expect(entries.every((e) => e.account === sandbox.world.org.managementAccountId && e.region === 'us-east-1')).toBe(true);
    await sandbox.close();
    const lines = readFileSync(requestLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual(entries);
  });
});

describe('S3 through the SDK', () => {
  test('puts, lists past 1,000 keys page by page, and reads objects back whole and by range', async ({ sandbox }) => {
    const s3 = new S3Client(config(sandbox));
    await s3.send(new CreateBucketCommand({ Bucket: 'flow-logs' }));
    const keys = Array.from({ length: 1050 }, (_, i) => `AWSLogs/${String(i % 3)}/file-${String(i).padStart(5, '0')}.log`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((Key) => s3.send(new PutObjectCommand({ Bucket: 'flow-logs', Key, Body: `content of ${Key}` }))));
    }

    const listed: string[] = [];
    const pageSizes: number[] = [];
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: 'flow-logs', MaxKeys: 5000 })) {
      pageSizes.push(page.KeyCount ?? 0);
      listed.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    }
    expect(pageSizes).toEqual([1000, 50]);
    expect(listed).toEqual([...keys].sort());

    const folders = await s3.send(new ListObjectsV2Command({ Bucket: 'flow-logs', Prefix: 'AWSLogs/', Delimiter: '/' }));
    expect(folders.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['AWSLogs/0/', 'AWSLogs/1/', 'AWSLogs/2/']);
    expect(folders.Contents).toBeUndefined();

    const key = keys[7] ?? '';
    const whole = await s3.send(new GetObjectCommand({ Bucket: 'flow-logs', Key: key }));
    expect(await whole.Body?.transformToString()).toBe(`content of ${key}`);
    const part = await s3.send(new GetObjectCommand({ Bucket: 'flow-logs', Key: key, Range: 'bytes=3-9' }));
    expect(part.$metadata.httpStatusCode).toBe(206);
    expect(part.ContentRange).toBe(`bytes 3-9/${`content of ${key}`.length}`);
    expect(await part.Body?.transformToString()).toBe('tent of');

    await expect(s3.send(new GetObjectCommand({ Bucket: 'flow-logs', Key: 'missing' }))).rejects.toBeInstanceOf(NoSuchKey);
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'flow-logs', Key: 'missing' }))).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    await expect(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))).rejects.toBeInstanceOf(NoSuchBucket);
  });
});

describe('the wire', () => {
  test('an unsigned request gets the service its own missing-authentication error', async ({ sandbox }) => {
    const response = await fetch(sandbox.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSOrganizationsV20161128.ListRoots', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
    const sts = await fetch(sandbox.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    expect(sts.status).toBe(403);
    expect(await sts.text()).toContain('<Code>MissingAuthenticationToken</Code>');
  });

  test('an XML body that is not well-formed is S3 its own 400 MalformedXML, never a 500', async ({ sandbox }) => {
    const authorization = 'AWS4-HMAC-SHA256 Credential=AKIASANDBOXTEST/20240101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00';
    const bodies = {
      mismatched: '<CreateBucketConfiguration><LocationConstraint>eu-west-1</Bucket></CreateBucketConfiguration>',
      deep: `<CreateBucketConfiguration>${'<x>'.repeat(100_000)}${'</x>'.repeat(100_000)}</CreateBucketConfiguration>`,
      badReference: '<CreateBucketConfiguration><LocationConstraint>&#xFFFFFFFF;</LocationConstraint></CreateBucketConfiguration>',
    };
    for (const [name, body] of Object.entries(bodies)) {
      const response = await fetch(`${sandbox.url}/malformed-${name.toLowerCase()}`, { method: 'PUT', headers: { authorization, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body });
      expect(response.status, name).toBe(400);
      expect(await response.text(), name).toContain('<Code>MalformedXML</Code>');
    }
    const s3 = new S3Client({ ...config(sandbox), region: 'eu-west-1', forcePathStyle: true });
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'malformed-mismatched' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  test('an operation the sandbox does not implement is UnknownOperationException', async ({ sandbox }) => {
    const { CreateAccountCommand } = await import('@aws-sdk/client-organizations');
    const error = await new OrganizationsClient(config(sandbox)).send(new CreateAccountCommand({ AccountName: 'x', Email: 'x@example.com' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
  });
});

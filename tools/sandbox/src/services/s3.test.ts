import type { ListObjectsV2Output, ListObjectsV2Request } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { World } from '../world/world.js';
import { byteRange, createS3Bucket, putS3Object, s3 } from './s3.js';

function context(world: World): RequestContext {
  const accountId = world.org.managementAccountId;
  return {
    world,
    service: 's3',
    operation: 'ListObjectsV2',
    region: 'us-east-1',
    accountId,
    caller: { accountId, arn: `arn:aws:iam::${accountId}:user/test`, userId: 'AIDATEST', accessKeyId: 'AKIATEST' },
    requestId: 'test',
    state: (key) => world.account(accountId).region('us-east-1').state(key),
  };
}

const listObjects = s3.handlers['ListObjectsV2'] as unknown as (input: ListObjectsV2Request, ctx: RequestContext) => ListObjectsV2Output;

/** What a listing holds, computed the obvious way: every key, or its common prefix, once. */
function referenceListing(keys: string[], prefix: string, delimiter: string | undefined): string[] {
  const out: string[] = [];
  for (const key of [...new Set(keys)].sort()) {
    if (!key.startsWith(prefix)) continue;
    const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
    const entry = cut < 0 ? key : key.slice(0, cut + (delimiter ?? '').length);
    if (out.at(-1) !== entry) out.push(entry);
  }
  return out;
}

describe('ListObjectsV2', () => {
  it('pages through exactly the reference listing, for any keys, prefix, delimiter and page size', () => {
    const segment = fc.constantFrom('a', 'b', 'ab', 'x/', '/', 'a/b', '2024/', '-');
    fc.assert(
      fc.property(
        fc.array(fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')), { maxLength: 60 }),
        fc.constantFrom('', 'a', 'a/', 'x/', '2024/'),
        fc.option(fc.constantFrom('/', 'b', '-'), { nil: undefined }),
        fc.integer({ min: 1, max: 7 }),
        (keys, prefix, delimiter, maxKeys) => {
          const world = new World({ accounts: 1, ous: 0, seed: 1, timeScale: 1 });
          createS3Bucket(world, { name: 'bucket', accountId: world.org.managementAccountId, region: 'us-east-1' });
          for (const key of keys) putS3Object(world, { bucket: 'bucket', key, body: key });
          const ctx = context(world);
          const listed: string[] = [];
          let token: string | undefined;
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThan(200);
            const page = listObjects({ Bucket: 'bucket', Prefix: prefix, Delimiter: delimiter, MaxKeys: maxKeys, ContinuationToken: token }, ctx);
            const entries = [...(page.Contents ?? []).map((o) => o.Key ?? ''), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? '')].sort();
            expect(entries.length).toBe(page.KeyCount);
            expect(entries.length).toBeLessThanOrEqual(maxKeys);
            listed.push(...entries);
            token = page.NextContinuationToken;
            expect(page.IsTruncated).toBe(token !== undefined);
            if (!token) break;
          }
          expect(listed).toEqual(referenceListing(keys, prefix, delimiter));
        },
      ),
    );
  });

  it('caps MaxKeys at 1,000 and refuses a continuation token of another listing', () => {
    const world = new World({ accounts: 1, ous: 0, seed: 1, timeScale: 1 });
    createS3Bucket(world, { name: 'bucket', accountId: world.org.managementAccountId, region: 'us-east-1' });
    for (let i = 0; i < 1001; i++) putS3Object(world, { bucket: 'bucket', key: `k${String(i).padStart(4, '0')}`, body: '' });
    const ctx = context(world);
    const first = listObjects({ Bucket: 'bucket', MaxKeys: 100_000 }, ctx);
    expect(first.KeyCount).toBe(1000);
    expect(first.MaxKeys).toBe(1000);
    expect(() => listObjects({ Bucket: 'bucket', Prefix: 'k1', ContinuationToken: first.NextContinuationToken }, ctx)).toThrow(/continuation token provided is incorrect/);
    expect(listObjects({ Bucket: 'bucket', ContinuationToken: first.NextContinuationToken }, ctx).Contents?.map((o) => o.Key)).toEqual(['k1000']);
  });
});

describe('byteRange', () => {
  it('reads the forms S3 accepts and clamps to the object', () => {
    expect(byteRange('bytes=0-4', 10)).toEqual([0, 4]);
    expect(byteRange('bytes=5-', 10)).toEqual([5, 9]);
    expect(byteRange('bytes=-3', 10)).toEqual([7, 9]);
    expect(byteRange('bytes=-30', 10)).toEqual([0, 9]);
    expect(byteRange('bytes=8-100', 10)).toEqual([8, 9]);
  });

  it('ignores what S3 ignores and refuses what it cannot satisfy', () => {
    expect(byteRange('bytes=0-1,4-5', 10)).toBeUndefined();
    expect(byteRange('items=0-1', 10)).toBeUndefined();
    expect(byteRange('bytes=5-2', 10)).toBeUndefined();
    expect(() => byteRange('bytes=10-', 10)).toThrow(ServiceError);
    expect(() => byteRange('bytes=0-', 0)).toThrow(/not satisfiable/);
  });
});

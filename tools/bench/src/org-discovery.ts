/**
 * Benchmark: organization discovery against a throttled sandbox whose quotas orgshield is not
 * told, compared with the time the quotas themselves impose.
 *
 *   npm run bench:org-discovery -w @orgshield/bench -- \
 *     [--accounts 5000] [--ous 500] [--rate 10] [--tags-rate 50] [--error-rate 0.02] [--reset-rate 0.01] [--seed 1]
 *
 * The sandbox throttles ListTagsForResource to `tags-rate` per second and every other
 * Organizations operation to `rate` (each a bucket as deep as its rate), fails `error-rate` of
 * the requests with a 5xx and resets `reset-rate` of the connections. Discovery runs with the
 * Redis rate limiter at orgshield's defaults (10/s for Organizations), from a fresh key prefix,
 * so it has to find the rates itself. From the request log it takes, per operation, the calls
 * discovery needed (every request the service let into its bucket: answered, failed or reset;
 * throttled ones are counted apart, as waste), and the time the quota imposes: max over
 * operations of (calls - burst) / rate. Prints JSON, then Markdown.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverOrganization, ORGANIZATIONS_REGION } from '@orgshield/accounts';
import { AwsClientFactory, CALLER_ACCOUNT, RedisRateLimiter } from '@orgshield/aws';
import { startSandbox } from '@orgshield/sandbox';
import { benchArgs, numberArg } from './bench-args.js';
import { connectRedis, loadAverage, quotaFigures, readRequestLog, REDIS_URL } from './bench-kit.js';

const TARGET_RATIO = 1.15;

const args = benchArgs('npm run bench:org-discovery -w @orgshield/bench -- [options]\nDiscovery of a sandbox organization whose quotas orgshield is not told, against the time the quotas impose.', {
  accounts: { description: 'accounts in the sandbox organization', default: '5000' },
  ous: { description: 'organizational units', default: '500' },
  rate: { description: 'requests per second the sandbox allows each Organizations operation', default: '10' },
  'tags-rate': { description: 'requests per second it allows ListTagsForResource', default: '50' },
  'error-rate': { description: 'fraction of requests failed with a 5xx', default: '0.02' },
  'reset-rate': { description: 'fraction of connections reset', default: '0.01' },
  seed: { description: 'the sandbox seed', default: '1' },
});

const accounts = numberArg('accounts', args.accounts);
const ous = numberArg('ous', args.ous);
const rate = numberArg('rate', args.rate);
const tagsRate = numberArg('tags-rate', args['tags-rate']);
/** The sandbox's quota per operation: the burst is one second's worth, as the rate. */
const quotaOf = (operation: string) => (operation === 'ListTagsForResource' ? tagsRate : rate);
const errorRate = numberArg('error-rate', args['error-rate']);
const resetRate = numberArg('reset-rate', args['reset-rate']);
const seed = numberArg('seed', args.seed);

async function main(): Promise<void> {
  const redis = await connectRedis(REDIS_URL);
  const dir = mkdtempSync(join(tmpdir(), 'orgshield-bench-'));
  const requestLog = join(dir, 'requests.jsonl');
  const sandbox = await startSandbox({
    port: 0,
    accounts,
    ous,
    seed,
    requestLog,
    faults: {
      operations: {
        'organizations:*': { rate, burst: rate, errorRate, resetRate },
        'organizations:ListTagsForResource': { rate: tagsRate, burst: tagsRate, errorRate, resetRate },
      },
    },
  });
  // orgshield is not told the quotas: its buckets start from DEFAULT_RATE_LIMITS and learn
  const keyPrefix = `bench:${randomUUID()}:`;
  const rateLimiter = new RedisRateLimiter(redis, { keyPrefix });
  const clients = new AwsClientFactory({
    ...sandbox.clientConfig(),
    rateLimiter,
  });

  let last = { ous: 0, accounts: 0, tagged: 0 };
  const started = performance.now();
  const ticker = setInterval(() => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    process.stderr.write(`${seconds}s: ${last.ous} OUs, ${last.accounts} accounts, ${last.tagged} tagged\n`);
  }, 10_000);
  let found = 0;
  let failure: string | undefined;
  try {
    const snapshot = await discoverOrganization(clients, { onProgress: (progress) => (last = progress) });
    found = snapshot.accounts.length;
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  clearInterval(ticker);
  const expected = sandbox.world.snapshot().accounts.length;
  clients.destroy();
  await sandbox.close();
  const operations = quotaFigures(readRequestLog(requestLog), (operation) => ({ rate: quotaOf(operation), burst: quotaOf(operation) }));
  // what the shared buckets learned, requests per second (the client factory keys them account:region:service:operation)
  const learnedRates: Record<string, number> = {};
  for (const { operation } of operations) {
    const learned = await rateLimiter.learnedRate(`${CALLER_ACCOUNT}:${ORGANIZATIONS_REGION}:organizations:${operation}`);
    if (learned !== undefined) learnedRates[operation] = Number(learned.toFixed(1));
  }
  const bucketKeys = Object.keys(learnedRates).map((operation) => `${keyPrefix}ratelimit:${CALLER_ACCOUNT}:${ORGANIZATIONS_REGION}:organizations:${operation}`);
  if (bucketKeys.length > 0) await redis.del(...bucketKeys); // the bench's buckets, kept a day otherwise
  redis.disconnect();

  rmSync(dir, { recursive: true, force: true });
  const quotaSeconds = Math.max(...operations.map((o) => o.quotaSeconds));
  const ratio = elapsedSeconds / quotaSeconds;
  const result = {
    org: { accounts, ous, seed },
    faults: { rate, tagsRate, errorRate, resetRate },
    loadAverage: loadAverage(),
    elapsedSeconds: Number(elapsedSeconds.toFixed(1)),
    quotaSeconds: Number(quotaSeconds.toFixed(1)),
    ratio: Number(ratio.toFixed(3)),
    targetRatio: TARGET_RATIO,
    errors: failure ? 1 : 0,
    ...(failure ? { failure } : {}),
    accountsFound: found,
    accountsExpected: expected,
    operations,
    learnedRates,
    pass: !failure && found === expected && ratio <= TARGET_RATIO,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log();
  console.log(`| elapsed (s) | quota time (s) | ratio (target <= ${TARGET_RATIO}) | errors | accounts found | load average (1/5/15 min) |`);
  console.log('|---:|---:|---:|---:|---:|---|');
  console.log(
    `| ${result.elapsedSeconds} | ${result.quotaSeconds} | ${result.ratio} | ${result.errors} | ${found} / ${expected} | ${result.loadAverage.join(' / ')} |`,
  );
  console.log();
  console.log('| operation | quota (/s) | learned (/s) | calls needed | throttled | 5xx | resets | quota time (s) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const o of operations) {
    const learned = learnedRates[o.operation]?.toString() ?? '-';
    console.log(`| ${o.operation} | ${quotaOf(o.operation)} | ${learned} | ${o.calls} | ${o.throttled} | ${o.failed5xx} | ${o.resets} | ${o.quotaSeconds.toFixed(1)} |`);
  }
  process.exitCode = result.pass ? 0 : 1;
}

await main();

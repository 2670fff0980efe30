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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { discoverOrganization, ORGANIZATIONS_REGION } from '@orgshield/accounts';
import { AwsClientFactory, CALLER_ACCOUNT, RedisRateLimiter } from '@orgshield/aws';
import { startSandbox } from '@orgshield/sandbox';
import { Redis } from 'ioredis';

const TARGET_RATIO = 1.15;

const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '5000' },
    ous: { type: 'string', default: '500' },
    rate: { type: 'string', default: '10' },
    'tags-rate': { type: 'string', default: '50' },
    'error-rate': { type: 'string', default: '0.02' },
    'reset-rate': { type: 'string', default: '0.01' },
    seed: { type: 'string', default: '1' },
  },
});

function numberArg(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (value === undefined || !Number.isFinite(parsed) || parsed < 0) {
    console.error(`--${name} "${value}" is not a number: give a non-negative number, e.g. --${name} 10.`);
    process.exit(2);
  }
  return parsed;
}

const accounts = numberArg('accounts', args.accounts);
const ous = numberArg('ous', args.ous);
const rate = numberArg('rate', args.rate);
const tagsRate = numberArg('tags-rate', args['tags-rate']);
/** The sandbox's quota per operation: the burst is one second's worth, as the rate. */
const quotaOf = (operation: string) => (operation === 'ListTagsForResource' ? tagsRate : rate);
const errorRate = numberArg('error-rate', args['error-rate']);
const resetRate = numberArg('reset-rate', args['reset-rate']);
const seed = numberArg('seed', args.seed);

interface LogLine {
  operation: string;
  status: number;
  error: string | null;
}

interface OperationFigures {
  operation: string;
  calls: number;
  throttled: number;
  failed5xx: number;
  resets: number;
  quotaSeconds: number;
}

async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    console.error(`Redis is not reachable at ${url}: start it (redis-server --daemonize yes) or point REDIS_URL at a running one.`);
    process.exit(1);
  }
  return redis;
}

function figuresFrom(logPath: string): OperationFigures[] {
  const byOperation = new Map<string, OperationFigures>();
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as LogLine;
    const figures = byOperation.get(entry.operation) ?? { operation: entry.operation, calls: 0, throttled: 0, failed5xx: 0, resets: 0, quotaSeconds: 0 };
    if (entry.error === 'TooManyRequestsException') figures.throttled += 1;
    else {
      figures.calls += 1;
      if (entry.status === 0) figures.resets += 1;
      if (entry.status >= 500) figures.failed5xx += 1;
    }
    byOperation.set(entry.operation, figures);
  }
  for (const figures of byOperation.values()) {
    const quota = quotaOf(figures.operation);
    figures.quotaSeconds = Math.max(0, figures.calls - quota) / quota;
  }
  return [...byOperation.values()].sort((a, b) => b.calls - a.calls);
}

async function main(): Promise<void> {
  const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const redis = await connectRedis(redisUrl);
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
  const operations = figuresFrom(requestLog);
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
    loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
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

import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A connection to one Redis or to a Redis Cluster: every store here works on either. */
export type RedisClient = Redis | Cluster;

export class RedisUnavailableError extends OrgshieldError {
  constructor(url: string, cause?: unknown) {
    super(
      'RedisUnavailable',
      `Redis is not reachable at ${redactUrl(url)}: start it (redis-server --daemonize yes) or point REDIS_URL at a running one.`,
      { exitCode: EXIT_CODES.failed, cause },
    );
  }
}

/** Never print a password that a Redis URL may carry. */
export function redactUrl(url: string): string {
  const cluster = /^(rediss?\+cluster:\/\/)([^@/]*@)?(.*)$/.exec(url);
  if (cluster) return `${cluster[1]}${cluster[2] ? (cluster[2].includes(':') ? `${cluster[2].split(':')[0]}:***@` : cluster[2]) : ''}${cluster[3]}`;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Where REDIS_URL points: one server (`redis://`, `rediss://`) or a cluster's seed nodes (`redis+cluster://`, `rediss+cluster://`). */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

const badUrl = (url: string, why: string) =>
  new OrgshieldError('InvalidRedisUrl', `REDIS_URL "${redactUrl(url)}" ${why}`, { exitCode: EXIT_CODES.badInput });

/**
 * Reads REDIS_URL. A cluster is named by its seed nodes, comma-separated, in one URL:
 * `redis+cluster://[user:password@]host:port[,host:port...]` (`rediss+cluster://` for TLS, as
 * ElastiCache's in-transit encryption needs); the client learns the other nodes from them.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const cluster = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]*)\/?$/.exec(url);
  if (cluster) {
    const [, scheme = 'redis', userinfo, hosts = ''] = cluster;
    const nodes = hosts.split(',').map((node) => {
      const match = /^(\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d{1,5})$/.exec(node);
      const port = Number(match?.[2]);
      if (!match?.[1] || port < 1 || port > 65535) throw badUrl(url, `names the node "${node}", which is not HOST:PORT: use the form redis+cluster://HOST:PORT,HOST:PORT.`);
      return { host: match[1].replace(/^\[|\]$/g, ''), port };
    });
    const [username, ...rest] = userinfo === undefined ? [] : userinfo.split(':');
    const password = rest.length > 0 ? decodeURIComponent(rest.join(':')) : undefined;
    return { kind: 'cluster', nodes, username: username ? decodeURIComponent(username) : undefined, password, tls: scheme === 'rediss' };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, 'is not a URL: use the form redis://HOST:PORT, or redis+cluster://HOST:PORT,HOST:PORT for a cluster.');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw badUrl(url, 'must start with redis://, rediss://, redis+cluster:// or rediss+cluster://.');
  }
  return { kind: 'single', url };
}

export function isClusterUrl(url: string): boolean {
  return parseRedisUrl(url).kind === 'cluster';
}

/**
 * Opens a connection and proves it answers before anyone relies on it, so a missing Redis is
 * one clear sentence instead of BullMQ retrying forever. Once up, it reconnects for ever (a
 * restarted Redis is picked up again) and commands wait for it: `maxRetriesPerRequest: null` is
 * what BullMQ requires of connections its workers block on, and what keeps a step's write from
 * failing while Redis restarts.
 */
export async function connectRedis(url: string = process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL, timeoutMs = 3000): Promise<RedisClient> {
  const target = parseRedisUrl(url);
  // While connecting the first time, fail fast; once up, reconnect as long as it takes.
  const firstTries = (times: number) => (times > 3 ? null : Math.min(times * 200, 1000));
  const forever = (times: number) => Math.min(times * 200, 2000);
  const redis: RedisClient =
    target.kind === 'single'
      ? new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: firstTries })
      : new Cluster(target.nodes, clusterOptions(target, timeoutMs, firstTries));
  redis.on('error', () => undefined); // surfaced through connect() and commands, not as an unhandled event
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
  } catch (error) {
    redis.disconnect();
    throw new RedisUnavailableError(url, error);
  }
  if (redis instanceof Cluster) redis.options.clusterRetryStrategy = forever;
  else redis.options.retryStrategy = forever;
  return redis;
}

function clusterOptions(target: Extract<RedisTarget, { kind: 'cluster' }>, timeoutMs: number, retry: (times: number) => number | null): ClusterOptions {
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: null,
    connectTimeout: timeoutMs,
    username: target.username,
    password: target.password,
    ...(target.tls ? { tls: {} } : {}),
  };
  return {
    lazyConnect: true,
    redisOptions,
    clusterRetryStrategy: retry,
    // A command sent while a failover moves slots waits for the new owner instead of failing.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 500,
    retryDelayOnTryAgain: 200,
    // With TLS, ElastiCache's nodes are reached by the names they announce, as its guide for ioredis says.
    ...(target.tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
  };
}

/**
 * Another connection to the same Redis or cluster (BullMQ's blocking workers need their own),
 * with `maxRetriesPerRequest` changed when given.
 */
export function duplicateConnection(redis: RedisClient, options: { maxRetriesPerRequest?: number | null } = {}): RedisClient {
  if (redis instanceof Cluster) {
    return redis.duplicate(undefined, 'maxRetriesPerRequest' in options ? { redisOptions: { ...redis.options.redisOptions, maxRetriesPerRequest: options.maxRetriesPerRequest } } : {});
  }
  return redis.duplicate(options);
}

/**
 * The hash tag every key of orgshield carries on a cluster: every Lua script and MULTI touches
 * keys of several records at once (a run's state and its index, a lock and its fence), so they
 * must hash to one slot. On one Redis the prefix is used as given.
 */
export function clusterQueuePrefix(prefix: string): string {
  return /\{[^{}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

/** On a cluster, keys under `keyPrefix` must share one slot: refuses a prefix without a hash tag, in one sentence. */
export function assertOneSlot(redis: RedisClient, keyPrefix: string): void {
  if (redis instanceof Cluster && !/\{[^{}]+\}/.test(keyPrefix)) {
    throw new OrgshieldError('InvalidConfig', `the key prefix "${keyPrefix}" has no hash tag, so its keys would spread over a Redis Cluster's slots: use "${clusterQueuePrefix(keyPrefix.replace(/:.*$/, ''))}" (orgshield does this for ORGSHIELD_QUEUE_PREFIX on a redis+cluster:// URL).`, { exitCode: EXIT_CODES.badInput });
  }
}

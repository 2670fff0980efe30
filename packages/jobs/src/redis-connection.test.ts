import { describe, expect, it } from 'vitest';
import { clusterQueuePrefix, parseRedisUrl, redactUrl } from './redis-connection.js';

describe('parseRedisUrl', () => {
  it('reads one server, or a cluster of seed nodes with credentials and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl('rediss+cluster://ops:p%40ss@node-1.cache.amazonaws.com:6379,[::1]:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node-1.cache.amazonaws.com', port: 6379 },
        { host: '::1', port: 7001 },
      ],
      username: 'ops',
      password: 'p@ss',
      tls: true,
    });
    expect(parseRedisUrl('redis+cluster://127.0.0.1:7000')).toMatchObject({ kind: 'cluster', tls: false, password: undefined });
  });

  it('refuses what is not a Redis URL with one sentence naming it (exit 2)', () => {
    for (const [url, why] of [
      ['localhost:6379', 'must start with redis://'],
      ['not a url', 'is not a URL'],
      ['redis+cluster://a:1,b:99999', 'names the node "b:99999"'],
      ['redis+cluster://', 'names the node ""'],
    ] as const) {
      expect(() => parseRedisUrl(url), url).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining(why) }));
    }
  });

  it('never prints a password', () => {
    expect(redactUrl('redis+cluster://user:secret@a:1,b:2')).toBe('redis+cluster://user:***@a:1,b:2');
    expect(redactUrl('redis://:secret@a:1')).toBe('redis://:***@a:1');
  });
});

describe('clusterQueuePrefix', () => {
  it('wraps a prefix in a hash tag unless it has one', () => {
    expect(clusterQueuePrefix('orgshield')).toBe('{orgshield}');
    expect(clusterQueuePrefix('{orgshield}')).toBe('{orgshield}');
    expect(clusterQueuePrefix('prod-{eu}')).toBe('prod-{eu}');
  });
});

import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './worker-config.js';

function refusal(env: NodeJS.ProcessEnv): Error {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadWorkerConfig', () => {
  it('names a rejected secret without echoing it', () => {
    const secret = 'x';
    const error = refusal({ ORGSHIELD_EXTERNAL_ID: secret });
    expect(error.message).toMatch(/^ORGSHIELD_EXTERNAL_ID \(value not shown: it is a secret\) is not valid: /);
    expect(error.message).not.toContain(`"${secret}"`);
    expect(error).toMatchObject({ exitCode: 2 });
    const long = `s3cr3t-${'y'.repeat(1300)}`;
    expect(refusal({ ORGSHIELD_EXTERNAL_ID: long }).message).not.toContain('s3cr3t');
  });

  it("runs a gate's detail batches as many at once as the rollouts' steps, unless set apart", () => {
    expect(loadWorkerConfig({ ORGSHIELD_CONCURRENCY: 'org=2,firewall=4' }).ORGSHIELD_CONCURRENCY).toEqual({ org: 2, firewall: 4, 'firewall-details': 4 });
    expect(loadWorkerConfig({ ORGSHIELD_CONCURRENCY: 'firewall-details=8,firewall=2' }).ORGSHIELD_CONCURRENCY).toEqual({ firewall: 2, 'firewall-details': 8 });
    expect(loadWorkerConfig({ ORGSHIELD_CONCURRENCY: 'org=2' }).ORGSHIELD_CONCURRENCY).toEqual({ org: 2 });
    expect(refusal({ ORGSHIELD_CONCURRENCY: 'firewall-reads=2' }).message).toContain('unknown queue "firewall-reads"');
  });

  it('echoes a rejected setting that is not a secret, so the user sees the mistake', () => {
    expect(refusal({ ORGSHIELD_HTTP_PORT: '99999' }).message).toMatch(/^ORGSHIELD_HTTP_PORT="99999" is not valid: /);
  });

  it('on a redis+cluster:// URL makes the queue prefix a hash tag, so every key of orgshield shares one slot', () => {
    expect(loadWorkerConfig({ REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:7001' }).ORGSHIELD_QUEUE_PREFIX).toBe('{orgshield}');
    expect(loadWorkerConfig({ REDIS_URL: 'rediss+cluster://a.example:6379', ORGSHIELD_QUEUE_PREFIX: 'prod' }).ORGSHIELD_QUEUE_PREFIX).toBe('{prod}');
    expect(loadWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).ORGSHIELD_QUEUE_PREFIX).toBe('orgshield');
  });

  it('refuses a cluster URL with a node that is not HOST:PORT, naming it, without its password (exit 2)', () => {
    const error = refusal({ REDIS_URL: 'redis+cluster://:hunter2@10.0.0.1:7000,10.0.0.2' });
    expect(error.message).toBe('REDIS_URL "redis+cluster://:***@10.0.0.1:7000,10.0.0.2" names the node "10.0.0.2", which is not HOST:PORT: use the form redis+cluster://HOST:PORT,HOST:PORT.');
    expect(error).toMatchObject({ exitCode: 2 });
    expect(refusal({ REDIS_URL: 'memcached://x:1' }).message).toMatch(/must start with redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or rediss\+cluster:\/\//);
  });
});

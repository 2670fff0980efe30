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

  it('echoes a rejected setting that is not a secret, so the user sees the mistake', () => {
    expect(refusal({ ORGSHIELD_HTTP_PORT: '99999' }).message).toMatch(/^ORGSHIELD_HTTP_PORT="99999" is not valid: /);
  });
});

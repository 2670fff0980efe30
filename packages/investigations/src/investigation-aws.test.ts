import { AwsCallError } from '@orgshield/aws';
import { OrgshieldError } from '@orgshield/errors';
import { describe, expect, it } from 'vitest';
import { errorName, isExpiredCredentials, isThrottled, retryThrottled, withFreshCredentials } from './investigation-aws.js';

const named = (name: string, message = name) => Object.assign(new Error(message), { name });
const target = { service: 'detective', operation: 'ListIndicators', accountId: '123456789012', region: 'us-east-1' };

describe('AWS error helpers', () => {
  it('read the service error name from SDK errors and from @orgshield/aws call errors', () => {
    expect(errorName(named('TooManyRequestsException'))).toBe('TooManyRequestsException');
    expect(errorName(new AwsCallError(target, { kind: 'throttled', awsCode: 'TooManyRequestsException', awsMessage: 'slow down' }))).toBe('TooManyRequestsException');
    expect(isThrottled(new AwsCallError(target, { kind: 'throttled', awsCode: 'TooManyRequestsException', awsMessage: '' }))).toBe(true);
    expect(isExpiredCredentials(named('ExpiredTokenException'))).toBe(true);
    expect(isExpiredCredentials(named('UnrecognizedClientException', 'The security token included in the request is expired'))).toBe(true);
    expect(isExpiredCredentials(named('AccessDeniedException'))).toBe(false);
  });

  it('re-acquire credentials once when a call says they expired', async () => {
    const asked: boolean[] = [];
    const result = await withFreshCredentials(
      (fresh) => {
        asked.push(fresh);
        return fresh ? 'new' : 'old';
      },
      async (client) => {
        if (client === 'old') throw named('ExpiredToken');
        return 'answered';
      },
    );
    expect(result).toBe('answered');
    expect(asked).toEqual([false, true]);

    await expect(withFreshCredentials(() => 'any', async () => Promise.reject(named('RequestExpired')))).rejects.toThrow(
      /expired again right after being renewed/,
    );
    await expect(withFreshCredentials(() => 'any', async () => Promise.reject(named('AccessDeniedException')))).rejects.toThrow('AccessDeniedException');
  });

  it('back off on throttling a bounded number of times, then say what was throttled', async () => {
    const waits: number[] = [];
    const retry = { attempts: 3, baseDelayMs: 100, sleep: async (ms: number) => void waits.push(ms) };
    let calls = 0;
    expect(await retryThrottled('Detective ListIndicators', async () => (++calls < 3 ? Promise.reject(named('TooManyRequestsException')) : 'ok'), retry)).toBe('ok');
    expect(waits).toHaveLength(2);
    expect(waits.every((ms, i) => ms >= 0 && ms <= 100 * 2 ** i)).toBe(true);

    const stuck = retryThrottled('Detective ListIndicators', async () => Promise.reject(named('TooManyRequestsException')), retry);
    await expect(stuck).rejects.toThrow(OrgshieldError);
    await expect(stuck).rejects.toThrow('Detective ListIndicators was still throttled (TooManyRequestsException) after 4 tries; run again later or lower the request rate.');
  });
});

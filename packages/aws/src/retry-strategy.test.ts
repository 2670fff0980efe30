import type { RetryErrorInfo, RetryToken } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { OrgshieldRetryStrategy, RETRY_TUNING, backoffDelay } from './retry-strategy.js';

const throttle = Object.assign(new Error('slow down'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 400 } });
const serverError = Object.assign(new Error('oops'), { name: 'ServiceException', $metadata: { httpStatusCode: 500 } });
const denied = Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });

function info(error: Error): RetryErrorInfo {
  return { error: error as RetryErrorInfo['error'], errorType: 'CLIENT_ERROR' };
}

async function retriesUntilGivenUp(strategy: OrgshieldRetryStrategy, errors: Error[]): Promise<{ retries: number; token: RetryToken }> {
  let token = await strategy.acquireInitialRetryToken();
  let retries = 0;
  for (const error of errors) {
    try {
      token = await strategy.refreshRetryTokenForRetry(token, info(error));
      retries += 1;
    } catch {
      break;
    }
  }
  return { retries, token };
}

describe('OrgshieldRetryStrategy', () => {
  const strategy = new OrgshieldRetryStrategy(async () => 3, () => 0.5);

  it('gives retryable failures maxAttempts attempts in all', async () => {
    const { retries } = await retriesUntilGivenUp(strategy, Array(10).fill(serverError));
    expect(retries).toBe(2);
  });

  it('does not count throttles against the attempts', async () => {
    const errors = [throttle, throttle, serverError, throttle, throttle, throttle, serverError, throttle, serverError];
    const { retries, token } = await retriesUntilGivenUp(strategy, errors);
    // every throttle retried, and the two server errors a 3-attempt call can afford
    expect(retries).toBe(8);
    expect(token.getRetryCount()).toBe(8);
  });

  it('ends a throttle loop at its own cap', async () => {
    const { retries } = await retriesUntilGivenUp(strategy, Array(200).fill(throttle));
    expect(retries).toBe(RETRY_TUNING.maxThrottledRetries);
  });

  it('does not retry fatal errors', async () => {
    const { retries } = await retriesUntilGivenUp(strategy, [denied, serverError]);
    expect(retries).toBe(0);
  });

  it('backs off throttles further than failures, and honours Retry-After', async () => {
    const first = await strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(), info(throttle));
    expect(first.getRetryDelay()).toBe(backoffDelay(0, RETRY_TUNING.throttleBaseDelayMs, RETRY_TUNING.throttleMaxDelayMs, () => 0.5));
    const hinted = await strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(), {
      ...info(serverError),
      retryAfterHint: new Date(Date.now() + 5_000),
    });
    expect(hinted.getRetryDelay()).toBeGreaterThan(4_000);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially under its cap, with full jitter', () => {
    expect(backoffDelay(0, 100, 20_000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 20_000, () => 0.999)).toBe(799);
    expect(backoffDelay(20, 100, 20_000, () => 0.999)).toBe(19_980);
    expect(backoffDelay(5, 100, 20_000, () => 0)).toBe(0);
  });
});

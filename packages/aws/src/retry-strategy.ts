import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import { classifyError } from './error-classification.js';

/** A call's retries so far, counted apart: throttles do not use up the attempts. */
class AttemptToken implements RetryToken {
  constructor(
    readonly failures: number,
    readonly throttles: number,
    private readonly delayMs: number,
  ) {}

  getRetryCount(): number {
    return this.failures + this.throttles;
  }

  getRetryDelay(): number {
    return this.delayMs;
  }
}

export const RETRY_TUNING = {
  baseDelayMs: 100,
  maxDelayMs: 20_000,
  throttleBaseDelayMs: 250,
  throttleMaxDelayMs: 10_000,
  /** A throttle loop ends only when the service stays saturated for minutes. */
  maxThrottledRetries: 50,
} as const;

/** Exponential backoff with full jitter, as AWS recommends. */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** retry));
}

/**
 * The SDK's retry loop with our classification: throttled answers are retried with their own
 * backoff and generous cap and never count against `maxAttempts`; retryable failures (5xx,
 * resets, ConcurrentModificationException) get `maxAttempts` attempts in all; the rest fail now.
 * Slowing the shared rate down on a throttle is the rate-limit middleware's job, which sees
 * every attempt.
 */
export class OrgshieldRetryStrategy implements RetryStrategyV2 {
  constructor(
    private readonly maxAttempts: () => Promise<number>,
    private readonly random: () => number = Math.random,
  ) {}

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return new AttemptToken(0, 0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const previous = token instanceof AttemptToken ? token : new AttemptToken(token.getRetryCount(), 0, 0);
    const kind = classifyError(errorInfo.error);
    if (kind === 'fatal') throw errorInfo.error;
    const hintMs = errorInfo.retryAfterHint ? Math.max(0, errorInfo.retryAfterHint.getTime() - Date.now()) : 0;
    if (kind === 'throttled') {
      if (previous.throttles >= RETRY_TUNING.maxThrottledRetries) throw errorInfo.error;
      const delay = backoffDelay(previous.throttles, RETRY_TUNING.throttleBaseDelayMs, RETRY_TUNING.throttleMaxDelayMs, this.random);
      return new AttemptToken(previous.failures, previous.throttles + 1, Math.min(RETRY_TUNING.throttleMaxDelayMs, Math.max(delay, hintMs)));
    }
    if (previous.failures + 1 >= (await this.maxAttempts())) throw errorInfo.error;
    const delay = backoffDelay(previous.failures, RETRY_TUNING.baseDelayMs, RETRY_TUNING.maxDelayMs, this.random);
    return new AttemptToken(previous.failures + 1, previous.throttles, Math.min(RETRY_TUNING.maxDelayMs, Math.max(delay, hintMs)));
  }

  recordSuccess(): void {
    // Nothing to settle: recovery after throttling is time-based, in the shared bucket.
  }
}

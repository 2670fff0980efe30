import type { Random } from '../world/prng.js';
import type { FaultRule, FaultsConfig } from './faults-config.js';

export type FaultDecision =
  | { kind: 'throttle' }
  | { kind: 'deny' }
  | { kind: 'reset'; latencyMs: number }
  | { kind: 'error'; latencyMs: number }
  | { kind: 'pass'; latencyMs: number };

/**
 * A token bucket: `capacity` requests at once, refilled at `rate` per second. Time is passed in
 * so tests can drive it.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    nowMs: number,
  ) {
    this.tokens = capacity;
    this.last = nowMs;
  }

  take(nowMs: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((nowMs - this.last) / 1000) * this.rate);
    this.last = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Who asks for what: the bucket of a rate rule is per account, region and operation, as AWS's quotas are. */
export interface FaultRequest {
  service: string;
  operation: string;
  accountId: string;
  region: string;
}

/**
 * Decides per request whether to throttle, delay, fail or drop it. Every (account, region,
 * service, operation) has its own bucket, also under a `service:*` rule; the exact `service:Operation`
 * rule wins over `service:*`. Random draws come from the sandbox's seeded generator, so a run
 * with the same requests fails the same way.
 */
export class FaultInjector {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly rules = new Map<string, FaultRule | undefined>();

  constructor(
    private readonly config: FaultsConfig,
    private readonly random: Random,
  ) {}

  /** The rule that applies to an operation, or undefined when none does. */
  ruleFor(service: string, operation: string): FaultRule | undefined {
    const key = `${service}:${operation}`;
    if (!this.rules.has(key)) this.rules.set(key, this.config.operations[key] ?? this.config.operations[`${service}:*`]);
    return this.rules.get(key);
  }

  decide({ service, operation, accountId, region }: FaultRequest, nowMs: number): FaultDecision {
    const rule = this.ruleFor(service, operation);
    if (!rule || (rule.accounts !== undefined && !rule.accounts.includes(accountId))) return { kind: 'pass', latencyMs: 0 };
    if (rule.deny === true) return { kind: 'deny' };
    if (rule.rate !== undefined) {
      const key = `${accountId}/${region}/${service}:${operation}`;
      let bucket = this.buckets.get(key);
      if (!bucket) {
        bucket = new TokenBucket(rule.rate, rule.burst ?? Math.max(1, rule.rate), nowMs);
        this.buckets.set(key, bucket);
      }
      if (!bucket.take(nowMs)) return { kind: 'throttle' };
    }
    if (rule.throttleRate !== undefined && this.random() < rule.throttleRate) return { kind: 'throttle' };
    const [min, max] = rule.latencyMs ?? [0, 0];
    const latencyMs = min + this.random() * (max - min);
    if (rule.resetRate !== undefined && this.random() < rule.resetRate) return { kind: 'reset', latencyMs };
    if (rule.errorRate !== undefined && this.random() < rule.errorRate) return { kind: 'error', latencyMs };
    return { kind: 'pass', latencyMs };
  }
}

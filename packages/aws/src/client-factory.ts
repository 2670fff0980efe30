import { randomUUID } from 'node:crypto';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  FinalizeHandlerArguments,
  FinalizeHandlerOutput,
  HandlerExecutionContext,
  InitializeHandlerArguments,
  InitializeHandlerOutput,
  MetadataBearer,
} from '@smithy/types';
import { currentAwsCallContext } from './aws-call-context.js';
import { auditResource } from './audit-resource.js';
import { classifyError, errorCode, toOrgshieldError } from './error-classification.js';
import { InvalidInputError } from '@orgshield/errors';
import { AuditUnavailableError, CALLER_ACCOUNT, type AwsCallTarget } from './errors.js';
import { MemoryRateLimiter, type RateLimiter } from './rate-limiter.js';
import { DEFAULT_RATE_LIMITS, parseRateLimits, resolveRateLimit, type RateLimits } from './rate-limits.js';
import { OrgshieldRetryStrategy } from './retry-strategy.js';

/**
 * One mutating call, as the audit trail records it: once before it is sent and once after.
 * Never carries credentials or payloads; `resource` is the identifier the call names.
 */
export interface MutationAuditEntry {
  /** Ties the before and after entries of one call together. */
  callId: string;
  phase: 'before' | 'after';
  /** Who made the call: the identity of its credentials (STS GetCallerIdentity, asked once per credentials). */
  who: { arn: string; accountId: string };
  service: string;
  operation: string;
  /** The account the call ran in. */
  accountId: string;
  region: string;
  resource?: string;
  /** Why: the job and run on whose behalf (see withAwsCallContext). */
  jobId?: string;
  runId?: string;
  /** ISO time of the entry. */
  at: string;
  /** After the call: how it went. */
  result?: 'ok' | 'error';
  requestId?: string;
  /** The AWS error name when the call failed. */
  error?: string;
}

export type RetryMode = 'standard' | 'adaptive';

export interface AwsClientFactoryOptions {
  /** Region for clients that don't name one; default AWS_REGION. */
  region?: string;
  /** Passed straight to every client's `endpoint`; AWS_ENDPOINT_URL(_<SERVICE>) work without it. */
  endpoint?: string;
  /** The caller's credentials; default the SDK's standard chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Attempts for retryable failures; default AWS_MAX_ATTEMPTS or the shared config, else 3. */
  maxAttempts?: number;
  /**
   * `adaptive` (orgshield's default unless AWS_RETRY_MODE says otherwise) cuts the shared bucket's
   * learned rate on throttling answers; `standard` retries throttles without touching the rate.
   */
  retryMode?: RetryMode;
  /** Per-operation overrides of DEFAULT_RATE_LIMITS, e.g. { "fms:PutPolicy": { rate: 1, burst: 2 } }. */
  rateLimits?: RateLimits;
  /** Where buckets live; default in this process only. Use RedisRateLimiter to share them. */
  rateLimiter?: RateLimiter;
  /**
   * Called before and after every mutating call (anything but Get/List/Describe/BatchGet/Check/
   * Search/Head), and awaited: when it fails before the call, the call is not made, so nothing
   * changes that the audit trail does not hold.
   */
  onMutation?: (entry: MutationAuditEntry) => unknown;
  /** Told of every call once it has ended (after its retries) and of every throttled attempt: metrics. */
  observer?: AwsCallObserver;
  /** The caller's account id, if known; otherwise looked up (STS GetCallerIdentity) when an audit entry needs it. */
  callerAccountId?: string;
  /** Connect timeout, so an unreachable endpoint fails in seconds; default 3000 ms. */
  connectionTimeoutMs?: number;
  /** A socket idle this long is given up; default 60000 ms. */
  socketTimeoutMs?: number;
}

/** A call's end: `outcome` is ok, throttled (its last attempt was throttled) or error; `attempts` includes the first. */
export interface AwsCallObservation {
  service: string;
  operation: string;
  outcome: 'ok' | 'throttled' | 'error';
  attempts: number;
}

export interface AwsCallObserver {
  called(call: AwsCallObservation): void;
  /** One attempt answered with a throttling error (it may be retried). */
  throttled(call: { service: string; operation: string }): void;
}

/** Which account and region a client works in; member accounts bring their own credentials. */
export interface ClientTarget {
  /** Omit for the caller's own account. */
  accountId?: string;
  region?: string;
  /**
   * For a member account: the session's provider (MemberCredentials hands out one per account
   * and job). Clients are kept per provider, since a client holds the credentials it resolved.
   */
  credentials?: AwsCredentialIdentityProvider;
}

/** What the factory needs of an SDK v3 client. */
export interface AwsSdkClient {
  config: { serviceId: string; maxAttempts: () => Promise<number>; retryMode: string | (() => Promise<string>) };
  middlewareStack: {
    add(middleware: unknown, options: object): void;
    addRelativeTo(middleware: unknown, options: object): void;
  };
  destroy(): void;
}

type ClientConstructor<C extends AwsSdkClient> = new (config: Record<string, unknown>) => C;

const READ_ONLY_PREFIXES = ['Get', 'List', 'Describe', 'BatchGet', 'Check', 'Search', 'Head'];

/** Everything else changes something and goes to the audit trail (AssumeRole included: it grants access). */
export function isMutatingOperation(operation: string): boolean {
  return !READ_ONLY_PREFIXES.some((prefix) => operation.startsWith(prefix) && /^[A-Z]/.test(operation.slice(prefix.length)));
}

/** `organizations`, `fms`, `s3`...: the SDK's serviceId as AWS_ENDPOINT_URL_<SERVICE> and the sandbox spell it. */
export function serviceKey(serviceId: string): string {
  return serviceId.toLowerCase().replace(/\s+/g, '');
}

function operationOf(context: HandlerExecutionContext): string {
  return String(context.commandName ?? 'Unknown').replace(/Command$/, '');
}

/** Attempts the SDK made, from the output's or the error's metadata (1 when it does not say). */
function attemptsOf(value: unknown): number {
  const attempts = (value as MetadataBearer | undefined)?.$metadata?.attempts;
  return typeof attempts === 'number' && attempts > 0 ? attempts : 1;
}

function endpointOverride(serviceId: string, explicit: string | undefined): string | undefined {
  const envName = `AWS_ENDPOINT_URL_${serviceId.toUpperCase().replace(/\s+/g, '_')}`;
  return explicit ?? process.env[envName] ?? process.env['AWS_ENDPOINT_URL'];
}

/**
 * The one place that makes AWS SDK v3 clients. One client per (service, account, region), so
 * one connection pool and one retry state per throttled resource; every call goes through two
 * middlewares that know its operation: one around the whole call (used operations, audit,
 * errors for people) and one around each attempt (shared rate limit, slowdown on throttling).
 */
export class AwsClientFactory {
  private readonly clients = new Map<string, AwsSdkClient>();
  /** Clients a fresh one replaced, closed by destroy(). */
  private readonly replaced: AwsSdkClient[] = [];
  private readonly used = new Set<string>();
  /** A number per credentials provider, for the client cache key (WeakMap: a dropped provider is not kept alive). */
  private readonly providerIds = new WeakMap<object, number>();
  private nextProviderId = 1;
  private readonly rateLimits: RateLimits;
  private readonly rateLimiter: RateLimiter;
  /** Who each set of credentials is, asked once (see identityOf). */
  private readonly identities = new Map<string, Promise<{ arn: string; accountId: string }>>();

  constructor(private readonly options: AwsClientFactoryOptions = {}) {
    this.rateLimits = { ...DEFAULT_RATE_LIMITS, ...(options.rateLimits ? parseRateLimits(options.rateLimits) : {}) };
    this.rateLimiter = options.rateLimiter ?? new MemoryRateLimiter();
  }

  /**
   * The client for this service in the target account and region, made once and then shared.
   * `fresh` makes a new one in its place: an SDK client keeps the credentials it resolved
   * until their own expiry, so after AWS has called them expired only a new client asks the
   * provider again. The one it replaces is closed with the factory (calls may still be using it).
   */
  client<C extends AwsSdkClient>(Client: ClientConstructor<C>, target: ClientTarget = {}, options: { fresh?: boolean } = {}): C {
    const region = target.region ?? this.options.region ?? process.env['AWS_REGION'];
    if (!region) {
      throw new InvalidInputError('no AWS region given: set AWS_REGION (for example us-east-1) or pass a region.', {
        code: 'RegionMissing',
      });
    }
    const accountId = target.accountId ?? CALLER_ACCOUNT;
    const cacheKey = `${Client.name}|${accountId}|${region}|${this.providerKey(target.credentials)}`;
    const cached = this.clients.get(cacheKey);
    if (cached && !options.fresh) return cached as C;
    if (cached) this.replaced.push(cached);

    const holder: { client?: C } = {};
    const retryStrategy = new OrgshieldRetryStrategy(async () => (holder.client ? holder.client.config.maxAttempts() : 3));
    const retryMode = this.options.retryMode ?? (process.env['AWS_RETRY_MODE'] ? undefined : 'adaptive');
    // Local endpoints have no wildcard DNS for bucket.host, so S3 goes path-style behind an override.
    const pathStyle = Client.name === 'S3Client' && endpointOverride('S3', this.options.endpoint) !== undefined;
    const client = new Client({
      region,
      retryStrategy,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: this.options.connectionTimeoutMs ?? 3000,
        socketTimeout: this.options.socketTimeoutMs ?? 60_000,
      }),
      ...(retryMode ? { retryMode } : {}),
      ...(this.options.maxAttempts !== undefined ? { maxAttempts: this.options.maxAttempts } : {}),
      ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}),
      ...(pathStyle ? { forcePathStyle: true } : {}),
      ...(target.credentials
        ? { credentials: target.credentials }
        : this.options.credentials
          ? { credentials: this.options.credentials }
          : {}),
    });
    holder.client = client;
    const serviceId = client.config.serviceId;
    this.instrument(client, { service: serviceKey(serviceId), accountId, region, credentials: target.credentials });
    this.clients.set(cacheKey, client);
    return client;
  }

  /**
   * Drops the clients that use these credentials (a session that is done with) from the cache,
   * and closes them after `graceMs`, so calls still in flight can finish.
   */
  retire(credentials: AwsCredentialIdentityProvider, options: { graceMs?: number } = {}): void {
    const key = `|${this.providerKey(credentials)}`;
    const retired: AwsSdkClient[] = [];
    for (const [cacheKey, client] of this.clients) {
      if (cacheKey.endsWith(key)) {
        this.clients.delete(cacheKey);
        retired.push(client);
      }
    }
    if (retired.length === 0) return;
    this.replaced.push(...retired);
    const timer = setTimeout(() => {
      for (const client of retired) {
        client.destroy();
        const at = this.replaced.indexOf(client);
        if (at >= 0) this.replaced.splice(at, 1);
      }
    }, options.graceMs ?? 300_000);
    timer.unref();
  }

  private providerKey(credentials: AwsCredentialIdentityProvider | undefined): string {
    if (!credentials) return 'caller';
    let id = this.providerIds.get(credentials);
    if (id === undefined) {
      id = this.nextProviderId++;
      this.providerIds.set(credentials, id);
    }
    return `session-${id}`;
  }

  /** `service:Operation` for every operation called through this factory so far, sorted. */
  usedOperations(): string[] {
    return [...this.used].sort();
  }

  /** Closes every client's connections. */
  destroy(): void {
    for (const client of [...this.clients.values(), ...this.replaced]) client.destroy();
    this.replaced.length = 0;
    this.clients.clear();
  }

  private instrument(client: AwsSdkClient, where: { service: string; accountId: string; region: string; credentials?: AwsCredentialIdentityProvider }): void {
    const { service, accountId, region } = where;
    const fallbackEndpoint = endpointOverride(client.config.serviceId, this.options.endpoint) ?? `https://${service}.${region}.amazonaws.com`;
    let adaptive: Promise<boolean> | undefined;

    const callMiddleware =
      (next: (args: InitializeHandlerArguments<object>) => Promise<InitializeHandlerOutput<MetadataBearer>>, context: HandlerExecutionContext) =>
      async (args: InitializeHandlerArguments<object>): Promise<InitializeHandlerOutput<MetadataBearer>> => {
        const operation = operationOf(context);
        const target: AwsCallTarget = { service, operation, accountId, region };
        this.used.add(`${service}:${operation}`);
        const audited = isMutatingOperation(operation) && this.options.onMutation ? await this.auditBefore(target, where.credentials, args.input) : undefined;
        let result: InitializeHandlerOutput<MetadataBearer>;
        try {
          result = await next(args);
        } catch (error) {
          this.options.observer?.called({ service, operation, outcome: classifyError(error) === 'throttled' ? 'throttled' : 'error', attempts: attemptsOf(error) });
          if (audited) {
            const requestId = (error as MetadataBearer).$metadata?.requestId;
            await this.auditAfter(audited, { result: 'error', error: errorCode(error), ...(requestId ? { requestId } : {}) });
          }
          const endpoint = (context.endpointV2?.url as URL | undefined)?.origin ?? fallbackEndpoint;
          throw toOrgshieldError(error, target, endpoint);
        }
        this.options.observer?.called({ service, operation, outcome: 'ok', attempts: attemptsOf(result.output) });
        if (audited) {
          const requestId = result.output.$metadata?.requestId;
          await this.auditAfter(audited, { result: 'ok', ...(requestId ? { requestId } : {}) });
        }
        return result;
      };

    const rateLimitMiddleware =
      (next: (args: FinalizeHandlerArguments<object>) => Promise<FinalizeHandlerOutput<MetadataBearer>>, context: HandlerExecutionContext) =>
      async (args: FinalizeHandlerArguments<object>): Promise<FinalizeHandlerOutput<MetadataBearer>> => {
        const operation = operationOf(context);
        const key = `${accountId}:${region}:${service}:${operation}`;
        const limit = resolveRateLimit(this.rateLimits, service, operation);
        await this.rateLimiter.acquire(key, limit);
        try {
          return await next(args);
        } catch (error) {
          if (classifyError(error) === 'throttled') {
            this.options.observer?.throttled({ service, operation });
            const mode = client.config.retryMode;
            adaptive ??= (typeof mode === 'string' ? Promise.resolve(mode) : mode()).then((resolved) => resolved === 'adaptive');
            if (await adaptive) await this.rateLimiter.throttled(key, limit);
          }
          throw error;
        }
      };

    client.middlewareStack.add(callMiddleware, { step: 'initialize', name: 'orgshieldCall', priority: 'high', override: true });
    client.middlewareStack.addRelativeTo(rateLimitMiddleware, {
      relation: 'after',
      toMiddleware: 'retryMiddleware',
      name: 'orgshieldRateLimit',
      override: true,
    });
  }

  /** Writes the before entry; a failure to write it stops the call (AuditUnavailableError). */
  private async auditBefore(target: AwsCallTarget, credentials: AwsCredentialIdentityProvider | undefined, input: unknown): Promise<MutationAuditEntry> {
    const who = await this.identityOf(credentials, target);
    const { jobId, runId } = currentAwsCallContext();
    const resource = auditResource(input);
    const entry: MutationAuditEntry = {
      callId: randomUUID(),
      phase: 'before',
      who,
      ...target,
      accountId: target.accountId === CALLER_ACCOUNT ? who.accountId : target.accountId,
      ...(resource ? { resource } : {}),
      ...(jobId ? { jobId } : {}),
      ...(runId ? { runId } : {}),
      at: new Date().toISOString(),
    };
    try {
      await this.options.onMutation?.(entry);
    } catch (error) {
      throw new AuditUnavailableError(`${target.service}:${target.operation}`, error);
    }
    return entry;
  }

  /** Writes the after entry. The call has happened by now, so a failure here is reported, not thrown over the result. */
  private async auditAfter(before: MutationAuditEntry, outcome: Pick<MutationAuditEntry, 'result' | 'error' | 'requestId'>): Promise<void> {
    try {
      await this.options.onMutation?.({ ...before, phase: 'after', at: new Date().toISOString(), ...outcome });
    } catch (error) {
      process.emitWarning(`the audit entry after ${before.service}:${before.operation} (call ${before.callId}) could not be written: ${(error as Error).message}`);
    }
  }

  /** The identity of a call's credentials (the caller's, or a session's), asked of STS once per credentials. */
  private identityOf(credentials: AwsCredentialIdentityProvider | undefined, target: AwsCallTarget): Promise<{ arn: string; accountId: string }> {
    const key = this.providerKey(credentials);
    let identity = this.identities.get(key);
    if (!identity) {
      const fallback = credentials ? target.accountId : (this.options.callerAccountId ?? CALLER_ACCOUNT);
      const sts = this.client(STSClient, credentials ? { region: target.region, credentials, accountId: target.accountId } : { region: target.region });
      identity = sts
        .send(new GetCallerIdentityCommand({}))
        .then((answer) => ({ arn: answer.Arn ?? 'unknown', accountId: answer.Account ?? fallback }))
        .catch(() => ({ arn: 'unknown', accountId: fallback }));
      this.identities.set(key, identity);
    }
    return identity;
  }
}

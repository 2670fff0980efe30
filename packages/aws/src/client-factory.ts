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
import { classifyError, errorCode, toOrgshieldError } from './error-classification.js';
import { InvalidInputError } from '@orgshield/errors';
import { CALLER_ACCOUNT, type AwsCallTarget } from './errors.js';
import { MemoryRateLimiter, type RateLimiter } from './rate-limiter.js';
import { DEFAULT_RATE_LIMITS, parseRateLimits, resolveRateLimit, type RateLimits } from './rate-limits.js';
import { OrgshieldRetryStrategy } from './retry-strategy.js';

/** One mutating call, as the audit trail records it. Never carries credentials or payloads. */
export interface MutationAuditEntry {
  service: string;
  operation: string;
  accountId: string;
  region: string;
  /** ISO time the call finished. */
  at: string;
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
  /** Called once per mutating call (anything but Get/List/Describe/BatchGet/Check/Search/Head). */
  onMutation?: (entry: MutationAuditEntry) => void;
  /** The caller's account id, if known; otherwise looked up (STS GetCallerIdentity) when an audit entry needs it. */
  callerAccountId?: string;
  /** Connect timeout, so an unreachable endpoint fails in seconds; default 3000 ms. */
  connectionTimeoutMs?: number;
  /** A socket idle this long is given up; default 60000 ms. */
  socketTimeoutMs?: number;
}

/** Which account and region a client works in; member accounts bring their own credentials. */
export interface ClientTarget {
  /** Omit for the caller's own account. */
  accountId?: string;
  region?: string;
  /** For a member account: the same provider every time (MemberCredentials hands out one per account). */
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
  private readonly rateLimits: RateLimits;
  private readonly rateLimiter: RateLimiter;
  private callerAccount: Promise<string> | undefined;

  constructor(private readonly options: AwsClientFactoryOptions = {}) {
    this.rateLimits = { ...DEFAULT_RATE_LIMITS, ...(options.rateLimits ? parseRateLimits(options.rateLimits) : {}) };
    this.rateLimiter = options.rateLimiter ?? new MemoryRateLimiter();
    if (options.callerAccountId !== undefined) this.callerAccount = Promise.resolve(options.callerAccountId);
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
    const cacheKey = `${Client.name}|${accountId}|${region}`;
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
    this.instrument(client, serviceKey(serviceId), accountId, region);
    this.clients.set(cacheKey, client);
    return client;
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

  private instrument(client: AwsSdkClient, service: string, accountId: string, region: string): void {
    const fallbackEndpoint = endpointOverride(client.config.serviceId, this.options.endpoint) ?? `https://${service}.${region}.amazonaws.com`;
    let adaptive: Promise<boolean> | undefined;

    const callMiddleware =
      (next: (args: InitializeHandlerArguments<object>) => Promise<InitializeHandlerOutput<MetadataBearer>>, context: HandlerExecutionContext) =>
      async (args: InitializeHandlerArguments<object>): Promise<InitializeHandlerOutput<MetadataBearer>> => {
        const operation = operationOf(context);
        const target: AwsCallTarget = { service, operation, accountId, region };
        this.used.add(`${service}:${operation}`);
        let result: InitializeHandlerOutput<MetadataBearer>;
        try {
          result = await next(args);
        } catch (error) {
          if (isMutatingOperation(operation)) {
            const requestId = (error as MetadataBearer).$metadata?.requestId;
            await this.audit(target, { error: errorCode(error), ...(requestId ? { requestId } : {}) });
          }
          const endpoint = (context.endpointV2?.url as URL | undefined)?.origin ?? fallbackEndpoint;
          throw toOrgshieldError(error, target, endpoint);
        }
        if (isMutatingOperation(operation)) {
          const requestId = result.output.$metadata?.requestId;
          await this.audit(target, requestId ? { requestId } : {});
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

  private async audit(target: AwsCallTarget, details: { requestId?: string; error?: string }): Promise<void> {
    const sink = this.options.onMutation;
    if (!sink) return;
    const accountId = target.accountId === CALLER_ACCOUNT ? await this.resolveCallerAccount(target.region) : target.accountId;
    sink({ ...target, accountId, at: new Date().toISOString(), ...details });
  }

  private resolveCallerAccount(region: string): Promise<string> {
    this.callerAccount ??= this.client(STSClient, { region })
      .send(new GetCallerIdentityCommand({}))
      .then((identity) => identity.Account ?? CALLER_ACCOUNT)
      .catch(() => CALLER_ACCOUNT);
    return this.callerAccount;
  }
}

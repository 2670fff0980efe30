import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerControl, isControlRequest } from './control-endpoint.js';
import { decodeAwsChunked, isAwsChunked, withoutAwsChunked } from './aws-chunked.js';
import { FaultInjector } from './faults/fault-injector.js';
import { invalidFaults, loadFaultsFile, parseFaultsConfig, type FaultsConfig } from './faults/faults-config.js';
import { MalformedRequestError, type WireRequest, type WireResponse } from './protocols/protocol.js';
import { escapeXml } from './protocols/xml-codec.js';
import { RequestLog, type RequestLogEntry } from './request-log.js';
import { SandboxConfigError } from './sandbox-config-error.js';
import { parseSandboxOptions, type SandboxOptions } from './sandbox-options.js';
import type { RequestContext, ServiceDefinition } from './service-definition.js';
import { ServiceError } from './service-error.js';
import { ServiceRuntime } from './service-runtime.js';
import { drsRuntime, injectDrsLaunchFailure, seedDrs } from './services/drs-jobs.js';
import { configureFirewallManager } from './services/fms.js';
import { serviceDefinitions } from './services/registry.js';
import { MAX_PRESIGNED_SECONDS, signatureScope } from './signature-scope.js';
import { drsPlan } from './world/seeded-drs.js';
import { seedIncidentFlowLogs } from './world/seeded-incidents.js';
import { seedRecordings } from './world/seeded-recordings.js';
import { World } from './world/world.js';

/** Credentials `env()` hands out; any key works and maps to the management account. */
const SANDBOX_ACCESS_KEY_ID = 'AKIASANDBOXADMIN0001';
const SANDBOX_SECRET_ACCESS_KEY = 'sandbox/secret/access/key/not+checked0000';
const DEFAULT_REGION = 'us-east-1';

export interface RunningSandbox {
  /** `http://host:port`, the value for AWS_ENDPOINT_URL. */
  readonly url: string;
  readonly port: number;
  readonly world: World;
  /** Every request answered so far (the most recent 200,000), oldest first. */
  requests(): RequestLogEntry[];
  /**
   * Replaces the faults from now on (checked as at start; buckets start full), so a test can
   * break an operation and mend it again. DRS launch failures given are planted as well.
   */
  setFaults(faults: FaultsConfig | string): void;
  /** AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (and AWS_DEFAULT_REGION for the CLI). */
  env(): Record<string, string>;
  /** The same as `env()` in the shape an SDK client (or AwsClientFactory) takes as configuration. */
  clientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  close(): Promise<void>;
}

export function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  return startSandboxWith(options, serviceDefinitions);
}

/** startSandbox with a chosen set of services; protocol tests bring a service of their own. */
export async function startSandboxWith(options: SandboxOptions, definitions: readonly ServiceDefinition[]): Promise<RunningSandbox> {
  const resolved = parseSandboxOptions(options);
  const runtimes = new Map(definitions.map((d) => [d.signingName, new ServiceRuntime(d)] as const));
  const faults = resolveFaults(resolved.faults, runtimes);
  const world = new World({ accounts: resolved.accounts, ous: resolved.ous, seed: resolved.seed, timeScale: resolved.timeScale });
  configureFirewallManager(world, resolved.fms);
  drsRuntime(world).tls = resolved.drs.tls;
  seedIncidentFlowLogs(world);
  seedRecordings(world);
  injectLaunchFailures(world, faults);
  await seedDrs(world);
  const log = new RequestLog(resolved.requestLog);
  const sandbox = new SandboxServer(world, runtimes, new FaultInjector(faults, world.random('faults')), log);
  const server = createServer((req, res) => void sandbox.handle(req, res));
  // Longer than the SDK's idle sockets live, so the server never closes one a client is reusing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = await listen(server, resolved.port, resolved.host);
  const url = `http://${resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    world,
    requests: () => log.entries(),
    setFaults: (next) => {
      const config = resolveFaults(next, runtimes);
      injectLaunchFailures(world, config);
      sandbox.faults = new FaultInjector(config, world.random('faults'));
    },
    env: () => ({
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: SANDBOX_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SANDBOX_SECRET_ACCESS_KEY,
      AWS_REGION: DEFAULT_REGION,
      AWS_DEFAULT_REGION: DEFAULT_REGION,
    }),
    clientConfig: () => ({
      endpoint: url,
      region: DEFAULT_REGION,
      credentials: { accessKeyId: SANDBOX_ACCESS_KEY_ID, secretAccessKey: SANDBOX_SECRET_ACCESS_KEY },
    }),
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await world.close();
        await log.close();
      })();
      return closing;
    },
  };
}

/** The faults config's DRS launch failures, by source server id or Name tag; an unknown one is refused. */
function injectLaunchFailures(world: World, faults: FaultsConfig): void {
  const servers = drsPlan(world).servers;
  for (const [key, rawError] of Object.entries(faults.drsLaunchFailures ?? {})) {
    const server = servers.find((s) => s.sourceServerID === key) ?? servers.find((s) => s.tags['Name'] === key);
    if (!server) {
      throw new SandboxConfigError(`faults: drsLaunchFailures: "${key}" is no source server of this sandbox; name one by its id or its Name tag (e.g. "web-0").`);
    }
    injectDrsLaunchFailure(world, { sourceServerID: server.sourceServerID, rawError });
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new SandboxConfigError(`port ${port} on ${host} is already in use; stop what holds it or pass another port (0 picks a free one).`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function resolveFaults(faults: FaultsConfig | string | undefined, runtimes: Map<string, ServiceRuntime>): FaultsConfig {
  if (faults === undefined) return { operations: {} };
  const config = typeof faults === 'string' ? loadFaultsFile(faults) : parseFaultsConfig(faults);
  const source = typeof faults === 'string' ? `faults file ${faults}` : 'faults';
  const problems: string[] = [];
  for (const key of Object.keys(config.operations)) {
    const [service = '', operation = ''] = key.split(':');
    const runtime = runtimes.get(service);
    if (!runtime) problems.push(`"${key}" names the service "${service}", which the sandbox does not serve`);
    else if (operation !== '*' && !Object.hasOwn(runtime.model.operations, operation)) problems.push(`"${key}" names no operation of ${service} (e.g. "${service}:${Object.keys(runtime.model.operations)[0] ?? '*'}")`);
  }
  if (problems.length > 0) throw invalidFaults(source, problems, `the sandbox serves ${[...runtimes.keys()].join(', ')}; check the spelling`);
  return config;
}

interface Exchange {
  started: number;
  entry: RequestLogEntry;
  head: boolean;
}

/** The request pipeline: identify the service, route, authenticate, inject faults, validate, handle. */
class SandboxServer {
  constructor(
    private readonly world: World,
    private readonly runtimes: Map<string, ServiceRuntime>,
    public faults: FaultInjector,
    private readonly log: RequestLog,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const exchange: Exchange = {
      started: performance.now(),
      entry: { t: this.world.clock.now().getTime(), service: '', operation: '', account: '', region: '', status: 0, error: null, latencyMs: 0 },
      head: req.method === 'HEAD',
    };
    try {
      await this.serve(req, res, exchange);
    } catch (error) {
      // Only a sandbox defect gets here; answer rather than hang the client.
      process.stderr.write(`sandbox: ${exchange.entry.service}:${exchange.entry.operation} failed: ${(error as Error).stack ?? String(error)}\n`);
      if (!res.headersSent) this.send(res, { status: 500, headers: { 'content-type': 'text/plain' }, body: 'sandbox internal error' }, exchange, 'InternalFailure');
      else res.destroy();
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse, exchange: Exchange): Promise<void> {
    let request = await readRequest(req);
    if (isControlRequest(request)) {
      exchange.entry.service = 'sandbox';
      exchange.entry.operation = request.path;
      const { response, error } = answerControl(this.world, request);
      this.send(res, response, exchange, error);
      return;
    }
    const scope = signatureScope(request.headers, request.query);
    const runtime = scope ? this.runtimes.get(scope.service) : this.guessService(request);
    const entry = exchange.entry;
    entry.region = scope?.region ?? '';
    if (!runtime) {
      const message = `The sandbox serves no service "${scope?.service ?? 'unknown'}"; it serves ${[...this.runtimes.keys()].join(', ')}.`;
      this.send(res, unknownServiceAnswer(request, message), exchange, 'UnknownOperationException');
      return;
    }
    entry.service = runtime.name;
    if (isAwsChunked(request.headers)) {
      try {
        request = { ...request, body: decodeAwsChunked(request.body), headers: withoutAwsChunked(request.headers) };
      } catch (error) {
        if (error instanceof MalformedRequestError) return this.fail(res, runtime, runtime.commonError('malformed', error.message), exchange);
        throw error;
      }
    }
    const operationName = runtime.protocol.operationName(request);
    entry.operation = operationName ?? '';
    if (!scope) return this.fail(res, runtime, runtime.commonError('missingAuth'), exchange);
    if (scope.presignedUntil !== undefined) {
      // The signature itself is not checked (no request's is), but a presigned URL's lifetime is.
      if (Number.isNaN(scope.presignedUntil)) {
        return this.fail(res, runtime, new ServiceError('AuthorizationQueryParametersError', `X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGNED_SECONDS} and X-Amz-Date a time like 20240101T000000Z.`, { status: 400 }), exchange);
      }
      if (Date.now() > scope.presignedUntil) return this.fail(res, runtime, new ServiceError('AccessDenied', 'Request has expired', { status: 403 }), exchange);
    }
    const operation = operationName === undefined ? undefined : runtime.operation(operationName);
    if (!operation?.handler) {
      const what = operationName === undefined ? `${request.method} ${request.path}` : operationName;
      return this.fail(res, runtime, runtime.commonError('unknownOperation', `The sandbox's ${runtime.name} does not implement ${what}.`), exchange);
    }

    const credentials = this.world.credentials.check(scope.accessKeyId, scope.sessionToken);
    if (!credentials.ok) return this.fail(res, runtime, runtime.commonError(credentials.reason === 'expired' ? 'expiredToken' : 'invalidToken'), exchange);
    const caller = credentials.identity;
    entry.account = caller.accountId;

    const decision = this.faults.decide({ service: runtime.name, operation: operation.model.name, accountId: caller.accountId, region: scope.region }, performance.now());
    if (decision.kind === 'deny') {
      const action = `${runtime.name}:${operation.model.name}`;
      const why = `User: ${caller.arn} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`;
      return this.fail(res, runtime, runtime.commonError('accessDenied', runtime.protocol.name === 'ec2' ? `You are not authorized to perform this operation. ${why}` : why), exchange);
    }
    if (decision.kind === 'throttle') return this.fail(res, runtime, operation.throttlingError(), exchange);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.kind === 'reset') {
      entry.error = 'ConnectionReset';
      this.finish(exchange, 0);
      req.socket.destroy();
      return;
    }
    if (decision.kind === 'error') return this.fail(res, runtime, operation.internalError(), exchange);

    let input: Record<string, unknown>;
    try {
      input = runtime.protocol.parseInput(operation.model, request);
    } catch (error) {
      if (error instanceof MalformedRequestError) return this.fail(res, runtime, runtime.commonError('malformed', error.message), exchange);
      throw error;
    }
    const failures = operation.validate(input);
    if (failures.length > 0) return this.fail(res, runtime, runtime.validationError(operation.model, failures), exchange);
    const resources = runtime.definition.loggedResources?.[operation.model.name]?.(input as never);
    if (resources !== undefined) entry.resources = resources;

    const region = scope.region;
    const world = this.world;
    const requestId = randomUUID();
    const ctx: RequestContext = {
      world,
      service: runtime.name,
      operation: operation.model.name,
      region,
      accountId: caller.accountId,
      caller,
      requestId,
      state: (key) => world.account(caller.accountId).region(region).state(key),
    };
    let output: unknown;
    try {
      output = await operation.handler(input as never, ctx);
    } catch (error) {
      if (error instanceof ServiceError) return this.fail(res, runtime, error, exchange, requestId);
      throw error;
    }
    const wire = runtime.protocol.writeOutput(operation.model, (output ?? {}) as Record<string, unknown>, requestId);
    this.send(res, wire, exchange, null);
  }

  private fail(res: ServerResponse, runtime: ServiceRuntime, error: ServiceError, exchange: Exchange, requestId: string = randomUUID()): void {
    this.send(res, runtime.protocol.writeError(error, requestId), exchange, error.code);
  }

  private send(res: ServerResponse, wire: WireResponse, exchange: Exchange, error: string | null): void {
    exchange.entry.error = error;
    res.statusCode = wire.status;
    for (const [name, value] of Object.entries(wire.headers)) res.setHeader(name, value);
    const body = wire.body;
    if (body instanceof Readable) {
      if (exchange.head) {
        body.destroy();
        res.end();
      } else {
        body.on('error', () => res.destroy());
        body.pipe(res);
      }
    } else {
      const bytes = body === undefined ? 0 : Buffer.byteLength(body);
      if (!res.hasHeader('content-length')) res.setHeader('content-length', exchange.head ? 0 : bytes);
      res.end(exchange.head ? undefined : body);
    }
    this.finish(exchange, wire.status);
  }

  private finish(exchange: Exchange, status: number): void {
    exchange.entry.status = status;
    exchange.entry.latencyMs = Math.round((performance.now() - exchange.started) * 100) / 100;
    this.log.record(exchange.entry);
  }

  /**
   * A request without a signature still deserves the service's own missing-authentication
   * error, so find the service from what the protocols put on the wire.
   */
  private guessService(request: WireRequest): ServiceRuntime | undefined {
    const target = request.headers['x-amz-target'];
    const runtimes = [...this.runtimes.values()];
    if (typeof target === 'string') {
      const prefix = target.slice(0, target.lastIndexOf('.'));
      return runtimes.find((r) => r.model.metadata.protocol === 'json' && r.model.metadata.targetPrefix === prefix);
    }
    const version = request.method === 'POST' ? new URLSearchParams(request.body.toString('utf8')).get('Version') : request.query.get('Version');
    if (version !== null) return runtimes.find((r) => ['query', 'ec2'].includes(r.model.metadata.protocol) && r.model.metadata.apiVersion === version);
    return runtimes.find((r) => r.model.metadata.protocol === 'rest-xml');
  }
}

/** Without a service there is no protocol; answer in the format the request itself uses. */
function unknownServiceAnswer(request: WireRequest, message: string): WireResponse {
  const contentType = String(request.headers['content-type'] ?? '');
  if (request.headers['x-amz-target'] !== undefined || contentType.includes('json')) {
    return { status: 404, headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'UnknownOperationException' }, body: JSON.stringify({ __type: 'UnknownOperationException', message }) };
  }
  const xmlMessage = escapeXml(message);
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return { status: 404, headers: { 'content-type': 'text/xml' }, body: `<ErrorResponse><Error><Type>Sender</Type><Code>UnknownOperationException</Code><Message>${xmlMessage}</Message></Error></ErrorResponse>` };
  }
  return { status: 404, headers: { 'content-type': 'application/xml' }, body: `<Error><Code>UnknownOperationException</Code><Message>${xmlMessage}</Message></Error>` };
}

async function readRequest(req: IncomingMessage): Promise<WireRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  return {
    method: req.method ?? 'GET',
    path: q < 0 ? rawUrl : rawUrl.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)),
    headers: req.headers,
    body: Buffer.concat(chunks),
  };
}

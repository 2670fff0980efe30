#!/usr/bin/env node
import { pino } from 'pino';
import { EXIT_CODES, OrgshieldError } from '@orgshield/errors';
import { connectRedis, JobQueues } from '@orgshield/jobs';
import { QUEUE_NAMES, createRuntime, describeAwsSettings, encodeAwsSettings, drillServerSamples, loadWorkerConfig, processorsFor, rolloutAccountSamples, WorkerService } from '@orgshield/worker-runtime';
import { queueDepth, startWorkerHttp, WorkerMetrics } from './worker-http.js';

/** How long /readyz waits for Redis to answer a PING before it says not ready. */
const READINESS_PING_TIMEOUT_MS = 1000;

async function main(): Promise<void> {
  // Node 20 is this project's runtime; the SDK's notice about its 2027 support window is in the README.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const config = loadWorkerConfig();
  const logger = pino({ level: config.LOG_LEVEL, base: { service: 'orgshield-worker' } });
  const redis = await connectRedis(config.REDIS_URL);
  const prefix = config.ORGSHIELD_QUEUE_PREFIX;
  // Scrapes read queue depths through their own producer: a scrape never waits on a job's connection.
  const queues = new JobQueues(redis, { prefix });
  const metrics = new WorkerMetrics({
    queues: QUEUE_NAMES,
    queueDepth: (name) => queueDepth(queues, name),
    rolloutAccounts: () => rolloutAccountSamples(redis, prefix),
    drillServers: () => drillServerSamples(redis, prefix),
  });
  const runtime = createRuntime(config, redis, logger, { observer: metrics });
  const service = new WorkerService({
    // A CLI that hands this worker a job says whose AWS settings it runs on: these (no secret).
    name: encodeAwsSettings(describeAwsSettings()),
    connection: redis,
    logger,
    prefix,
    processors: processorsFor(runtime),
    concurrency: config.ORGSHIELD_CONCURRENCY,
    leaseMs: config.ORGSHIELD_LEASE_MS,
    // Running jobs get most of the shutdown bound; the rest is for closing connections.
    shutdownTimeoutMs: Math.floor(config.ORGSHIELD_SHUTDOWN_TIMEOUT_MS * 0.8),
    onJobFinished: (event) => metrics.jobFinished(event),
  });
  let ready = false;
  // Ready means jobs can run now: the workers are running and Redis answers promptly. A PING
  // queues while ioredis reconnects, so the timeout is what turns "Redis is down" into 503.
  const readiness = async (): Promise<string | null> => {
    if (!ready || !service.running) return 'not ready: workers are not running';
    const answered = await Promise.race([
      redis.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), READINESS_PING_TIMEOUT_MS).unref()),
    ]);
    return answered ? null : `not ready: Redis did not answer a PING within ${READINESS_PING_TIMEOUT_MS} ms`;
  };
  const http = await startWorkerHttp(config.ORGSHIELD_HTTP_HOST, config.ORGSHIELD_HTTP_PORT, metrics, readiness);
  await service.start();
  ready = true;
  logger.info({ port: config.ORGSHIELD_HTTP_PORT, queues: service.queues }, 'orgshield worker ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    logger.info({ signal }, 'shutting down: finishing running jobs');
    // Closing waits on Redis (BullMQ, quit) and would wait for ever while Redis is gone: the
    // bound holds whatever state Redis is in. Jobs still running are taken over by another
    // worker through BullMQ's stall handling.
    setTimeout(() => {
      logger.warn({ timeoutMs: config.ORGSHIELD_SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out: exiting');
      process.exit(EXIT_CODES.failed);
    }, config.ORGSHIELD_SHUTDOWN_TIMEOUT_MS);
    await service.close();
    http.close();
    await runtime.close();
    await queues.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
    logger.info('stopped');
    process.exit(EXIT_CODES.done);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`orgshield-worker: ${message}\n`);
  process.exit(error instanceof OrgshieldError ? error.exitCode : EXIT_CODES.failed);
});

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * redis-servers of a test's own, from Debian's redis-server (the shared global setup installs it
 * when missing): one with AOF that the test can kill and start again, and a three-primary
 * cluster. Each lives on free loopback ports in a temporary folder; `stop()` kills the servers
 * and removes the folder, and so does this process's exit, so a failing test leaves nothing behind.
 */

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A loopback port nothing listens on; with `bus`, port + 10000 (a cluster node's bus) is free too. */
async function freePort(options: { bus?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (!options.bus) return port;
    if (port + 10_000 <= 65_535 && (await listenOnce(port + 10_000).then(() => true, () => false))) return port;
  }
  throw new Error('no free pair of loopback ports for a cluster node and its bus');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function startServer(dir: string, port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...args], { stdio: 'ignore' });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (child.exitCode !== null) break;
      if (await probe.connect().then(() => probe.ping(), () => undefined)) return child;
      probe.disconnect();
      await sleep(50);
    }
  } finally {
    probe.disconnect();
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on 127.0.0.1:${port} did not start (is Debian's redis-server installed?)`);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

export interface AofRedis {
  url: string;
  /** SIGKILLs the server (no shutdown save: only what AOF fsynced survives), waits `downMs`, starts it again on the same port and folder. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server with `--appendonly yes --appendfsync always`: every acknowledged write survives a kill. */
export async function startAofRedis(): Promise<AofRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'orgshield-aof-'));
  const port = await freePort();
  const args = ['--appendonly', 'yes', '--appendfsync', 'always'];
  let child = await startServer(dir, port, args).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs) {
      await kill(child);
      await sleep(downMs);
      child = await startServer(dir, port, args);
    },
    async stop() {
      await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterFixture {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`, as orgshield's REDIS_URL takes it. */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

/**
 * Three primaries (cluster-enabled, no replicas) joined with `redis-cli --cluster create`, each
 * with its own port and folder; resolves once every node says cluster_state:ok.
 */
export async function startRedisCluster(): Promise<RedisClusterFixture> {
  const root = await mkdtemp(join(tmpdir(), 'orgshield-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(kill));
    await rm(root, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let node = 0; node < 3; node++) {
      const port = await freePort({ bus: true });
      const dir = join(root, String(port));
      await mkdir(dir);
      children.push(await startServer(dir, port, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--appendonly', 'no']));
      ports.push(port);
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    for (const port of ports) {
      const node = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        let info = '';
        for (let attempt = 0; attempt < 200 && !info.includes('cluster_state:ok'); attempt++) {
          info = await node.cluster('INFO');
          if (!info.includes('cluster_state:ok')) await sleep(100);
        }
        if (!info.includes('cluster_state:ok')) throw new Error(`cluster node 127.0.0.1:${port} never reached cluster_state:ok`);
      } finally {
        node.disconnect();
      }
    }
    return { url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`, ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * What the tests need from the machine, provisioned once per vitest run, so `npm ci && npm test`
 * works on a fresh machine with nothing else done:
 *
 * - Redis: the one at REDIS_URL when it answers; otherwise one private, memory-only redis-server
 *   on a free loopback port (Debian's redis-server is installed first when missing and we are
 *   root), exported to the tests as REDIS_URL. Nx runs two projects at once, each its own vitest:
 *   they share that one server through a state file under a lock, and each holds a named
 *   connection to it; the last one to leave stops it. A vitest that dies drops its connection
 *   with it, so a crash never keeps the server alive for nobody (a later run reuses it).
 * - Chromium, for projects that set `chromium: true`: Debian's package, installed when missing
 *   and we are root. Otherwise nothing here fails: the browser tests fail (never skip) with one
 *   sentence saying what to install (see chromiumMissingMessage).
 * - The commands a project's tests run (`tools: [...]` in its config: the AWS CLI, shellcheck, Xvfb,
 *   ffmpeg...): the Debian packages that hold the missing ones, in one apt-get under the lock
 *   (two vitests, or two test files of one, never race for dpkg's lock), the same way; a test
 *   that runs a command fails (never skips) without it, saying what to install (requireTools).
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';

declare module 'vitest' {
  interface ProvidedContext {
    /** Set by a project's config to ask this setup for Chromium. */
    needsChromium: boolean;
    /** Set by a project's config: the commands its tests run, installed here when missing. */
    needsTools: readonly string[];
  }
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const HOLDER_NAME = 'orgshield-test-holder';
// One state file per clone: two checkouts on one machine never stop each other's server.
const stateKey = createHash('sha256').update(import.meta.dirname).digest('hex').slice(0, 12);
const STATE_FILE = join(tmpdir(), `orgshield-test-redis-${stateKey}.json`);
const LOCK_FILE = `${STATE_FILE}.lock`;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provideRedis();
  if (project.config.provide.needsChromium) await provideChromium();
  await provideTools(project.config.provide.needsTools ?? []);
  return redis.release;
}

export function chromiumMissingMessage(reason = ''): string {
  return `Chromium is missing at ${CHROMIUM_PATH}${reason ? ` (${reason})` : ''}: install Debian's chromium (apt-get install -y chromium) to run the browser tests.`;
}

// ---- Redis -------------------------------------------------------------------------------

interface RedisLease {
  release(): Promise<void>;
}

async function provideRedis(): Promise<RedisLease> {
  const url = process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL;
  const { hostname, port } = new URL(url);
  if (await answers(hostname, Number(port || 6379))) return { release: async () => undefined };

  const holder = await withLock(async () => {
    const running = await readState();
    const serverPort = running && (await answers('127.0.0.1', running.port)) ? running.port : await startRedisServer();
    // The holder registers under the lock, so a leaving run never sees "no holders" while we arrive.
    return holdServer(serverPort);
  });
  process.env['REDIS_URL'] = `redis://127.0.0.1:${holder.port}`;
  return {
    release: () =>
      withLock(async () => {
        holder.socket.destroy();
        const clients = await command(holder.port, ['CLIENT', 'LIST']).catch(() => '');
        // Our own connection may still be listed for a moment after destroy: count the others.
        const stillHeld = clients.split('\n').some((line) => line.includes(` name=${HOLDER_NAME} `) && !line.includes(` addr=${holder.localAddress} `));
        if (!stillHeld) {
          await command(holder.port, ['SHUTDOWN', 'NOSAVE']).catch(() => undefined);
          await rm(STATE_FILE, { force: true });
        }
      }),
  };
}

async function startRedisServer(): Promise<number> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    aptInstall(['redis-server'], 'redis-server is not installed and no Redis answers at REDIS_URL: install it (apt-get install -y redis-server) or set REDIS_URL to a running Redis.');
  }
  const port = await freePort();
  // Detached: it outlives this vitest when another project still holds it; the last holder stops it.
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await answers('127.0.0.1', port)) {
      await writeFile(STATE_FILE, JSON.stringify({ port, pid: child.pid }));
      return port;
    }
    await sleep(50);
  }
  child.kill();
  throw new Error(`Could not start a private redis-server on 127.0.0.1:${port}: start Redis yourself and set REDIS_URL.`);
}

async function readState(): Promise<{ port: number } | undefined> {
  try {
    const state = JSON.parse(await readFile(STATE_FILE, 'utf8')) as { port?: unknown };
    return typeof state.port === 'number' ? { port: state.port } : undefined;
  } catch {
    return undefined;
  }
}

interface Holder {
  port: number;
  socket: Socket;
  localAddress: string;
}

async function holdServer(port: number): Promise<Holder> {
  const socket = await openSocket('127.0.0.1', port);
  await send(socket, ['CLIENT', 'SETNAME', HOLDER_NAME]);
  socket.unref();
  return { port, socket, localAddress: `${socket.localAddress}:${socket.localPort}` };
}

// A few RESP commands over a bare socket: this file runs before any package is resolved.
async function command(port: number, args: string[], host = '127.0.0.1'): Promise<string> {
  const socket = await openSocket(host, port);
  try {
    return await send(socket, args);
  } finally {
    socket.destroy();
  }
}

async function answers(host: string, port: number): Promise<boolean> {
  // Any RESP reply counts (a Redis that wants a password still answers).
  return command(port, ['PING'], host).then(
    () => true,
    (error: Error) => error.message.startsWith('redis:'),
  );
}

function openSocket(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(1500, () => socket.destroy(new Error(`no answer from ${host}:${port}`)));
    socket.once('connect', () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function send(socket: Socket, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const timer = setTimeout(() => done(new Error('redis: no reply')), 3000);
    const onData = (data: Buffer) => {
      reply += data.toString('utf8');
      const value = parseReply(reply);
      if (value !== undefined) done(value);
    };
    const done = (value: string | Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', done);
      if (typeof value === 'string') resolve(value);
      else reject(value);
    };
    socket.on('data', onData);
    socket.once('error', done);
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** A complete simple, error or bulk reply, or undefined while more bytes are due. */
function parseReply(reply: string): string | Error | undefined {
  const end = reply.indexOf('\r\n');
  if (end < 0) return undefined;
  const head = reply.slice(1, end);
  if (reply[0] === '-') return new Error(`redis: ${head}`);
  if (reply[0] !== '$') return head;
  const length = Number(head);
  if (length < 0) return '';
  const body = Buffer.from(reply.slice(end + 2), 'utf8');
  return body.length >= length + 2 ? body.subarray(0, length).toString('utf8') : undefined;
}

// ---- Chromium ----------------------------------------------------------------------------

function provideChromium(): Promise<void> {
  return installWhenMissing(() => (existsSync(CHROMIUM_PATH) ? [] : ['chromium']), () => ({ packages: ['chromium'], advice: chromiumMissingMessage() }));
}

// ---- machine -----------------------------------------------------------------------------

/** The Debian package that holds each command a project's tests may ask for. */
const DEBIAN_PACKAGES: Record<string, string> = { aws: 'awscli', shellcheck: 'shellcheck', Xvfb: 'xvfb', ffmpeg: 'ffmpeg', ffprobe: 'ffmpeg', unzip: 'unzip', zipinfo: 'unzip', sha256sum: 'coreutils' };

const hasCommand = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const packagesOf = (commands: readonly string[]) => [...new Set(commands.map((command) => DEBIAN_PACKAGES[command] ?? command))];

function toolsMissingMessage(commands: readonly string[]): string {
  const packages = packagesOf(commands).join(' ');
  return `${commands.join(', ')} ${commands.length === 1 ? 'is' : 'are'} not on the PATH: install Debian's ${packages} (apt-get install -y ${packages}) to run these tests.`;
}

/** For a test that runs `commands`: fails with one sentence saying what to install when one is missing. */
export function requireTools(commands: readonly string[]): void {
  const missing = commands.filter((command) => !hasCommand(command));
  if (missing.length > 0) throw new Error(toolsMissingMessage(missing));
}

function provideTools(commands: readonly string[]): Promise<void> {
  return installWhenMissing(
    () => commands.filter((command) => !hasCommand(command)),
    (missing) => ({ packages: packagesOf(missing), advice: toolsMissingMessage(missing) }),
  );
}

/**
 * Installs what `missing` names, under the setup's lock (checked again there: another vitest may
 * have installed it meanwhile). Not fatal: only the tests that need it fail, saying what to install.
 */
async function installWhenMissing(missing: () => readonly string[], install: (missing: readonly string[]) => { packages: string[]; advice: string }): Promise<void> {
  if (missing().length === 0) return;
  await withLock(async () => {
    const still = missing();
    if (still.length === 0) return;
    const { packages, advice } = install(still);
    try {
      aptInstall(packages, advice);
    } catch (error) {
      console.error(`test setup: ${(error as Error).message}`);
    }
  });
}

/** Installs Debian packages when we are root; otherwise throws `advice`. */
function aptInstall(packages: readonly string[], advice: string): void {
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) throw new Error(advice);
  const pkg = packages.join(' ');
  console.error(`test setup: installing Debian's ${pkg} (first run on this machine)`);
  // Other apt users on the machine hold dpkg's lock for a while: wait for it rather than fail.
  const wait = ['-o', 'DPkg::Lock::Timeout=600'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', [...wait, 'update', '-qq'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const install = update.status === 0 ? spawnSync('apt-get', [...wait, 'install', '-y', '-qq', ...packages], { env, stdio: ['ignore', 'ignore', 'pipe'] }) : update;
  if (install.status !== 0) {
    const why = install.stderr.toString().trim().split('\n').at(-1) ?? '';
    throw new Error(`${advice} (apt-get could not install ${pkg}: ${why})`);
  }
}

/** Runs `fn` holding a lock file shared by every vitest of this clone; a dead holder's lock is taken over. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15 * 60_000; // an apt-get install can hold it for minutes
  for (;;) {
    try {
      const handle = await open(LOCK_FILE, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(LOCK_FILE, 'utf8').catch(() => ''));
      if (owner > 0 && !alive(owner)) await rm(LOCK_FILE, { force: true });
      else if (Date.now() > deadline) throw new Error(`The test setup's lock ${LOCK_FILE} is held by process ${owner}: remove it if that process is gone.`);
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK_FILE, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A loopback port nothing listens on (for servers the tests start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

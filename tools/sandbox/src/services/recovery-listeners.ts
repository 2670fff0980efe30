import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { ServicePort } from '../world/seeded-drs.js';

/**
 * What a recovery instance's application answers: small servers bound to the instance's private
 * address in 127.0.0.0/8 (Linux routes the whole block to the loopback interface, so any address
 * binds without setup), on the ports its source server declares. A healthy HTTP port answers 200
 * with `body`; an `error` one answers 500; a `silent` one accepts and never answers. An HTTPS
 * port does the same over TLS with the certificate the sandbox was given (a test makes its own
 * CA), and is not listened on without one. A TCP port accepts (healthy) or is not listened on
 * at all.
 */
export interface InstanceListeners {
  address: string;
  close(): Promise<void>;
}

/**
 * Addresses come from 127.42.0.0-127.241.255.255, clear of 127.0.0.1. Each process starts in its
 * own /16 (from its pid), so sandboxes of parallel test files rarely meet, and when they do the
 * bind says so and the next address is tried.
 */
const BLOCK_FIRST = (127 << 24) | (42 << 16);
const BLOCK_SIZE = 200 << 16;
const PROCESS_START = (process.pid % 200) << 16;
/** Addresses this process's sandboxes hold; other processes are found by EADDRINUSE. */
const held = new Set<number>();

/**
 * Binds every port on the first address where all of them bind: an address held by another
 * sandbox (in this process or another) is skipped.
 */
export async function startInstanceListeners(ports: readonly ServicePort[], body: string, tls?: ListenerTls): Promise<InstanceListeners> {
  for (let offset = 0; offset < BLOCK_SIZE; offset++) {
    const candidate = BLOCK_FIRST + ((PROCESS_START + offset) % BLOCK_SIZE);
    const last = candidate & 255;
    if (last === 0 || last === 255 || held.has(candidate)) continue;
    held.add(candidate);
    const address = dotted(candidate);
    const bound: Listener[] = [];
    try {
      for (const port of ports) {
        const listener = makeListener(port, body, tls);
        if (listener) bound.push(await listen(listener, port.port, address));
      }
      return { address, close: () => closeAll(bound).finally(() => held.delete(candidate)) };
    } catch (error) {
      await closeAll(bound);
      held.delete(candidate);
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw new Error('no free address left in 127.42.0.0-127.241.255.255 for a recovery instance');
}

interface Listener {
  server: HttpServer | TcpServer;
  sockets: Set<Socket>;
}

/** The PEM certificate (chain) and key HTTPS ports answer with. */
export interface ListenerTls {
  cert: string;
  key: string;
}

function makeListener(port: ServicePort, body: string, tls: ListenerTls | undefined): Listener | undefined {
  const sockets = new Set<Socket>();
  let server: HttpServer | TcpServer;
  const answer = (_req: IncomingMessage, res: ServerResponse) => {
    if (port.behaviour === 'silent') return;
    const status = port.behaviour === 'healthy' ? 200 : 500;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? body : 'Internal Server Error');
  };
  if (port.protocol === 'http') {
    server = createHttpServer(answer);
  } else if (port.protocol === 'https') {
    if (!tls) return undefined;
    server = createHttpsServer({ cert: tls.cert, key: tls.key }, answer);
  } else {
    if (port.behaviour !== 'healthy') return undefined;
    server = createTcpServer(() => {});
  }
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  return { server, sockets };
}

function listen(listener: Listener, port: number, address: string): Promise<Listener> {
  return new Promise((resolve, reject) => {
    listener.server.once('error', reject);
    listener.server.listen({ port, host: address, exclusive: true }, () => {
      listener.server.off('error', reject);
      resolve(listener);
    });
  });
}

async function closeAll(listeners: readonly Listener[]): Promise<void> {
  await Promise.all(
    listeners.map(
      ({ server, sockets }) =>
        new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        }),
    ),
  );
}

function dotted(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join('.');
}

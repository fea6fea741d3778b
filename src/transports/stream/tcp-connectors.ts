/**
 * TCP connectors: a client to a serial-to-Ethernet terminal server (raw TCP, keep-alive), and a
 * listener a device or converter connects to (one device per listener).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Connector, Link } from './byte-stream-transport.ts';

export interface TcpClientTransportSettings {
  readonly kind: 'tcp-client';
  readonly host: string;
  readonly port: number;
  /** TCP keep-alive probe delay: finds a terminal server that vanished without closing. */
  readonly keepAliveMs: number;
  readonly connectTimeoutMs: number;
}

export interface TcpServerTransportSettings {
  readonly kind: 'tcp-server';
  readonly host: string;
  readonly port: number;
  readonly keepAliveMs: number;
}

function socketLink(socket: Socket, keepAliveMs: number): Link {
  socket.setKeepAlive(true, keepAliveMs);
  socket.setNoDelay(true);
  let reason: string | undefined;
  socket.on('error', (error) => {
    reason ??= error.message;
  });
  const ended = new Promise<string>((resolve) => {
    socket.once('close', () => resolve(reason ?? 'peer closed the connection'));
  });
  return {
    peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
    write: (bytes) => {
      socket.write(bytes);
    },
    destroy: () => {
      reason ??= 'closed by the gateway';
      socket.destroy();
    },
    onData: (listener) => socket.on('data', listener),
    ended,
  };
}

export function tcpClientConnector(settings: TcpClientTransportSettings): Connector {
  return {
    kind: 'tcp-client',
    description: `tcp-client:${settings.host}:${settings.port}`,
    passive: false,
    connect(signal) {
      return new Promise<Link>((resolve, reject) => {
        const socket = connect({ host: settings.host, port: settings.port });
        const fail = (error: Error) => {
          cleanup();
          socket.destroy();
          reject(error);
        };
        const onAbort = () => fail(new Error('aborted'));
        const timer = setTimeout(() => fail(new Error(`no connection within ${settings.connectTimeoutMs} ms`)), settings.connectTimeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          socket.off('error', fail);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.once('error', fail);
        socket.once('connect', () => {
          cleanup();
          resolve(socketLink(socket, settings.keepAliveMs));
        });
      });
    },
    async shutdown() {},
  };
}

/**
 * Listens on host:port for the device. One device per listener: when a new connection arrives while
 * one is open, the newest wins and the old one is closed (a converter that reconnects after a network
 * glitch must not be locked out by its own half-open socket).
 */
export function tcpServerConnector(settings: TcpServerTransportSettings): Connector & { address(): { host: string; port: number } | undefined } {
  let server: Server | undefined;
  let waiting: ((socket: Socket) => void) | undefined;
  let pending: Socket | undefined;
  let current: Socket | undefined;

  const onConnection = (socket: Socket) => {
    if (waiting !== undefined) {
      const deliver = waiting;
      waiting = undefined;
      deliver(socket);
      return;
    }
    pending?.destroy();
    pending = socket;
    current?.destroy();
  };

  async function listening(): Promise<Server> {
    if (server !== undefined) return server;
    const candidate = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      candidate.once('error', reject);
      candidate.listen(settings.port, settings.host, () => {
        candidate.off('error', reject);
        resolve();
      });
    });
    candidate.on('error', () => undefined);
    server = candidate;
    return candidate;
  }

  return {
    kind: 'tcp-server',
    description: `tcp-server:${settings.host}:${settings.port}`,
    passive: true,
    address() {
      const address = server?.address();
      return typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined;
    },
    async connect(signal) {
      await listening();
      const socket = await new Promise<Socket>((resolve, reject) => {
        if (pending !== undefined) {
          const ready = pending;
          pending = undefined;
          resolve(ready);
          return;
        }
        const onAbort = () => {
          waiting = undefined;
          reject(new Error('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting = (socket) => {
          signal.removeEventListener('abort', onAbort);
          resolve(socket);
        };
      });
      current = socket;
      socket.once('close', () => {
        if (current === socket) current = undefined;
      });
      return socketLink(socket, settings.keepAliveMs);
    },
    async shutdown() {
      pending?.destroy();
      current?.destroy();
      const closing = server;
      server = undefined;
      if (closing !== undefined) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}

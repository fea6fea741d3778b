/**
 * An MLLP sender: one message out, wait for its reply frame, then the next. HL7 over MLLP has no
 * request ids below the message itself, so only one request may be outstanding; further sends queue.
 * Used by the `vitalbridge send` CLI, tests and benchmarks. With `tls`, the connection is MLLP over
 * TLS (the server's certificate is verified; a client certificate can be presented for mutual TLS).
 */
import net from 'node:net';
import tls from 'node:tls';
import { MllpFramer, encodeMllpFrame } from './framer.ts';

export type MllpClientErrorReason =
  | 'already_connected'
  | 'not_connected'
  | 'connect_failed'
  | 'connect_timeout'
  | 'reply_timeout'
  | 'reply_too_large'
  | 'connection_closed'
  | 'closed_by_client';

export class MllpClientError extends Error {
  readonly reason: MllpClientErrorReason;

  constructor(reason: MllpClientErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MllpClientError';
    this.reason = reason;
  }
}

export interface MllpClientOptions {
  /** Largest reply accepted; a larger one fails its send (the connection stays usable). */
  readonly maxReplyBytes?: number;
}

export const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;
const CLOSE_TIMEOUT_MS = 2_000;

interface PendingReply {
  resolve(reply: Buffer): void;
  reject(error: MllpClientError): void;
}

interface Connection {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  /** Why the connection is going away, for the send it leaves unanswered. */
  closeReason: MllpClientError | undefined;
  /** The send waiting for its reply on this connection. */
  pending: PendingReply | undefined;
}

export class MllpClient {
  private readonly maxReplyBytes: number;
  private connection: Connection | undefined;
  /** Why the last connection closed, so a send after it says more than "not connected". */
  private lastCloseReason: MllpClientError | undefined;
  /** Sends run one after another along this chain. */
  private queueTail: Promise<unknown> = Promise.resolve();

  constructor(options: MllpClientOptions = {}) {
    this.maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  }

  get connected(): boolean {
    return this.connection !== undefined;
  }

  /**
   * Opens the connection; with `tls`, resolves once the TLS handshake succeeded. With TLS 1.3 a
   * server that refuses our client certificate says so only after that: the first send then fails
   * with connection_closed, and nothing was acknowledged.
   */
  connect(host: string, port: number, options: { timeoutMs: number; tls?: tls.ConnectionOptions }): Promise<void> {
    if (this.connection !== undefined) {
      return Promise.reject(new MllpClientError('already_connected', `already connected; close() first`));
    }
    return new Promise((resolve, reject) => {
      const socket =
        options.tls === undefined
          ? net.connect({ host, port })
          : // SNI carries host names only; for an IP address the certificate's IP SAN is checked without it.
            tls.connect({ host, port, ...(net.isIP(host) === 0 ? { servername: host } : {}), ...options.tls });
      const timer = setTimeout(() => {
        socket.destroy();
        const message = `no connection to ${host}:${port} within ${options.timeoutMs} ms`;
        reject(new MllpClientError('connect_timeout', message));
      }, options.timeoutMs);
      const onConnectError = (error: Error): void => {
        clearTimeout(timer);
        const message = `cannot connect to ${host}:${port}: ${error.message}`;
        reject(new MllpClientError('connect_failed', message, { cause: error }));
      };
      socket.once('error', onConnectError);
      socket.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', onConnectError);
        this.attach(socket, options.tls !== undefined);
        resolve();
      });
    });
  }

  /**
   * Sends one message and resolves with the payload of the reply frame. The timeout runs from the
   * moment the message is written (not while it waits behind earlier sends). On timeout the connection
   * is closed, because a late reply would otherwise be taken as the answer to the next message.
   */
  send(message: string | Buffer, options: { timeoutMs: number }): Promise<Buffer> {
    // A send belongs to the connection open when it was made: if that one closes, it fails, not retries.
    const connection = this.connection;
    if (connection === undefined) {
      const why = this.lastCloseReason === undefined ? '' : `: ${this.lastCloseReason.message}`;
      return Promise.reject(new MllpClientError('not_connected', `not connected${why}`));
    }
    const frame = encodeMllpFrame(message);
    const reply = this.queueTail.then(() => this.exchange(connection, frame, options.timeoutMs));
    this.queueTail = reply.catch(() => undefined);
    return reply;
  }

  /** Ends the connection; a send still waiting for its reply fails with reason closed_by_client. */
  async close(): Promise<void> {
    const connection = this.connection;
    if (connection === undefined) return;
    connection.closeReason ??= new MllpClientError('closed_by_client', 'the client closed the connection');
    connection.socket.end();
    const timer = setTimeout(() => connection.socket.destroy(), CLOSE_TIMEOUT_MS);
    await connection.closed;
    clearTimeout(timer);
  }

  private exchange(connection: Connection, frame: Buffer, timeoutMs: number): Promise<Buffer> {
    if (connection.closeReason !== undefined) {
      const reason = connection.closeReason;
      return Promise.reject(
        new MllpClientError('connection_closed', `not sent: ${reason.message}`, { cause: reason }),
      );
    }
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        const message = `no reply within ${timeoutMs} ms; the connection was closed`;
        const error = new MllpClientError('reply_timeout', message);
        connection.closeReason ??= error;
        settle(connection, (pending) => pending.reject(error));
        connection.socket.destroy();
      }, timeoutMs);
      connection.pending = {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      connection.socket.write(frame);
    });
  }

  private attach(socket: net.Socket, overTls: boolean): void {
    socket.setNoDelay(true);
    const framer = new MllpFramer({ maxFrameBytes: this.maxReplyBytes });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const connection: Connection = { socket, closed, closeReason: undefined, pending: undefined };
    this.connection = connection;

    socket.on('data', (chunk: Buffer) => {
      for (const event of framer.push(chunk)) {
        if (event.kind === 'frame') {
          // A reply nobody waits for (after a failed send) has no one to go to.
          settle(connection, (pending) => pending.resolve(event.payload));
        } else if (event.kind === 'oversize') {
          const error = new MllpClientError(
            'reply_too_large',
            `the reply of ${event.droppedBytes} bytes exceeds maxReplyBytes (${this.maxReplyBytes})`,
          );
          settle(connection, (pending) => pending.reject(error));
        }
        // Bytes outside frames are not a reply; keep waiting for one.
      }
    });
    socket.on('error', (error) => {
      connection.closeReason ??= new MllpClientError('connection_closed', `connection failed: ${error.message}`, {
        cause: error,
      });
    });
    socket.once('end', () => {
      connection.closeReason ??= serverClosed(overTls);
    });
    socket.once('close', () => {
      if (this.connection === connection) this.connection = undefined;
      const reason = connection.closeReason ?? serverClosed(overTls);
      connection.closeReason = reason;
      this.lastCloseReason = reason;
      settle(connection, (pending) => pending.reject(reason));
    });
  }
}

function serverClosed(overTls: boolean): MllpClientError {
  // With TLS 1.3 a server that refuses our client certificate can only say so by closing.
  const hint = overTls ? ' (a server that requires a client certificate closes the TLS connection when it refuses ours)' : '';
  return new MllpClientError('connection_closed', `the server closed the connection before replying${hint}`);
}

function settle(connection: Connection, action: (pending: PendingReply) => void): void {
  const pending = connection.pending;
  if (pending === undefined) return;
  connection.pending = undefined;
  action(pending);
}

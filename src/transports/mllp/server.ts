/**
 * The MLLP listener: accepts TCP connections, frames their bytes, hands each message to the handler and
 * writes back the reply the handler returns (the ACK or NAK). It knows nothing of HL7: what a reply says,
 * and whether there is one, is the handler's business.
 *
 * Per connection, messages are answered strictly in order, one at a time; when more than maxQueuedFrames
 * wait, the socket stops reading, so a fast sender is slowed by TCP instead of growing our memory.
 * Hostile senders are bounded too: a frame must end within frameTimeoutMs of its start (slowloris),
 * bytes outside frames do not keep a connection alive, and all connections together hold at most
 * maxBufferedBytes of unfinished and queued frames (past it, the connection holding most is closed).
 * Nothing a peer sends or does (garbage, huge frames, resets, silence) and nothing a handler throws can
 * end the process: each is logged with a code and the listener keeps serving.
 *
 * With `tls`, the listener speaks MLLP inside TLS (node:tls), optionally mutual TLS: the framer, limits
 * and ordering are the same (a socket counts against maxConnections from its accept, its handshake
 * included); a connection is served only once its handshake succeeded, and a failed
 * handshake (a plain TCP sender, no or an untrusted client certificate, a timeout) is logged with
 * mllp_tls_handshake_failed and a reason, and the socket closed; the listener keeps serving.
 *
 * Log events never carry message contents (they hold patient identifiers): only ids, sizes and codes.
 */
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { isGatewayError, type ErrorCode } from '../../errors/catalogue.ts';
import { MllpFramer, encodeMllpFrame } from './framer.ts';
import { createSenderActivity, type SenderActivity, type SenderState } from './sender-activity.ts';

export interface MllpConnectionInfo {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** Returns the reply to write back (framed here), or undefined to write nothing. */
export interface MllpHandler {
  onMessage(payload: Buffer, connection: MllpConnectionInfo): Promise<Buffer | string | undefined>;
  /** For a frame over maxFrameBytes: prefix holds its first bytes, enough to address a NAK. */
  onOversize(prefix: Buffer, connection: MllpConnectionInfo): Promise<Buffer | string | undefined>;
}

export const mllpLogEventNames = [
  'listening',
  'server_error',
  'connection_opened',
  'connection_refused',
  'connection_closed',
  'tls_handshake_failed',
  'bytes_outside_frame',
  'frame_too_large',
  'idle_timeout',
  'frame_timeout',
  'buffer_limit',
  'handler_failed',
  'socket_error',
  'reading_paused',
  'reading_resumed',
  'shutting_down',
] as const;
export type MllpLogEventName = (typeof mllpLogEventNames)[number];

export interface MllpLogEvent {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly event: MllpLogEventName;
  /** The catalogue code, when the event is a catalogued failure (or a handler threw a GatewayError). */
  readonly code?: ErrorCode;
  /** For failures outside the catalogue: the errno (ECONNRESET) or the thrown error's name (TypeError). */
  readonly errorName?: string;
  readonly connectionId?: string;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Bytes concerned: the garbage that opened a burst, or the size of a dropped frame. */
  readonly bytes?: number;
  /** Frames received on the connection (connection_closed) or waiting to be handled (reading_paused). */
  readonly frames?: number;
  /** connection_closed: all bytes that were outside frames, and the part of a frame the peer left unfinished. */
  readonly garbageBytes?: number;
  readonly unfinishedFrameBytes?: number;
  /** shutting_down: connections still open. */
  readonly connections?: number;
  readonly host?: string;
  readonly port?: number;
  readonly limit?: number;
  /** TLS listeners: the negotiated version (connection_opened), e.g. TLSv1.3. */
  readonly tlsProtocol?: string;
  /** Mutual TLS: the subject CN of the sender's verified certificate (a device or interface name, not patient data). */
  readonly clientCertificate?: string;
  /** tls_handshake_failed: why, in words a person can act on (see describeHandshakeFailure). */
  readonly reason?: string;
}

/** TLS for the listener: PEM contents (read by the caller), not paths. */
export interface MllpTlsOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** CAs that client certificates must chain to (mutual TLS). */
  readonly ca?: Buffer;
  readonly requireClientCert: boolean;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly handshakeTimeoutMs: number;
}

export interface MllpServerOptions {
  readonly host: string;
  /** 0 picks a free port; listen() reports which. */
  readonly port: number;
  readonly maxFrameBytes: number;
  /** A connection that sends nothing for this long while no message of it is being handled is closed; 0 never. */
  readonly idleTimeoutMs: number;
  /** A frame not ended this long after its start block is discarded and its connection closed; 0 never. */
  readonly frameTimeoutMs?: number;
  /** Bytes of unfinished and queued frames all connections together may hold; default: no limit. */
  readonly maxBufferedBytes?: number;
  /** Sockets open at once, TLS handshakes under way included; one more is closed at once (mllp_connection_limit). */
  readonly maxConnections: number;
  readonly handler: MllpHandler;
  readonly log: (event: MllpLogEvent) => void;
  /** Frames a connection may have waiting before its socket stops reading. */
  readonly maxQueuedFrames?: number;
  /** MLLP over TLS; absent: plain TCP. */
  readonly tls?: MllpTlsOptions;
}

export interface MllpServer {
  listen(): Promise<{ host: string; port: number }>;
  /**
   * Stops accepting, stops reading, lets each connection finish the message it is handling and write
   * its reply, then closes the sockets; whatever is still open after graceMs is destroyed. Frames
   * received but not yet handled get no reply: their senders resend them.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  connectionCount(): number;
  /** Bytes of unfinished and queued frames held across all connections now (bounded by maxBufferedBytes). */
  bufferedBytes(): number;
  /** Could a sender that is not waiting for a reply send soon (sender-activity.ts)? The publisher lingers only then. */
  othersMayJoin(): boolean;
  readonly listening: boolean;
}

export const DEFAULT_MAX_QUEUED_FRAMES = 64;
export const DEFAULT_CLOSE_GRACE_MS = 5_000;
const END_FLUSH_TIMEOUT_MS = 5_000;

export function createMllpServer(options: MllpServerOptions): MllpServer {
  assertPositiveInteger('maxFrameBytes', options.maxFrameBytes);
  assertPositiveInteger('maxConnections', options.maxConnections);
  if (!Number.isFinite(options.idleTimeoutMs) || options.idleTimeoutMs < 0) {
    throw new RangeError(`idleTimeoutMs must be 0 or more, got ${options.idleTimeoutMs}`);
  }
  const maxQueuedFrames = options.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES;
  assertPositiveInteger('maxQueuedFrames', maxQueuedFrames);
  const frameTimeoutMs = options.frameTimeoutMs ?? 0;
  if (!Number.isFinite(frameTimeoutMs) || frameTimeoutMs < 0) throw new RangeError(`frameTimeoutMs must be 0 or more, got ${frameTimeoutMs}`);
  const maxBufferedBytes = options.maxBufferedBytes ?? Number.POSITIVE_INFINITY;
  if (!(maxBufferedBytes >= options.maxFrameBytes)) {
    throw new RangeError(`maxBufferedBytes (${maxBufferedBytes}) must be at least maxFrameBytes (${options.maxFrameBytes})`);
  }

  const log = safeLogger(options.log);
  const connections = new Set<MllpConnection>();
  let connectionSequence = 0;
  let closing: Promise<void> | undefined;
  let totalBufferedBytes = 0;
  const senders = createSenderActivity();

  /** Over the shared limit: close the connections holding most until back under it (an abuser holds most). */
  function enforceBufferLimit(): void {
    while (totalBufferedBytes > maxBufferedBytes) {
      let largest: MllpConnection | undefined;
      for (const connection of connections) {
        if (!connection.aborted && (largest === undefined || connection.bufferedBytes > largest.bufferedBytes)) largest = connection;
      }
      if (largest === undefined || largest.bufferedBytes === 0) return;
      largest.abortForBufferLimit(maxBufferedBytes);
    }
  }

  // Half-open: a sender may end its side right after its last message and still wait for the replies.
  const server = options.tls === undefined ? net.createServer({ allowHalfOpen: true }) : createTlsServer(options.tls);
  server.on('error', (error: NodeJS.ErrnoException) => {
    log({ level: 'error', event: 'server_error', errorName: error.code ?? error.name });
  });
  // Node counts every accepted socket, a TLS one still in its handshake too, and closes one more at
  // once: unfinished handshakes cannot hold more than the limit either.
  server.maxConnections = options.maxConnections;
  server.on('drop', (dropped?: Peer) => {
    log({ level: 'warn', event: 'connection_refused', code: 'mllp_connection_limit', ...peerOf(dropped), limit: options.maxConnections });
  });
  if (options.tls !== undefined) {
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      log({
        level: 'warn',
        event: 'tls_handshake_failed',
        code: 'mllp_tls_handshake_failed',
        errorName: error.code ?? error.name,
        reason: describeHandshakeFailure(error),
        ...peerOf(socket),
      });
      socket.destroy();
    });
  }
  // A TLS server reports a connection once its handshake succeeded; a plain one, once accepted.
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: net.Socket) => {
    socket.allowHalfOpen = true;
    socket.on('error', () => {}); // a socket refused below may still report a reset; nothing to do
    const remote = peerOf(socket);
    if (options.tls?.requireClientCert === true && socket instanceof tls.TLSSocket && !socket.authorized) {
      // Refused before a single byte of it is read: no frame, no ACK.
      const noCertificate = Object.keys(socket.getPeerCertificate()).length === 0;
      const errorName = noCertificate ? 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' : String(socket.authorizationError ?? 'UNAUTHORIZED');
      log({
        level: 'warn',
        event: 'tls_handshake_failed',
        code: 'mllp_tls_handshake_failed',
        errorName,
        reason: describeHandshakeFailure({ message: '', code: errorName }),
        ...remote,
      });
      socket.destroy();
      return;
    }
    if (closing !== undefined) {
      socket.destroy(); // accepted in the same turn as close() began: its sender reconnects
      return;
    }
    connectionSequence += 1;
    const connection = new MllpConnection(socket, { id: `mllp-${connectionSequence}`, ...remote }, {
      maxFrameBytes: options.maxFrameBytes,
      idleTimeoutMs: options.idleTimeoutMs,
      frameTimeoutMs,
      maxQueuedFrames,
      onBufferedBytesChanged: (delta) => {
        totalBufferedBytes += delta;
        if (delta > 0) enforceBufferLimit();
      },
      handler: options.handler,
      log,
      senders,
      // Membership changes before the open/close log lines, so a sink reading connectionCount() sees the new count.
      onClosed: () => connections.delete(connection),
    });
    connections.add(connection);
    connection.start();
  });

  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once('error', onError);
        server.listen({ host: options.host, port: options.port }, () => {
          server.off('error', onError);
          const address = server.address() as AddressInfo;
          log({ level: 'info', event: 'listening', host: address.address, port: address.port });
          resolve({ host: address.address, port: address.port });
        });
      });
    },

    close({ graceMs = DEFAULT_CLOSE_GRACE_MS } = {}) {
      closing ??= (async () => {
        log({ level: 'info', event: 'shutting_down', connections: connections.size });
        const serverClosed = server.listening
          ? new Promise<void>((resolve) => server.close(() => resolve()))
          : Promise.resolve();
        const open = [...connections];
        for (const connection of open) connection.shutDown();
        const graceTimer = setTimeout(() => {
          for (const connection of open) connection.destroy();
        }, graceMs);
        await Promise.all(open.map((connection) => connection.closed));
        clearTimeout(graceTimer);
        await serverClosed;
      })();
      return closing;
    },

    connectionCount: () => connections.size,
    bufferedBytes: () => totalBufferedBytes,
    othersMayJoin: () => senders.othersMayJoin(),

    get listening() {
      return server.listening;
    },
  };
}

type QueuedFrame =
  | { readonly kind: 'frame'; readonly payload: Buffer }
  | { readonly kind: 'oversize'; readonly prefix: Buffer };

interface ConnectionSettings {
  readonly maxFrameBytes: number;
  readonly idleTimeoutMs: number;
  readonly frameTimeoutMs: number;
  /** Reports each change of this connection's buffered bytes, so the server keeps the total. */
  readonly onBufferedBytesChanged: (delta: number) => void;
  readonly maxQueuedFrames: number;
  readonly handler: MllpHandler;
  readonly log: (event: MllpLogEvent) => void;
  readonly senders: SenderActivity;
  readonly onClosed: () => void;
}

class MllpConnection {
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;

  private readonly framer: MllpFramer;
  private readonly queue: QueuedFrame[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  /** framer.framesStarted when the frame timer was started: a new frame restarts it. */
  private timedFrame = 0;
  /** Bytes this connection holds (unfinished frame + queued frames), as last reported to the server. */
  private reportedBufferedBytes = 0;
  /** Closed by the server for the shared buffer limit: its bytes no longer count. */
  aborted = false;
  private handling = false;
  private draining = false;
  private readingPaused = false;
  private peerEnded = false;
  private shuttingDown = false;
  private ending = false;
  private isClosed = false;
  /** Garbage is logged once per burst, a burst ending when a frame arrives; totals go in the close line. */
  private inGarbageBurst = false;
  private framesReceived = 0;
  private garbageBytes = 0;
  private readonly sender: SenderState;

  constructor(
    private readonly socket: net.Socket,
    private readonly info: MllpConnectionInfo,
    private readonly settings: ConnectionSettings,
  ) {
    this.framer = new MllpFramer({ maxFrameBytes: settings.maxFrameBytes });
    this.sender = settings.senders.newSender();
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.onClose();
        resolve();
      });
    });
  }

  /** Starts serving; called in the same tick the socket was accepted, so no data event is missed. */
  start(): void {
    // Replies are small and latency matters: without this, Nagle plus delayed ACKs can hold one for 40 ms.
    this.socket.setNoDelay(true);
    if (this.settings.idleTimeoutMs > 0) {
      this.idleTimer = setTimeout(() => this.onIdle(), this.settings.idleTimeoutMs).unref();
    }
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => this.onPeerEnd());
    this.socket.on('error', (error: NodeJS.ErrnoException) => {
      this.log('warn', 'socket_error', { errorName: error.code ?? error.name });
    });
    this.log('info', 'connection_opened', this.socket instanceof tls.TLSSocket ? tlsDetails(this.socket) : {});
  }

  /** Stop reading, drop frames not yet started, and close once the message in hand is answered. */
  shutDown(): void {
    this.shuttingDown = true;
    this.queue.length = 0;
    this.updateBufferedBytes();
    this.socket.pause();
    if (!this.draining) this.endGracefully();
  }

  destroy(): void {
    this.socket.destroy();
  }

  get bufferedBytes(): number {
    return this.reportedBufferedBytes;
  }

  /** The server is over maxBufferedBytes and this connection holds most: drop its bytes and close it. */
  abortForBufferLimit(limit: number): void {
    this.aborted = true;
    this.log('warn', 'buffer_limit', { code: 'mllp_buffer_limit', bytes: this.reportedBufferedBytes, limit });
    this.queue.length = 0;
    this.updateBufferedBytes(0);
    this.shuttingDown = true;
    this.socket.destroy();
  }

  /** What this connection holds: the framer's unfinished frame and the frames waiting for the handler. */
  private updateBufferedBytes(current = this.framer.heldBytes + this.queuedBytes()): void {
    const held = this.aborted || this.isClosed ? 0 : current;
    const delta = held - this.reportedBufferedBytes;
    if (delta === 0) return;
    this.reportedBufferedBytes = held;
    this.settings.onBufferedBytesChanged(delta);
  }

  private queuedBytes(): number {
    let bytes = 0;
    for (const frame of this.queue) bytes += frame.kind === 'frame' ? frame.payload.length : frame.prefix.length;
    return bytes;
  }

  /** A frame must end within frameTimeoutMs of its start block, however slowly its bytes trickle in. */
  private watchFrameTime(): void {
    if (this.settings.frameTimeoutMs <= 0) return;
    if (!this.framer.inFrame) {
      if (this.frameTimer) clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
      return;
    }
    if (this.frameTimer !== undefined && this.timedFrame === this.framer.framesStarted) return;
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.timedFrame = this.framer.framesStarted;
    this.frameTimer = setTimeout(() => this.onFrameTimeout(), this.settings.frameTimeoutMs).unref();
  }

  private onFrameTimeout(): void {
    this.frameTimer = undefined;
    if (this.isClosed) return;
    if (this.readingPaused) {
      // We stopped reading (frames queued behind a slow handler): the frame stalls because of us, not the sender.
      this.frameTimer = setTimeout(() => this.onFrameTimeout(), this.settings.frameTimeoutMs).unref();
      return;
    }
    this.log('warn', 'frame_timeout', {
      code: 'mllp_frame_timeout',
      bytes: this.framer.unfinishedFrameBytes,
      limit: this.settings.frameTimeoutMs,
    });
    // The unfinished frame cannot be answered (its sender is stalled mid-frame): close once the message in
    // hand, if any, is answered; frames queued behind it get no reply and are resent on reconnect.
    this.shutDown();
  }

  private onData(chunk: Buffer): void {
    if (this.shuttingDown) return;
    const events = this.framer.push(chunk);
    // Only frames (finished or under way) count as activity: a trickle of bytes outside frames must not keep a connection open.
    if (this.framer.inFrame || events.some((event) => event.kind !== 'garbage')) this.idleTimer?.refresh();
    for (const event of events) {
      switch (event.kind) {
        case 'garbage':
          this.garbageBytes += event.bytes;
          if (!this.inGarbageBurst) {
            this.inGarbageBurst = true;
            this.log('warn', 'bytes_outside_frame', { code: 'mllp_bytes_outside_frame', bytes: event.bytes });
          }
          break;
        case 'frame':
          this.inGarbageBurst = false;
          this.framesReceived += 1;
          this.settings.senders.frameReceived(this.sender);
          this.queue.push(event);
          break;
        case 'oversize':
          this.inGarbageBurst = false;
          this.framesReceived += 1;
          this.settings.senders.frameReceived(this.sender);
          this.log('warn', 'frame_too_large', {
            code: 'mllp_frame_too_large',
            bytes: event.droppedBytes,
            limit: this.settings.maxFrameBytes,
          });
          this.queue.push({ kind: 'oversize', prefix: event.prefix });
          break;
        default:
          event satisfies never;
      }
    }
    if (this.queue.length > this.settings.maxQueuedFrames && !this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
      this.log('debug', 'reading_paused', { frames: this.queue.length });
    }
    this.watchFrameTime();
    this.updateBufferedBytes();
    void this.drain();
  }

  /** Handles queued frames one at a time: the next handler call starts only after the reply was written. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    for (let next = this.queue.shift(); next !== undefined && !this.isClosed; next = this.queue.shift()) {
      this.updateBufferedBytes();
      this.resumeReadingIfDrained();
      const reply = await this.handle(next);
      if (reply !== undefined) await this.write(encodeMllpFrame(reply));
      this.idleTimer?.refresh();
    }
    this.draining = false;
    this.settings.senders.replied(this.sender);
    if (this.peerEnded || this.shuttingDown) this.endGracefully();
  }

  private async handle(frame: QueuedFrame): Promise<Buffer | string | undefined> {
    this.handling = true;
    try {
      return frame.kind === 'frame'
        ? await this.settings.handler.onMessage(frame.payload, this.info)
        : await this.settings.handler.onOversize(frame.prefix, this.info);
    } catch (error) {
      // The error's message may quote the message it failed on, so only its code or name is logged.
      const identity = isGatewayError(error) ? { code: error.code } : { errorName: errorName(error) };
      this.log('error', 'handler_failed', identity);
      return undefined;
    } finally {
      this.handling = false;
    }
  }

  /** Resolves once the bytes are handed to the kernel (or the socket is gone): our write back-pressure. */
  private write(frame: Buffer): Promise<void> {
    if (!this.socket.writable) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(frame, () => resolve());
    });
  }

  private resumeReadingIfDrained(): void {
    if (!this.readingPaused || this.shuttingDown || this.queue.length > this.settings.maxQueuedFrames / 2) return;
    this.readingPaused = false;
    this.socket.resume();
    this.log('debug', 'reading_resumed', { frames: this.queue.length });
  }

  private onPeerEnd(): void {
    this.peerEnded = true;
    if (!this.draining) this.endGracefully();
  }

  /** Silence only counts while we owe the peer nothing: a slow handler (a slow Kafka) is not the peer's idleness. */
  private onIdle(): void {
    if (this.handling) {
      this.idleTimer?.refresh();
      return;
    }
    this.log('info', 'idle_timeout', { code: 'mllp_idle_timeout', limit: this.settings.idleTimeoutMs });
    this.endGracefully();
  }

  private endGracefully(): void {
    if (this.ending || this.isClosed) return;
    this.ending = true;
    this.queue.length = 0;
    this.updateBufferedBytes();
    this.socket.end(() => this.socket.destroy());
    // A peer that reads nothing would keep our last bytes, and so the socket, forever.
    setTimeout(() => this.socket.destroy(), END_FLUSH_TIMEOUT_MS).unref();
  }

  private onClose(): void {
    this.isClosed = true;
    this.settings.onClosed();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.queue.length = 0;
    this.updateBufferedBytes(0);
    this.settings.senders.replied(this.sender);
    this.log('info', 'connection_closed', {
      frames: this.framesReceived,
      garbageBytes: this.garbageBytes,
      unfinishedFrameBytes: this.framer.unfinishedFrameBytes,
    });
  }

  private log(
    level: MllpLogEvent['level'],
    event: MllpLogEventName,
    details: Omit<MllpLogEvent, 'level' | 'event' | 'connectionId' | 'remoteAddress' | 'remotePort'>,
  ): void {
    this.settings.log({
      level,
      event,
      connectionId: this.info.id,
      remoteAddress: this.info.remoteAddress,
      remotePort: this.info.remotePort,
      ...details,
    });
  }
}

function createTlsServer(settings: MllpTlsOptions): tls.Server {
  return tls.createServer({
    // Not half-open until the handshake succeeds ('secureConnection' turns it on): a peer that ends
    // its side mid-handshake is closed at once instead of holding a maxConnections slot until the
    // handshake timeout.
    allowHalfOpen: false,
    cert: settings.cert,
    key: settings.key,
    ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
    // Ask for a certificate whenever a CA is configured. The verdict is ours, on 'secureConnection'
    // (see createMllpServer): node's own rejectUnauthorized closes the socket without saying why,
    // and an operator needs the why (no certificate, or which verification error).
    requestCert: settings.requireClientCert || settings.ca !== undefined,
    rejectUnauthorized: false,
    minVersion: settings.minVersion,
    handshakeTimeout: settings.handshakeTimeoutMs,
  });
}

/** A socket's (or a dropped connection's) address for a log line; Node leaves them undefined once a socket is gone. */
interface Peer {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

function peerOf(peer: Peer | undefined): { remoteAddress: string; remotePort: number } {
  return { remoteAddress: peer?.remoteAddress ?? '', remotePort: peer?.remotePort ?? 0 };
}

function tlsDetails(socket: tls.TLSSocket): Pick<MllpLogEvent, 'tlsProtocol' | 'clientCertificate'> {
  const protocol = socket.getProtocol();
  const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
  const commonName = peer?.subject?.CN;
  return {
    ...(protocol !== null ? { tlsProtocol: protocol } : {}),
    ...(typeof commonName === 'string' && commonName !== '' ? { clientCertificate: commonName } : {}),
  };
}

/** OpenSSL's error codes, said as what the operator should look at. */
export function describeHandshakeFailure(error: Pick<NodeJS.ErrnoException, 'code' | 'message'>): string {
  const code = `${error.code ?? ''} ${error.message}`;
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/i.test(code)) return 'the sender presented no client certificate (mutual TLS is required)';
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/i.test(code)) return 'the client certificate has expired or is not valid yet';
  if (/CERTIFICATE_VERIFY_FAILED|UNKNOWN_CA|UNABLE_TO_|SELF_SIGNED|unable to get|self.signed|CERT_/i.test(code)) return 'the client certificate is not signed by the configured CA (it does not verify against mllp.tls.caFile)';
  if (/WRONG_VERSION_NUMBER|HTTP_REQUEST|UNKNOWN_PROTOCOL|PACKET_LENGTH_TOO_LONG|RECORD_LAYER/i.test(code)) return 'the sender does not speak TLS (plain MLLP sent to a TLS listener?)';
  if (/UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION|VERSION_TOO_LOW/i.test(code)) return 'no TLS version in common (mllp.tls.minVersion)';
  if (/NO_SHARED_CIPHER|HANDSHAKE_FAILURE/i.test(code)) return 'no cipher suite in common';
  if (/ETIMEDOUT|timed out|timeout/i.test(code)) return 'the handshake did not complete within mllp.tls.handshakeTimeoutMs';
  if (/ECONNRESET|socket hang up|EPIPE/i.test(code)) return 'the sender closed the connection during the handshake';
  return 'the TLS handshake failed';
}

/** A throwing log sink must not take a connection down with it. */
function safeLogger(log: (event: MllpLogEvent) => void): (event: MllpLogEvent) => void {
  return (event) => {
    try {
      log(event);
    } catch {
      // Nowhere left to report it.
    }
  };
}

function errorName(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.name;
  return typeof error;
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

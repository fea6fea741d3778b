/**
 * The byte-stream transport: one long-lived connection to one device, over a serial port, a TCP
 * connection to a terminal server, or a TCP listener the device (or its converter) connects to.
 * `open()` starts it; from then on it keeps itself connected, reconnecting with capped, jittered
 * exponential back-off when the port or socket fails or closes, until `close()`.
 *
 * Events: `open` (a connection is up), `data` (bytes), `close` (a connection went away, with the
 * reason), `error` (a GatewayError `transport_unavailable`: opening failed; a retry follows).
 * Nothing here buffers: bytes written while disconnected are dropped and `write` says so.
 */
import { EventEmitter } from 'node:events';
import { GatewayError } from '../../errors/catalogue.ts';
import { backoffDelay, defaultBackoff, type BackoffSettings } from './backoff.ts';

export interface ByteStreamTransportEvents {
  open: [info: { readonly peer: string }];
  data: [chunk: Buffer];
  close: [info: { readonly reason: string }];
  error: [error: GatewayError];
}

export interface ByteStreamTransport extends EventEmitter<ByteStreamTransportEvents> {
  /** What this transport talks to, for logs: e.g. `serial:/dev/ttyUSB0`, `tcp-client:10.0.0.5:4001`. */
  readonly description: string;
  /** Which kind of transport, for metrics labels. */
  readonly kind: 'serial' | 'tcp-client' | 'tcp-server';
  readonly connected: boolean;
  /** Starts connecting; keeps the connection up until close(). */
  open(): void;
  /** Writes to the current connection; false (bytes dropped) when there is none. */
  write(bytes: Buffer): boolean;
  /** Drops the current connection (e.g. a session gave up); a new one follows after back-off. */
  reset(reason: string): void;
  /** Closes for good: no more reconnects. */
  close(): Promise<void>;
}

/** One established connection, as a connector hands it over. */
export interface Link {
  readonly peer: string;
  write(bytes: Buffer): void;
  /** Closes the connection; `ended` resolves afterwards. */
  destroy(): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Resolves once when the connection is gone, with the reason. */
  readonly ended: Promise<string>;
}

/**
 * Opens one connection. `passive` connectors (a TCP listener) wait for the peer, so after a
 * connection closes the next wait starts at once; active ones (serial, TCP client) back off first.
 */
export interface Connector {
  readonly kind: ByteStreamTransport['kind'];
  readonly description: string;
  readonly passive: boolean;
  connect(signal: AbortSignal): Promise<Link>;
  /** Releases what the connector holds between connections (a listening socket). */
  shutdown(): Promise<void>;
}

export class ReconnectingTransport extends EventEmitter<ByteStreamTransportEvents> implements ByteStreamTransport {
  readonly description: string;
  readonly kind: ByteStreamTransport['kind'];
  private link: Link | undefined;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly backoff: BackoffSettings;
  private readonly random: () => number;

  constructor(
    private readonly connector: Connector,
    options: { backoff?: BackoffSettings; random?: () => number } = {},
  ) {
    super();
    this.description = connector.description;
    this.kind = connector.kind;
    this.backoff = options.backoff ?? defaultBackoff;
    this.random = options.random ?? Math.random;
  }

  get connected(): boolean {
    return this.link !== undefined;
  }

  open(): void {
    this.loop ??= this.run();
  }

  write(bytes: Buffer): boolean {
    if (this.link === undefined) return false;
    this.link.write(bytes);
    return true;
  }

  reset(reason: string): void {
    this.resetReason = reason;
    this.link?.destroy();
  }

  private resetReason: string | undefined;

  async close(): Promise<void> {
    this.abort.abort();
    this.link?.destroy();
    await this.loop;
    await this.connector.shutdown();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      let link: Link;
      try {
        link = await this.connector.connect(signal);
      } catch (error) {
        if (signal.aborted) break;
        const detail = error instanceof Error ? error.message : String(error);
        this.emit('error', new GatewayError('transport_unavailable', `${this.description}: ${detail}`, { cause: error }));
        await sleep(backoffDelay(attempt, this.backoff, this.random()), signal);
        attempt += 1;
        continue;
      }
      if (signal.aborted) {
        link.destroy();
        await link.ended;
        break;
      }
      this.link = link;
      this.resetReason = undefined;
      // A connection that delivers data has proven itself: the next failure starts the back-off afresh.
      link.onData((chunk) => {
        attempt = 0;
        this.emit('data', chunk);
      });
      this.emit('open', { peer: link.peer });
      const reason = await link.ended;
      this.link = undefined;
      this.emit('close', { reason: this.resetReason ?? (signal.aborted ? 'transport closed' : reason) });
      if (signal.aborted) break;
      if (!this.connector.passive) {
        await sleep(backoffDelay(attempt, this.backoff, this.random()), signal);
        attempt += 1;
      }
    }
  }
}

/**
 * Waits for `work`, at most `ms`: true when it finished in time, false at the deadline. Rejects
 * when `work` rejects in time; a rejection after the deadline is dropped. Leaves no timer behind,
 * so a finished wait never holds the process open.
 */
export async function finishWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const finished = work.then(() => true);
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([finished, deadline]);
  } finally {
    clearTimeout(timer);
    finished.catch(() => undefined);
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * A lean MLLP load generator: raw sockets (no per-send promises chains or timers beyond one per
 * request), one outstanding message per connection as HL7 over MLLP allows. Closed-loop senders
 * (as fast as ACKs allow) and open-loop paced senders (latency measured from the scheduled send time,
 * so a slow ACK delays the next send without hiding it: no coordinated omission).
 */
import { connect, type Socket } from 'node:net';
import { benchPcd01Message, euiFor, hl7Time } from './pcd-message.ts';

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;

export class LoadConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: ((reply: string) => void) | undefined;
  private failed: Error | undefined;
  private seq = 0;
  private readonly eui: string;
  private readonly baseTime = Date.UTC(2024, 4, 1, 0, 0, 0);

  private constructor(
    private readonly socket: Socket,
    readonly index: number,
  ) {
    this.eui = euiFor(index);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (error: Error) => {
      this.failed ??= error;
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.('');
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error(`connection ${index} closed by the gateway`)));
  }

  static open(port: number, index: number): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LoadConnection(socket, index));
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const start = this.buffer.indexOf(VT);
      if (start < 0) return;
      let end = this.buffer.indexOf(FS, start + 1);
      if (end < 0 || end + 1 >= this.buffer.length) return;
      if (this.buffer[end + 1] !== CR) end = this.buffer.indexOf(FS, end + 1);
      if (end < 0) return;
      const reply = this.buffer.toString('latin1', start + 1, end);
      this.buffer = this.buffer.subarray(end + 2);
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.(reply);
    }
  }

  /** Sends the next benchmark message and resolves with the ACK code (CA, CE, CR, ...). */
  send(): Promise<string> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    const n = this.seq++;
    const message = benchPcd01Message({
      controlId: `B${this.index}-${n}`,
      time: hl7Time(this.baseTime + n * 1000),
      eui64: this.eui,
      patientId: `MRN${this.index}`,
      seq: n,
    });
    return new Promise((resolve, reject) => {
      this.waiter = (reply) => {
        if (this.failed !== undefined) return reject(this.failed);
        const msa = /(?:^|\r)MSA\|([A-Z]{2})/.exec(reply);
        resolve(msa?.[1] ?? '??');
      };
      this.socket.write(`\x0b${message}\x1c\r`, 'latin1');
    });
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.on('error', () => undefined);
    this.socket.destroy();
  }
}

export async function openConnections(port: number, count: number, batch = 50): Promise<LoadConnection[]> {
  const connections: LoadConnection[] = [];
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => LoadConnection.open(port, i + j)));
    connections.push(...opened);
  }
  return connections;
}

export interface LoadResult {
  /** Accepted (CA) messages whose ACK arrived inside the measuring window. */
  accepted: number;
  /** Accepted messages in the whole run, warm-up included (what Kafka must hold). */
  acceptedTotal: number;
  /** Any other ACK code, or a failed send. */
  failures: number;
  failureCodes: Record<string, number>;
  /** ACK latencies (ms) of the messages counted. */
  latenciesMs: number[];
  windowSeconds: number;
}

interface Window {
  readonly measureFrom: number;
  readonly measureUntil: number;
}

/** Runs onWindowStart/onWindowEnd on time, and any still pending when the load ends (a loop may finish a hair before its timer). */
function windowHooks(window: Window, hooks: { onWindowStart(): void; onWindowEnd(): void }): () => void {
  let started = false;
  let ended = false;
  const start = () => {
    if (started) return;
    started = true;
    hooks.onWindowStart();
  };
  const end = () => {
    start();
    if (ended) return;
    ended = true;
    hooks.onWindowEnd();
  };
  const startTimer = setTimeout(start, Math.max(0, window.measureFrom - performance.now()));
  const endTimer = setTimeout(end, Math.max(0, window.measureUntil - performance.now()));
  return () => {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    end();
  };
}

function newResult(): LoadResult {
  return { accepted: 0, acceptedTotal: 0, failures: 0, failureCodes: {}, latenciesMs: [], windowSeconds: 0 };
}

function record(result: LoadResult, window: Window, scheduledAt: number, code: string): void {
  const now = performance.now();
  if (code === 'CA') result.acceptedTotal += 1;
  if (now < window.measureFrom || now > window.measureUntil) return;
  if (code === 'CA') {
    result.accepted += 1;
    result.latenciesMs.push(now - scheduledAt);
  } else {
    result.failures += 1;
    result.failureCodes[code] = (result.failureCodes[code] ?? 0) + 1;
  }
}

/**
 * Closed loop: every connection sends its next message as soon as the previous one is ACKed.
 * `onWindowStart` runs when warm-up ends (to snapshot CPU/offsets), `onWindowEnd` when measuring ends.
 */
export async function closedLoop(
  connections: readonly LoadConnection[],
  timing: { warmupMs: number; measureMs: number },
  hooks: { onWindowStart(): void; onWindowEnd(): void },
): Promise<LoadResult> {
  const result = newResult();
  const t0 = performance.now();
  const window = { measureFrom: t0 + timing.warmupMs, measureUntil: t0 + timing.warmupMs + timing.measureMs };
  const finish = windowHooks(window, hooks);
  await Promise.all(
    connections.map(async (connection) => {
      while (performance.now() < window.measureUntil) {
        const sentAt = performance.now();
        let code: string;
        try {
          code = await connection.send();
        } catch {
          code = 'socket-error';
          record(result, window, sentAt, code);
          return;
        }
        record(result, window, sentAt, code);
      }
    }),
  );
  finish();
  result.windowSeconds = timing.measureMs / 1000;
  return result;
}

/**
 * Open loop: each connection has a fixed schedule (ratePerConnection messages/s, phases spread
 * evenly); latency runs from the scheduled time. A connection that falls behind sends at once.
 */
export async function openLoop(
  connections: readonly LoadConnection[],
  ratePerConnection: number,
  timing: { warmupMs: number; measureMs: number },
  hooks: { onWindowStart(): void; onWindowEnd(): void },
): Promise<LoadResult & { scheduled: number; lateSends: number }> {
  const result = { ...newResult(), scheduled: 0, lateSends: 0 };
  const intervalMs = 1000 / ratePerConnection;
  const t0 = performance.now() + 20;
  const window = { measureFrom: t0 + timing.warmupMs, measureUntil: t0 + timing.warmupMs + timing.measureMs };
  const finish = windowHooks(window, hooks);
  await Promise.all(
    connections.map(async (connection, i) => {
      let scheduled = t0 + (intervalMs * i) / connections.length;
      // Stops at the end of the window even when behind schedule: an overloaded gateway's backlog is not drained.
      while (scheduled < window.measureUntil && performance.now() < window.measureUntil) {
        const wait = scheduled - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -intervalMs && scheduled >= window.measureFrom) result.lateSends += 1;
        if (scheduled >= window.measureFrom) result.scheduled += 1;
        let code: string;
        try {
          code = await connection.send();
        } catch {
          record(result, window, scheduled, 'socket-error');
          return;
        }
        record(result, window, scheduled, code);
        scheduled += intervalMs;
      }
    }),
  );
  finish();
  result.windowSeconds = timing.measureMs / 1000;
  return result;
}

export function percentiles(values: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50: r(at(50)), p95: r(at(95)), p99: r(at(99)), max: r(sorted.at(-1) ?? NaN) };
}

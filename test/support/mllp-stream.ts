/**
 * MLLP senders that behave like bedside monitors under faults: each connection sends PCD-01
 * messages one after another (its own EUI-64, a new MSH-10 and a new observation time per message,
 * so every message makes resources with ids of their own) and resends the same message after a
 * negative ACK, a reply timeout or a dropped connection (reconnecting as needed), as HL7 asks of a
 * sender. Everything goes into an AckedLedger.
 */
import { randomBytes } from 'node:crypto';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient, MllpClientError } from '../../src/transports/mllp/client.ts';
import { positiveAckCodes, type AckedLedger } from './acked-ledger.ts';
import { pcd01Message } from './messages.ts';

export interface MllpStreamOptions {
  readonly port: number;
  readonly connections: number;
  readonly ledger: AckedLedger;
  /** Prefix of every MSH-10; keep it short (MSH-10 is at most 20 characters in HL7 2.5). */
  readonly prefix: string;
  /** Pause between one message's positive ACK and the next message (pacing); default 100 ms. */
  readonly intervalMs?: number;
  /** Pause before a resend; default 200 ms. */
  readonly retryDelayMs?: number;
  /** Reply timeout per attempt; default 30 s. */
  readonly replyTimeoutMs?: number;
}

export interface MllpStream {
  /** Messages positively acknowledged so far, all connections. */
  ackedCount(): number;
  /** Resolves once every connection has at least `count` more positive ACKs than when called, or rejects at the deadline. */
  waitForAcks(count: number, timeoutMs: number): Promise<void>;
  /** Stop sending new messages; the attempt in progress finishes (reply or timeout), then connections close. */
  stop(): Promise<void>;
}

const observationEpoch = Date.UTC(2026, 0, 1);

/** HL7 DTM with an explicit UTC offset, one second per message. */
function hl7Time(ms: number): string {
  const d = new Date(ms);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}+0000`;
}

export function startMllpStream(options: MllpStreamOptions): MllpStream {
  const intervalMs = options.intervalMs ?? 100;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const replyTimeoutMs = options.replyTimeoutMs ?? 30_000;
  let stopping = false;
  const ackedPerConnection = new Array<number>(options.connections).fill(0);
  const runId = randomBytes(3).toString('hex').toUpperCase();

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function runConnection(index: number): Promise<void> {
    const eui64 = `F0${index.toString(16).padStart(2, '0').toUpperCase()}${runId}000000`.slice(0, 16);
    const client = new MllpClient();
    let sequence = 0;
    try {
      while (!stopping) {
        sequence += 1;
        const controlId = `${options.prefix}${index}-${sequence}`;
        const message = pcd01Message({ controlId, eui64, time: hl7Time(observationEpoch + sequence * 1000) });
        for (;;) {
          if (!client.connected) {
            try {
              await client.connect('127.0.0.1', options.port, { timeoutMs: 2_000 });
            } catch {
              // The gateway is down or restarting: nothing was sent, so nothing goes into the ledger.
              if (stopping) return;
              await sleep(retryDelayMs);
              continue;
            }
          }
          options.ledger.sent(controlId, eui64);
          const writtenAt = performance.now();
          try {
            const reply = await client.send(message, { timeoutMs: replyTimeoutMs });
            const acknowledgement = readAcknowledgement(reply);
            const code = acknowledgement?.code ?? 'unreadable';
            options.ledger.replied(controlId, code, performance.now() - writtenAt, acknowledgement?.errors.map((error) => error.applicationCode) ?? []);
            if (positiveAckCodes.has(code)) {
              ackedPerConnection[index] = (ackedPerConnection[index] ?? 0) + 1;
              break;
            }
          } catch (error) {
            options.ledger.failed(controlId, error instanceof MllpClientError ? error.reason : String(error));
            await client.close().catch(() => undefined);
          }
          if (stopping) return;
          await sleep(retryDelayMs);
        }
        if (intervalMs > 0) await sleep(intervalMs);
      }
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  const running = Array.from({ length: options.connections }, (_, index) => runConnection(index));
  const all = Promise.all(running);

  return {
    ackedCount: () => ackedPerConnection.reduce((sum, count) => sum + count, 0),
    async waitForAcks(count, timeoutMs) {
      const base = [...ackedPerConnection];
      const deadline = Date.now() + timeoutMs;
      while (!ackedPerConnection.every((acked, index) => acked - (base[index] ?? 0) >= count)) {
        if (Date.now() > deadline) {
          throw new Error(`MLLP senders: not every connection got ${count} more positive ACKs within ${timeoutMs} ms (now ${ackedPerConnection.join(',')}, before ${base.join(',')})`);
        }
        await sleep(100);
      }
    },
    async stop() {
      stopping = true;
      await all;
    },
  };
}

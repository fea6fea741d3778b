/**
 * Group commit for a Kafka client: concurrent publish() calls (one per MLLP connection or serial
 * device) are coalesced into one producer send. While a send is in flight, new calls queue, and the
 * queue goes out as one send once the broker has answered and `lingerAfterSendMs` has passed (at once
 * when that is 0 or the queue already holds a full batch). `lingerMs` is the same wait when nothing is
 * in flight. Either wait lasts only while the callers say that others may still join
 * (PublishOptions.othersMayJoin): with no sender left free to add to the batch, waiting only slows the
 * ones waiting. With one request in flight anyway (an idempotent producer), sending each call on its
 * own made the broker round trip the gateway's ceiling; under load, the short wait after a send
 * makes each send carry more records, which costs the client and the broker less per record
 * (README "Performance").
 *
 * Each caller resolves only when the broker has acknowledged the send holding its own records
 * (ACK-after-commit), or rejects at its own deadline. Calls are sent in arrival order, and a
 * connection awaits its ACK before its next message, so per-connection (per-device) order holds.
 * A send Kafka refuses for good (publish_refused) is sent again call by call, so one caller's
 * refused records do not fail the callers coalesced with it.
 */
import { GatewayError } from '../errors/catalogue.ts';
import { publishErrorOf } from './kafka-client-config.ts';
import type { KafkaPublisherOptions, OutboundRecord, PublishOptions } from './publisher.ts';
import { finishWithin } from '../transports/stream/index.ts';

export interface CoalescingQueueOptions {
  /** How long the first queued call waits for others when no send is in flight and others may join (0: send at once). */
  readonly lingerMs: number;
  /** How long the calls that queued while a send was in flight wait for others once it settles (0: at once). */
  readonly lingerAfterSendMs: number;
  /** Upper bound of one send, in record key+value characters (one call's records always go whole). */
  readonly maxBatchBytes: number;
  /** Sends the records of several calls as one request; resolves when the broker acknowledged all of them. */
  send(records: readonly OutboundRecord[], timeoutMs: number): Promise<void>;
  /** Called after every send or deadline: true when it failed (the publisher reports itself unready). */
  onOutcome(failed: boolean): void;
}

type BatchingSettings = Pick<CoalescingQueueOptions, 'lingerMs' | 'lingerAfterSendMs' | 'maxBatchBytes'>;

/** A publisher's batching settings for its queue: absent ones mean no linger and 512 KiB sends. */
export function batchingOf(options: Pick<KafkaPublisherOptions, keyof BatchingSettings>): BatchingSettings {
  return { lingerMs: options.lingerMs ?? 0, lingerAfterSendMs: options.lingerAfterSendMs ?? 0, maxBatchBytes: options.maxBatchBytes ?? 512 * 1024 };
}

/** One publish() call waiting in the queue or in a send. */
interface PendingCall {
  readonly records: readonly OutboundRecord[];
  readonly bytes: number;
  readonly timeoutMs: number;
  /** Set once the caller has been answered (acknowledged, failed or timed out). */
  settled: boolean;
  resolve(): void;
  reject(error: GatewayError): void;
}

export interface CoalescingQueue {
  publish(records: readonly OutboundRecord[], options: PublishOptions): Promise<void>;
  /** Records handed to publish and not yet acknowledged or failed. */
  inFlightRecords(): number;
  /** Sends what is queued and waits for every send to settle. */
  drain(): Promise<void>;
}

export function createCoalescingQueue(options: CoalescingQueueOptions): CoalescingQueue {
  const queue: PendingCall[] = [];
  /** The send in flight, if any: the next one starts when it settles. */
  let sending: Promise<void> | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  let inFlight = 0;
  /** Bytes of the calls in `queue`. */
  let queuedBytes = 0;

  function settle(call: PendingCall, error?: GatewayError): void {
    if (call.settled) return;
    call.settled = true;
    inFlight -= call.records.length;
    if (error === undefined) call.resolve();
    else call.reject(error);
  }

  /** Whole calls from the head of the queue up to maxBatchBytes (at least one call). */
  function takeBatch(): PendingCall[] {
    const batch: PendingCall[] = [];
    let bytes = 0;
    while (queue.length > 0) {
      const next = queue[0] as PendingCall;
      if (next.settled) {
        // Timed out while queued: its records were never sent, so drop them (the sender resends).
        queue.shift();
        queuedBytes -= next.bytes;
        continue;
      }
      if (batch.length > 0 && bytes + next.bytes > options.maxBatchBytes) break;
      queue.shift();
      queuedBytes -= next.bytes;
      batch.push(next);
      bytes += next.bytes;
    }
    return batch;
  }

  function flush(): void {
    if (lingerTimer !== undefined) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
    }
    if (sending !== undefined) return;
    const batch = takeBatch();
    if (batch.length === 0) return;
    sending = sendBatch(batch).finally(() => {
      sending = undefined;
      if (queue.length > 0) waitThenFlush(options.lingerAfterSendMs);
    });
  }

  /** Sends what is queued after `lingerMs`, or at once if that is 0 or a full batch is already queued. */
  function waitThenFlush(lingerMs: number): void {
    if (lingerMs <= 0 || queuedBytes >= options.maxBatchBytes) flush();
    else lingerTimer ??= setTimeout(flush, lingerMs);
  }

  async function sendBatch(batch: readonly PendingCall[]): Promise<void> {
    const records: OutboundRecord[] = [];
    let timeoutMs = 0;
    for (const call of batch) {
      timeoutMs = Math.max(timeoutMs, call.timeoutMs);
      for (const record of call.records) records.push(record);
    }
    try {
      // Each caller has its own deadline; this one only stops a hung send from holding the queue.
      if (!(await finishWithin(options.send(records, timeoutMs), timeoutMs))) {
        options.onOutcome(true);
        const error = new GatewayError('publish_timeout', `No acknowledgement within ${timeoutMs} ms.`);
        for (const call of batch) settle(call, error);
        return;
      }
      options.onOutcome(false);
      for (const call of batch) settle(call);
    } catch (error) {
      const failure = publishErrorOf(error);
      if (failure.code === 'publish_refused' && batch.length > 1) {
        // Kafka refuses a whole batch for one record it will never take (too large, invalid): each
        // call alone, in order, so only the caller whose records they are hears publish_refused.
        // A call that timed out meanwhile is left out: its sender resends.
        for (const call of batch) if (!call.settled) await sendBatch([call]);
        return;
      }
      options.onOutcome(true);
      for (const call of batch) settle(call, failure);
    }
  }

  return {
    publish(records, { timeoutMs, othersMayJoin }) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let bytes = 0;
        for (const record of records) bytes += record.key.length + record.value.length;
        let timer: NodeJS.Timeout | undefined;
        const call: PendingCall = {
          records,
          bytes,
          timeoutMs,
          settled: false,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        timer = setTimeout(() => {
          options.onOutcome(true);
          settle(call, new GatewayError('publish_timeout', `No acknowledgement within ${timeoutMs} ms.`));
        }, timeoutMs);
        inFlight += records.length;
        queue.push(call);
        queuedBytes += bytes;
        if (sending !== undefined) return; // goes out when the send in flight settles
        // A linger running takes this call too, unless the batch is full now or no one else may join.
        const mayWait = othersMayJoin?.() === true;
        if (lingerTimer === undefined) waitThenFlush(mayWait ? options.lingerMs : 0);
        else if (!mayWait || queuedBytes >= options.maxBatchBytes) flush();
      });
    },

    inFlightRecords: () => inFlight,

    async drain() {
      while (sending !== undefined || queue.some((call) => !call.settled)) {
        flush();
        await sending;
      }
    },
  };
}

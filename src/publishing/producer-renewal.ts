/**
 * After a send that failed or timed out, the next send goes through a new producer (a new producer
 * id), whichever client the publisher uses. Both kafkajs 2.2.4 and @platformatic/kafka 1.35 keep an
 * idempotent producer's sequence numbers where they were when a produce request fails, even one the
 * broker did write before the connection dropped or the response timed out; the next, different
 * batch then reuses those numbers, the broker takes it for a retry of the written one and answers
 * success without writing it: acknowledged records silently lost (kafka-publisher.test.ts shows it
 * for both clients with a frozen broker). A new producer id starts a new sequence, so nothing is
 * mistaken for a duplicate; records of the failed send that did land are duplicates with identical
 * ids, which consumers drop.
 */
import type { Logger } from '../observability/log.ts';
import { finishWithin } from '../transports/stream/index.ts';

export interface RenewingProducerOptions<P> {
  /** Creates a producer (not yet connected). */
  open(): P;
  connect(producer: P): Promise<void>;
  close(producer: P): Promise<void>;
  log: Logger;
  /**
   * Renew before a send that would take one producer past this many records. Kafka's sequence
   * numbers are 32-bit; a client that does not wrap them must get a new producer id first.
   */
  maxRecordsPerProducer?: number;
}

export interface RenewingProducer<P> {
  /** The producer now in use (events of an older one are stale). */
  current(): P;
  /** Runs one send of recordCount records, on a new producer when the previous send failed or never settled. */
  send(recordCount: number, attempt: (producer: P) => Promise<void>): Promise<void>;
  /** Closes the producer in use. */
  close(): Promise<void>;
}

/** How long a send waits for the one before it, still retrying, before it gives up on it and renews the producer. */
const PREVIOUS_SEND_WAIT_MS = 30_000;

export function createRenewingProducer<P>(options: RenewingProducerOptions<P>): RenewingProducer<P> {
  const maxRecords = options.maxRecordsPerProducer ?? Number.POSITIVE_INFINITY;
  let producer = options.open();
  let recordsOnProducer = 0;
  /** The last send failed: its sequence numbers may be reused by the next. */
  let suspect = false;
  let previousSettled = true;
  let previous: Promise<void> = Promise.resolve();
  /** The renewal under way: sends that need one while it runs wait for it rather than start their own. */
  let renewal: Promise<void> | undefined;

  async function renew(reason: string): Promise<void> {
    suspect = true; // until the new producer is connected: a failed renewal is tried again by the next send
    const old = producer;
    const fresh = options.open();
    producer = fresh;
    recordsOnProducer = 0;
    // The old producer's send, settled or not, says nothing about the new producer's sequence.
    previous = Promise.resolve();
    previousSettled = true;
    await finishWithin(options.close(old).catch(() => undefined), 10_000);
    await options.connect(fresh);
    suspect = false;
    options.log.info('kafka_producer_renewed', { reason });
  }

  /** One renewal at a time: each renewal closes the producer the one before it opened. */
  function renewOnce(reason: string): Promise<void> {
    renewal ??= renew(reason).finally(() => {
      renewal = undefined;
    });
    return renewal;
  }

  /**
   * Sends take turns. The queue starts the next send when its deadline gives up on one, which may
   * still be under way: the next waits for it (bounded), so two sessions never write side by side,
   * and goes through a new producer if it failed or never settled.
   */
  async function takeTurn(recordCount: number): Promise<void> {
    for (;;) {
      if (renewal !== undefined) await renewal;
      else if (!previousSettled) {
        if (!(await finishWithin(previous, PREVIOUS_SEND_WAIT_MS))) await renewOnce(`previous send unsettled after ${PREVIOUS_SEND_WAIT_MS} ms`);
      } else if (suspect) await renewOnce('previous send failed');
      else if (recordsOnProducer > 0 && recordsOnProducer + recordCount > maxRecords) await renewOnce('sequence numbers near their limit');
      else return;
    }
  }

  return {
    current: () => producer,

    async send(recordCount, attempt) {
      await takeTurn(recordCount);
      previousSettled = false;
      recordsOnProducer += recordCount;
      const sentOn = producer;
      const sent = attempt(sentOn);
      // A send that settles after its producer was replaced tells nothing about the new one.
      previous = sent.then(
        () => {
          if (producer === sentOn) previousSettled = true;
        },
        () => {
          if (producer !== sentOn) return;
          previousSettled = true;
          suspect = true;
        },
      );
      await sent;
    },

    close: () => options.close(producer),
  };
}

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

/** How long a renewal waits for the old producer's send still retrying, so two sessions never write side by side. */
const PREVIOUS_SEND_WAIT_MS = 30_000;

export function createRenewingProducer<P>(options: RenewingProducerOptions<P>): RenewingProducer<P> {
  const maxRecords = options.maxRecordsPerProducer ?? Number.POSITIVE_INFINITY;
  let producer = options.open();
  let recordsOnProducer = 0;
  let suspect = false;
  let previousSettled = true;
  let previous: Promise<void> = Promise.resolve();

  async function renew(reason: string): Promise<void> {
    await finishWithin(previous, PREVIOUS_SEND_WAIT_MS);
    const old = producer;
    producer = options.open();
    recordsOnProducer = 0;
    await finishWithin(options.close(old).catch(() => undefined), 10_000);
    await options.connect(producer);
    suspect = false;
    options.log.info('kafka_producer_renewed', { reason });
  }

  return {
    current: () => producer,

    async send(recordCount, attempt) {
      try {
        // A send still unsettled here lost the queue's deadline race: its outcome is unknown.
        if (suspect || !previousSettled) await renew('previous send failed or timed out');
        else if (recordsOnProducer + recordCount > maxRecords) await renew('sequence numbers near their limit');
        previousSettled = false;
        recordsOnProducer += recordCount;
        const sent = attempt(producer);
        previous = sent.then(
          () => {
            previousSettled = true;
          },
          () => {
            previousSettled = true;
            suspect = true;
          },
        );
        await sent;
      } catch (error) {
        suspect = true;
        throw error;
      }
    },

    close: () => options.close(producer),
  };
}

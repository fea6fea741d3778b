/**
 * Store-and-forward (delivery.ack: spool): publish() resolves once the records are fsynced to the
 * local spool, and a drainer forwards the spool to the wrapped (Kafka) publisher in spool order, in
 * batches, retrying with back-off while Kafka is away. The checkpoint advances only after Kafka
 * acknowledged a batch, so a crash between the two re-sends that batch: duplicates with identical
 * ids, keys and values (ids are deterministic), never a loss.
 *
 * Order: the spool is one sequence and the drainer sends it in that order, one batch at a time
 * (the Kafka producer is idempotent with one request in flight), so records of one key reach their
 * partition in the order they were acknowledged.
 */
import { GatewayError, isGatewayError } from '../errors/catalogue.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import { errnoOf, openSpool, type Spool, type SpooledBatch, type SpoolOptions } from '../spool/spool.ts';
import { backoffDelay, finishWithin, sleep } from '../transports/stream/index.ts';
import type { GatewayConfig } from '../../schemas/config.ts';
import type { Publisher } from './publisher.ts';

export interface SpoolingPublisherOptions {
  /** Where the spool drains to: the Kafka publisher. */
  readonly inner: Publisher;
  readonly settings: GatewayConfig['delivery']['spool'];
  /** Deadline of each drainer batch sent to Kafka. */
  readonly publishTimeoutMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Tests of write-error branches only. */
  readonly openFile?: SpoolOptions['openFile'];
}

export function createSpoolingPublisher(options: SpoolingPublisherOptions): Publisher {
  const { inner, settings, log, metrics } = options;
  let spool: Spool | undefined;
  let kafkaStarted = false;
  let appending = 0;
  let stopping = false;
  const stopDrainer = new AbortController();
  let drainer: Promise<void> | undefined;
  let starter: Promise<void> | undefined;

  function requireSpool(): Spool {
    if (spool === undefined) throw new GatewayError('spool_write_failed', 'The spool is not open (publish before start).');
    return spool;
  }

  /** Kafka may be down when the gateway starts: the spool accepts meanwhile and this keeps trying. */
  async function startKafka(topics: readonly string[]): Promise<void> {
    for (let attempt = 0; !stopDrainer.signal.aborted; attempt += 1) {
      try {
        await inner.start(topics);
        kafkaStarted = true;
        if (attempt > 0) log.info('kafka_started_after_retry', { attempts: attempt + 1 });
        return;
      } catch (error) {
        if (attempt === 0) {
          log.warn('kafka_unavailable_at_start', {
            code: 'publish_failed',
            detail: error instanceof Error ? error.message : String(error),
            spoolPendingRecords: spool?.status().pendingRecords,
          });
        }
        await sleep(backoffDelay(attempt, retryBackoff(), Math.random()), stopDrainer.signal);
      }
    }
  }

  function retryBackoff() {
    return { initialDelayMs: settings.retryInitialDelayMs, maxDelayMs: settings.retryMaxDelayMs, multiplier: 2, jitter: 0.2 };
  }

  async function deliverOneByOne(open: Spool, batch: SpooledBatch): Promise<void> {
    for (const [index, record] of batch.records.entries()) {
      const seq = batch.firstSeq + BigInt(index);
      try {
        await inner.publish([record], { timeoutMs: options.publishTimeoutMs });
      } catch (error) {
        if (!isGatewayError(error) || error.code !== 'publish_refused') throw error;
        const file = await open.setAside(seq, record, { code: error.code, detail: error.message });
        metrics.spoolRecordsSetAside.inc();
        log.error('spool_record_set_aside', { code: error.code, seq: seq.toString(), topic: record.topic, bytes: Buffer.byteLength(record.value), file, detail: error.message });
      }
    }
  }

  async function drain(open: Spool): Promise<void> {
    const signal = stopDrainer.signal;
    let failures = 0;
    let batch: SpooledBatch | undefined;
    while (!signal.aborted) {
      if (!kafkaStarted) {
        await sleep(100, signal);
        continue;
      }
      try {
        batch ??= await open.read({ maxRecords: settings.drainBatchRecords, maxBytes: settings.drainBatchBytes });
      } catch (error) {
        failures += 1;
        // An I/O error reading the disk (corrupt records are quarantined inside read()); retried.
        log.error('spool_read_failed', { errno: errnoOf(error), detail: error instanceof Error ? error.message : String(error) });
        await sleep(backoffDelay(failures - 1, retryBackoff(), Math.random()), signal);
        continue;
      }
      if (batch === undefined) {
        // Nothing durable to send: wait for the next append (with a floor, so bookkeeping that
        // disagrees with the files can never turn this into a busy loop).
        await Promise.all([open.waitForRecords(signal), sleep(20, signal)]);
        continue;
      }
      try {
        try {
          await inner.publish(batch.records, { timeoutMs: options.publishTimeoutMs });
        } catch (error) {
          if (!isGatewayError(error) || error.code !== 'publish_refused') throw error;
          // Kafka refused the batch for good (one record too large, or the batch over the topic's
          // limit): record by record, setting aside what it refuses, so one record cannot stop the drain.
          await deliverOneByOne(open, batch);
        }
      } catch (error) {
        const code = isGatewayError(error) ? error.code : 'publish_failed';
        metrics.spoolDrainErrors.inc({ code });
        // One line when Kafka goes away, not one per retry.
        if (failures === 0) log.warn('spool_drain_failed', { code, pendingRecords: open.status().pendingRecords, detail: error instanceof Error ? error.message : String(error) });
        failures += 1;
        await sleep(backoffDelay(failures - 1, retryBackoff(), Math.random()), signal);
        continue;
      }
      metrics.spoolRecordsDrained.inc(batch.records.length);
      if (failures > 0) log.info('spool_drain_resumed', { afterFailures: failures, pendingRecords: open.status().pendingRecords });
      failures = 0;
      const delivered = batch.lastSeq;
      batch = undefined;
      try {
        await open.markDelivered(delivered);
      } catch (error) {
        // Delivered segments are already gone from memory's view; a stale checkpoint only means
        // duplicates after a restart. The next batch writes it again.
        log.error('spool_checkpoint_failed', { code: 'spool_write_failed', detail: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  return {
    async start(topics) {
      const opened = await openSpool({
        dir: settings.dir,
        maxBytes: settings.maxBytes,
        segmentBytes: settings.segmentBytes,
        log,
        ...(options.openFile !== undefined ? { openFile: options.openFile } : {}),
        events: {
          tornRecordDiscarded: () => metrics.spoolTornRecordsDiscarded.inc(),
          segmentQuarantined: () => metrics.spoolCorruptSegments.inc(),
          writeError: (errno) => metrics.spoolWriteErrors.inc({ errno }),
        },
      });
      spool = opened;
      metrics.observeSpool(() => opened.status());
      // Try Kafka once in the foreground so a healthy start behaves exactly like ack: kafka (topics
      // exist before the first message); if it is down, keep accepting into the spool.
      starter = startKafka(topics);
      await finishWithin(starter, 1_000);
      drainer = drain(opened);
    },

    async publish(records, { timeoutMs }) {
      if (records.length === 0) return;
      if (stopping) throw new GatewayError('spool_write_failed', 'The gateway is stopping.');
      const open = requireSpool();
      appending += records.length;
      try {
        await open.append(records, { timeoutMs });
      } finally {
        appending -= records.length;
      }
    },

    isConnected: () => kafkaStarted && inner.isConnected(),
    inFlightRecords: () => appending + inner.inFlightRecords(),
    spoolStatus: () => requireSpool().status(),

    async stop(stopOptions) {
      stopping = true;
      const deadline = Date.now() + (stopOptions?.graceMs ?? 10_000);
      const open = spool;
      if (open !== undefined) {
        // Hand Kafka what it can take before the deadline; the rest waits on disk for the next start.
        while (kafkaStarted && open.status().pendingRecords > 0 && Date.now() < deadline) await sleep(50, new AbortController().signal);
        stopDrainer.abort();
        const remaining = Math.max(0, deadline - Date.now());
        await finishWithin(Promise.all([drainer, starter]), remaining);
        const left = open.status().pendingRecords;
        if (left > 0) log.warn('spool_left_on_disk', { pendingRecords: left, bytes: open.status().bytes, dir: settings.dir });
        else log.info('spool_drained', { dir: settings.dir });
        await open.close();
      } else {
        stopDrainer.abort();
      }
      await inner.stop();
    },
  };
}

/**
 * Publisher on kafkajs: one idempotent producer (acks=all, which kafkajs only allows with one
 * request in flight), topics created at start-up, and a deadline on every publish. Concurrent
 * publish() calls go out together as one sendBatch (coalescing-queue.ts).
 */
import { Kafka, type Producer, type Admin, type ITopicConfig, type IHeaders } from 'kafkajs';
import { GatewayError } from '../errors/catalogue.ts';
import type { Logger } from '../observability/log.ts';
import { createCoalescingQueue } from './coalescing-queue.ts';
import type { OutboundRecord, Publisher } from './publisher.ts';
import { kafkaClientConfig, type KafkaSecurity } from './kafka-client-config.ts';
import { finishWithin } from '../transports/stream/index.ts';

export interface KafkaPublisherOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly createTopics: boolean;
  readonly topicPartitions: number;
  readonly replicationFactor: number;
  readonly connectTimeoutMs: number;
  /** How long the first queued call waits for others when no send is in flight (0: send at once). */
  readonly lingerMs?: number;
  /** Upper bound of one coalesced send, in record key+value bytes (one call's records always go whole). */
  readonly maxBatchBytes?: number;
  /** TLS and SASL (config kafka.ssl / kafka.sasl); absent: PLAINTEXT. */
  readonly security?: KafkaSecurity;
  /** How long kafkajs waits for one request's response (kafkajs default 30 s); tests shorten it. */
  readonly requestTimeoutMs?: number;
  readonly log: Logger;
}

export function createKafkaPublisher(options: KafkaPublisherOptions): Publisher {
  const kafka = new Kafka(
    kafkaClientConfig(
      { brokers: options.brokers, clientId: options.clientId, connectTimeoutMs: options.connectTimeoutMs, security: options.security },
      // kafkajs retries a failed request itself; keep that short so our publish deadline decides.
      {
        retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2_000 },
        ...(options.requestTimeoutMs !== undefined ? { requestTimeout: options.requestTimeoutMs } : {}),
      },
    ),
  );
  let connected = false;
  // kafkajs reports no disconnect while it retries a dead broker: a failed publish marks us
  // unready until the next one succeeds.
  let lastPublishFailed = false;

  function openProducer(): Producer {
    const created = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    created.on(created.events.CONNECT, () => {
      if (created !== producer) return;
      connected = true;
      options.log.info('kafka_connected', { brokers: options.brokers.join(',') });
    });
    created.on(created.events.DISCONNECT, () => {
      if (created !== producer) return;
      connected = false;
      options.log.warn('kafka_disconnected', {});
    });
    return created;
  }
  let producer: Producer = openProducer();

  /*
   * After a send that failed or timed out, the next send goes through a new producer (a new
   * producer id). kafkajs rolls its idempotence sequence numbers back when a produce request fails,
   * even one the broker did write before the connection dropped; the next, different batch then
   * reuses those numbers, the broker takes it for a retry of the written one and answers success
   * without writing it: acknowledged records silently lost (seen in faults-broker-restart.test.ts).
   * A new producer id starts a new sequence, so nothing is mistaken for a duplicate; records of the
   * failed send that did land are duplicates with identical ids, which consumers drop.
   */
  let producerSuspect = false;
  let previousSendSettled = true;
  let previousSend: Promise<void> = Promise.resolve();

  async function renewProducer(): Promise<void> {
    // The old session's request may still be retrying: let it finish first (bounded), so two
    // sessions never write side by side.
    await finishWithin(previousSend, 30_000);
    const old = producer;
    producer = openProducer();
    await old.disconnect().catch(() => undefined);
    await producer.connect();
    producerSuspect = false;
    options.log.info('kafka_producer_renewed', { reason: 'previous send failed or timed out' });
  }

  async function ensureTopics(admin: Admin, topics: readonly string[]): Promise<void> {
    const existing = new Set(await admin.listTopics());
    const missing: ITopicConfig[] = topics
      .filter((topic) => !existing.has(topic))
      .map((topic) => ({
        topic,
        numPartitions: options.topicPartitions,
        replicationFactor: options.replicationFactor,
      }));
    if (missing.length === 0) return;
    await admin.createTopics({ topics: missing, waitForLeaders: true });
    options.log.info('kafka_topics_created', { topics: missing.map((t) => t.topic).join(',') });
  }

  const queue = createCoalescingQueue({
    lingerMs: options.lingerMs ?? 0,
    maxBatchBytes: options.maxBatchBytes ?? 512 * 1024,
    onOutcome: (failed) => (lastPublishFailed = failed),
    async send(records, timeoutMs) {
      const byTopic = new Map<string, { key: string; value: string; headers: IHeaders }[]>();
      for (const record of records) {
        let list = byTopic.get(record.topic);
        if (list === undefined) byTopic.set(record.topic, (list = []));
        // kafkajs only reads the headers; records of one message share one headers object.
        list.push({ key: record.key, value: record.value, headers: record.headers as IHeaders });
      }
      try {
        // A send still unsettled here lost the queue's deadline race: its outcome is unknown.
        if (producerSuspect || !previousSendSettled) await renewProducer();
        previousSendSettled = false;
        const attempt = producer.sendBatch({
          acks: -1,
          timeout: timeoutMs,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        previousSend = attempt.then(
          () => {
            previousSendSettled = true;
          },
          () => {
            previousSendSettled = true;
            producerSuspect = true;
          },
        );
        await attempt;
      } catch (error) {
        producerSuspect = true;
        throw new GatewayError('publish_failed', error instanceof Error ? `${error.name}: ${error.message}` : undefined, { cause: error });
      }
    },
  });

  return {
    async start(topics) {
      if (options.createTopics) {
        const admin = kafka.admin();
        await admin.connect();
        try {
          await ensureTopics(admin, topics);
        } finally {
          await admin.disconnect();
        }
      }
      await producer.connect();
    },

    publish: (records, { timeoutMs }) => queue.publish(records, timeoutMs),

    isConnected: () => connected && !lastPublishFailed,
    inFlightRecords: () => queue.inFlightRecords(),

    async stop() {
      // Hand over what is queued before the producer goes.
      await queue.drain();
      await producer.disconnect();
    },
  };
}

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
  readonly log: Logger;
}

export function createKafkaPublisher(options: KafkaPublisherOptions): Publisher {
  const kafka = new Kafka(
    kafkaClientConfig(
      { brokers: options.brokers, clientId: options.clientId, connectTimeoutMs: options.connectTimeoutMs, security: options.security },
      // kafkajs retries a failed request itself; keep that short so our publish deadline decides.
      { retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2_000 } },
    ),
  );
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  let connected = false;
  // kafkajs reports no disconnect while it retries a dead broker: a failed publish marks us
  // unready until the next one succeeds.
  let lastPublishFailed = false;
  producer.on(producer.events.CONNECT, () => {
    connected = true;
    options.log.info('kafka_connected', { brokers: options.brokers.join(',') });
  });
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
    options.log.warn('kafka_disconnected', {});
  });

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
        await producer.sendBatch({
          acks: -1,
          timeout: timeoutMs,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
      } catch (error) {
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

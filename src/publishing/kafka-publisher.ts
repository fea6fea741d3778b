/**
 * Publisher on kafkajs: one idempotent producer (acks=all, which kafkajs only allows with one
 * request in flight), topics created at start-up, and a deadline on every publish.
 */
import { Kafka, type Producer, type Admin, type ITopicConfig } from 'kafkajs';
import { GatewayError } from '../errors/catalogue.ts';
import type { Logger } from '../observability/log.ts';
import type { OutboundRecord, Publisher } from './publisher.ts';
import { kafkaClientConfig, type KafkaSecurity } from './kafka-client-config.ts';

export interface KafkaPublisherOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly createTopics: boolean;
  readonly topicPartitions: number;
  readonly replicationFactor: number;
  readonly connectTimeoutMs: number;
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
  let inFlight = 0;
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

    async publish(records, { timeoutMs }) {
      if (records.length === 0) return;
      inFlight += records.length;
      const byTopic = new Map<string, OutboundRecord[]>();
      for (const record of records) {
        const list = byTopic.get(record.topic) ?? [];
        list.push(record);
        byTopic.set(record.topic, list);
      }
      const send = producer.sendBatch({
        acks: -1,
        timeout: timeoutMs,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((record) => ({ key: record.key, value: record.value, headers: { ...record.headers } })),
        })),
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new GatewayError('publish_timeout', `No acknowledgement within ${timeoutMs} ms.`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([send, deadline]);
        lastPublishFailed = false;
      } catch (error) {
        lastPublishFailed = true;
        if (error instanceof GatewayError) throw error;
        throw new GatewayError('publish_failed', error instanceof Error ? `${error.name}: ${error.message}` : undefined, {
          cause: error,
        });
      } finally {
        clearTimeout(timer);
        inFlight -= records.length;
        // A send that lost the race must not surface later as an unhandled rejection.
        send.catch(() => undefined);
      }
    },

    isConnected: () => connected && !lastPublishFailed,
    inFlightRecords: () => inFlight,

    async stop() {
      await producer.disconnect();
    },
  };
}

/**
 * Publisher on kafkajs: one idempotent producer (acks=all, which kafkajs only allows with one
 * request in flight), topics created at start-up, and a deadline on every publish. Concurrent
 * publish() calls go out together as one sendBatch (coalescing-queue.ts).
 */
import { Kafka, type Producer, type Admin, type ITopicConfig, type IHeaders } from 'kafkajs';
import { batchingOf, createCoalescingQueue } from './coalescing-queue.ts';
import type { KafkaPublisherOptions, Publisher } from './publisher.ts';
import { kafkaClientConfig } from './kafka-client-config.ts';
import { createRenewingProducer } from './producer-renewal.ts';

export type { KafkaPublisherOptions } from './publisher.ts';

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
      if (created !== producer.current()) return;
      connected = true;
      options.log.info('kafka_connected', { brokers: options.brokers.join(',') });
    });
    created.on(created.events.DISCONNECT, () => {
      if (created !== producer.current()) return;
      connected = false;
      options.log.warn('kafka_disconnected', {});
    });
    return created;
  }
  // A new producer after any failed or timed-out send (producer-renewal.ts says why); kafkajs wraps
  // its sequence numbers itself, so no renewal for their range.
  const producer = createRenewingProducer<Producer>({
    open: openProducer,
    connect: (created) => created.connect(),
    close: (old) => old.disconnect(),
    log: options.log,
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
    ...batchingOf(options),
    onOutcome: (failed) => (lastPublishFailed = failed),
    async send(records, timeoutMs) {
      const byTopic = new Map<string, { key: string; value: string; headers: IHeaders }[]>();
      for (const record of records) {
        let list = byTopic.get(record.topic);
        if (list === undefined) byTopic.set(record.topic, (list = []));
        // kafkajs only reads the headers; records of one message share one headers object.
        list.push({ key: record.key, value: record.value, headers: record.headers as IHeaders });
      }
      // A failure is classified (publish_refused or publish_failed) by the queue.
      await producer.send(records.length, (current) =>
        current
          .sendBatch({
            acks: -1,
            timeout: timeoutMs,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          })
          .then(() => undefined),
      );
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
      await producer.current().connect();
    },

    publish: queue.publish,

    isConnected: () => connected && !lastPublishFailed,
    inFlightRecords: () => queue.inFlightRecords(),

    async stop() {
      // Hand over what is queued before the producer goes.
      await queue.drain();
      await producer.close();
    },
  };
}

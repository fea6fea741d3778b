/**
 * The alternative client, measured behind our Publisher interface (bench only): @platformatic/kafka
 * 1.35 (pure JavaScript; its 2.x needs Node 22), idempotent producer, acks=all, with the same
 * coalescing queue as the kafkajs publisher. Same factory signature as
 * src/publishing/kafka-publisher.ts, so bench/publisher.ts can load either.
 */
import { Admin, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { createCoalescingQueue } from '../../src/publishing/coalescing-queue.ts';
import type { KafkaPublisherOptions } from '../../src/publishing/kafka-publisher.ts';
import type { Publisher } from '../../src/publishing/publisher.ts';

export function createKafkaPublisher(options: KafkaPublisherOptions): Publisher {
  const producer = new Producer({
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: options.connectTimeoutMs,
    idempotent: true,
    acks: ProduceAcks.ALL,
    retries: 5,
    serializers: stringSerializers,
  });
  let lastPublishFailed = false;
  const queue = createCoalescingQueue({
    lingerMs: options.lingerMs ?? 0,
    maxBatchBytes: options.maxBatchBytes ?? 512 * 1024,
    onOutcome: (failed) => (lastPublishFailed = failed),
    async send(records) {
      await producer.send({
        messages: records.map((record) => ({ topic: record.topic, key: record.key, value: record.value, headers: record.headers })),
      });
    },
  });
  return {
    async start(topics) {
      if (options.createTopics) {
        const admin = new Admin({ clientId: `${options.clientId}-admin`, bootstrapBrokers: [...options.brokers] });
        try {
          const existing = new Set(await admin.listTopics());
          const missing = topics.filter((topic) => !existing.has(topic));
          if (missing.length > 0) await admin.createTopics({ topics: missing, partitions: options.topicPartitions, replicas: options.replicationFactor });
        } finally {
          await admin.close();
        }
      }
      await producer.metadata({ topics: [...topics] });
    },
    publish: (records, { timeoutMs }) => queue.publish(records, timeoutMs),
    isConnected: () => !lastPublishFailed,
    inFlightRecords: () => queue.inFlightRecords(),
    async stop() {
      await queue.drain();
      await producer.close();
    },
  };
}

/**
 * Helpers for tests that talk to the real broker provided by test/support/global-setup.ts.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientConfig, type KafkaSecurity } from '../../src/publishing/kafka-client-config.ts';
import { headersToStrings } from '../../src/publishing/kafka-headers.ts';
import { inject } from 'vitest';

export interface KafkaRecord {
  key: string | null;
  /** UTF-8; a tombstone (null value) reads as ''. */
  value: string;
  /** UTF-8; when a header key repeats, the last value wins (like Java's Headers.lastHeader). */
  headers: Record<string, string>;
  partition: number;
  /** kafkajs' int64 offset string, comparable with a producer's RecordMetadata.baseOffset. */
  offset: string;
}

/** The brokers of this test run: KAFKA_BROKERS, or the local broker the global setup started. */
export function kafkaBrokers(): string[] {
  return [...inject('kafkaBrokers')];
}

/** A topic name prefix no other test (or earlier run against the same broker) uses; no trailing separator. */
export function uniqueTopicPrefix(label = 'test'): string {
  const safeLabel = label.replace(/[^a-zA-Z0-9_-]/g, '-');
  return `${safeLabel}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Reads `topic` from the beginning with a fresh consumer group until `expected` records arrived or
 * `timeoutMs` passed, then returns what was read (the test asserts). To assert that nothing
 * arrives, ask for `expected: 1` with a short timeout and expect an empty result. `where` keeps
 * only the records a test is about (e.g. one message's), so earlier records on the topic do not count.
 */
export async function readAll(
  brokers: readonly string[],
  topic: string,
  options: { expected: number; timeoutMs: number; where?: (record: KafkaRecord) => boolean; security?: KafkaSecurity },
): Promise<KafkaRecord[]> {
  const kafka = new Kafka(kafkaClientConfig({ clientId: 'vitalbridge-test-reader', brokers, security: options.security }));
  const consumer = kafka.consumer({
    groupId: `test-reader-${randomBytes(6).toString('hex')}`,
    // Short fetch waits so a reader that is done is not held up by a long poll on disconnect.
    maxWaitTimeInMs: 250,
  });
  const records: KafkaRecord[] = [];
  let markDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    markDone = resolve;
  });
  const timer = setTimeout(markDone, options.timeoutMs);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const record: KafkaRecord = {
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? '' : message.value.toString('utf8'),
          headers: headersToStrings(message.headers),
          partition,
          offset: message.offset,
        };
        if (options.where === undefined || options.where(record)) records.push(record);
        if (records.length >= options.expected) markDone();
      },
    });
    if (records.length >= options.expected) markDone();
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  return records.slice().sort((a, b) => a.partition - b.partition || compareOffsets(a.offset, b.offset));
}

/**
 * Creates `topic` (one partition) whose max.message.bytes is `maxMessageBytes`, so the real broker
 * refuses larger record batches for good (MESSAGE_TOO_LARGE: publish_refused), and waits for its leader.
 */
export async function createTopicWithMaxMessageBytes(brokers: readonly string[], topic: string, maxMessageBytes: number): Promise<void> {
  const admin = new Kafka({ clientId: 'vitalbridge-test-admin', brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] }],
    });
    if (!created) throw new Error(`topic ${topic} already exists: its max.message.bytes would not be ${maxMessageBytes}`);
  } finally {
    await admin.disconnect();
  }
}

function compareOffsets(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

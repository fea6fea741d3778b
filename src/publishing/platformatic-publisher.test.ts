/**
 * What the @platformatic/kafka publisher does beyond the semantics it shares with the kafkajs one
 * (kafka-publisher.test.ts and coalescing-queue.test.ts run both): keys land in the partitions
 * kafkajs (and the Java client) would choose, a producer is replaced before its 32-bit sequence
 * numbers could run out, and a start against no broker fails and can be stopped. Real broker.
 */
import { describe, expect, it } from 'vitest';
import { freePort } from '../transports/free-port.ts';
import { kafkaBrokers, readAll, uniqueTopicPrefix } from '../../test/support/kafka.ts';
import { createLogger } from '../observability/log.ts';
import { createKafkaPublisher } from './kafka-publisher.ts';
import { createPlatformaticPublisher } from './platformatic-publisher.ts';
import type { KafkaPublisherOptions, OutboundRecord } from './publisher.ts';

const silent = createLogger({ level: 'error', write: () => undefined });

function settings(brokers: readonly string[], partitions: number): KafkaPublisherOptions {
  return { brokers, clientId: 'platformatic-publisher-test', createTopics: true, topicPartitions: partitions, replicationFactor: -1, connectTimeoutMs: 10_000, log: silent };
}

describe('@platformatic/kafka publisher', () => {
  it('puts each device key in the partition kafkajs puts it in (3 partitions, 60 keys, runs of one key as one message makes and keys coming back)', async () => {
    const brokers = kafkaBrokers();
    const prefix = uniqueTopicPrefix('partitioner');
    const keys = Array.from({ length: 60 }, (_, n) => `urn:eui64:00-1c-05-ff-fe-${n.toString(16).padStart(2, '0')}-00-00`);
    const byClient = new Map<string, Map<string, number>>();
    for (const [client, create] of [
      ['kafkajs', createKafkaPublisher],
      ['platformatic', createPlatformaticPublisher],
    ] as const) {
      const topic = `${prefix}.${client}`;
      const publisher = create(settings(brokers, 3));
      await publisher.start([topic]);
      try {
        // Runs of three records with one key (one source message's records share their key), then
        // every key once more in reverse order: the partitioner remembers the last key it hashed.
        const headers = { 'source-adapter': client };
        const records: OutboundRecord[] = [...keys.flatMap((key) => [key, key, key]), ...[...keys].reverse()].map((key) => ({ topic, key, value: client, headers }));
        await publisher.publish(records, { timeoutMs: 20_000 });
      } finally {
        await publisher.stop();
      }
      const read = await readAll(brokers, topic, { expected: keys.length * 4, timeoutMs: 30_000 });
      expect(read).toHaveLength(keys.length * 4);
      expect(new Set(read.map((record) => record.headers['source-adapter']))).toEqual(new Set([client]));
      const partitionOf = new Map<string, number>();
      for (const record of read) {
        const key = record.key ?? '';
        // All four records of a key in one partition.
        expect(record.partition).toBe(partitionOf.get(key) ?? record.partition);
        partitionOf.set(key, record.partition);
      }
      byClient.set(client, partitionOf);
    }
    const kafkajs = byClient.get('kafkajs');
    const platformatic = byClient.get('platformatic');
    // With 3 partitions (not a power of two) the library's default partitioner would differ for about half the keys.
    expect(new Set(kafkajs?.values()).size).toBe(3);
    expect(Object.fromEntries(platformatic ?? [])).toEqual(Object.fromEntries(kafkajs ?? []));
  }, 90_000);

  it('opens a new producer before one would pass maxRecordsPerProducer, and every acknowledged record is in Kafka', async () => {
    const brokers = kafkaBrokers();
    const topic = `${uniqueTopicPrefix('renew-at-limit')}.records`;
    const lines: string[] = [];
    const publisher = createPlatformaticPublisher({
      ...settings(brokers, 1),
      log: createLogger({ level: 'info', write: (line) => lines.push(line) }),
      maxRecordsPerProducer: 7,
    });
    await publisher.start([topic]);
    try {
      // Five sends of three records, one at a time: a new producer before the 3rd and the 5th.
      for (let send = 0; send < 5; send += 1) {
        const records = [0, 1, 2].map((n) => ({ topic, key: 'device-1', value: JSON.stringify({ send, n }), headers: {} }));
        await publisher.publish(records, { timeoutMs: 20_000 });
      }
      expect(publisher.isConnected()).toBe(true);
    } finally {
      await publisher.stop();
    }
    const renewals = lines.map((line) => JSON.parse(line) as { event: string; reason?: string }).filter((entry) => entry.event === 'kafka_producer_renewed');
    expect(renewals.map((entry) => entry.reason)).toEqual(['sequence numbers near their limit', 'sequence numbers near their limit']);
    const read = await readAll(brokers, topic, { expected: 15, timeoutMs: 30_000 });
    expect(read.map((record) => JSON.parse(record.value) as { send: number; n: number }).map((v) => v.send * 3 + v.n)).toEqual(
      Array.from({ length: 15 }, (_, i) => i),
    );
  }, 60_000);

  it('start() against a port where no broker listens rejects saying why (ECONNREFUSED), reports not connected, and stop() still returns', async () => {
    const publisher = createPlatformaticPublisher({ ...settings([`127.0.0.1:${await freePort()}`], 1), connectTimeoutMs: 1_000 });
    await expect(publisher.start(['never-created'])).rejects.toThrow(/Kafka not reachable at start-up: .*ECONNREFUSED/);
    expect(publisher.isConnected()).toBe(false);
    expect(publisher.inFlightRecords()).toBe(0);
    await publisher.stop();
  }, 60_000);
});

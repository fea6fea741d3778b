/**
 * A send that the client gives up on although the broker writes it later must not cost the next,
 * different send its records. kafkajs 2.2.4 rolls its idempotence sequence numbers back on a failed
 * request, and @platformatic/kafka 1.35 advances them only on success, so with either client the next
 * batch reuses them and the broker drops it as a duplicate of the written one, answering success
 * (producer-renewal.ts is the remedy). The broker here is our own, frozen with SIGSTOP so the first
 * send fails. Each publisher runs against it in turn.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll, uniqueTopicPrefix } from '../../test/support/kafka.ts';
import { GatewayError } from '../errors/catalogue.ts';
import { startLocalKafka, type LocalKafka } from '../kafka-local/local-kafka.ts';
import { createLogger } from '../observability/log.ts';
import { createKafkaPublisher } from './kafka-publisher.ts';
import { createPlatformaticPublisher } from './platformatic-publisher.ts';
import type { KafkaPublisherOptions, OutboundRecord, Publisher } from './publisher.ts';

const publishers: readonly (readonly [string, (options: KafkaPublisherOptions) => Publisher])[] = [
  ['kafkajs', createKafkaPublisher],
  ['@platformatic/kafka', createPlatformaticPublisher],
];

let broker: LocalKafka;
const opened: Publisher[] = [];

beforeAll(async () => {
  broker = await startLocalKafka({ heapMb: 384 });
}, 120_000);

afterAll(async () => {
  broker?.resume();
  for (const publisher of opened) await publisher.stop().catch(() => undefined);
  await broker?.stop();
}, 60_000);

describe.each(publishers)('%s publisher after a failed send', (client, createPublisher) => {
  it('writes the next send although the failed one reached the broker with the same sequence numbers', async () => {
    const topic = `${uniqueTopicPrefix(`publisher-renew-${client.replace(/[^a-z]/g, '')}`)}.records`;
    /** Three records, like one small message: the same count as the failed send, so the sequence ranges collide. */
    const message = (label: string): OutboundRecord[] =>
      [0, 1, 2].map((n) => ({ topic, key: 'device-1', value: JSON.stringify({ label, n }), headers: { 'trace-id': label } }));
    const publisher = createPublisher({
      brokers: broker.brokers,
      clientId: 'publisher-renew-test',
      createTopics: true,
      topicPartitions: 1,
      replicationFactor: 1,
      connectTimeoutMs: 3_000,
      requestTimeoutMs: 1_000,
      log: createLogger({ level: 'error', write: () => undefined }),
    });
    opened.push(publisher);
    await publisher.start([topic]);

    await publisher.publish(message('before'), { timeoutMs: 20_000 });

    await broker.pause();
    const outcome = await publisher.publish(message('failed'), { timeoutMs: 20_000 }).then(
      () => 'acknowledged',
      (error: unknown) => (error instanceof GatewayError ? error.code : String(error)),
    );
    broker.resume();
    expect(outcome).toMatch(/^publish_(failed|timeout)$/);

    // The first sends after the thaw may still fail while the broker catches up; the sender resends.
    let after = 'not sent';
    for (let attempt = 0; attempt < 10 && after !== 'acknowledged'; attempt += 1) {
      after = await publisher.publish(message('after'), { timeoutMs: 20_000 }).then(
        () => 'acknowledged',
        (error: unknown) => (error instanceof GatewayError ? error.code : String(error)),
      );
    }
    expect(after).toBe('acknowledged');

    const records = await readAll(broker.brokers, topic, {
      expected: 6,
      timeoutMs: 20_000,
      where: (record) => record.headers['trace-id'] !== 'failed',
    });
    const labels = records.map((record) => (JSON.parse(record.value) as { label: string; n: number }).label);
    expect(labels.filter((label) => label === 'before')).toHaveLength(3);
    expect(labels.filter((label) => label === 'after')).toHaveLength(3);
  }, 120_000);
});

describe.each(publishers)('%s publisher while sends keep timing out', (client, createPublisher) => {
  it('lets each send wait for the one before it, renews the producer once, and loses nothing it acknowledged', async () => {
    const topic = `${uniqueTopicPrefix(`publisher-turns-${client.replace(/[^a-z]/g, '')}`)}.records`;
    const message = (label: string): OutboundRecord[] => [{ topic, key: 'device-1', value: JSON.stringify({ label }), headers: { 'trace-id': label } }];
    const events: string[] = [];
    const publisher = createPublisher({
      brokers: broker.brokers,
      clientId: 'publisher-turns-test',
      createTopics: true,
      topicPartitions: 1,
      replicationFactor: 1,
      connectTimeoutMs: 3_000,
      requestTimeoutMs: 1_000,
      log: createLogger({ level: 'info', write: (line) => events.push((JSON.parse(line) as { event: string }).event) }),
    });
    opened.push(publisher);
    await publisher.start([topic]);
    const acknowledged: string[] = [];
    const publish = (label: string, timeoutMs: number) =>
      publisher.publish(message(label), { timeoutMs }).then(
        () => {
          acknowledged.push(label);
          return 'acknowledged';
        },
        (error: unknown) => (error instanceof GatewayError ? error.code : String(error)),
      );
    expect(await publish('before', 20_000)).toBe('acknowledged');

    // Deadlines far shorter than the client's own retries: the queue gives up on each send while it
    // still runs and starts the next, as the gateway's does under a long freeze.
    await broker.pause();
    const during: Promise<string>[] = [];
    const frozenAt = Date.now();
    for (let n = 0; Date.now() - frozenAt < 5_000; n += 1) {
      during.push(publish(`during-${n}`, 700));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    broker.resume();
    const outcomes = await Promise.all(during);
    expect(outcomes.filter((outcome) => outcome === 'publish_timeout').length).toBeGreaterThan(10);

    let after = 'not sent';
    for (let attempt = 0; attempt < 10 && after !== 'acknowledged'; attempt += 1) after = await publish('after', 20_000);
    expect(after).toBe('acknowledged');
    // Each renewal closes the producer the one before opened: sends that pile up share one.
    expect(events.filter((event) => event === 'kafka_producer_renewed').length).toBeLessThanOrEqual(1);

    const written = await readAll(broker.brokers, topic, {
      expected: acknowledged.length,
      timeoutMs: 20_000,
      where: (record) => acknowledged.includes(record.headers['trace-id'] ?? ''),
    });
    expect(new Set(written.map((record) => record.headers['trace-id']))).toEqual(new Set(acknowledged));
  }, 120_000);
});

/**
 * Group commit: concurrent publish() calls go out as one producer send. The tests of the first
 * describe run on the real broker; the last three drive error branches (a send that fails, a call that times out
 * while queued, the batch bound) with a stand-in send, since a real broker cannot be made to do
 * those on demand at the right moment.
 */
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopicWithMaxMessageBytes, kafkaBrokers, readAll, uniqueTopicPrefix } from '../../test/support/kafka.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { GatewayError } from '../errors/catalogue.ts';
import { createLogger } from '../observability/log.ts';
import { createCoalescingQueue } from './coalescing-queue.ts';
import { createKafkaPublisher } from './kafka-publisher.ts';
import { createPlatformaticPublisher } from './platformatic-publisher.ts';
import type { OutboundRecord, Publisher } from './publisher.ts';

const recordsOf = (topic: string, caller: number, message: number, count: number): OutboundRecord[] =>
  Array.from({ length: count }, (_, n) => ({
    topic,
    key: `caller-${caller}`,
    value: JSON.stringify({ caller, message, n }),
    headers: { 'trace-id': `${caller}.${message}` },
  }));

describe('coalescing queue on the real broker', () => {
  const brokers = kafkaBrokers();
  const topic = `${uniqueTopicPrefix('coalesce')}.records`;
  const kafka = new Kafka({ clientId: 'coalescing-test', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
  });

  it('sends 40 concurrent callers in fewer producer sends, each caller acknowledged after its own records are in Kafka, in caller order', async () => {
    const sends: number[] = [];
    const queue = createCoalescingQueue({
      lingerMs: 0,
      lingerAfterSendMs: 0,
      maxBatchBytes: 512 * 1024,
      onOutcome: () => undefined,
      async send(records) {
        sends.push(records.length);
        await producer.send({
          topic,
          acks: -1,
          messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers as IHeaders })),
        });
      },
    });
    const callers = 40;
    const messagesPerCaller = 3;
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        // Like an MLLP connection: the next message only after the previous one's ACK.
        for (let message = 0; message < messagesPerCaller; message += 1) await queue.publish(recordsOf(topic, caller, message, 4), { timeoutMs: 20_000 });
      }),
    );
    const calls = callers * messagesPerCaller;
    expect(sends.reduce((a, b) => a + b, 0)).toBe(calls * 4);
    expect(sends.length).toBeLessThan(calls);
    expect(queue.inFlightRecords()).toBe(0);

    const read = await readAll(brokers, topic, { expected: calls * 4, timeoutMs: 30_000 });
    expect(read).toHaveLength(calls * 4);
    for (let caller = 0; caller < callers; caller += 1) {
      const values = read.filter((r) => r.key === `caller-${caller}`).map((r) => JSON.parse(r.value) as { message: number; n: number });
      expect(values.map((v) => v.message * 4 + v.n)).toEqual(Array.from({ length: messagesPerCaller * 4 }, (_, i) => i));
    }
  });

  /** A queue on the real producer that notes the callers (record keys) of each send. */
  function queueOnBroker(options: { lingerMs?: number; lingerAfterSendMs: number; maxBatchBytes: number }) {
    const sends: string[][] = [];
    const queue = createCoalescingQueue({
      lingerMs: 0,
      ...options,
      onOutcome: () => undefined,
      async send(records) {
        sends.push([...new Set(records.map((r) => r.key))]);
        await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers as IHeaders })) });
      },
    });
    return { queue, sends };
  }

  it.each([
    [300, [['caller-1'], ['caller-2', 'caller-3']]],
    [0, [['caller-1'], ['caller-2'], ['caller-3']]],
  ] as const)('lingerAfterSendMs %i: calls that queued during a send wait that long for more once it is acknowledged', async (lingerAfterSendMs, expected) => {
    const { queue, sends } = queueOnBroker({ lingerAfterSendMs, maxBatchBytes: 512 * 1024 });
    const first = queue.publish(recordsOf(topic, 1, 0, 2), { timeoutMs: 20_000 }); // sent at once: nothing in flight, lingerMs 0
    const second = queue.publish(recordsOf(topic, 2, 0, 2), { timeoutMs: 20_000 }); // queued during the first send
    await first;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = queue.publish(recordsOf(topic, 3, 0, 2), { timeoutMs: 20_000 });
    await Promise.all([second, third]);
    expect(sends).toEqual(expected);
    expect(queue.inFlightRecords()).toBe(0);
  });

  it.each([
    ['others may join: the first call waits for the second', (): boolean => true, [['caller-1', 'caller-2']]],
    ['no one else may join: each goes at once', (): boolean => false, [['caller-1'], ['caller-2']]],
    ['absent (a caller that cannot tell): each goes at once', undefined, [['caller-1'], ['caller-2']]],
  ] as const)('lingerMs with nothing in flight, %s', async (_case, othersMayJoin, expected) => {
    const { queue, sends } = queueOnBroker({ lingerMs: 400, lingerAfterSendMs: 0, maxBatchBytes: 512 * 1024 });
    const options = { timeoutMs: 20_000, ...(othersMayJoin !== undefined ? { othersMayJoin } : {}) };
    const first = queue.publish(recordsOf(topic, 1, 0, 2), options);
    // Long enough for a send started at once to be acknowledged, well within the linger.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await Promise.all([first, queue.publish(recordsOf(topic, 2, 0, 2), options)]);
    expect(sends).toEqual(expected);
  });

  it('lingerMs: a linger ends as soon as a joining call says no one else may join', async () => {
    const { queue, sends } = queueOnBroker({ lingerMs: 10_000, lingerAfterSendMs: 0, maxBatchBytes: 512 * 1024 });
    let free = 1; // one other sender is free to send; the second call is it
    const othersMayJoin = () => free > 0;
    const started = Date.now();
    const first = queue.publish(recordsOf(topic, 1, 0, 2), { timeoutMs: 20_000, othersMayJoin });
    free = 0;
    await Promise.all([first, queue.publish(recordsOf(topic, 2, 0, 2), { timeoutMs: 20_000, othersMayJoin })]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sends).toEqual([['caller-1', 'caller-2']]);
  });

  it('lingerAfterSendMs: a queue holding a full batch (maxBatchBytes) sends at once instead of waiting', async () => {
    // Each call's records are ~280 bytes: two fill the batch.
    const { queue, sends } = queueOnBroker({ lingerAfterSendMs: 10_000, maxBatchBytes: 500 });
    const started = Date.now();
    const first = queue.publish(recordsOf(topic, 1, 0, 7), { timeoutMs: 20_000 });
    const second = queue.publish(recordsOf(topic, 2, 0, 7), { timeoutMs: 20_000 });
    await first;
    const third = queue.publish(recordsOf(topic, 3, 0, 7), { timeoutMs: 20_000 }); // the batch is full now: the second goes without the 10 s wait
    await second;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sends).toEqual([['caller-1'], ['caller-2']]);
    await queue.drain(); // the third: drain sends what is queued at once
    await third;
    expect(sends).toEqual([['caller-1'], ['caller-2'], ['caller-3']]);
  });

  it.each([
    ['kafkajs', createKafkaPublisher],
    ['@platformatic/kafka', createPlatformaticPublisher],
  ] as const)('the %s publisher resolves concurrent publishes only once their records are readable', async (_client, createPublisher) => {
    const publisherTopic = `${uniqueTopicPrefix('coalesce-publisher')}.records`;
    const publisher: Publisher = createPublisher({
      brokers,
      clientId: 'coalescing-publisher-test',
      createTopics: true,
      topicPartitions: 1,
      replicationFactor: -1,
      connectTimeoutMs: 10_000,
      lingerMs: 2,
      log: createLogger({ level: 'warn', write: () => undefined }),
    });
    await publisher.start([publisherTopic]);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, caller) => publisher.publish(recordsOf(publisherTopic, caller, 0, 5), { timeoutMs: 20_000 })));
      expect(publisher.inFlightRecords()).toBe(0);
      const read = await readAll(brokers, publisherTopic, { expected: 100, timeoutMs: 30_000 });
      expect(read).toHaveLength(100);
      expect(new Set(read.map((r) => r.key)).size).toBe(20);
    } finally {
      await publisher.stop();
    }
  });

  it.each([
    ['kafkajs', createKafkaPublisher],
    ['@platformatic/kafka', createPlatformaticPublisher],
  ] as const)('the %s publisher: a record Kafka refuses for good (MESSAGE_TOO_LARGE) fails only its own caller, not the callers coalesced with it', async (_client, createPublisher) => {
    const refusingTopic = `${uniqueTopicPrefix('coalesce-refused')}.records`;
    await createTopicWithMaxMessageBytes(brokers, refusingTopic, 3000);
    const publisher: Publisher = createPublisher({
      brokers,
      clientId: 'coalescing-refused-test',
      createTopics: false,
      topicPartitions: 1,
      replicationFactor: -1,
      connectTimeoutMs: 10_000,
      // Long enough that the three calls below go out as one send.
      lingerMs: 200,
      log: createLogger({ level: 'warn', write: () => undefined }),
    });
    await publisher.start([refusingTopic]);
    try {
      const huge: OutboundRecord = { topic: refusingTopic, key: 'caller-huge', value: 'x'.repeat(4_000), headers: {} };
      const together = { timeoutMs: 20_000, othersMayJoin: () => true };
      const results = await Promise.allSettled([
        publisher.publish(recordsOf(refusingTopic, 1, 0, 2), together),
        publisher.publish([huge], together),
        publisher.publish(recordsOf(refusingTopic, 2, 0, 2), together),
      ]);
      expect(results.map((result) => (result.status === 'fulfilled' ? 'ok' : (result.reason as GatewayError).code))).toEqual(['ok', 'publish_refused', 'ok']);
      const read = await readAll(brokers, refusingTopic, { expected: 4, timeoutMs: 30_000 });
      expect(read.map((r) => r.key)).toEqual(['caller-1', 'caller-1', 'caller-2', 'caller-2']);
      expect(publisher.inFlightRecords()).toBe(0);
    } finally {
      await publisher.stop();
    }
  }, 60_000);
});

describe('coalescing queue error branches (stand-in send)', () => {
  it('rejects every caller of a failed send with publish_failed, and the next send still goes', async () => {
    let fail = true;
    const outcomes: boolean[] = [];
    const queue = createCoalescingQueue({
      lingerMs: 5,
      lingerAfterSendMs: 0,
      maxBatchBytes: 1024 * 1024,
      onOutcome: (failed) => outcomes.push(failed),
      send: async () => {
        if (fail) throw new Error('broker said no');
      },
    });
    // Both in one send: the first lingers for the second.
    const together = { timeoutMs: 5_000, othersMayJoin: () => true };
    const results = await Promise.allSettled([queue.publish(recordsOf('t', 1, 0, 2), together), queue.publish(recordsOf('t', 2, 0, 2), together)]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as GatewayError;
      expect(reason).toBeInstanceOf(GatewayError);
      expect(reason.code).toBe('publish_failed');
    }
    fail = false;
    await queue.publish(recordsOf('t', 3, 0, 1), { timeoutMs: 5_000 });
    expect(outcomes).toEqual([true, false]);
    expect(queue.inFlightRecords()).toBe(0);
  });

  it('times out a call queued behind a hung send with publish_timeout and never sends its records', async () => {
    const sent: string[] = [];
    let release: () => void = () => undefined;
    const queue = createCoalescingQueue({
      lingerMs: 0,
      lingerAfterSendMs: 0,
      maxBatchBytes: 1024 * 1024,
      onOutcome: () => undefined,
      send: (records) => {
        sent.push(...records.map((r) => r.key));
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    const first = queue.publish(recordsOf('t', 1, 0, 1), { timeoutMs: 10_000 });
    await waitFor('the first send', () => sent.length === 1, 5_000, 5);
    const second = queue.publish(recordsOf('t', 2, 0, 1), { timeoutMs: 200 });
    await expect(second).rejects.toMatchObject({ code: 'publish_timeout' });
    release();
    await first;
    await queue.drain();
    expect(sent).toEqual(['caller-1']);
    expect(queue.inFlightRecords()).toBe(0);
  });

  it('keeps one send under maxBatchBytes, with one call always whole, in arrival order', async () => {
    const sends: string[][] = [];
    let release: () => void = () => undefined;
    const queue = createCoalescingQueue({
      lingerMs: 0,
      lingerAfterSendMs: 0,
      maxBatchBytes: 160,
      onOutcome: () => undefined,
      send: (records) => {
        sends.push(records.map((r) => `${r.key}/${(JSON.parse(r.value) as { n: number }).n}`));
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    // Each call below is 2 records of 38 characters of key+value (76): two calls fit in 160, three do not.
    const calls = [queue.publish(recordsOf('t', 0, 0, 1), { timeoutMs: 5_000 })];
    await waitFor('the first send', () => sends.length === 1, 5_000, 5);
    for (let caller = 1; caller <= 4; caller += 1) calls.push(queue.publish(recordsOf('t', caller, 0, 2), { timeoutMs: 5_000 }));
    while (sends.length < 3) {
      const before = sends.length;
      release();
      await waitFor('the next send', () => sends.length > before, 5_000, 5);
    }
    release();
    await Promise.all(calls);
    expect(sends).toEqual([
      ['caller-0/0'],
      ['caller-1/0', 'caller-1/1', 'caller-2/0', 'caller-2/1'],
      ['caller-3/0', 'caller-3/1', 'caller-4/0', 'caller-4/1'],
    ]);
  });
});

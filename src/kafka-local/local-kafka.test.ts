/**
 * The local broker is a real Kafka: an idempotent, acks=all write is read back, and is still there
 * after the broker was SIGKILLed and restarted. Uses a broker of its own, since it kills it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAll, uniqueTopicPrefix } from '../../test/support/kafka.ts';
import { startLocalKafka, type LocalKafka } from './local-kafka.ts';

let broker: LocalKafka;

beforeAll(async () => {
  broker = await startLocalKafka({ heapMb: 384 });
}, 240_000);

afterAll(async () => {
  await broker?.stop();
}, 60_000);

describe('local Kafka broker', () => {
  it('serves on 127.0.0.1 with its log in the data dir', () => {
    expect(broker.brokers).toEqual([`127.0.0.1:${broker.port}`]);
    expect(broker.logFile.startsWith(broker.dataDir)).toBe(true);
    expect(existsSync(broker.logFile)).toBe(true);
  });

  it('keeps an acknowledged record across a SIGKILL and restart', async () => {
    const topic = `${uniqueTopicPrefix('local-kafka')}.durability`;
    const kafka = new Kafka({ clientId: 'local-kafka-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    } finally {
      await admin.disconnect();
    }

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let written;
    try {
      written = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: 'device-1', value: '{"resourceType":"Observation"}', headers: { 'trace-id': 'abc123' } }],
      });
    } finally {
      await producer.disconnect();
    }
    const offset = written[0]?.baseOffset;
    expect(offset).toBe('0');

    const expectedRecord = { key: 'device-1', value: '{"resourceType":"Observation"}', headers: { 'trace-id': 'abc123' }, partition: 0, offset: '0' };
    expect(await readAll(broker.brokers, topic, { expected: 1, timeoutMs: 20_000 })).toEqual([expectedRecord]);

    await broker.kill();
    await broker.restart();

    expect(await readAll(broker.brokers, topic, { expected: 1, timeoutMs: 30_000 })).toEqual([expectedRecord]);
  }, 120_000);
  it('pause() stops the broker process (a request gets no answer) until resume()', async () => {
    const pid = broker.pid;
    expect(pid).toBeGreaterThan(0);
    const state = () => /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const admin = new Kafka({ clientId: 'local-kafka-pause-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, requestTimeout: 2_000, retry: { retries: 0 } }).admin();
    await admin.connect();
    try {
      await broker.pause();
      try {
        expect(state()).toBe('T');
        await expect(admin.listTopics()).rejects.toThrow();
      } finally {
        broker.resume();
      }
      expect(state()).not.toBe('T');
      let topics: string[] | undefined;
      for (let attempt = 0; attempt < 20 && topics === undefined; attempt += 1) {
        topics = await admin.listTopics().catch(() => undefined);
        if (topics === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(Array.isArray(topics)).toBe(true);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});

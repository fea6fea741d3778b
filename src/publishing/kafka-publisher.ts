/**
 * Publisher on kafkajs: one idempotent producer (acks=all, which kafkajs only allows with one
 * request in flight), topics created at start-up, and a deadline on every publish.
 *
 * Concurrent publish() calls (one per MLLP connection or serial device) are coalesced into one
 * producer send ("group commit"): while a send is in flight, new calls queue, and the queue goes
 * out as one sendBatch as soon as the broker has answered. With one request in flight anyway,
 * sending records one call at a time made the broker round trip the gateway's ceiling (profile
 * and figures in README "Performance"). Each caller still resolves only when the broker has
 * acknowledged the batch holding its own records, so ACK-after-commit holds; callers are queued
 * in arrival order, and a connection awaits its ACK before its next message, so per-connection
 * (and per-device) order holds too.
 */
import { Kafka, logLevel as kafkaLogLevel, type Producer, type Admin, type ITopicConfig, type IHeaders } from 'kafkajs';
import { GatewayError } from '../errors/catalogue.ts';
import type { Logger } from '../observability/log.ts';
import type { OutboundRecord, Publisher } from './publisher.ts';

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
  readonly log: Logger;
}

/** One publish() call waiting in the queue or in a send. */
interface PendingCall {
  readonly records: readonly OutboundRecord[];
  readonly bytes: number;
  readonly timeoutMs: number;
  /** Set once the caller has been answered (acknowledged, failed or timed out). */
  settled: boolean;
  resolve(): void;
  reject(error: GatewayError): void;
}

export function createKafkaPublisher(options: KafkaPublisherOptions): Publisher {
  const lingerMs = options.lingerMs ?? 0;
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectTimeoutMs,
    logLevel: kafkaLogLevel.NOTHING,
    // kafkajs retries a failed request itself; keep that short so our publish deadline decides.
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2_000 },
  });
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

  const queue: PendingCall[] = [];
  /** The send in flight, if any: the next one starts when it settles. */
  let sending: Promise<void> | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;

  function settle(call: PendingCall, error?: GatewayError): void {
    if (call.settled) return;
    call.settled = true;
    inFlight -= call.records.length;
    if (error === undefined) call.resolve();
    else call.reject(error);
  }

  /** Takes whole calls from the head of the queue up to maxBatchBytes (at least one call). */
  function takeBatch(): PendingCall[] {
    const batch: PendingCall[] = [];
    let bytes = 0;
    while (queue.length > 0) {
      const next = queue[0] as PendingCall;
      if (next.settled) {
        // Timed out while queued: its records were never sent, so drop them (the sender resends).
        queue.shift();
        continue;
      }
      if (batch.length > 0 && bytes + next.bytes > maxBatchBytes) break;
      queue.shift();
      batch.push(next);
      bytes += next.bytes;
    }
    return batch;
  }

  function flush(): void {
    if (lingerTimer !== undefined) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
    }
    if (sending !== undefined) return;
    const batch = takeBatch();
    if (batch.length === 0) return;
    sending = sendBatch(batch).finally(() => {
      sending = undefined;
      // Whatever queued meanwhile has already waited one broker round trip: send it at once.
      if (queue.length > 0) flush();
    });
  }

  async function sendBatch(batch: readonly PendingCall[]): Promise<void> {
    const byTopic = new Map<string, { key: string; value: string; headers: IHeaders }[]>();
    let timeoutMs = 0;
    for (const call of batch) {
      timeoutMs = Math.max(timeoutMs, call.timeoutMs);
      for (const record of call.records) {
        let list = byTopic.get(record.topic);
        if (list === undefined) byTopic.set(record.topic, (list = []));
        // kafkajs only reads the headers; records of one message share one headers object.
        list.push({ key: record.key, value: record.value, headers: record.headers as IHeaders });
      }
    }
    const send = producer.sendBatch({
      acks: -1,
      timeout: timeoutMs,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    // Each caller has its own deadline; this one only stops a hung send from holding the queue.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const outcome = await Promise.race([send, deadline]);
      if (outcome === 'timeout') {
        lastPublishFailed = true;
        const error = new GatewayError('publish_timeout', `No acknowledgement within ${timeoutMs} ms.`);
        for (const call of batch) settle(call, error);
        return;
      }
      lastPublishFailed = false;
      for (const call of batch) settle(call);
    } catch (error) {
      lastPublishFailed = true;
      const failure = new GatewayError('publish_failed', error instanceof Error ? `${error.name}: ${error.message}` : undefined, {
        cause: error,
      });
      for (const call of batch) settle(call, failure);
    } finally {
      clearTimeout(timer);
      // A send that lost the race must not surface later as an unhandled rejection.
      send.catch(() => undefined);
    }
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

    publish(records, { timeoutMs }) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let bytes = 0;
        for (const record of records) bytes += record.key.length + record.value.length;
        let timer: NodeJS.Timeout | undefined;
        const call: PendingCall = {
          records,
          bytes,
          timeoutMs,
          settled: false,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        timer = setTimeout(() => {
          lastPublishFailed = true;
          settle(call, new GatewayError('publish_timeout', `No acknowledgement within ${timeoutMs} ms.`));
        }, timeoutMs);
        inFlight += records.length;
        queue.push(call);
        if (sending !== undefined) return; // goes out when the send in flight settles
        if (lingerMs <= 0) flush();
        else lingerTimer ??= setTimeout(flush, lingerMs);
      });
    },

    isConnected: () => connected && !lastPublishFailed,
    inFlightRecords: () => inFlight,

    async stop() {
      // Hand over what is queued before the producer goes.
      while (sending !== undefined || queue.some((call) => !call.settled)) {
        flush();
        await sending;
      }
      await producer.disconnect();
    },
  };
}

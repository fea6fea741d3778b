/**
 * Publisher on @platformatic/kafka 1.35 (pure JavaScript; its 2.x needs Node 22), the gateway's
 * default client (config kafka.client): kafkajs spent ~30% of the gateway's CPU at saturation, this
 * client about a third of that for the same records (README "Performance", bench/publisher.ts).
 * Same semantics as kafka-publisher.ts: one idempotent producer (acks=all, one request in flight),
 * topics created at start-up, concurrent publish() calls coalesced into one send
 * (coalescing-queue.ts), each caller answered for its own records by its own deadline, and a new
 * producer after any failed or timed-out send (producer-renewal.ts). The library's record batch
 * encoder and CRC are patched to allocate less (patches/README.md; same bytes on the wire).
 */
import { Admin, compatibilityPartitioner, Connection, instancesChannel, ProduceAcks, Producer, type MessageToProduce } from '@platformatic/kafka';
import { z } from 'zod';
import { batchingOf, createCoalescingQueue } from './coalescing-queue.ts';
import { classifyKafkaConnectError, describeKafkaError, platformaticClientOptions } from './kafka-client-config.ts';
import { createRenewingProducer } from './producer-renewal.ts';
import type { KafkaPublisherOptions, OutboundRecord, Publisher } from './publisher.ts';

export interface PlatformaticPublisherOptions extends KafkaPublisherOptions {
  /**
   * A new producer id before one producer has sent this many records. @platformatic/kafka 1.35 does
   * not wrap Kafka's 32-bit sequence numbers (kafkajs does); the default keeps well below 2^31.
   * Tests lower it to see the renewal happen.
   */
  readonly maxRecordsPerProducer?: number;
}

/** Keys, values and headers go to the library as Buffers (its default serializers pass them through). */
type BufferProducer = Producer<Buffer, Buffer, Buffer, Buffer>;
type BufferMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

/**
 * The records as the library's messages. The records of one source message share their key and
 * their headers object (records.ts), so each key and each header set is encoded once per send, not
 * once per record, and the same key Buffer lets the partitioner below skip the hash.
 */
function toMessages(records: readonly OutboundRecord[]): BufferMessage[] {
  const keys = new Map<string, Buffer>();
  const headerSets = new Map<Readonly<Record<string, string>>, Map<Buffer, Buffer>>();
  return records.map((record) => {
    let key = keys.get(record.key);
    if (key === undefined) keys.set(record.key, (key = Buffer.from(record.key, 'utf8')));
    let headers = headerSets.get(record.headers);
    if (headers === undefined) {
      headers = new Map(Object.entries(record.headers).map(([name, value]) => [Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8')]));
      headerSets.set(record.headers, headers);
    }
    return { topic: record.topic, key, value: Buffer.from(record.value, 'utf8'), headers };
  });
}

/**
 * The Java/kafkajs key -> partition mapping (compatibilityPartitioner), remembering the last key:
 * consecutive records with the same key Buffer (one source message's records) hash it once.
 */
function sameKeyOncePartitioner(): (message: BufferMessage, key: Buffer | undefined) => number {
  let lastKey: Buffer | undefined;
  let lastPartition = 0;
  return (message, key) => {
    if (key === undefined || key !== lastKey) {
      lastKey = key;
      lastPartition = compatibilityPartitioner(message, key);
    }
    return lastPartition;
  };
}

/** What the client's metadata says about a topic, parsed: every partition needs a leader before the first send. */
const topicLeadersSchema = z.object({
  topics: z.map(
    z.string(),
    z.object({ partitions: z.array(z.object({ leader: z.number() }).loose()) }).loose(),
  ),
}).loose();

const DEFAULT_MAX_RECORDS_PER_PRODUCER = 2_000_000_000;

/*
 * @platformatic/kafka 1.35 emits a connection's 'error' event a second time, after its listeners are
 * gone, when the broker closes a connection during the SASL handshake (seen with a TLS listener that
 * requires a client certificate: kafka-sasl-ssl.test.ts). An 'error' event without a listener is an
 * uncaught exception that would end the gateway. The failure itself reaches us through the request
 * that was waiting (start-up fails with kafka_tls_failed, a send with publish_failed), so every
 * connection gets a listener that only keeps the event from crashing the process.
 */
instancesChannel.subscribe((message) => {
  const instance = (message as { type?: unknown; instance?: unknown }).instance;
  if (instance instanceof Connection) instance.on('error', () => undefined);
});

export function createPlatformaticPublisher(options: PlatformaticPublisherOptions): Publisher {
  const connection = platformaticClientOptions({
    brokers: options.brokers,
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.security !== undefined ? { security: options.security } : {}),
  });
  let started = false;
  // Set when a connection attempt to a broker fails, cleared when one succeeds. An idle connection
  // the broker closes (connections.max.idle.ms) is not a failure: the next send reconnects.
  let brokerUnreachable = false;
  // A failed publish marks us unready until the next one succeeds.
  let lastPublishFailed = false;

  function openProducer(): BufferProducer {
    const created: BufferProducer = new Producer({
      ...connection,
      // Kept short so our publish deadline decides (like the kafkajs publisher's retry settings).
      retries: 5,
      retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(100 * 2 ** (attempt - 1), 2_000),
      ...(options.requestTimeoutMs !== undefined ? { requestTimeout: options.requestTimeoutMs } : {}),
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
      // The Java client's (and kafkajs') key -> partition mapping: a device keeps its partition
      // whichever client wrote its earlier records. The library's default differs for keys whose
      // murmur2 hash has the top bit set, unless the partition count is a power of two.
      partitioner: sameKeyOncePartitioner(),
    });
    created.on('client:broker:connect', () => {
      if (created !== producer.current()) return;
      if (brokerUnreachable) options.log.info('kafka_connected', { brokers: options.brokers.join(',') });
      brokerUnreachable = false;
    });
    created.on('client:broker:failed', () => {
      if (created !== producer.current()) return;
      if (!brokerUnreachable) options.log.warn('kafka_disconnected', {});
      brokerUnreachable = true;
    });
    return created;
  }

  const producer = createRenewingProducer<BufferProducer>({
    open: openProducer,
    // Connects to every broker the metadata names, so the first send does not pay for it.
    connect: async (created) => {
      await created.connectToBrokers(null);
    },
    close: (old) => old.close(),
    log: options.log,
    maxRecordsPerProducer: options.maxRecordsPerProducer ?? DEFAULT_MAX_RECORDS_PER_PRODUCER,
  });

  async function ensureTopics(topics: readonly string[]): Promise<void> {
    const admin = new Admin({ ...connection, clientId: `${options.clientId}-admin` });
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      await admin.createTopics({ topics: missing, partitions: options.topicPartitions, replicas: options.replicationFactor });
      options.log.info('kafka_topics_created', { topics: missing.join(',') });
    } finally {
      await admin.close();
    }
  }

  /** Waits (bounded) until every partition of the topics has a leader: a topic just created may have none yet. */
  async function waitForLeaders(topics: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metadata = topicLeadersSchema.parse(await producer.current().metadata({ topics: [...topics], forceUpdate: true }));
      const leaderless = topics.filter((topic) => {
        const partitions = metadata.topics.get(topic)?.partitions ?? [];
        return partitions.length === 0 || partitions.some((partition) => partition.leader < 0);
      });
      if (leaderless.length === 0) return;
      if (Date.now() >= deadline) throw new Error(`Kafka topics without a partition leader after ${timeoutMs} ms: ${leaderless.join(',')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const queue = createCoalescingQueue({
    ...batchingOf(options),
    onOutcome: (failed) => (lastPublishFailed = failed),
    async send(records) {
      const messages = toMessages(records);
      // A failure is classified (publish_refused or publish_failed) by the queue.
      await producer.send(records.length, async (current) => {
        await current.send({ messages });
      });
    },
  });

  return {
    async start(topics) {
      try {
        if (options.createTopics) await ensureTopics(topics);
        await producer.current().connectToBrokers(null);
        await waitForLeaders(topics, Math.max(options.connectTimeoutMs, 10_000));
      } catch (error) {
        // Security failures keep the library's error for the caller to classify (gateway.ts); others
        // get their causes in the message ("metadata failed 4 times" alone does not say why).
        if (classifyKafkaConnectError(error) !== undefined) throw error;
        throw new Error(`Kafka not reachable at start-up: ${describeKafkaError(error)}`, { cause: error });
      }
      started = true;
    },

    publish: queue.publish,

    isConnected: () => started && !brokerUnreachable && !lastPublishFailed,
    inFlightRecords: () => queue.inFlightRecords(),

    async stop() {
      // Hand over what is queued before the producer goes.
      await queue.drain();
      started = false;
      await producer.close();
    },
  };
}

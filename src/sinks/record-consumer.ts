/**
 * The sinks' own consuming interface: a consumer group that hands over one partition's batch at a
 * time and commits only what the handler says is done. The sinks depend on this, never on a Kafka
 * client, so a maintained client can replace kafkajs here as in src/publishing (reference/libraries.md).
 */
import { Kafka, type Consumer } from 'kafkajs';
import { kafkaClientConfig, type KafkaSecurity } from '../publishing/kafka-client-config.ts';
import { headersToStrings } from '../publishing/kafka-headers.ts';

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  /** int64 offset as a decimal string. */
  readonly offset: string;
  readonly key: string | null;
  /** UTF-8; a tombstone reads as ''. */
  readonly value: string;
  /** UTF-8; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ConsumedRecord[];
  /**
   * Marks every record up to and including `offset` as done and commits it to the group. Nothing
   * after `offset` is committed: the next fetch of this partition starts right after it.
   */
  commitThrough(offset: string): Promise<void>;
  /**
   * Stops fetching this partition for `delayMs`; then it is fetched again from the record after the
   * last committed one, so nothing not committed is skipped.
   */
  retryLater(delayMs: number): void;
  /** False once the consumer is stopping or the partition was revoked: finish up, take nothing new. */
  isRunning(): boolean;
  /** Keeps the group membership alive during a long write. */
  heartbeat(): Promise<void>;
}

export interface RecordConsumer {
  /** Joins the group, subscribes and hands batches to `handle` until stop(). Resolves once running. */
  start(topics: readonly string[], handle: (batch: PartitionBatch) => Promise<void>): Promise<void>;
  /** Lets the batch in hand finish (its handler returns), then leaves the group and disconnects. */
  stop(): Promise<void>;
}

export interface KafkaRecordConsumerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  /** Where a group without committed offsets starts: the earliest record (default) or only new ones. */
  readonly fromBeginning?: boolean;
  /** How long the broker may hold a fetch open waiting for more records. */
  readonly maxWaitTimeInMs?: number;
  /** Partitions handled at the same time (their records can share one FHIR transaction). */
  readonly partitionsConsumedConcurrently?: number;
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** TLS and SASL (config kafka.ssl / kafka.sasl); absent: PLAINTEXT. */
  readonly security?: KafkaSecurity;
}

export function createKafkaRecordConsumer(options: KafkaRecordConsumerOptions): RecordConsumer {
  const kafka = new Kafka(
    kafkaClientConfig({ clientId: options.clientId, brokers: options.brokers, connectTimeoutMs: options.connectTimeoutMs ?? 5_000, security: options.security }),
  );
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
  });
  const resumeTimers = new Set<NodeJS.Timeout>();
  let stopping = false;

  return {
    async start(topics, handle) {
      await consumer.connect();
      await consumer.subscribe({ topics: [...topics], fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale, pause }) => {
          if (batch.messages.length === 0) return;
          const { topic, partition } = batch;
          const records = batch.messages.map(
            (message): ConsumedRecord => ({
              topic,
              partition,
              offset: message.offset,
              key: message.key === null ? null : message.key.toString('utf8'),
              value: message.value === null ? '' : message.value.toString('utf8'),
              headers: headersToStrings(message.headers),
            }),
          );
          await handle({
            topic,
            partition,
            records,
            async commitThrough(offset) {
              resolveOffset(offset);
              // autoCommit is off: with explicit offsets this commits now, unconditionally. The
              // committed offset is the next one to read.
              const next = (BigInt(offset) + 1n).toString();
              await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
            },
            retryLater(delayMs) {
              // Un-resolved records are fetched again from the last resolved offset on resume.
              const resume = pause();
              const timer = setTimeout(() => {
                resumeTimers.delete(timer);
                if (!stopping) resume();
              }, delayMs);
              resumeTimers.add(timer);
            },
            isRunning: () => isRunning() && !isStale() && !stopping,
            heartbeat,
          });
        },
      });
    },

    async stop() {
      stopping = true;
      for (const timer of resumeTimers) clearTimeout(timer);
      resumeTimers.clear();
      // kafkajs waits for the running eachBatch calls to return before it leaves the group.
      await consumer.disconnect();
    },
  };
}


/**
 * The gateway's own publishing interface. The pipeline depends on this, never on a Kafka client,
 * so a maintained client can replace kafkajs without touching the pipeline (reference/libraries.md).
 */
import type { SpoolStatus } from '../spool/spool.ts';
import type { Logger } from '../observability/log.ts';
import type { KafkaSecurity } from './kafka-client-config.ts';

export interface OutboundRecord {
  readonly topic: string;
  /** The device identity: keeps one device's records ordered in one partition. */
  readonly key: string;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PublishOptions {
  readonly timeoutMs: number;
  /**
   * Whether other senders' records may still join this call's send: asked before a call found with
   * no send in flight waits kafka.lingerMs, and as each call joins a wait (that one, or the
   * kafka.lingerAfterSendMs after a send), which a no ends at once. Absent: no (a caller that cannot
   * tell would only be slowed down).
   */
  readonly othersMayJoin?: () => boolean;
}

export interface Publisher {
  /** Connects, and creates the given topics if they are missing. */
  start(topics: readonly string[]): Promise<void>;
  /**
   * Resolves only when the broker has acknowledged every record (acks=all); rejects with a
   * GatewayError (publish_timeout, publish_failed, or publish_refused: Kafka will never take them) otherwise. Records may still have reached the
   * broker after a timeout: ids are deterministic, so a resend is a duplicate consumers can drop.
   */
  publish(records: readonly OutboundRecord[], options: PublishOptions): Promise<void>;
  /** True while the producer holds a broker connection. */
  isConnected(): boolean;
  /** Records handed to publish and not yet acknowledged or failed. */
  inFlightRecords(): number;
  /**
   * Present when publish() acknowledges from the local durable spool (delivery.ack: spool): its
   * state for /readyz and the metrics.
   */
  spoolStatus?(): SpoolStatus;
  /** Closes; a spooling publisher first tries to drain the spool to Kafka within graceMs. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** What a Kafka publisher is built from, whichever client it uses (kafka-publisher.ts, platformatic-publisher.ts). */
export interface KafkaPublisherOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly createTopics: boolean;
  readonly topicPartitions: number;
  readonly replicationFactor: number;
  readonly connectTimeoutMs: number;
  /** How long the first queued call waits for others when no send is in flight (0: send at once). */
  readonly lingerMs?: number;
  /** How long the calls that queued during a send wait for others once it settles (config kafka.lingerAfterSendMs; absent: 0). */
  readonly lingerAfterSendMs?: number;
  /** Upper bound of one coalesced send, in record key+value bytes (one call's records always go whole). */
  readonly maxBatchBytes?: number;
  /** TLS and SASL (config kafka.ssl / kafka.sasl); absent: PLAINTEXT. */
  readonly security?: KafkaSecurity;
  /** How long the client waits for one request's response (both clients' default: 30 s); tests shorten it. */
  readonly requestTimeoutMs?: number;
  readonly log: Logger;
}

/** Header names of the Kafka message contract (docs/kafka-contract.md, asyncapi.yaml). */
export const recordHeaders = {
  contentType: 'content-type',
  sourceAdapter: 'source-adapter',
  sourceMessageId: 'source-message-id',
  traceId: 'trace-id',
  errorCode: 'error-code',
} as const;

export const fhirContentType = 'application/fhir+json; fhirVersion=4.0';
export const deadLetterContentType = 'application/vnd.vitalbridge.deadletter+json';
export const eventContentType = 'application/vnd.vitalbridge.event+json';

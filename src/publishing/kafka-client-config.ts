/**
 * The one place a kafkajs client configuration is built from ours: brokers, client id, TLS and SASL.
 * Every Kafka client the project creates (the gateway's producer and admin, `tail`, the FHIR sink's
 * consumer, the local broker's readiness probe, the test readers) goes through kafkaClientConfig(),
 * so a secured cluster works everywhere once it is configured once.
 *
 * Secrets (the SASL password, key files) are handed to kafkajs only; nothing here logs them, and
 * describeKafkaSecurity() gives a log-safe summary.
 */
import type { ConnectionOptions } from 'node:tls';
import { logLevel as kafkaLogLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { GatewayConfig } from '../../schemas/config.ts';
import { GatewayError } from '../errors/catalogue.ts';
import { readPemFile } from '../security/tls-files.ts';

/** The security part of the kafka config section (TLS and SASL), as the schema parses it. */
export type KafkaSecurity = Partial<Pick<GatewayConfig['kafka'], 'ssl' | 'sasl'>>;

export interface KafkaClientSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly connectTimeoutMs?: number;
  readonly security?: KafkaSecurity;
}

/** Extra kafkajs client options a caller tunes (retry, request timeout); never brokers, TLS or SASL. */
export type KafkaClientTuning = Omit<KafkaConfig, 'brokers' | 'clientId' | 'ssl' | 'sasl' | 'connectionTimeout'>;

export function kafkaClientConfig(settings: KafkaClientSettings, tuning: KafkaClientTuning = {}): KafkaConfig {
  const ssl = sslOptions(settings.security?.ssl);
  const sasl = settings.security?.sasl;
  return {
    logLevel: kafkaLogLevel.NOTHING,
    ...tuning,
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    ...(settings.connectTimeoutMs !== undefined ? { connectionTimeout: settings.connectTimeoutMs } : {}),
    ...(ssl !== undefined ? { ssl } : {}),
    ...(sasl !== undefined ? { sasl: saslOptions(sasl) } : {}),
  };
}

/** What a log line may say about the connection: protocol and mechanism, never a user name or password. */
export function describeKafkaSecurity(security: KafkaSecurity | undefined): { protocol: string; saslMechanism?: string } {
  const tls = kafkaTlsEnabled(security?.ssl);
  const sasl = security?.sasl;
  const protocol = sasl !== undefined ? (tls ? 'SASL_SSL' : 'SASL_PLAINTEXT') : tls ? 'SSL' : 'PLAINTEXT';
  return sasl !== undefined ? { protocol, saslMechanism: sasl.mechanism } : { protocol };
}

/** kafka.ssl.enabled, or, when it is not set, whether any file is named. */
export function kafkaTlsEnabled(ssl: KafkaSecurity['ssl']): boolean {
  if (ssl === undefined) return false;
  return ssl.enabled ?? (ssl.caFile !== undefined || ssl.certFile !== undefined || ssl.keyFile !== undefined);
}

function sslOptions(ssl: KafkaSecurity['ssl']): ConnectionOptions | undefined {
  if (ssl === undefined || !kafkaTlsEnabled(ssl)) return undefined;
  return {
    rejectUnauthorized: ssl.rejectUnauthorized,
    ...(ssl.caFile !== undefined ? { ca: [readPemFile(ssl.caFile)] } : {}),
    ...(ssl.certFile !== undefined ? { cert: readPemFile(ssl.certFile) } : {}),
    ...(ssl.keyFile !== undefined ? { key: readPemFile(ssl.keyFile) } : {}),
    ...(ssl.servername !== undefined ? { servername: ssl.servername } : {}),
  };
}

function saslOptions(sasl: NonNullable<KafkaSecurity['sasl']>): SASLOptions {
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: sasl.username, password: sasl.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
    default:
      return sasl.mechanism satisfies never;
  }
}

/**
 * Turns a kafkajs failure to connect into a catalogued error when it is a security failure the
 * operator must fix (credentials, TLS), so start-up fails with a code instead of a library message.
 * Returns undefined for anything else (the caller keeps the original error).
 */
export function classifyKafkaConnectError(error: unknown): GatewayError | undefined {
  const chain = errorChain(error);
  const names = chain.map((e) => e.name);
  const texts = chain.map((e) => `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`).join(' | ');
  if (names.includes('KafkaJSSASLAuthenticationError') || /SASL_AUTHENTICATION_FAILED|Authentication failed|SaslAuthenticate/i.test(texts)) {
    // kafkajs' message names the mechanism and the broker's reason; it never carries the password.
    return new GatewayError('kafka_auth_failed', lastMessage(chain), { cause: error });
  }
  if (/CERT|SSL|TLS|self[- ]signed|unable to (get|verify)|wrong version number|EPROTO|handshake/i.test(texts)) {
    return new GatewayError('kafka_tls_failed', lastMessage(chain), { cause: error });
  }
  return undefined;
}

function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  let current: unknown = error;
  while (current instanceof Error && chain.length < 10) {
    chain.push(current);
    current = (current as { cause?: unknown; originalError?: unknown }).originalError ?? current.cause;
  }
  return chain;
}

function lastMessage(chain: readonly Error[]): string {
  // kafkajs often repeats its cause's message in its own; say each once.
  const messages = chain.map((e) => e.message).filter((m) => m !== '');
  return messages.filter((m, i) => !messages.slice(0, i).some((earlier) => earlier.includes(m))).join(': ').slice(0, 500);
}

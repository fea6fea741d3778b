/**
 * The one place a Kafka client configuration is built from ours: brokers, client id, TLS and SASL.
 * Every Kafka client the project creates (the gateway's producer and admin, `tail`, the FHIR sink's
 * consumer, the local broker's readiness probe, the test readers) goes through kafkaClientConfig()
 * (kafkajs) or platformaticClientOptions() (@platformatic/kafka, the gateway's default producer),
 * two outputs of the same TLS and SASL settings, so a secured cluster works everywhere once it is
 * configured once.
 *
 * Secrets (the SASL password, key files) are handed to the client library only; nothing here logs
 * them, and describeKafkaSecurity() gives a log-safe summary.
 */
import type { ConnectionOptions } from 'node:tls';
import { logLevel as kafkaLogLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { SASLMechanisms, type SASLOptions as PlatformaticSaslOptions } from '@platformatic/kafka';
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

/** Connection options of a @platformatic/kafka client (Producer, Admin): the same settings as kafkaClientConfig(). */
export interface PlatformaticClientOptions {
  readonly clientId: string;
  readonly bootstrapBrokers: string[];
  readonly connectTimeout?: number;
  readonly tls?: ConnectionOptions;
  readonly sasl?: PlatformaticSaslOptions;
}

export function platformaticClientOptions(settings: KafkaClientSettings): PlatformaticClientOptions {
  const tls = sslOptions(settings.security?.ssl);
  const sasl = settings.security?.sasl;
  return {
    clientId: settings.clientId,
    bootstrapBrokers: [...settings.brokers],
    ...(settings.connectTimeoutMs !== undefined ? { connectTimeout: settings.connectTimeoutMs } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(sasl !== undefined ? { sasl: platformaticSaslOptions(sasl) } : {}),
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

function platformaticSaslOptions(sasl: NonNullable<KafkaSecurity['sasl']>): PlatformaticSaslOptions {
  const mechanism = {
    plain: SASLMechanisms.PLAIN,
    'scram-sha-256': SASLMechanisms.SCRAM_SHA_256,
    'scram-sha-512': SASLMechanisms.SCRAM_SHA_512,
  }[sasl.mechanism];
  return { mechanism, username: sasl.username, password: sasl.password };
}

/**
 * Turns a kafkajs or @platformatic/kafka failure to connect into a catalogued error when it is a security failure the
 * operator must fix (credentials, TLS), so start-up fails with a code instead of a library message.
 * Returns undefined for anything else (the caller keeps the original error).
 */
export function classifyKafkaConnectError(error: unknown): GatewayError | undefined {
  const chain = errorChain(error);
  const names = chain.map((e) => e.name);
  const texts = chain.map((e) => `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`).join(' | ');
  if (
    names.includes('KafkaJSSASLAuthenticationError') ||
    names.includes('AuthenticationError') ||
    /SASL_AUTHENTICATION_FAILED|Authentication failed|SaslAuthenticate|PLT_KFK_AUTHENTICATION/i.test(texts)
  ) {
    // kafkajs' message names the mechanism and the broker's reason; it never carries the password.
    return new GatewayError('kafka_auth_failed', lastMessage(chain), { cause: error });
  }
  if (/CERT|SSL|TLS|self[- ]signed|unable to (get|verify)|wrong version number|EPROTO|handshake/i.test(texts)) {
    return new GatewayError('kafka_tls_failed', lastMessage(chain), { cause: error });
  }
  return undefined;
}

/** Kafka error codes that refuse the records themselves: sending them again cannot succeed. */
const refusedRecordErrors: ReadonlySet<string> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/**
 * A failed send of either client as a catalogued error: publish_refused when Kafka refused the
 * records themselves (kafkajs names the error code in `type`, @platformatic/kafka in `apiId`),
 * publish_failed for everything else (the broker away, a timeout, a lost connection: resend).
 */
export function publishErrorOf(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const chain = errorChain(error);
  const refused = chain.some((e) => {
    const { type, apiId } = e as { type?: unknown; apiId?: unknown };
    return refusedRecordErrors.has(String(type)) || refusedRecordErrors.has(String(apiId));
  });
  return new GatewayError(refused ? 'publish_refused' : 'publish_failed', describeKafkaError(error), { cause: error });
}

/**
 * The error and what caused it, depth first: kafkajs nests causes in originalError, Node and
 * @platformatic/kafka in cause, and @platformatic/kafka collects its retries' failures in an
 * AggregateError's errors (MultipleErrors).
 */
function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  const visit = (current: unknown): void => {
    if (!(current instanceof Error) || chain.length >= 20 || chain.includes(current)) return;
    chain.push(current);
    const linked = current as { cause?: unknown; originalError?: unknown; errors?: unknown };
    visit(linked.originalError ?? linked.cause);
    if (Array.isArray(linked.errors)) for (const inner of linked.errors) visit(inner);
  };
  visit(error);
  return chain;
}

/** A Kafka client failure as one line: each distinct message of the error and its causes, outermost first. */
export function describeKafkaError(error: unknown): string {
  return error instanceof Error ? lastMessage(errorChain(error)) : String(error);
}

function lastMessage(chain: readonly Error[]): string {
  // kafkajs often repeats its cause's message in its own; say each once.
  const messages = chain.map((e) => e.message).filter((m) => m !== '');
  return messages.filter((m, i) => !messages.slice(0, i).some((earlier) => earlier.includes(m))).join(': ').slice(0, 500);
}

/**
 * The gateway configuration: one zod schema from which the TypeScript type, validation (every
 * problem at once, with its path), defaults, the generated JSON Schema (schemas/json/config.schema.json)
 * and the configuration table in docs/configuration.md all come.
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const hostPort = z
  .string()
  .regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9092');

export const topicsSchema = z
  .strictObject({
    observation: z.string().min(1).default('fhir.observation').describe('Topic for FHIR Observation records.'),
    device: z.string().min(1).default('fhir.device').describe('Topic for FHIR Device records.'),
    deadLetter: z
      .string()
      .min(1)
      .default('gateway.deadletter')
      .describe('Topic for messages that could not be turned into valid FHIR: raw bytes plus an OperationOutcome.'),
    events: z
      .string()
      .min(1)
      .default('gateway.events')
      .describe('Topic for gateway events (device online/offline/stale, adapter errors).'),
  })
  .prefault({})
  .describe('Kafka topic names.');

export const kafkaSchema = z
  .strictObject({
    brokers: z
      .array(hostPort)
      .min(1)
      .optional()
      .describe(
        'Bootstrap brokers. When absent, `vitalbridge start` runs a local single-node Kafka broker from Maven Central jars (needs Java 17 and Maven).',
      ),
    clientId: z.string().min(1).default('vitalbridge').describe('Kafka client id.'),
    topics: topicsSchema,
    createTopics: z.boolean().default(true).describe('Create missing topics at start-up.'),
    topicPartitions: z.number().int().min(1).default(3).describe('Partitions for topics created at start-up.'),
    replicationFactor: z
      .number()
      .int()
      .min(-1)
      .default(-1)
      .describe('Replication factor for topics created at start-up; -1 uses the broker default.'),
    publishTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe(
        'How long a message may wait for Kafka to acknowledge all its records before the sender gets a negative ACK (AR/CR) and must resend.',
      ),
    connectTimeoutMs: z.number().int().min(100).default(10_000).describe('Kafka connection timeout.'),
  })
  .prefault({})
  .describe('Apache Kafka connection and topics.');

export const mllpSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Address the MLLP listener binds to.'),
    port: port.default(2575).describe('MLLP listener port (2575 is the IANA port for HL7 over MLLP).'),
    adapter: z.string().min(1).default('hl7v2-pcd').describe('The adapter that handles messages on this listener.'),
    adapterConfig: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The adapter's own settings, validated by that adapter's schema (see adapters/<name>/README.md)."),
    maxFrameBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024)
      .describe('Largest accepted MLLP frame; a larger one is refused with a NAK and discarded.'),
    idleTimeoutSeconds: z
      .number()
      .min(1)
      .default(300)
      .describe('A connection that sends nothing for this long is closed.'),
    maxConnections: z.number().int().min(1).default(1000).describe('Concurrent MLLP connections accepted.'),
    application: z.string().min(1).default('VITALBRIDGE').describe('MSH-3 of the ACKs the gateway sends.'),
    facility: z.string().default('').describe('MSH-4 of the ACKs the gateway sends.'),
  })
  .prefault({})
  .describe('The HL7 v2 MLLP listener.');

export const httpSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP API binds to.'),
    port: port.default(8080).describe('HTTP port for /healthz, /readyz and the API.'),
  })
  .prefault({})
  .describe('The HTTP API.');

export const localKafkaSchema = z
  .strictObject({
    port: port.default(9092).describe('Port of the local broker started when kafka.brokers is absent (0 = any free port).'),
    dataDir: z
      .string()
      .optional()
      .describe('Where the local broker keeps its log; default: a directory under the cache dir, kept across restarts.'),
  })
  .prefault({})
  .describe('The local Kafka broker used when no brokers are configured.');

export const gatewayConfigSchema = z
  .strictObject({
    mllp: mllpSchema,
    http: httpSchema,
    kafka: kafkaSchema,
    localKafka: localKafkaSchema,
    log: z
      .strictObject({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Lowest level written to stdout.'),
      })
      .prefault({})
      .describe('Logging (JSON lines on stdout).'),
  })
  .describe('Vitalbridge gateway configuration.');

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

/**
 * 12-factor overrides: each environment variable and the config path it sets. The one table the
 * loader, `--help` and docs/configuration.md read.
 */
export const environmentOverrides = [
  { variable: 'KAFKA_BROKERS', path: ['kafka', 'brokers'], kind: 'list', example: '127.0.0.1:9092,127.0.0.2:9092' },
  { variable: 'KAFKA_CLIENT_ID', path: ['kafka', 'clientId'], kind: 'string', example: 'vitalbridge-icu' },
  { variable: 'MLLP_HOST', path: ['mllp', 'host'], kind: 'string', example: '0.0.0.0' },
  { variable: 'MLLP_PORT', path: ['mllp', 'port'], kind: 'integer', example: '2575' },
  { variable: 'HTTP_HOST', path: ['http', 'host'], kind: 'string', example: '0.0.0.0' },
  { variable: 'HTTP_PORT', path: ['http', 'port'], kind: 'integer', example: '8080' },
  { variable: 'LOG_LEVEL', path: ['log', 'level'], kind: 'string', example: 'info' },
] as const;

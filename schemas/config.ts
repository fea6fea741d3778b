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

const pemFile = (what: string) => z.string().min(1).describe(`Path of a PEM file: ${what}.`);

/** TLS to the Kafka brokers: on with `enabled: true` (system CAs) or as soon as a file is named. */
export const kafkaSslSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe('TLS to the brokers (SSL or SASL_SSL listeners). Default: on when caFile, certFile or keyFile is set, else off; `true` alone trusts the system CAs.'),
    caFile: pemFile('the CA certificate(s) that signed the brokers\' certificates (default: the system trust store)').optional(),
    certFile: pemFile('our client certificate, for brokers that require mutual TLS (with keyFile)').optional(),
    keyFile: pemFile('the private key of certFile (unencrypted)').optional(),
    rejectUnauthorized: z
      .boolean()
      .default(true)
      .describe('Refuse brokers whose certificate does not verify. Turn off only for a test broker: it allows a man in the middle.'),
    servername: z.string().min(1).optional().describe('Server name (SNI) to verify the brokers\' certificates against, when it differs from the broker host.'),
  })
  .prefault({})
  .describe('TLS to the brokers.');

/** SASL authentication; the password should come from KAFKA_SASL_PASSWORD rather than the file. */
export const kafkaSaslSchema = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism. PLAIN sends the password itself: use it only with ssl.'),
    username: z.string().min(1).describe('SASL user name.'),
    password: z.string().min(1).describe('SASL password (prefer KAFKA_SASL_PASSWORD to the file; never logged, redacted by check-config).'),
  })
  .optional()
  .describe('SASL authentication to the brokers (SASL_PLAINTEXT or SASL_SSL listeners); absent: none.');

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
    client: z
      .enum(['platformatic', 'kafkajs'])
      .default('platformatic')
      .describe(
        "The Kafka client library the gateway's producer uses. platformatic (@platformatic/kafka 1.35): about a third of kafkajs' CPU for the same records, which the throughput and half-a-core targets need (kafkajs was ~30% of the gateway's CPU at saturation). kafkajs (2.2.4, unmaintained since 2023): the fallback, same semantics (idempotent, acks=all, coalesced sends, a new producer after a failed send).",
      ),
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
    lingerMs: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(5)
      .describe(
        "How long a message's records wait for other connections' records before the producer sends, when no send is in flight (0: at once; 5 is Kafka 4's and librdkafka's linger.ms default). They wait only while an MLLP sender that sent recently is free to send again: once every recent sender is waiting for its ACK (one central station, or a few connections sending as fast as ACKs allow), nobody else can join and they go at once. With many connections each sending now and then (1,000 monitors at 1 message/s) one produce request then carries several messages, which cut the gateway's CPU by ~8% in the benchmark (README \"Performance\"); an ACK waits at most this much longer. Records that arrive while a send is in flight go together in the next send anyway (see lingerAfterSendMs).",
      ),
    lingerAfterSendMs: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(2)
      .describe(
        'How long the records that arrived while a send was in flight wait for others once it is acknowledged, before they go as the next send (0: at once; a full maxBatchBytes batch never waits). Under load each send then carries more records, which costs the gateway and the broker less per record (README "Performance": with 2 ms, 5-15% less gateway CPU per Observation from 1,000 msg/s to saturation, ~9% more messages/s at 256 connections); an ACK waits at most this much longer, and only when its message arrived during a send (ACK p50 +1 ms at 1,500 msg/s). Keep it small: one connection has one message in flight, so with few busy connections a long wait caps the rate (16 connections could not keep up with 1,650 msg/s at 8 ms).',
      ),
    maxBatchBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(512 * 1024)
      .describe(
        "Upper bound of one producer send, in record key and value bytes (one message's records always go together). Keep it under the broker's message.max.bytes (1 MiB by default).",
      ),
    ssl: kafkaSslSchema,
    sasl: kafkaSaslSchema,
  })
  .prefault({})
  .describe('Apache Kafka connection and topics.');

/** MLLP over TLS; with requireClientCert, mutual TLS: only senders with a certificate from caFile get in. */
export const mllpTlsSchema = z
  .strictObject({
    certFile: pemFile('the listener\'s certificate (chain), for the names or IP addresses senders connect to'),
    keyFile: pemFile('the private key of certFile (unencrypted)'),
    caFile: pemFile('the CA certificate(s) client certificates must chain to; required with requireClientCert').optional(),
    requireClientCert: z
      .boolean()
      .default(false)
      .describe('Mutual TLS: refuse a sender that presents no certificate, or one not signed by caFile.'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted.'),
    handshakeTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe('A connection that has not completed the TLS handshake by then is closed (and counted).'),
  })
  .optional()
  .describe('TLS on the MLLP listener (absent: plain TCP). Plain TCP senders are then refused.');

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
      .describe(
        'A connection that sends no frame for this long (while no message of it is being handled) is closed. Bytes outside MLLP frames do not count as activity, so a trickle of garbage cannot hold a connection open.',
      ),
    frameTimeoutSeconds: z
      .number()
      .min(1)
      .default(60)
      .describe(
        'A frame must end (0x1C 0x0D) within this many seconds of its start block (0x0B), however slowly its bytes arrive; otherwise it is discarded, logged as `mllp_frame_timeout` and the connection closed (the sender resends). Bounds slowloris senders, which the idle timeout alone does not: each byte restarts it.',
      ),
    maxBufferedBytes: z
      .number()
      .int()
      .min(1024)
      .default(128 * 1024 * 1024)
      .describe(
        'Bytes of unfinished and queued MLLP frames all connections together may hold (each connection holds at most maxFrameBytes unfinished). Past it, the connection holding the most is closed and `mllp_buffer_limit` logged; must be at least maxFrameBytes.',
      ),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('Concurrent MLLP connections accepted, TLS handshakes under way included; one more is closed at once and logged as `mllp_connection_limit`.'),
      tls: mllpTlsSchema,
    workerThreads: z
      .number()
      .int()
      .min(0)
      .max(16)
      .default(1)
      .describe(
        'Worker threads that parse, normalize and validate MLLP messages, so the main thread only frames, acknowledges and publishes; 0 runs the pipeline on the main thread. One is enough on two cores; more only help with more cores.',
      ),
    pipelineTimeoutSeconds: z
      .number()
      .min(0.1)
      .default(10)
      .describe(
        'With workerThreads: a message a pipeline worker has not finished within this many seconds (an adapter defect, such as an endless loop) is dead-lettered with `pipeline_timeout` and answered AE/CE; the worker is restarted, and the messages queued behind it get AR/CR (resend).',
      ),
    application: z.string().min(1).default('VITALBRIDGE').describe('MSH-3 of the ACKs the gateway sends.'),
    facility: z.string().default('').describe('MSH-4 of the ACKs the gateway sends.'),
  })
  .refine((mllp) => mllp.maxBufferedBytes >= mllp.maxFrameBytes, {
    message: 'maxBufferedBytes must be at least maxFrameBytes',
    path: ['maxBufferedBytes'],
  })
  .prefault({})
  .describe('The HL7 v2 MLLP listener.');

export const httpSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP API binds to.'),
    port: port.default(8080).describe('HTTP port for /healthz, /readyz and the API.'),
    token: z
      .string()
      .min(16, 'use a random token of at least 16 characters')
      .optional()
      .describe(
        'Bearer token (`Authorization: Bearer <token>`) that protects /api/* and /openapi.json; it sees patient identifiers of bound devices. Without token and adminToken the API is open (a warning is logged at start). Prefer the environment variable to a file.',
      ),
    adminToken: z
      .string()
      .min(16, 'use a random token of at least 16 characters')
      .optional()
      .describe(
        'Bearer token with every right of `token` plus the raw bytes of dead letters (`/api/deadletters?include=raw`), which hold patient data.',
      ),
    protectHealthAndMetrics: z
      .boolean()
      .default(false)
      .describe('Require the bearer token for /healthz, /readyz and /metrics too (off: orchestrators and Prometheus need no token).'),
  })
  .prefault({})
  .describe('The HTTP API.');

export const presenceSchema = z
  .strictObject({
    staleAfterSeconds: z
      .number()
      .positive()
      .default(120)
      .describe('MLLP devices: silent this long -> `stale` (event `device.stale`, Device.status inactive; the HTTP API uses the same limit).'),
    offlineAfterSeconds: z
      .number()
      .positive()
      .default(900)
      .describe('MLLP devices: silent this long -> offline (event `device.disconnected`; `offline` in the HTTP API). Should exceed staleAfterSeconds.'),
  })
  .prefault({})
  .describe('Presence of devices seen over MLLP, judged from silence (serial devices use their own staleAfterSeconds).');

export const spoolSchema = z
  .strictObject({
    dir: z
      .string()
      .min(1)
      .default('data/spool')
      .describe('Directory of the spool segments and checkpoint (relative paths are from the working directory). Give each gateway its own, on a local disk.'),
    maxBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(1024 * 1024 * 1024)
      .describe(
        'Most bytes the spool may use on disk. When it is full, a message waits up to kafka.publishTimeoutMs for the drainer to free space, then gets a negative ACK (AR/CR, spool_full): back-pressure, nothing is dropped.',
      ),
    segmentBytes: z
      .number()
      .int()
      .min(4096)
      .default(64 * 1024 * 1024)
      .describe('Size at which the spool starts a new segment file; fully delivered segments are deleted. Keep it well below maxBytes.'),
    drainBatchRecords: z.number().int().min(1).max(100_000).default(500).describe('Most records sent to Kafka in one batch by the drainer.'),
    drainBatchBytes: z
      .number()
      .int()
      .min(1024)
      .default(512 * 1024)
      .describe("Most bytes sent to Kafka in one drainer batch (keep below the broker's message.max.bytes)."),
    retryInitialDelayMs: z.number().int().min(10).default(250).describe('Delay before the drainer retries a batch Kafka did not acknowledge.'),
    retryMaxDelayMs: z.number().int().min(10).default(5_000).describe('Longest delay between drainer retries (the back-off cap).'),
  })
  .prefault({})
  .describe('The local durable spool used when delivery.ack is spool.');

export const deliverySchema = z
  .strictObject({
    ack: z
      .enum(['kafka', 'spool'])
      .default('kafka')
      .describe(
        'When a sender gets its positive ACK (AA/CA). `kafka`: after Kafka acknowledged every record (acks=all); while Kafka is down, messages are refused (AR/CR). `spool`: after every record is fsynced to the local spool; a drainer forwards the spool to Kafka in order, so the gateway keeps accepting through a Kafka outage, up to delivery.spool.maxBytes.',
      ),
    spool: spoolSchema,
    shutdownGraceMs: z
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe(
        'On SIGTERM/SIGINT: how long the gateway may take to finish in-flight messages, flush the producer and (ack: spool) drain the spool; what is left stays in the spool for the next start. The process exits after this (plus 5 s) in any case.',
      ),
  })
  .prefault({})
  .describe('Delivery guarantees: when senders are acknowledged, and the store-and-forward spool.');

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

export const reconnectSchema = z
  .strictObject({
    initialDelayMs: z.number().int().min(10).default(500).describe('Delay before the first reconnect attempt.'),
    maxDelayMs: z.number().int().min(10).default(30_000).describe('Longest delay between reconnect attempts (the back-off cap).'),
    multiplier: z.number().min(1).max(10).default(2).describe('Growth of the delay per failed attempt.'),
    jitter: z.number().min(0).max(1).default(0.2).describe('Fraction of each delay randomised either way, so devices do not retry in lockstep.'),
  })
  .prefault({})
  .describe('Reconnect back-off when the port or socket fails or closes: exponential, capped, jittered.');

const serialTransportSchema = z
  .strictObject({
    kind: z.literal('serial').describe('A serial port (RS-232 through a USB adapter or a built-in UART).'),
    path: z.string().min(1).describe('The port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...; a pty path for simulators.'),
    baudRate: z.number().int().positive().optional().describe("Baud rate; default: the adapter's serialDefaults."),
    dataBits: z.literal([5, 6, 7, 8]).optional().describe("Data bits; default: the adapter's."),
    parity: z.enum(['none', 'even', 'odd']).optional().describe("Parity; default: the adapter's."),
    stopBits: z.literal([1, 2]).optional().describe("Stop bits; default: the adapter's."),
    rtscts: z.boolean().optional().describe("Hardware flow control (RTS/CTS); default: the adapter's."),
  })
  .describe('Serial port transport.');

const tcpClientTransportSchema = z
  .strictObject({
    kind: z.literal('tcp-client').describe('The gateway connects to a serial-to-Ethernet terminal server (raw TCP).'),
    host: z.string().min(1).describe('Terminal server host.'),
    port: port.min(1).describe('Terminal server TCP port of the device\'s serial line (raw mode).'),
    keepAliveSeconds: z.number().min(1).default(10).describe('TCP keep-alive probe delay.'),
    connectTimeoutMs: z.number().int().min(100).default(10_000).describe('How long one connection attempt may take.'),
  })
  .describe('TCP client transport (terminal server).');

const tcpServerTransportSchema = z
  .strictObject({
    kind: z.literal('tcp-server').describe('The device or its converter connects to the gateway; one device per listener.'),
    host: z.string().min(1).default('0.0.0.0').describe('Address to listen on.'),
    port: port.describe('Port to listen on (one device per port).'),
    keepAliveSeconds: z.number().min(1).default(10).describe('TCP keep-alive probe delay.'),
  })
  .describe('TCP server transport (the device connects in).');

export const deviceTransportSchema = z.discriminatedUnion('kind', [serialTransportSchema, tcpClientTransportSchema, tcpServerTransportSchema]);

export const deviceSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-", at most 64')
      .describe('Unique device id: the record key of its events, the identity when the protocol names none.'),
    adapter: z.string().min(1).describe('A byte-stream adapter from adapters/index.ts, e.g. masimo-ascii.'),
    transport: deviceTransportSchema.describe('Where the bytes come from: serial, tcp-client or tcp-server.'),
    adapterConfig: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The adapter's own settings, validated by that adapter's schema (see adapters/<name>/README.md)."),
    patient: z
      .strictObject({
        identifier: z.string().min(1).describe('Patient identifier (e.g. an MRN) the observations are about.'),
        system: z.string().min(1).optional().describe('Identifier system (a URI), e.g. urn:oid:... of the MRN assigner.'),
      })
      .optional()
      .describe('The patient bound to this device (bed); without it, observations are about the device.'),
    location: z.string().min(1).optional().describe('Where the device is, e.g. "ICU West, bed 7".'),
    staleAfterSeconds: z
      .number()
      .positive()
      .optional()
      .describe("Silence after which the device is reported stale; default 3 x the adapter's expected data interval."),
    maxQueuedMessages: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(1000)
      .describe('In-memory limit of messages waiting while Kafka is unavailable; when full the oldest is dropped (logged and counted).'),
    reconnect: reconnectSchema,
  })
  .describe('A device on a serial line or a terminal server.');

export const gatewayConfigSchema = z
  .strictObject({
    mllp: mllpSchema,
    http: httpSchema,
    presence: presenceSchema,
    kafka: kafkaSchema,
    localKafka: localKafkaSchema,
    delivery: deliverySchema,
    devices: z
      .array(deviceSchema)
      .default([])
      .describe('Serial devices: each a byte-stream adapter on a serial port, terminal server (tcp-client) or TCP listener (tcp-server).'),
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
  { variable: 'KAFKA_CLIENT', path: ['kafka', 'client'], kind: 'string', example: 'kafkajs' },
  { variable: 'KAFKA_LINGER_MS', path: ['kafka', 'lingerMs'], kind: 'integer', example: '2' },
  { variable: 'KAFKA_LINGER_AFTER_SEND_MS', path: ['kafka', 'lingerAfterSendMs'], kind: 'integer', example: '1' },
  { variable: 'KAFKA_SSL', path: ['kafka', 'ssl', 'enabled'], kind: 'boolean', example: 'true' },
  { variable: 'KAFKA_SSL_CA_FILE', path: ['kafka', 'ssl', 'caFile'], kind: 'string', example: '/etc/vitalbridge/kafka-ca.pem' },
  { variable: 'KAFKA_SSL_CERT_FILE', path: ['kafka', 'ssl', 'certFile'], kind: 'string', example: '/etc/vitalbridge/kafka-client.pem' },
  { variable: 'KAFKA_SSL_KEY_FILE', path: ['kafka', 'ssl', 'keyFile'], kind: 'string', example: '/etc/vitalbridge/kafka-client.key' },
  { variable: 'KAFKA_SASL_MECHANISM', path: ['kafka', 'sasl', 'mechanism'], kind: 'string', example: 'scram-sha-512' },
  { variable: 'KAFKA_SASL_USERNAME', path: ['kafka', 'sasl', 'username'], kind: 'string', example: 'vitalbridge' },
  { variable: 'KAFKA_SASL_PASSWORD', path: ['kafka', 'sasl', 'password'], kind: 'string', example: '<secret>' },
  { variable: 'MLLP_HOST', path: ['mllp', 'host'], kind: 'string', example: '0.0.0.0' },
  { variable: 'MLLP_PORT', path: ['mllp', 'port'], kind: 'integer', example: '2575' },
  { variable: 'MLLP_MAX_CONNECTIONS', path: ['mllp', 'maxConnections'], kind: 'integer', example: '2000' },
  { variable: 'MLLP_MAX_FRAME_BYTES', path: ['mllp', 'maxFrameBytes'], kind: 'integer', example: '4194304' },
  { variable: 'MLLP_MAX_BUFFERED_BYTES', path: ['mllp', 'maxBufferedBytes'], kind: 'integer', example: '8388608' },
  { variable: 'MLLP_IDLE_TIMEOUT_SECONDS', path: ['mllp', 'idleTimeoutSeconds'], kind: 'integer', example: '300' },
  { variable: 'MLLP_WORKER_THREADS', path: ['mllp', 'workerThreads'], kind: 'integer', example: '0' },
  { variable: 'MLLP_FRAME_TIMEOUT_SECONDS', path: ['mllp', 'frameTimeoutSeconds'], kind: 'integer', example: '30' },
  { variable: 'HTTP_HOST', path: ['http', 'host'], kind: 'string', example: '0.0.0.0' },
  { variable: 'HTTP_PORT', path: ['http', 'port'], kind: 'integer', example: '8080' },
  { variable: 'HTTP_TOKEN', path: ['http', 'token'], kind: 'string', example: '<random, at least 16 characters>' },
  { variable: 'HTTP_ADMIN_TOKEN', path: ['http', 'adminToken'], kind: 'string', example: '<random, at least 16 characters>' },
  { variable: 'DELIVERY_ACK', path: ['delivery', 'ack'], kind: 'string', example: 'spool' },
  { variable: 'SPOOL_DIR', path: ['delivery', 'spool', 'dir'], kind: 'string', example: '/var/lib/vitalbridge/spool' },
  { variable: 'LOG_LEVEL', path: ['log', 'level'], kind: 'string', example: 'info' },
] as const;

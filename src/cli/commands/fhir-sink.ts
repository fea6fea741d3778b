import { createLogger, type LogLevel } from '../../observability/log.ts';
import { createKafkaPublisher } from '../../publishing/kafka-publisher.ts';
import { defaultRetryPolicy, startFhirSink } from '../../sinks/fhir-sink.ts';
import { createFhirKitWriter } from '../../sinks/fhir-writer.ts';
import { createKafkaRecordConsumer } from '../../sinks/record-consumer.ts';
import { integerOption, stringOption, UsageError, type CommandSpec } from '../args.ts';
import { shutdownSignal } from '../signals.ts';
import { kafkaConnectionFromArgs, kafkaConnectionHelp, kafkaConnectionOptions } from '../kafka-connection.ts';

export const fhirSinkCommand: CommandSpec = {
  name: 'fhir-sink',
  summary: 'Write the FHIR resources on Kafka (fhir.device, fhir.observation) into a FHIR R4 server.',
  usage: 'vitalbridge fhir-sink --fhir-url <base> [--brokers host:port,...] [--config gateway.yaml] [--group id] [--batch-size N] [--linger-ms ms] [--topics a,b] [--bearer-token t]',
  help: `Options:
  --fhir-url <url>        FHIR R4 base URL, e.g. http://fhir.example.org/fhir (default: FHIR_SERVER_URL; required).
${kafkaConnectionHelp(24)}
  --group <id>            Consumer group; its committed offsets say what was written (default: vitalbridge-fhir-sink).
  --topics <a,b>          Topics to read (default: fhir.device,fhir.observation).
  --dead-letter-topic <t> Where rejected records go (default: gateway.deadletter).
  --batch-size <N>        Resources per transaction Bundle (default: 100).
  --linger-ms <ms>        Longest wait for a Bundle to fill before a partial one is sent (default: 500).
  --retries <N>           Tries of a Bundle on 5xx / network errors before the partition pauses (default: ${defaultRetryPolicy.attempts}).
  --pause-ms <ms>         How long a partition pauses when its retries ran out (default: ${defaultRetryPolicy.pauseMs}).
  --bearer-token <t>      Bearer token for the FHIR server (default: FHIR_BEARER_TOKEN).
  --log-level <level>     debug, info, warn or error (default: info).
  -h, --help              Show this help.

Each record becomes one entry of a transaction Bundle: a Device as a conditional update by its
first identifier (PUT Device?identifier=system|value), everything else as PUT <type>/<id>, so a
replay overwrites instead of adding. Offsets are committed only after the server accepted the
Bundle. 5xx and network errors are retried with exponential back-off, then the partition pauses
and is read again from its last committed offset. A 4xx puts the record on the dead-letter topic
with the server's OperationOutcome, and the sink moves on. SIGINT/SIGTERM send what is buffered,
finish the Bundle in flight, commit and disconnect.

Example:
  FHIR_SERVER_URL=http://127.0.0.1:8080/fhir KAFKA_BROKERS=127.0.0.1:9092 vitalbridge fhir-sink`,
  options: {
    'fhir-url': { type: 'string' },
    ...kafkaConnectionOptions,
    group: { type: 'string' },
    topics: { type: 'string' },
    'dead-letter-topic': { type: 'string' },
    'batch-size': { type: 'string' },
    'linger-ms': { type: 'string' },
    retries: { type: 'string' },
    'pause-ms': { type: 'string' },
    'bearer-token': { type: 'string' },
    'log-level': { type: 'string' },
  },
  allowPositionals: false,
  async run(args) {
    const fhirUrl = stringOption(args, 'fhir-url') ?? process.env.FHIR_SERVER_URL;
    if (fhirUrl === undefined || fhirUrl === '') throw new UsageError('--fhir-url (or FHIR_SERVER_URL) is required');
    if (!/^https?:\/\/\S+$/.test(fhirUrl)) throw new UsageError(`--fhir-url expects an http(s) URL, got "${fhirUrl}"`);
    const list = (text: string) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    const { brokers, security } = await kafkaConnectionFromArgs(args);
    const topics = list(stringOption(args, 'topics') ?? 'fhir.device,fhir.observation');
    if (topics.length === 0) throw new UsageError('--topics names no topic');
    const batchSize = integerOption(args, 'batch-size', 100);
    if (batchSize < 1) throw new UsageError('--batch-size must be at least 1');
    const lingerMs = integerOption(args, 'linger-ms', 500);
    const attempts = integerOption(args, 'retries', defaultRetryPolicy.attempts);
    if (attempts < 1) throw new UsageError('--retries must be at least 1');
    const pauseMs = integerOption(args, 'pause-ms', defaultRetryPolicy.pauseMs);
    const level = stringOption(args, 'log-level') ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level expects debug, info, warn or error, got "${level}"`);
    const bearerToken = stringOption(args, 'bearer-token') ?? process.env.FHIR_BEARER_TOKEN;
    const group = stringOption(args, 'group') ?? 'vitalbridge-fhir-sink';

    const log = createLogger({ level: level as LogLevel });
    const sink = await startFhirSink({
      consumer: createKafkaRecordConsumer({ brokers, security, clientId: 'vitalbridge-fhir-sink', groupId: group, maxWaitTimeInMs: Math.max(lingerMs, 100) }),
      writer: createFhirKitWriter({ baseUrl: fhirUrl, ...(bearerToken ? { bearerToken } : {}) }),
      deadLetters: createKafkaPublisher({
        brokers,
        clientId: 'vitalbridge-fhir-sink',
        createTopics: true,
        topicPartitions: 1,
        replicationFactor: 1,
        connectTimeoutMs: 10_000,
        security,
        log,
      }),
      topics,
      deadLetterTopic: stringOption(args, 'dead-letter-topic') ?? 'gateway.deadletter',
      batchSize,
      lingerMs,
      retry: { ...defaultRetryPolicy, attempts, pauseMs },
      log,
    });
    await shutdownSignal(log);
    await sink.stop();
    return 0;
  },
};

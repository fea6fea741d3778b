import { homedir } from 'node:os';
import { join } from 'node:path';
import { environmentOverrides } from '../../../schemas/config.ts';
import { findAdapter } from '../../../adapters/index.ts';
import { formatProblems, loadConfig } from '../../config/load-config.ts';
import { startGateway } from '../../gateway.ts';
import { startLocalKafka, type LocalKafka } from '../../kafka-local/local-kafka.ts';
import { createLogger } from '../../observability/log.ts';
import { createConfiguredPublisher } from '../../publishing/create-publisher.ts';
import { stringOption, type CommandSpec } from '../args.ts';
import { shutdownSignal } from '../signals.ts';

const envTable = environmentOverrides.map((o) => `  ${o.variable.padEnd(16)} ${o.path.join('.')}`).join('\n');

export const startCommand: CommandSpec = {
  name: 'start',
  summary: 'Run the gateway: MLLP listener -> FHIR -> Kafka, plus the HTTP API.',
  usage: 'vitalbridge start [--config gateway.yaml]',
  help: `Options:
  --config <file>   YAML or JSON config (schema: schemas/json/config.schema.json). Optional:
                    every setting has a default.
  -h, --help        Show this help.

Environment (overrides the config file):
${envTable}

Without kafka.brokers / KAFKA_BROKERS the gateway starts a local single-node Kafka broker
from Maven Central jars (needs Java 17 and Maven; first run downloads ~100 MB into
~/.cache/vitalbridge) on 127.0.0.1:9092 and keeps its data under that cache.
To use a real cluster: KAFKA_BROKERS=broker1:9092,broker2:9092 vitalbridge start

The config is validated before anything opens; every problem is listed with its path.
SIGINT/SIGTERM stop accepting, finish in-flight messages, flush the producer and (with
delivery.ack: spool) drain the spool to Kafka, within delivery.shutdownGraceMs; what is not
drained stays in the spool (delivery.spool.dir) and is delivered on the next start.`,
  options: { config: { type: 'string', short: 'c' } },
  allowPositionals: false,
  async run(args) {
    const loaded = await loadConfig({ file: stringOption(args, 'config'), env: process.env });
    if (!loaded.ok) {
      process.stderr.write(`${formatProblems(loaded.problems)}\n`);
      return 2;
    }
    const { config } = loaded;
    const log = createLogger({ level: config.log.level });
    const adapter = findAdapter(config.mllp.adapter);
    if (adapter === undefined) throw new Error(`adapter ${config.mllp.adapter} vanished from the registry`);

    let localKafka: LocalKafka | undefined;
    let brokers = config.kafka.brokers;
    if (brokers === undefined) {
      log.info('local_kafka_starting', { port: config.localKafka.port });
      localKafka = await startLocalKafka({
        port: config.localKafka.port,
        dataDir: config.localKafka.dataDir ?? join(process.env.VITALBRIDGE_CACHE_DIR ?? join(homedir(), '.cache', 'vitalbridge'), 'local-kafka-data'),
        onProgress: (line) => log.info('local_kafka_progress', { detail: line }),
      });
      brokers = localKafka.brokers;
      log.info('local_kafka_ready', { brokers: brokers.join(','), log: localKafka.logFile });
    }

    const publisher = createConfiguredPublisher(config.kafka, { brokers, log });
    const gateway = await startGateway({ config, adapter, adapterConfig: loaded.adapterConfig, publisher, log, devices: loaded.devices });

    await shutdownSignal(log);
    const graceMs = config.delivery.shutdownGraceMs;
    // A bounded shutdown: whatever hangs (a dead broker, a stuck disk), the process ends. With
    // ack: spool nothing acknowledged is lost by this: it stays in the spool for the next start.
    const watchdog = setTimeout(() => {
      log.error('shutdown_deadline_exceeded', { graceMs });
      process.exit(1);
    }, graceMs + 5_000);
    watchdog.unref();
    await gateway.stop({ graceMs });
    clearTimeout(watchdog);
    // The local broker has its own bound (SIGKILL after 15 s) and must not be orphaned by the watchdog.
    await localKafka?.stop();
    return 0;
  },
};

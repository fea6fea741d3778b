import { startLocalKafka } from '../../kafka-local/local-kafka.ts';
import { integerOption, stringOption, type CommandSpec } from '../args.ts';
import { shutdownSignal } from '../signals.ts';

export const kafkaLocalCommand: CommandSpec = {
  name: 'kafka-local',
  summary: 'Run a local single-node Apache Kafka broker (KRaft) from Maven Central jars.',
  usage: 'vitalbridge kafka-local [--port 9092] [--data-dir dir]',
  help: `Options:
  --port <n>        Broker port on 127.0.0.1 (default 9092; 0 = any free port).
  --data-dir <dir>  Where the broker keeps its log (default: a temp dir, removed on exit).
  -h, --help        Show this help.

Needs Java 17 and Maven. The first run downloads Kafka 3.9.1 and its dependencies into
~/.cache/vitalbridge (VITALBRIDGE_CACHE_DIR overrides). Ctrl-C stops the broker.`,
  options: { port: { type: 'string' }, 'data-dir': { type: 'string' } },
  allowPositionals: false,
  async run(args) {
    const dataDir = stringOption(args, 'data-dir');
    const broker = await startLocalKafka({
      port: integerOption(args, 'port', 9092),
      ...(dataDir === undefined ? {} : { dataDir }),
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`Kafka broker ready: KAFKA_BROKERS=${broker.brokers.join(',')} (log: ${broker.logFile})\n`);
    await shutdownSignal();
    await broker.stop();
    return 0;
  },
};

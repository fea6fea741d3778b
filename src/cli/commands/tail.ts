import { randomUUID } from 'node:crypto';
import { Kafka } from 'kafkajs';
import { kafkaClientConfig } from '../../publishing/kafka-client-config.ts';
import { kafkaConnectionFromArgs, kafkaConnectionHelp, kafkaConnectionOptions } from '../kafka-connection.ts';
import { integerOption, stringOption, UsageError, type CommandSpec } from '../args.ts';

export const tailCommand: CommandSpec = {
  name: 'tail',
  summary: 'Print the records on a Kafka topic, pretty, from the beginning (or only new ones).',
  usage: 'vitalbridge tail --topic <topic> [--brokers host:port,...] [--config gateway.yaml] [--new] [--max N] [--idle-exit seconds]',
  help: `Options:
  --topic <t>           Topic to read, e.g. fhir.observation, fhir.device, gateway.deadletter (required).
${kafkaConnectionHelp(22)}
  --new                 Only records that arrive from now on (default: from the beginning).
  --max <N>             Exit after N records.
  --idle-exit <s>       Exit after s seconds without a new record (default: follow until Ctrl-C).
  --raw                 Print each value as one compact line instead of pretty JSON.
  -h, --help            Show this help.

Reads with a throw-away consumer group: it commits nothing that another consumer would see.`,
  options: {
    topic: { type: 'string', short: 't' },
    ...kafkaConnectionOptions,
    new: { type: 'boolean' },
    max: { type: 'string' },
    'idle-exit': { type: 'string' },
    raw: { type: 'boolean' },
  },
  allowPositionals: false,
  async run(args) {
    const topic = stringOption(args, 'topic');
    if (topic === undefined) throw new UsageError('--topic is required');
    const { brokers, security } = await kafkaConnectionFromArgs(args);
    const max = integerOption(args, 'max', 0);
    const idleExitMs = integerOption(args, 'idle-exit', 0) * 1000;
    const raw = args.values.raw === true;

    const kafka = new Kafka(kafkaClientConfig({ clientId: 'vitalbridge-tail', brokers, security }));
    const consumer = kafka.consumer({ groupId: `vitalbridge-tail-${randomUUID()}` });
    await consumer.connect();
    const admin = kafka.admin();
    await admin.connect();
    const known = await admin.listTopics();
    await admin.disconnect();
    if (!known.includes(topic)) {
      await consumer.disconnect();
      throw new Error(`topic "${topic}" does not exist on ${brokers.join(',')}; topics there: ${known.filter((t) => !t.startsWith('__')).join(', ') || '(none)'}`);
    }
    await consumer.subscribe({ topic, fromBeginning: args.values.new !== true });

    let count = 0;
    await new Promise<void>((resolve) => {
      let idleTimer: NodeJS.Timeout | undefined;
      const armIdle = () => {
        if (idleExitMs <= 0) return;
        clearTimeout(idleTimer);
        idleTimer = setTimeout(resolve, idleExitMs);
      };
      armIdle();
      process.once('SIGINT', () => resolve());
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          count += 1;
          const headers = Object.entries(message.headers ?? {})
            .map(([name, value]) => `${name}=${value?.toString() ?? ''}`)
            .join(' ');
          const value = message.value?.toString('utf8') ?? '';
          process.stdout.write(`--- ${topic}[${partition}]@${message.offset} key=${message.key?.toString() ?? '(none)'}\n`);
          if (headers) process.stdout.write(`    ${headers}\n`);
          process.stdout.write(`${raw ? value : prettyJson(value)}\n`);
          armIdle();
          if (max > 0 && count >= max) resolve();
        },
      });
    });
    await consumer.disconnect();
    process.stderr.write(`${count} record${count === 1 ? '' : 's'} read from ${topic}\n`);
    return 0;
  },
};

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

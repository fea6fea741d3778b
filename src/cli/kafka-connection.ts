/**
 * Kafka connection settings for the client commands (tail, fhir-sink): brokers and, for a secured
 * cluster, TLS and SASL from a gateway config file's kafka section and the same environment
 * variables the gateway reads (KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL_*), so one config serves all.
 */
import { environmentOverrides } from '../../schemas/config.ts';
import { formatProblems, loadConfig } from '../config/load-config.ts';
import type { KafkaSecurity } from '../publishing/kafka-client-config.ts';
import { stringOption, UsageError, type ParsedArgs } from './args.ts';

export const kafkaConnectionOptions = {
  brokers: { type: 'string' },
  config: { type: 'string', short: 'c' },
} as const;

const kafkaVariables = environmentOverrides.filter((o) => o.path[0] === 'kafka').map((o) => o.variable);

/** The help lines of --brokers and --config, aligned to the command's option column. */
export function kafkaConnectionHelp(column: number): string {
  const indent = ' '.repeat(column + 2);
  const variableLines: string[] = [];
  for (const variable of kafkaVariables) {
    const last = variableLines.length - 1;
    if (last >= 0 && (variableLines[last] as string).length + variable.length < 60) variableLines[last] += ` ${variable}`;
    else variableLines.push(variable);
  }
  return [
    `  ${'--brokers <list>'.padEnd(column)}Bootstrap brokers (default: the config's kafka.brokers or KAFKA_BROKERS,`,
    `${indent}else 127.0.0.1:9092).`,
    `  ${'--config <file>'.padEnd(column)}A gateway config whose kafka section (brokers, ssl, sasl) to use;`,
    `${indent}these environment variables apply too, with or without it:`,
    ...variableLines.map((line) => `${indent}  ${line}`),
  ].join('\n');
}

export async function kafkaConnectionFromArgs(args: ParsedArgs): Promise<{ brokers: string[]; security: KafkaSecurity }> {
  // --brokers wins over the file and the environment, exactly as KAFKA_BROKERS wins over the file.
  const flag = stringOption(args, 'brokers');
  const env = flag === undefined ? process.env : { ...process.env, KAFKA_BROKERS: flag };
  const loaded = await loadConfig({ file: stringOption(args, 'config'), env });
  if (!loaded.ok) throw new UsageError(formatProblems(loaded.problems));
  return {
    brokers: loaded.config.kafka.brokers ?? ['127.0.0.1:9092'],
    security: { ssl: loaded.config.kafka.ssl, sasl: loaded.config.kafka.sasl },
  };
}

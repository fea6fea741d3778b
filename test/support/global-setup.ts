/**
 * One real Kafka broker for the whole test run: KAFKA_BROKERS if set, otherwise a local
 * single-node broker started here. If neither works the run fails; Kafka tests are never skipped.
 */
import type { TestProject } from 'vitest/node';
import { startLocalKafka, type LocalKafka } from '../../src/kafka-local/local-kafka.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

function report(line: string): void {
  process.stderr.write(`[kafka] ${line}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const configured = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  if (configured.length > 0) {
    report(`using KAFKA_BROKERS=${configured.join(',')}`);
    project.provide('kafkaBrokers', configured);
    return async () => {};
  }

  let broker: LocalKafka;
  try {
    broker = await startLocalKafka({ onProgress: report });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`could not start the local Kafka broker the tests need (or set KAFKA_BROKERS to an existing one):\n${reason}`, {
      cause: error,
    });
  }
  project.provide('kafkaBrokers', broker.brokers);
  return async () => {
    await broker.stop();
  };
}

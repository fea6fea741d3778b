/**
 * The publisher alone (bench/lib/publisher-bench.ts), several implementations back to back on one
 * broker, variants interleaved:
 *
 *   PUB_VARIANTS=/tmp/base/src/publishing/kafka-publisher.ts,src/publishing/kafka-publisher.ts,src/publishing/platformatic-publisher.ts#createPlatformaticPublisher \
 *   PUB_CONCURRENCY=1,64 PUB_SECONDS=8 PUB_REPEATS=2 npx tsx bench/publisher.ts
 *
 * A variant is a module and the publisher factory it exports (`path#name`; the name defaults to
 * createKafkaPublisher): this checkout's kafkajs or @platformatic/kafka publisher, or another
 * checkout's. Prints one JSON line per measurement.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startLocalKafka, type LocalKafka } from '../src/kafka-local/local-kafka.ts';
import { runPublisherBench, type PublisherFactory } from './lib/publisher-bench.ts';

const variants = (
  process.env.PUB_VARIANTS ?? 'src/publishing/kafka-publisher.ts,src/publishing/platformatic-publisher.ts#createPlatformaticPublisher'
).split(',');
const concurrencies = (process.env.PUB_CONCURRENCY ?? '1,64').split(',').map(Number);
const seconds = Number(process.env.PUB_SECONDS ?? 8);
const repeats = Number(process.env.PUB_REPEATS ?? 1);

let localKafka: LocalKafka | undefined;
const brokers = process.env.KAFKA_BROKERS?.split(',') ?? (localKafka = await startLocalKafka({})).brokers;
for (let repeat = 0; repeat < repeats; repeat += 1) {
  for (const concurrency of concurrencies) {
    for (const variant of variants) {
      const [path, exportName = 'createKafkaPublisher'] = variant.split('#') as [string, string | undefined];
      const module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
      const factory = module[exportName];
      if (typeof factory !== 'function') throw new Error(`${path} exports no function ${exportName}`);
      const row = await runPublisherBench({ brokers, variant, factory: factory as PublisherFactory, concurrency, seconds });
      console.log(JSON.stringify({ repeat, ...row }));
    }
  }
}
await localKafka?.stop();
process.exit(0);

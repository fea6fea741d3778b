/**
 * The publisher alone (bench/lib/publisher-bench.ts), several implementations back to back on one
 * broker, variants interleaved:
 *
 *   PUB_VARIANTS=/tmp/base/src/publishing/kafka-publisher.ts,src/publishing/kafka-publisher.ts,bench/lib/platformatic-publisher.ts \
 *   PUB_CONCURRENCY=1,64 PUB_SECONDS=8 PUB_REPEATS=2 npx tsx bench/publisher.ts
 *
 * A variant is a module exporting createKafkaPublisher(options) (this checkout's, another's, or the
 * @platformatic/kafka one). Prints one JSON line per measurement.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startLocalKafka, type LocalKafka } from '../src/kafka-local/local-kafka.ts';
import { runPublisherBench, type PublisherFactory } from './lib/publisher-bench.ts';

const variants = (process.env.PUB_VARIANTS ?? 'src/publishing/kafka-publisher.ts,bench/lib/platformatic-publisher.ts').split(',');
const concurrencies = (process.env.PUB_CONCURRENCY ?? '1,64').split(',').map(Number);
const seconds = Number(process.env.PUB_SECONDS ?? 8);
const repeats = Number(process.env.PUB_REPEATS ?? 1);

let localKafka: LocalKafka | undefined;
const brokers = process.env.KAFKA_BROKERS?.split(',') ?? (localKafka = await startLocalKafka({})).brokers;
for (let repeat = 0; repeat < repeats; repeat += 1) {
  for (const concurrency of concurrencies) {
    for (const variant of variants) {
      const module = (await import(pathToFileURL(resolve(variant)).href)) as { createKafkaPublisher: PublisherFactory };
      const row = await runPublisherBench({ brokers, variant, factory: module.createKafkaPublisher, concurrency, seconds });
      console.log(JSON.stringify({ repeat, ...row }));
    }
  }
}
await localKafka?.stop();
process.exit(0);

/**
 * The publisher alone, in-process, against the real broker: C concurrent callers (like C MLLP
 * connections), each publishing one message's records (7 Observations + 1 Device, built by the real
 * pipeline) and awaiting the acknowledgement before the next, for T seconds per variant. Prints
 * records/s and this process's CPU seconds per 1,000 records (the broker is another process).
 *
 *   PUB_VARIANTS=/tmp/perf/base/src/publishing/kafka-publisher.ts,src/publishing/kafka-publisher.ts \
 *   PUB_CONCURRENCY=1,64 PUB_SECONDS=10 npx tsx bench/publisher.ts
 *
 * A variant is a module exporting createKafkaPublisher(options) (this checkout's, or another's).
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { adapters, findAdapter } from '../adapters/index.ts';
import { resolveConfig } from '../src/config/load-config.ts';
import { startLocalKafka, type LocalKafka } from '../src/kafka-local/local-kafka.ts';
import { createLogger } from '../src/observability/log.ts';
import { buildResourceRecords } from '../src/pipeline/records.ts';
import type { OutboundRecord, Publisher } from '../src/publishing/publisher.ts';
import { benchPcd01Message, euiFor, hl7Time } from './lib/pcd-message.ts';

const variants = (process.env.PUB_VARIANTS ?? 'src/publishing/kafka-publisher.ts').split(',');
const concurrencies = (process.env.PUB_CONCURRENCY ?? '1,64').split(',').map(Number);
const seconds = Number(process.env.PUB_SECONDS ?? 10);
const repeats = Number(process.env.PUB_REPEATS ?? 1);

const adapter = findAdapter('hl7v2-pcd');
if (adapter === undefined) throw new Error('hl7v2-pcd adapter missing');
const resolved = resolveConfig({ kafka: { brokers: ['127.0.0.1:9'] } }, {}, { adapters: [...adapters] });
if (!resolved.ok) throw new Error(`config: ${JSON.stringify(resolved.problems)}`);

let localKafka: LocalKafka | undefined;
const brokers = process.env.KAFKA_BROKERS?.split(',') ?? (localKafka = await startLocalKafka({})).brokers;
const log = createLogger({ level: 'warn', write: () => undefined });
const r = (x: number, d = 0) => Number(x.toFixed(d));

for (let repeat = 0; repeat < repeats; repeat += 1) {
  for (const concurrency of concurrencies) {
    for (const variant of variants) {
      const module = (await import(pathToFileURL(resolve(variant)).href)) as {
        createKafkaPublisher(options: Record<string, unknown>): Publisher;
      };
      const suffix = randomUUID().slice(0, 8);
      const topics = { ...resolved.config.kafka.topics, observation: `pub.${suffix}.obs`, device: `pub.${suffix}.dev` };
      const base = Date.UTC(2024, 4, 1);
      const messages: OutboundRecord[][] = Array.from({ length: 512 }, (_, n) => {
        const raw = Buffer.from(benchPcd01Message({ controlId: `Q-${n}`, time: hl7Time(base + n * 1000), eui64: euiFor(n % 64), patientId: `MRN${n}`, seq: n }), 'latin1');
        const normalized = adapter.normalize(adapter.parse(raw), { config: resolved.adapterConfig, receivedAt: new Date() });
        return buildResourceRecords(normalized, { topics, adapter: adapter.name, traceId: randomUUID() });
      });
      const publisher = module.createKafkaPublisher({
        brokers,
        clientId: `pub-bench-${suffix}`,
        createTopics: true,
        topicPartitions: 1,
        replicationFactor: -1,
        connectTimeoutMs: 10_000,
        log,
      });
      await publisher.start([topics.observation, topics.device]);
      let records = 0;
      let counting = false;
      const warmUntil = performance.now() + 2_000;
      const until = warmUntil + seconds * 1000;
      let cpu0 = process.cpuUsage();
      let t0 = 0;
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: concurrency }, async (_, caller) => {
          for (let n = caller; performance.now() < until; n += concurrency) {
            if (!counting && performance.now() >= warmUntil) {
              counting = true;
              cpu0 = process.cpuUsage();
              t0 = performance.now();
            }
            const batch = messages[n % messages.length] as OutboundRecord[];
            const sentAt = performance.now();
            await publisher.publish(batch, { timeoutMs: 30_000 });
            if (counting) {
              records += batch.length;
              latencies.push(performance.now() - sentAt);
            }
          }
        }),
      );
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      latencies.sort((a, b) => a - b);
      await publisher.stop();
      console.log(
        JSON.stringify({
          repeat,
          concurrency,
          variant,
          recordsPerSecond: r(records / wall),
          cpuSecondsPer1000Records: r(((cpu.user + cpu.system) / 1e6 / records) * 1000, 4),
          publishMs: { p50: r(latencies[Math.floor(latencies.length / 2)] ?? NaN, 2), p99: r(latencies[Math.floor(latencies.length * 0.99)] ?? NaN, 2) },
        }),
      );
    }
  }
}
await localKafka?.stop();
process.exit(0);

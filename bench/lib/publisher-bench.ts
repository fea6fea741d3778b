/**
 * The publisher alone, in-process, against the real broker: C concurrent callers (like C MLLP
 * connections), each publishing one message's records (7 Observations + 1 Device, built by the real
 * pipeline) and awaiting the acknowledgement before the next. Measures records/s and this process's
 * CPU seconds per 1,000 records (the broker is another process).
 */
import { randomUUID } from 'node:crypto';
import { adapters, findAdapter } from '../../adapters/index.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { createLogger } from '../../src/observability/log.ts';
import { buildResourceRecords } from '../../src/pipeline/records.ts';
import type { KafkaPublisherOptions } from '../../src/publishing/kafka-publisher.ts';
import type { OutboundRecord, Publisher } from '../../src/publishing/publisher.ts';
import { benchPcd01Message, euiFor, hl7Time } from './pcd-message.ts';

export type PublisherFactory = (options: KafkaPublisherOptions) => Publisher;

export interface PublisherBenchRow {
  variant: string;
  concurrency: number;
  recordsPerSecond: number;
  cpuSecondsPer1000Records: number;
  publishMs: { p50: number; p99: number };
}

const r = (x: number, d = 0) => Number(x.toFixed(d));

export async function runPublisherBench(options: {
  brokers: readonly string[];
  variant: string;
  factory: PublisherFactory;
  concurrency: number;
  seconds: number;
  warmupMs?: number;
}): Promise<PublisherBenchRow> {
  const adapter = findAdapter('hl7v2-pcd');
  if (adapter === undefined) throw new Error('hl7v2-pcd adapter missing');
  const resolved = resolveConfig({ kafka: { brokers: ['127.0.0.1:9'] } }, {}, { adapters: [...adapters] });
  if (!resolved.ok) throw new Error(`config: ${JSON.stringify(resolved.problems)}`);
  const suffix = randomUUID().slice(0, 8);
  const topics = { ...resolved.config.kafka.topics, observation: `pub.${suffix}.obs`, device: `pub.${suffix}.dev` };
  const base = Date.UTC(2024, 4, 1);
  const messages: OutboundRecord[][] = Array.from({ length: 512 }, (_, n) => {
    const raw = Buffer.from(benchPcd01Message({ controlId: `Q-${n}`, time: hl7Time(base + n * 1000), eui64: euiFor(n % 64), patientId: `MRN${n}`, seq: n }), 'latin1');
    const normalized = adapter.normalize(adapter.parse(raw), { config: resolved.adapterConfig, receivedAt: new Date() });
    return buildResourceRecords(normalized, { topics, adapter: adapter.name, traceId: randomUUID() });
  });
  const publisher = options.factory({
    brokers: options.brokers,
    clientId: `pub-bench-${suffix}`,
    createTopics: true,
    topicPartitions: 1,
    replicationFactor: -1,
    connectTimeoutMs: 10_000,
    log: createLogger({ level: 'warn', write: () => undefined }),
  });
  await publisher.start([topics.observation, topics.device]);
  let records = 0;
  let counting = false;
  const warmUntil = performance.now() + (options.warmupMs ?? 2_000);
  const until = warmUntil + options.seconds * 1000;
  let cpu0 = process.cpuUsage();
  let t0 = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, caller) => {
      for (let n = caller; performance.now() < until; n += options.concurrency) {
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
  return {
    variant: options.variant,
    concurrency: options.concurrency,
    recordsPerSecond: r(records / wall),
    cpuSecondsPer1000Records: r(((cpu.user + cpu.system) / 1e6 / Math.max(1, records)) * 1000, 4),
    publishMs: { p50: r(latencies[Math.floor(latencies.length / 2)] ?? NaN, 2), p99: r(latencies[Math.floor(latencies.length * 0.99)] ?? NaN, 2) },
  };
}

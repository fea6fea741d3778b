/**
 * A/B of gateway variants in ONE run on one broker (the machine is shared and noisy, so compare
 * variants measured back to back, not figures from different runs). Each variant is a child-process
 * gateway (`startGatewayProcess`), run for each step in turn, variants interleaved per step.
 *
 *   AB_VARIANTS='[{"label":"before","root":"/tmp/perf/base"},{"label":"after"}]' \
 *   AB_STEPS='closed:64,open:16@150,hospital:1000@1' AB_SECONDS=12 npx tsx bench/ab.ts
 *
 * A variant: { label, root? (another checkout), kafka? / mllp? (merged into the gateway's kafka / mllp config), nodeArgs?, env? }.
 * Steps: closed:<connections> (saturation), open:<connections>@<total msg/s> (ACK latency, paced),
 * hospital:<connections>@<msg/s per connection>. Prints one JSON line per measurement.
 */
import { z } from 'zod';
import { startLocalKafka, type LocalKafka } from '../src/kafka-local/local-kafka.ts';
import { ensureCompiledGateway, startGatewayProcess } from './lib/gateway-process.ts';
import { closedLoop, openConnections, openLoop, percentiles } from './lib/mllp-load.ts';
import { OBX_PER_MESSAGE } from './lib/pcd-message.ts';
import { cpuSeconds, memoryMb, rssSampler, stealWindow } from './lib/proc-stats.ts';

const variantsSchema = z.array(
  z.object({
    label: z.string(),
    root: z.string().optional(),
    kafka: z.record(z.string(), z.unknown()).optional(),
    mllp: z.record(z.string(), z.unknown()).optional(),
    nodeArgs: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
  }),
);
const variants = variantsSchema.parse(JSON.parse(process.env.AB_VARIANTS ?? '[{"label":"this"}]'));
for (const variant of variants) process.stderr.write(`variant ${variant.label}: runs ${ensureCompiledGateway(variant.root)}\n`);
const steps = (process.env.AB_STEPS ?? 'closed:64').split(',');
const seconds = Number(process.env.AB_SECONDS ?? 12);
const warmupMs = Number(process.env.AB_WARMUP_MS ?? 3_000);
const repeats = Number(process.env.AB_REPEATS ?? 1);
// The bench message: 10 OBX -> 7 Observations (see bench/lib/pipeline.ts).
const obsPerMessage = Number(process.env.AB_OBS_PER_MESSAGE ?? 7);
void OBX_PER_MESSAGE;

let localKafka: LocalKafka | undefined;
const brokers = process.env.KAFKA_BROKERS?.split(',') ?? (localKafka = await startLocalKafka({})).brokers;
const r = (x: number, d = 0) => Number(x.toFixed(d));

/** The gateway's process/heap gauges (prom-client default metrics) in MB. */
async function memoryBreakdown(httpPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const wanted = /^vitalbridge_process_(process_resident_memory_bytes|nodejs_heap_size_(?:used|total)_bytes|nodejs_external_memory_bytes|nodejs_heap_space_size_used_bytes\{space="(?:new|old|code|large_object)"\}) (\S+)$/;
  const figures: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = wanted.exec(line);
    if (match) figures[match[1]!.replace(/_bytes|nodejs_|process_|\{space="|"\}/g, '')] = r(Number(match[2]) / 2 ** 20);
  }
  return figures;
}

for (let repeat = 0; repeat < repeats; repeat += 1) {
  for (const step of steps) {
    const [kind, arg] = step.split(':') as [string, string];
    const [countText, rateText] = arg.split('@') as [string, string | undefined];
    const connections = Number(countText);
    for (const variant of variants) {
      const gw = await startGatewayProcess({
        brokers,
        // The name goes into topic names: Kafka allows only [a-zA-Z0-9._-].
        name: `ab-${variant.label.replace(/[^a-zA-Z0-9._-]/g, '-')}`,
        root: variant.root,
        nodeArgs: variant.nodeArgs,
        maxConnections: connections + 100,
        kafkaConfig: variant.kafka,
        mllpConfig: variant.mllp,
        env: variant.env,
      });
      const idleRssMb = r(memoryMb(gw.pid).rssMb);
      const conns = await openConnections(gw.mllpPort, connections);
      const sampler = rssSampler(gw.pid);
      let c0 = 0;
      let t0 = 0;
      let c1 = 0;
      let t1 = 0;
      let memory: Promise<Record<string, number>> | undefined;
      const steal = stealWindow();
      const hooks = {
        onWindowStart: () => {
          c0 = cpuSeconds(gw.pid);
          t0 = performance.now();
          steal.start();
        },
        onWindowEnd: () => {
          c1 = cpuSeconds(gw.pid);
          t1 = performance.now();
          steal.end();
          // Still under load: where the memory is (heap, buffers) from the gateway's own metrics.
          memory = memoryBreakdown(gw.httpPort);
        },
      };
      const timing = { warmupMs, measureMs: seconds * 1000 };
      const result =
        kind === 'closed'
          ? await closedLoop(conns, timing, hooks)
          : await openLoop(conns, kind === 'open' ? Number(rateText) / connections : Number(rateText), timing, hooks);
      const peakRssMb = r(sampler.stop());
      for (const c of conns) c.close();
      const wall = (t1 - t0) / 1000;
      const cpu = c1 - c0;
      const observations = result.accepted * obsPerMessage;
      console.log(
        JSON.stringify({
          repeat,
          step,
          variant: variant.label,
          messagesPerSecond: r(result.accepted / wall, 1),
          observationsPerSecond: r(observations / wall),
          ackMs: percentiles(result.latenciesMs),
          gatewayCores: r(cpu / wall, 3),
          cpuSecondsPer1000Obs: r((cpu / Math.max(1, observations)) * 1000, 4),
          idleRssMb,
          peakRssMb,
          hostStealPercent: steal.percent(),
          failures: result.failures,
          failureCodes: result.failureCodes,
          memoryAtWindowEndMb: await memory,
        }),
      );
      await gw.stop();
    }
  }
}
await localKafka?.stop();
process.exit(0);

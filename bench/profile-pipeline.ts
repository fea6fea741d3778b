/**
 * The pure pipeline (parse + normalize + validate + JSON records) in a loop, for `node --cpu-prof`:
 *   node --import tsx --cpu-prof --cpu-prof-dir=/tmp/perf bench/profile-pipeline.ts [seconds]
 * then `npx tsx bench/cpuprofile-top.ts /tmp/perf/<file>.cpuprofile`.
 * Prints messages/s and the process CPU seconds per 1,000 Observations.
 */
import { adapters, findAdapter } from '../adapters/index.ts';
import { resolveConfig } from '../src/config/load-config.ts';
import { buildResourceRecords } from '../src/pipeline/records.ts';
import { validateResource } from '../src/validation/validate-resource.ts';
import { benchPcd01Message, euiFor, hl7Time } from './lib/pcd-message.ts';

const seconds = Number(process.argv[2] ?? 10);
const adapter = findAdapter('hl7v2-pcd');
if (adapter === undefined) throw new Error('hl7v2-pcd adapter missing');
const resolved = resolveConfig({ kafka: { brokers: ['127.0.0.1:9'] } }, {}, { adapters: [...adapters] });
if (!resolved.ok) throw new Error(`config: ${JSON.stringify(resolved.problems)}`);
const { adapterConfig } = resolved;
const topics = resolved.config.kafka.topics;
const base = Date.UTC(2024, 4, 1, 0, 0, 0);
const buffers = Array.from({ length: 256 }, (_, n) =>
  Buffer.from(benchPcd01Message({ controlId: `P-${n}`, time: hl7Time(base + n * 1000), eui64: euiFor(n % 16), patientId: `MRN${n % 16}`, seq: n }), 'latin1'),
);
const receivedAt = new Date();
function one(n: number): number {
  const buffer = buffers[n % buffers.length] as Buffer;
  const normalized = adapter!.normalize(adapter!.parse(buffer), { config: adapterConfig, receivedAt });
  for (const item of normalized.resources) validateResource(item.resource);
  const records = buildResourceRecords(normalized, { topics, adapter: adapter!.name, traceId: '00000000-0000-4000-8000-000000000000' });
  let observations = 0;
  for (const record of records) if (record.topic === topics.observation) observations += 1;
  return observations;
}
// A fixed warm-up (JIT) outside the measurement, then a fixed number of messages for `seconds` at
// least: CPU seconds per 1,000 Observations stay comparable when the shared machine is busy.
for (let n = 0; n < 2_000; n += 1) one(n);
let observations = 0;
let messages = 0;
const cpuStart = process.cpuUsage();
const start = performance.now();
while (messages < 3_000 || performance.now() - start < seconds * 1000) observations += one(messages++);
const wall = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ messagesPerSecond: Math.round(messages / wall), observations, cpuSecondsPer1000Obs: +(cpuSeconds / (observations / 1000)).toFixed(4) }));

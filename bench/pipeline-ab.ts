/**
 * The pure pipeline of two source trees in ONE process, alternated in short slices, as CPU seconds per
 * 1,000 Observations: an A/B comparison that holds on a shared, busy machine, where two separate
 * runs of profile-pipeline.ts differ by up to 30% between themselves (an A/A run of this differs by ~1%).
 *   git archive <base> | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   npx tsx bench/pipeline-ab.ts /tmp/base . [rounds]
 * Each round runs 500 messages of each tree, the order swapped every round, after a warm-up.
 */
import { resolve } from 'node:path';

type AdaptersModule = typeof import('../adapters/index.ts');
type ConfigModule = typeof import('../src/config/load-config.ts');
type RecordsModule = typeof import('../src/pipeline/records.ts');
type ValidationModule = typeof import('../src/validation/validate-resource.ts');
type MessageModule = typeof import('./lib/pcd-message.ts');

/** One tree's parse + normalize + validate + records, as profile-pipeline.ts runs it; returns the Observations made. */
async function pipelineOf(root: string): Promise<(n: number) => number> {
  const { adapters, findAdapter } = (await import(resolve(root, 'adapters/index.ts'))) as AdaptersModule;
  const { resolveConfig } = (await import(resolve(root, 'src/config/load-config.ts'))) as ConfigModule;
  const { buildResourceRecords } = (await import(resolve(root, 'src/pipeline/records.ts'))) as RecordsModule;
  const { validateResource } = (await import(resolve(root, 'src/validation/validate-resource.ts'))) as ValidationModule;
  const { benchPcd01Message, euiFor, hl7Time } = (await import(resolve(root, 'bench/lib/pcd-message.ts'))) as MessageModule;
  const adapter = findAdapter('hl7v2-pcd');
  if (adapter === undefined) throw new Error(`${root}: hl7v2-pcd adapter missing`);
  const resolved = resolveConfig({ kafka: { brokers: ['127.0.0.1:9'] } }, {}, { adapters: [...adapters] });
  if (!resolved.ok) throw new Error(`${root}: config: ${JSON.stringify(resolved.problems)}`);
  const { adapterConfig } = resolved;
  const topics = resolved.config.kafka.topics;
  const base = Date.UTC(2024, 4, 1, 0, 0, 0);
  const buffers = Array.from({ length: 256 }, (_, n) =>
    Buffer.from(benchPcd01Message({ controlId: `P-${n}`, time: hl7Time(base + n * 1000), eui64: euiFor(n % 16), patientId: `MRN${n % 16}`, seq: n }), 'latin1'),
  );
  const receivedAt = new Date();
  return (n) => {
    const normalized = adapter.normalize(adapter.parse(buffers[n % buffers.length]!), { config: adapterConfig, receivedAt });
    for (const item of normalized.resources) validateResource(item.resource);
    const records = buildResourceRecords(normalized, { topics, adapter: adapter.name, traceId: '00000000-0000-4000-8000-000000000000' });
    let observations = 0;
    for (const record of records) if (record.topic === topics.observation) observations += 1;
    return observations;
  };
}

const [rootA, rootB, roundsArg] = process.argv.slice(2);
if (rootA === undefined || rootB === undefined) throw new Error('usage: pipeline-ab.ts <tree A> <tree B> [rounds]');
const trees = [
  { name: 'A', run: await pipelineOf(rootA), cpuSeconds: 0, observations: 0 },
  { name: 'B', run: await pipelineOf(rootB), cpuSeconds: 0, observations: 0 },
];
for (let n = 0; n < 3_000; n += 1) for (const tree of trees) tree.run(n);
const rounds = Number(roundsArg ?? 40);
for (let round = 0; round < rounds; round += 1) {
  for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) {
    const start = process.cpuUsage();
    for (let n = 0; n < 500; n += 1) tree.observations += tree.run(n);
    const used = process.cpuUsage(start);
    tree.cpuSeconds += (used.user + used.system) / 1e6;
  }
}
const perThousand = trees.map((tree) => tree.cpuSeconds / (tree.observations / 1000));
console.log(JSON.stringify({ cpuSecondsPer1000Obs: { A: +perThousand[0]!.toFixed(4), B: +perThousand[1]!.toFixed(4) }, ratioBtoA: +(perThousand[1]! / perThousand[0]!).toFixed(3) }));

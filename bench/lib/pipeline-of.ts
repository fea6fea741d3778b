/**
 * One source tree's pure pipeline (parse + normalize + validate + JSON records) over the bench's 256
 * PCD-01 messages, loaded from `root` so two trees can run side by side (pipeline-ab.ts) or this tree
 * alone (profile-pipeline.ts). pipelineOf's function runs message n and returns its Observations;
 * pipelineRecordsOf's returns the records themselves (the floor server sends them: floor-servers.ts).
 */
import { resolve } from 'node:path';
import type { OutboundRecord } from '../../src/publishing/publisher.ts';

type AdaptersModule = typeof import('../../adapters/index.ts');
type ConfigModule = typeof import('../../src/config/load-config.ts');
type RecordsModule = typeof import('../../src/pipeline/records.ts');
type ValidationModule = typeof import('../../src/validation/validate-resource.ts');
type MessageModule = typeof import('./pcd-message.ts');

/** One tree's parse + normalize + validate + records, as profile-pipeline.ts runs it; returns the Observations made. */
export async function pipelineOf(root: string): Promise<(n: number) => number> {
  const { run, observationTopic } = await loadPipeline(root);
  return (n) => {
    let observations = 0;
    for (const record of run(n)) if (record.topic === observationTopic) observations += 1;
    return observations;
  };
}

/** One tree's records of bench message n (1 Device + 7 Observations), made as pipelineOf makes them. */
export async function pipelineRecordsOf(root: string): Promise<(n: number) => readonly OutboundRecord[]> {
  return (await loadPipeline(root)).run;
}

async function loadPipeline(root: string): Promise<{ run: (n: number) => readonly OutboundRecord[]; observationTopic: string }> {
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
  const run = (n: number) => {
    const normalized = adapter.normalize(adapter.parse(buffers[n % buffers.length]!), { config: adapterConfig, receivedAt });
    for (const item of normalized.resources) validateResource(item.resource);
    return buildResourceRecords(normalized, { topics, adapter: adapter.name, traceId: '00000000-0000-4000-8000-000000000000' });
  };
  return { run, observationTopic: topics.observation };
}

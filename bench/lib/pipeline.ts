/**
 * The pure pipeline, in-process: no sockets, no Kafka. hl7v2-pcd parse + normalize + validate (what the
 * gateway does per message before publishing), then parse-only figures for the hl7v2 library alone and
 * for @medplum/core's Hl7Message on the same messages.
 */
import { Hl7Message } from '@medplum/core';
import { HL7Message } from 'hl7v2';
import { adapters, findAdapter } from '../../adapters/index.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { buildResourceRecords } from '../../src/pipeline/records.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import { benchPcd01Message, euiFor, hl7Time } from './pcd-message.ts';

export interface PipelineFigure {
  name: string;
  what: string;
  messagesPerSecond: number;
  observationsPerSecond?: number;
}

export interface PipelineReport {
  messageBytes: number;
  observationsPerMessage: number;
  recordsPerMessage: number;
  /** Average JSON value size of an Observation record (what ProducerPerformance is given). */
  observationRecordBytes: number;
  figures: PipelineFigure[];
}

function timed(durationMs: number, messages: readonly string[], work: (raw: string, buffer: Buffer) => void, buffers: readonly Buffer[]): number {
  // Warm up (JIT) for a fifth of the time, then count.
  const warmUntil = performance.now() + durationMs / 5;
  let i = 0;
  while (performance.now() < warmUntil) {
    const k = i++ % messages.length;
    work(messages[k] as string, buffers[k] as Buffer);
  }
  let count = 0;
  const start = performance.now();
  const until = start + durationMs;
  while (performance.now() < until) {
    for (let j = 0; j < 50; j += 1) {
      const k = (count + j) % messages.length;
      work(messages[k] as string, buffers[k] as Buffer);
    }
    count += 50;
  }
  return count / ((performance.now() - start) / 1000);
}

export function runPipeline(durationMs: number): PipelineReport {
  const adapter = findAdapter('hl7v2-pcd');
  if (adapter === undefined) throw new Error('hl7v2-pcd adapter missing');
  const resolved = resolveConfig({ kafka: { brokers: ['127.0.0.1:9'] } }, {}, { adapters: [...adapters] });
  if (!resolved.ok) throw new Error(`config: ${JSON.stringify(resolved.problems)}`);
  const adapterConfig = resolved.adapterConfig;
  const topics = resolved.config.kafka.topics;

  const base = Date.UTC(2024, 4, 1, 0, 0, 0);
  const messages = Array.from({ length: 256 }, (_, n) =>
    benchPcd01Message({ controlId: `P-${n}`, time: hl7Time(base + n * 1000), eui64: euiFor(n % 16), patientId: `MRN${n % 16}`, seq: n }),
  );
  const buffers = messages.map((m) => Buffer.from(m, 'latin1'));

  // Shape of one message's output.
  const receivedAt = new Date();
  const sample = adapter.normalize(adapter.parse(buffers[0] as Buffer), { config: adapterConfig, receivedAt });
  const observations = sample.resources.filter((r) => r.resource.resourceType === 'Observation').length;
  let obsBytes = 0;
  let obsRecords = 0;
  for (const buffer of buffers) {
    const normalized = adapter.normalize(adapter.parse(buffer), { config: adapterConfig, receivedAt });
    for (const record of buildResourceRecords(normalized, { topics, adapter: adapter.name, traceId: '00000000-0000-4000-8000-000000000000' })) {
      if (record.topic !== topics.observation) continue;
      obsBytes += Buffer.byteLength(record.value as string);
      obsRecords += 1;
    }
  }

  const figures: PipelineFigure[] = [];
  // One discarded pass, so the first figure is not the one that pays for JIT and lazy initialisation.
  timed(durationMs, messages, (_raw, buffer) => {
    const normalized = adapter.normalize(adapter.parse(buffer), { config: adapterConfig, receivedAt });
    for (const item of normalized.resources) validateResource(item.resource);
  }, buffers);
  const full = timed(
    durationMs,
    messages,
    (_raw, buffer) => {
      const normalized = adapter.normalize(adapter.parse(buffer), { config: adapterConfig, receivedAt });
      for (const item of normalized.resources) validateResource(item.resource);
    },
    buffers,
  );
  figures.push({ name: 'hl7v2-pcd adapter', what: 'parse + normalize + validate', messagesPerSecond: Math.round(full), observationsPerSecond: Math.round(full * observations) });
  const withRecords = timed(
    durationMs,
    messages,
    (_raw, buffer) => {
      const normalized = adapter.normalize(adapter.parse(buffer), { config: adapterConfig, receivedAt });
      for (const item of normalized.resources) validateResource(item.resource);
      buildResourceRecords(normalized, { topics, adapter: adapter.name, traceId: '00000000-0000-4000-8000-000000000000' });
    },
    buffers,
  );
  figures.push({ name: 'hl7v2-pcd adapter', what: 'parse + normalize + validate + JSON records', messagesPerSecond: Math.round(withRecords), observationsPerSecond: Math.round(withRecords * observations) });
  const adapterParse = timed(durationMs, messages, (_raw, buffer) => void adapter.parse(buffer), buffers);
  figures.push({ name: 'hl7v2-pcd adapter', what: 'parse only (own field splitter + PCD reading)', messagesPerSecond: Math.round(adapterParse) });
  const hl7v2 = timed(durationMs, messages, (raw) => void HL7Message.parse(raw), buffers);
  figures.push({ name: 'hl7v2 1.8.0 HL7Message.parse', what: 'parse only', messagesPerSecond: Math.round(hl7v2) });
  const medplum = timed(durationMs, messages, (raw) => void Hl7Message.parse(raw), buffers);
  figures.push({ name: '@medplum/core 4.5.2 Hl7Message.parse', what: 'parse only', messagesPerSecond: Math.round(medplum) });

  return {
    messageBytes: buffers[0]?.length ?? 0,
    observationsPerMessage: observations,
    recordsPerMessage: sample.resources.length,
    observationRecordBytes: Math.round(obsBytes / Math.max(1, obsRecords)),
    figures,
  };
}

/**
 * The FHIR server sink: FHIR resources from Kafka (fhir.device, fhir.observation) into a FHIR R4
 * server, at least once, without duplicates.
 *
 * - Every record becomes one entry of a transaction Bundle: a Device as a conditional update by its
 *   identifier (`PUT Device?identifier=system|value`), anything else (Observation, DeviceMetric) as
 *   `PUT <type>/<id>`. Ids are deterministic (asyncapi.yaml), so a replay overwrites, never adds.
 * - Records of all partitions in hand are gathered into one Bundle of up to `batchSize` entries,
 *   Devices first; a partial Bundle is sent after `lingerMs` at the latest. Within a Bundle the
 *   last record for the same resource wins (a transaction may not name one resource twice).
 * - 5xx, 408, 429, network errors and timeouts: retried with exponential back-off up to
 *   `retry.attempts` times; then the partition is paused for `retry.pauseMs` and fetched again
 *   from its last committed offset. Nothing after an unwritten record is committed.
 * - 4xx: the Bundle is split and each record is sent on its own; a record the server still rejects
 *   goes to the dead-letter topic with the server's OperationOutcome, and the sink moves on. A
 *   record that is not a FHIR resource with an id goes there too, with an OperationOutcome of ours.
 * - A partition's offsets are committed only once each of its records was written (or
 *   dead-lettered: the dead letter is acknowledged by Kafka first).
 */
import { randomUUID } from 'node:crypto';
import { errorCatalogue, type ErrorCode } from '../errors/catalogue.ts';
import type { Logger } from '../observability/log.ts';
import { deadLetterContentType, recordHeaders, type OutboundRecord, type Publisher } from '../publishing/publisher.ts';
import type { FhirWriter, ServerOperationOutcome, TransactionEntry } from './fhir-writer.ts';
import type { ConsumedRecord, PartitionBatch, RecordConsumer } from './record-consumer.ts';

/**
 * Dead-letter error codes of the sink. Not (yet) in src/errors/catalogue.ts, whose stages end at
 * publish; the record shape is the gateway's dead letter (asyncapi.yaml) with stage `sink`.
 */
export type SinkErrorCode = Extract<ErrorCode, 'fhir_server_rejected' | 'fhir_sink_unreadable_record'>;

export interface RetryPolicy {
  /** Tries of one Bundle before the partition is paused (1 = no retry). */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** How long a partition rests after `attempts` failed tries before it is fetched again. */
  readonly pauseMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, initialDelayMs: 250, maxDelayMs: 8_000, pauseMs: 15_000 };

export interface FhirSinkOptions {
  readonly consumer: RecordConsumer;
  readonly writer: FhirWriter;
  /** Publishes dead letters; started by the sink with the dead-letter topic. */
  readonly deadLetters: Publisher;
  readonly topics: readonly string[];
  readonly deadLetterTopic: string;
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly retry?: RetryPolicy;
  readonly log: Logger;
}

export interface FhirSinkStats {
  /** Resources the server accepted (entries of accepted Bundles, after de-duplication). */
  readonly written: number;
  readonly bundles: number;
  readonly deadLetters: number;
  /** Bundle tries that failed with 5xx / network errors. */
  readonly retries: number;
  /** Times a partition was paused after its retries ran out. */
  readonly pauses: number;
  readonly committedRecords: number;
}

export interface FhirSinkHandle {
  stats(): FhirSinkStats;
  /** Sends what is buffered now, lets the in-flight Bundle finish and commit, leaves the group. */
  stop(): Promise<void>;
}

type ItemResult = 'done' | 'unavailable';

interface Item {
  readonly record: ConsumedRecord;
  /** Undefined when the record cannot be written at all (dead-lettered without asking the server). */
  readonly entry: TransactionEntry | undefined;
  readonly unreadable?: string;
  readonly resourceType?: string;
  settle(result: ItemResult): void;
}

/** The entry a record becomes, or why it cannot become one. */
export function entryFor(value: string): { entry: TransactionEntry; resourceType: string } | { problem: string } {
  let resource: unknown;
  try {
    resource = JSON.parse(value);
  } catch {
    return { problem: 'the record value is not JSON' };
  }
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) return { problem: 'the record value is not a JSON object' };
  const r = resource as Record<string, unknown>;
  const resourceType = r.resourceType;
  if (typeof resourceType !== 'string' || !/^[A-Z][A-Za-z]{1,63}$/.test(resourceType)) return { problem: 'the record has no resourceType' };
  if (typeof r.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(r.id)) return { problem: `the ${resourceType} has no valid id` };
  if (resourceType === 'Device') {
    const identifier = Array.isArray(r.identifier)
      ? (r.identifier as unknown[]).find(
          (i): i is { system: string; value: string } =>
            typeof i === 'object' && i !== null && typeof (i as Record<string, unknown>).system === 'string' && typeof (i as Record<string, unknown>).value === 'string',
        )
      : undefined;
    if (identifier !== undefined) {
      // FHIR token search: `|` inside a value is escaped with a backslash.
      const token = `${identifier.system}|${identifier.value.replace(/[\\|,$]/g, (c) => `\\${c}`)}`;
      return { resourceType, entry: { method: 'PUT', url: `Device?identifier=${encodeURIComponent(token)}`, resource: r } };
    }
  }
  return { resourceType, entry: { method: 'PUT', url: `${resourceType}/${r.id}`, resource: r } };
}

export async function startFhirSink(options: FhirSinkOptions): Promise<FhirSinkHandle> {
  const retry = options.retry ?? defaultRetryPolicy;
  const { log } = options;
  const stats = { written: 0, bundles: 0, deadLetters: 0, retries: 0, pauses: 0, committedRecords: 0 };
  let stopping = false;
  let wakeSleepers: (() => void)[] = [];

  // ---- the shared buffer: items of every partition in hand, flushed by size or linger ----------
  let buffer: Item[] = [];
  let lingerTimer: NodeJS.Timeout | undefined;
  /** One Bundle (with its retries and dead letters) in flight at a time. */
  let flushing: Promise<void> = Promise.resolve();

  function enqueue(items: Item[]): void {
    buffer.push(...items);
    if (buffer.length >= options.batchSize || stopping) {
      scheduleFlush();
    } else if (lingerTimer === undefined) {
      lingerTimer = setTimeout(scheduleFlush, options.lingerMs);
    }
  }

  function scheduleFlush(): void {
    clearTimeout(lingerTimer);
    lingerTimer = undefined;
    while (buffer.length > 0) {
      const taken = buffer.slice(0, options.batchSize);
      buffer = buffer.slice(options.batchSize);
      flushing = flushing.then(() => writeItems(taken)).catch((error: unknown) => {
        log.error('fhir_sink_flush_failed', { detail: error instanceof Error ? error.message : String(error) });
        for (const item of taken) item.settle('unavailable');
      });
    }
  }

  /** Resolves after `ms`, or at once when the sink stops (a stopping sink does not wait out back-off). */
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleepers = wakeSleepers.filter((w) => w !== done);
        resolve();
      }
      wakeSleepers.push(done);
    });
  }

  async function writeItems(items: Item[]): Promise<void> {
    const writable = items.filter((item) => item.entry !== undefined);
    for (const item of items) {
      if (item.entry === undefined) {
        item.settle(await deadLetter(item, 'fhir_sink_unreadable_record', undefined, localOutcome(item.unreadable ?? 'unreadable record')));
      }
    }
    if (writable.length === 0) return;
    const first = await writeWithRetry(writable);
    if (first.kind !== 'rejected') {
      for (const item of writable) item.settle(first.kind === 'written' ? 'done' : 'unavailable');
      return;
    }
    if (writable.length === 1 || distinctEntries(writable).length === 1) {
      for (const item of writable) item.settle(await deadLetter(item, 'fhir_server_rejected', first.status, first.outcome));
      return;
    }
    // The server refused the Bundle as a whole: find the records it refuses, write the others.
    log.warn('fhir_sink_bundle_rejected', { status: first.status, entries: writable.length, detail: outcomeText(first.outcome) });
    for (const item of writable) {
      const alone = await writeWithRetry([item]);
      if (alone.kind === 'written') item.settle('done');
      else if (alone.kind === 'rejected') item.settle(await deadLetter(item, 'fhir_server_rejected', alone.status, alone.outcome));
      else item.settle('unavailable');
    }
  }

  /** Entries of a Bundle: one per resource, Devices first, the last record of a resource winning. */
  function distinctEntries(items: readonly Item[]): TransactionEntry[] {
    const byUrl = new Map<string, TransactionEntry>();
    for (const item of items) if (item.entry !== undefined) byUrl.set(item.entry.url, item.entry);
    const entries = [...byUrl.values()];
    return [...entries.filter((e) => e.url.startsWith('Device')), ...entries.filter((e) => !e.url.startsWith('Device'))];
  }

  async function writeWithRetry(
    items: readonly Item[],
  ): Promise<{ kind: 'written' } | { kind: 'rejected'; status: number; outcome: ServerOperationOutcome } | { kind: 'unavailable' }> {
    const entries = distinctEntries(items);
    let delay = retry.initialDelayMs;
    for (let attempt = 1; ; attempt += 1) {
      const started = performance.now();
      const result = await options.writer.transaction(entries);
      if (result.kind === 'written') {
        stats.bundles += 1;
        stats.written += entries.length;
        log.debug('fhir_sink_bundle_written', { entries: entries.length, records: items.length, ms: Math.round(performance.now() - started) });
        return { kind: 'written' };
      }
      if (result.kind === 'rejected') return result;
      stats.retries += 1;
      log.warn('fhir_sink_server_unavailable', { attempt, of: retry.attempts, status: result.status ?? null, detail: result.detail });
      if (attempt >= retry.attempts || stopping) return { kind: 'unavailable' };
      await sleep(delay);
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
  }

  async function deadLetter(item: Item, code: SinkErrorCode, status: number | undefined, outcome: ServerOperationOutcome): Promise<ItemResult> {
    const record = buildSinkDeadLetter({ topic: options.deadLetterTopic, record: item.record, code, httpStatus: status, outcome });
    try {
      await options.deadLetters.publish([record], { timeoutMs: 10_000 });
      stats.deadLetters += 1;
      log.warn('fhir_sink_dead_letter', {
        code,
        status: status ?? null,
        topic: item.record.topic,
        partition: item.record.partition,
        offset: item.record.offset,
        detail: outcomeText(outcome),
      });
      return 'done';
    } catch (error) {
      log.error('fhir_sink_dead_letter_failed', { detail: error instanceof Error ? error.message : String(error) });
      return 'unavailable';
    }
  }

  // ---- one partition's batch -------------------------------------------------------------------
  async function handle(batch: PartitionBatch): Promise<void> {
    // A batch handed over while stopping is left for the next run: nothing of it is committed.
    if (!batch.isRunning() || stopping) return;
    const results = new Map<string, Promise<ItemResult>>();
    const items: Item[] = batch.records.map((record) => {
      let settle: (result: ItemResult) => void = () => {};
      results.set(record.offset, new Promise<ItemResult>((resolve) => (settle = resolve)));
      const made = entryFor(record.value);
      return 'entry' in made
        ? { record, entry: made.entry, resourceType: made.resourceType, settle: (r: ItemResult) => settle(r) }
        : { record, entry: undefined, unreadable: made.problem, settle: (r: ItemResult) => settle(r) };
    });
    enqueue(items);
    let committedThrough: string | undefined;
    for (const item of items) {
      // Wait record by record, heartbeating, so a slow server does not cost the group membership.
      const result = await withHeartbeat(batch, results.get(item.record.offset) as Promise<ItemResult>);
      if (result === 'unavailable') {
        // Records after this one may be written already; they are written again after the pause
        // (PUT by id and conditional PUT are idempotent), never skipped.
        if (committedThrough !== undefined) await commit(batch, committedThrough, items);
        await Promise.all(items.map((i) => results.get(i.record.offset)));
        stats.pauses += 1;
        log.warn('fhir_sink_partition_paused', { topic: batch.topic, partition: batch.partition, offset: item.record.offset, ms: retry.pauseMs });
        batch.retryLater(retry.pauseMs);
        return;
      }
      committedThrough = item.record.offset;
    }
    if (committedThrough !== undefined) await commit(batch, committedThrough, items);
  }

  async function commit(batch: PartitionBatch, offset: string, items: readonly Item[]): Promise<void> {
    await batch.commitThrough(offset);
    const count = items.filter((i) => BigInt(i.record.offset) <= BigInt(offset)).length;
    stats.committedRecords += count;
    log.debug('fhir_sink_committed', { topic: batch.topic, partition: batch.partition, offset, records: count });
  }

  async function withHeartbeat<T>(batch: PartitionBatch, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const beat = () => {
      timer = setTimeout(() => {
        batch.heartbeat().catch(() => undefined);
        beat();
      }, 2_000);
    };
    beat();
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
    }
  }

  await options.deadLetters.start([options.deadLetterTopic]);
  await options.consumer.start(options.topics, handle);
  log.info('fhir_sink_started', { topics: options.topics.join(','), batchSize: options.batchSize, lingerMs: options.lingerMs });

  return {
    stats: () => ({ ...stats }),
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const wake of wakeSleepers) wake();
      // What is buffered goes now rather than after the linger; the handlers waiting for it then
      // commit, and the consumer leaves the group once they have returned.
      scheduleFlush();
      await options.consumer.stop();
      await flushing;
      await options.deadLetters.stop();
      log.info('fhir_sink_stopped', { ...stats });
    },
  };
}

function localOutcome(diagnostics: string): ServerOperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'structure', diagnostics }] };
}

function outcomeText(outcome: ServerOperationOutcome): string {
  return outcome.issue.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; ').slice(0, 1_000);
}

/**
 * The sink's dead letter: the gateway's dead-letter shape (asyncapi.yaml: error, source, raw,
 * outcome) with the Kafka coordinates of the record that could not be written, its value as it
 * was (base64) and the server's OperationOutcome.
 */
export function buildSinkDeadLetter(input: {
  topic: string;
  record: ConsumedRecord;
  code: SinkErrorCode;
  httpStatus: number | undefined;
  outcome: ServerOperationOutcome;
}): OutboundRecord {
  const { record } = input;
  const raw = Buffer.from(record.value, 'utf8');
  const value = {
    error: {
      code: input.code,
      stage: errorCatalogue[input.code].stage,
      retryable: errorCatalogue[input.code].retryable,
      message: errorCatalogue[input.code].message,
      ...(input.httpStatus === undefined ? {} : { httpStatus: input.httpStatus }),
    },
    source: {
      adapter: record.headers[recordHeaders.sourceAdapter] ?? 'fhir-sink',
      ...(record.headers[recordHeaders.sourceMessageId] === undefined ? {} : { messageId: record.headers[recordHeaders.sourceMessageId] }),
      receivedAt: new Date().toISOString(),
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      ...(record.key === null ? {} : { key: record.key }),
    },
    raw: { encoding: 'base64', bytes: raw.length, data: raw.toString('base64') },
    outcome: input.outcome,
  };
  const headers: Record<string, string> = {
    [recordHeaders.contentType]: deadLetterContentType,
    [recordHeaders.sourceAdapter]: record.headers[recordHeaders.sourceAdapter] ?? 'fhir-sink',
    [recordHeaders.traceId]: record.headers[recordHeaders.traceId] ?? randomUUID(),
    [recordHeaders.errorCode]: input.code,
  };
  const messageId = record.headers[recordHeaders.sourceMessageId];
  if (messageId !== undefined) headers[recordHeaders.sourceMessageId] = messageId;
  return { topic: input.topic, key: record.key ?? 'unknown', value: JSON.stringify(value), headers };
}

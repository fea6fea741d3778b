/**
 * The "acked ledger" of the fault tests: every MLLP message a test sender sent, every reply it got
 * (code and latency) and every failed attempt; afterwards, the topic read to its end and diffed
 * against it: positively acknowledged messages missing on Kafka (must be none), and duplicates
 * (the same FHIR resource id more than once; allowed only with identical key and value, so that
 * consumers can drop them).
 */
import { Kafka, logLevel } from 'kafkajs';
import { readAll, type KafkaRecord } from './kafka.ts';

export const positiveAckCodes: ReadonlySet<string> = new Set(['AA', 'CA']);

export interface LedgerEntry {
  readonly controlId: string;
  /** The record key its resources carry (the sender's EUI-64). */
  readonly key: string;
  readonly firstSentAt: number;
  attempts: number;
  /** Replies in order, e.g. CR, CR, CA. */
  readonly replies: string[];
  /** When each reply came (Date.now()), in the same order. */
  readonly replyTimes: number[];
  /** The gateway's error codes (ERR-5) of the negative replies, e.g. publish_timeout, spool_write_failed. */
  readonly errorCodes: string[];
  /** Attempts without a reply: reply_timeout, connection_closed, connect_failed... */
  readonly failures: string[];
  ackedAt: number | undefined;
  /** Write of the acknowledged attempt -> its positive ACK. */
  ackLatencyMs: number | undefined;
}

export interface Duplicate {
  readonly resourceId: string;
  readonly messageId: string | undefined;
  readonly copies: number;
  readonly identicalKey: boolean;
  readonly identicalValue: boolean;
  readonly offsets: readonly string[];
}

export interface LedgerReport {
  readonly sent: number;
  readonly acked: number;
  /** Acked messages with all their resources on the topic. */
  readonly found: number;
  /** Acked messages with fewer resources on the topic than expected: what was lost. */
  readonly missing: readonly { controlId: string; resourcesFound: number }[];
  readonly duplicates: readonly Duplicate[];
  /** Messages never positively acknowledged whose resources are on the topic anyway (sender gave up or the ACK was lost). */
  readonly unackedFound: number;
  readonly negativeReplies: Readonly<Record<string, number>>;
  /** ERR-5 codes of the negative replies. */
  readonly errorCodes: Readonly<Record<string, number>>;
  readonly failedAttempts: Readonly<Record<string, number>>;
  readonly recordsRead: number;
  /** Per acknowledged attempt. */
  readonly latency: LatencySummary;
  /** First attempt -> positive ACK. */
  readonly firstSendLatency: LatencySummary;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export class AckedLedger {
  private readonly entries = new Map<string, LedgerEntry>();

  sent(controlId: string, key: string): LedgerEntry {
    let entry = this.entries.get(controlId);
    if (entry === undefined) {
      entry = { controlId, key, firstSentAt: Date.now(), attempts: 0, replies: [], replyTimes: [], errorCodes: [], failures: [], ackedAt: undefined, ackLatencyMs: undefined };
      this.entries.set(controlId, entry);
    }
    entry.attempts += 1;
    return entry;
  }

  replied(controlId: string, code: string, latencyMs: number, errorCodes: readonly string[] = []): void {
    const entry = this.require(controlId);
    entry.replies.push(code);
    entry.replyTimes.push(Date.now());
    entry.errorCodes.push(...errorCodes);
    if (positiveAckCodes.has(code) && entry.ackedAt === undefined) {
      entry.ackedAt = Date.now();
      entry.ackLatencyMs = latencyMs;
    }
  }

  failed(controlId: string, reason: string): void {
    this.require(controlId).failures.push(reason);
  }

  all(): LedgerEntry[] {
    return [...this.entries.values()];
  }

  acked(): LedgerEntry[] {
    return this.all().filter((entry) => entry.ackedAt !== undefined);
  }

  /**
   * Latencies of the messages positively acknowledged within [from, to): `attempt` from the write of
   * the attempt that was acknowledged to its ACK; `first-send` from the message's first attempt to
   * its positive ACK (what a device waits, resends after CR or a lost connection included).
   */
  latency(window: { from?: number; to?: number } = {}, kind: 'attempt' | 'first-send' = 'attempt'): LatencySummary {
    return summarize(
      this.acked()
        .filter((entry) => (entry.ackedAt ?? 0) >= (window.from ?? 0) && (entry.ackedAt ?? 0) < (window.to ?? Number.POSITIVE_INFINITY))
        .map((entry) => (kind === 'attempt' ? (entry.ackLatencyMs ?? 0) : (entry.ackedAt ?? 0) - entry.firstSentAt)),
    );
  }

  /**
   * Reads `topic` to its end and diffs it against the ledger. Only records whose source-message-id
   * this ledger sent count; `resourcesPerMessage` is how many distinct resources one message makes there.
   */
  async verify(brokers: readonly string[], topic: string, options: { resourcesPerMessage: number; timeoutMs?: number }): Promise<LedgerReport> {
    return this.diff(await readTopicToEnd(brokers, topic, options.timeoutMs ?? 60_000), options);
  }

  /** The diff of verify(), against records already read. */
  diff(records: readonly KafkaRecord[], options: { resourcesPerMessage: number }): LedgerReport {
    const ours = records.filter((record) => this.entries.has(record.headers['source-message-id'] ?? ''));
    const resourcesByMessage = new Map<string, Set<string>>();
    for (const record of ours) {
      const messageId = record.headers['source-message-id'] as string;
      const ids = resourcesByMessage.get(messageId) ?? new Set<string>();
      ids.add(resourceIdOf(record));
      resourcesByMessage.set(messageId, ids);
    }
    const acked = this.acked();
    const missing = acked
      .map((entry) => ({ controlId: entry.controlId, resourcesFound: resourcesByMessage.get(entry.controlId)?.size ?? 0 }))
      .filter((entry) => entry.resourcesFound < options.resourcesPerMessage);
    const unackedFound = this.all().filter((entry) => entry.ackedAt === undefined && resourcesByMessage.has(entry.controlId)).length;
    const negativeReplies: Record<string, number> = {};
    const failedAttempts: Record<string, number> = {};
    const errorCodes: Record<string, number> = {};
    for (const entry of this.entries.values()) {
      for (const code of entry.replies) if (!positiveAckCodes.has(code)) negativeReplies[code] = (negativeReplies[code] ?? 0) + 1;
      for (const code of entry.errorCodes) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
      for (const reason of entry.failures) failedAttempts[reason] = (failedAttempts[reason] ?? 0) + 1;
    }
    return {
      sent: this.entries.size,
      acked: acked.length,
      found: acked.length - missing.length,
      missing,
      duplicates: findDuplicates(ours),
      unackedFound,
      negativeReplies,
      errorCodes,
      failedAttempts,
      recordsRead: records.length,
      latency: this.latency(),
      firstSendLatency: this.latency({}, 'first-send'),
    };
  }

  private require(controlId: string): LedgerEntry {
    const entry = this.entries.get(controlId);
    if (entry === undefined) throw new Error(`ledger: ${controlId} was never sent`);
    return entry;
  }
}

/** Records with the same FHIR resource id: how many copies, and whether key and value are identical. */
export function findDuplicates(records: readonly KafkaRecord[]): Duplicate[] {
  const byId = new Map<string, KafkaRecord[]>();
  for (const record of records) {
    const id = resourceIdOf(record);
    const list = byId.get(id) ?? [];
    list.push(record);
    byId.set(id, list);
  }
  const duplicates: Duplicate[] = [];
  for (const [resourceId, copies] of byId) {
    if (copies.length < 2) continue;
    const first = copies[0] as KafkaRecord;
    duplicates.push({
      resourceId,
      messageId: first.headers['source-message-id'],
      copies: copies.length,
      identicalKey: copies.every((copy) => copy.key === first.key),
      identicalValue: copies.every((copy) => copy.value === first.value),
      offsets: copies.map((copy) => `${copy.partition}:${copy.offset}`),
    });
  }
  return duplicates;
}

export function resourceIdOf(record: KafkaRecord): string {
  const parsed: unknown = JSON.parse(record.value);
  const id = typeof parsed === 'object' && parsed !== null && 'id' in parsed ? (parsed as { id: unknown }).id : undefined;
  if (typeof id !== 'string') throw new Error(`record ${record.partition}:${record.offset} has no resource id`);
  return id;
}

/** Every record of `topic`, read until the consumer reaches the end offsets taken before reading. */
export async function readTopicToEnd(brokers: readonly string[], topic: string, timeoutMs: number): Promise<KafkaRecord[]> {
  const admin = new Kafka({ clientId: 'vitalbridge-test-ledger', brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  let expected: number;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    expected = offsets.reduce((sum, partition) => sum + (Number(partition.high) - Number(partition.low)), 0);
  } finally {
    await admin.disconnect();
  }
  if (expected === 0) return [];
  const records = await readAll(brokers, topic, { expected, timeoutMs });
  if (records.length < expected) throw new Error(`read ${records.length} of the ${expected} records on ${topic} within ${timeoutMs} ms`);
  return records;
}

export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (quantile: number) => sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] as number;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) as number };
}

/** One line per figure, for the test output (and the issue note). */
export function formatReport(label: string, report: LedgerReport): string {
  const duplicateList = report.duplicates
    .slice(0, 20)
    .map((d) => `    ${d.messageId ?? '?'} ${d.resourceId} x${d.copies} at ${d.offsets.join(',')} key ${d.identicalKey ? 'same' : 'DIFFERENT'}, value ${d.identicalValue ? 'same' : 'DIFFERENT'}`);
  return [
    `[faults] ${label}`,
    `  MLLP: sent ${report.sent}, acked ${report.acked}, found ${report.found}, missing ${report.missing.length}, duplicates ${report.duplicates.length}` +
      ` (resources written more than once), unacked but found ${report.unackedFound}, records read ${report.recordsRead}`,
    `  negative replies ${JSON.stringify(report.negativeReplies)} with errors ${JSON.stringify(report.errorCodes)}, failed attempts ${JSON.stringify(report.failedAttempts)}`,
    `  ACK latency ms (acknowledged attempt): p50 ${report.latency.p50.toFixed(0)}, p99 ${report.latency.p99.toFixed(0)}, max ${report.latency.max.toFixed(0)} (n=${report.latency.count})`,
    `  first send -> positive ACK ms (resends included): p50 ${report.firstSendLatency.p50.toFixed(0)}, p99 ${report.firstSendLatency.p99.toFixed(0)}, max ${report.firstSendLatency.max.toFixed(0)}`,
    ...(report.missing.length > 0 ? [`  MISSING: ${report.missing.slice(0, 20).map((m) => `${m.controlId}(${m.resourcesFound})`).join(' ')}`] : []),
    ...(duplicateList.length > 0 ? ['  duplicates:', ...duplicateList] : []),
  ].join('\n');
}

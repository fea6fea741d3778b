/**
 * What the delivery tests assert on Kafka's side: which messages arrived, in which order, and
 * which records arrived more than once (the same resource id and key, the documented kind of
 * duplicate).
 */
import { readAll, type KafkaRecord } from './kafka.ts';

export interface DeliveryReport {
  /** source-message-id of each message, in the order its first record appears. */
  readonly messageOrder: readonly string[];
  /** Records whose (key, resource id) appeared before: re-sent after a crash or a timed-out send. */
  readonly duplicates: readonly { readonly key: string | null; readonly id: string; readonly messageId: string }[];
  /** Duplicates whose value differs from the first copy: must never happen (ids are deterministic). */
  readonly conflictingDuplicates: number;
}

export function deliveryReport(records: readonly KafkaRecord[]): DeliveryReport {
  const firstValue = new Map<string, string>();
  const messageOrder: string[] = [];
  const seenMessages = new Set<string>();
  const duplicates: { key: string | null; id: string; messageId: string }[] = [];
  let conflictingDuplicates = 0;
  for (const record of records) {
    const messageId = record.headers['source-message-id'] ?? '(none)';
    if (!seenMessages.has(messageId)) {
      seenMessages.add(messageId);
      messageOrder.push(messageId);
    }
    const id = resourceId(record.value);
    const identity = `${record.key ?? ''}\u0000${id}`;
    const earlier = firstValue.get(identity);
    if (earlier === undefined) {
      firstValue.set(identity, record.value);
    } else {
      duplicates.push({ key: record.key, id, messageId });
      if (earlier !== record.value) conflictingDuplicates += 1;
    }
  }
  return { messageOrder, duplicates, conflictingDuplicates };
}

/** An HL7 DTM one second after 2024-05-01 12:00:00 +0200 per `index`: distinct observation times give distinct resource ids. */
export function observationTime(index: number): string {
  const minutes = Math.floor(index / 60) % 60;
  const hours = 12 + Math.floor(index / 3600);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `20240501${pad(hours)}${pad(minutes)}${pad(index % 60)}+0200`;
}

/**
 * Reads `topic` until every acknowledged message's `recordsPerMessage` records arrived (distinct
 * key + resource id, so neither duplicates nor unacknowledged messages end the read early) or
 * `timeoutMs` passed. Returns every record read, in partition order, and the report on them.
 */
export async function readDelivered(
  brokers: readonly string[],
  topic: string,
  options: { acknowledged: readonly string[]; recordsPerMessage: number; timeoutMs: number },
): Promise<{ records: KafkaRecord[]; report: DeliveryReport }> {
  const acknowledged = new Set(options.acknowledged);
  const distinct = new Set<string>();
  const everything: KafkaRecord[] = [];
  await readAll(brokers, topic, {
    expected: acknowledged.size * options.recordsPerMessage,
    timeoutMs: options.timeoutMs,
    where: (record) => {
      everything.push(record);
      if (!acknowledged.has(record.headers['source-message-id'] ?? '')) return false;
      const identity = `${record.key ?? ''}\u0000${resourceId(record.value)}`;
      if (distinct.has(identity)) return false;
      distinct.add(identity);
      return true;
    },
  });
  return { records: everything, report: deliveryReport(everything) };
}

function resourceId(value: string): string {
  const parsed: unknown = JSON.parse(value);
  return typeof parsed === 'object' && parsed !== null && 'id' in parsed && typeof parsed.id === 'string' ? parsed.id : '(no id)';
}

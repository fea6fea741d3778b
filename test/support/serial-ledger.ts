/**
 * The serial side of the fault tests' ledger. Serial devices get no acknowledgement, so the gateway's
 * own debug log says what it took on, one line per frame with its trace id (written synchronously
 * to the log file, so it survives a SIGKILL):
 * - `device_frame_accepted`: the frame became records and entered the device's in-memory queue;
 * - `device_message_published`: the publisher took them: Kafka acknowledged them (delivery.ack:
 *   kafka) or they are fsynced in the spool (delivery.ack: spool). From here they must never be lost.
 * Afterwards each trace id is looked up on Kafka; the same record (trace id and resource id) more
 * than once is a duplicate and must be identical.
 */
import type { ChildGateway, LogEvent } from './child-gateway.ts';
import type { KafkaRecord } from './kafka.ts';
import { resourceIdOf } from './acked-ledger.ts';

export interface MissingFrame {
  readonly traceId: string;
  /** The gateway lifetime (0, 1, ...) that logged it. */
  readonly lifetime: number;
}

export interface SerialDeviceReport {
  readonly device: string;
  readonly adapter: string;
  /** Frames taken into the device's queue (all lifetimes). */
  readonly accepted: number;
  /** Accepted frames with no record on the topic (e.g. still in memory when the process was killed). */
  readonly acceptedMissing: readonly MissingFrame[];
  /** Frames the publisher took (Kafka or spool). */
  readonly published: number;
  /** Published frames with no record on the topic: losses of the delivery guarantee. */
  readonly publishedMissing: readonly MissingFrame[];
  /** Records (trace id + resource id) on the topic more than once. */
  readonly duplicates: number;
  /** Duplicates whose copies differ in key or value (must be 0). */
  readonly differingDuplicates: number;
}

type FrameEvent = LogEvent & { traceId: string; device: string; adapter: string };

export function serialLedger(gateway: ChildGateway, records: readonly KafkaRecord[], devices: readonly string[]): SerialDeviceReport[] {
  const events = gateway.logEvents();
  const frames = (name: string, device: string) => events.filter((event): event is FrameEvent => event.event === name && event.device === device && typeof event.traceId === 'string');
  const byTrace = new Map<string, KafkaRecord[]>();
  for (const record of records) {
    const traceId = record.headers['trace-id'];
    if (traceId === undefined) continue;
    byTrace.set(traceId, [...(byTrace.get(traceId) ?? []), record]);
  }
  const missingOf = (list: readonly FrameEvent[]) => list.filter((event) => !byTrace.has(event.traceId)).map((event) => ({ traceId: event.traceId, lifetime: event.lifetime }));
  return devices.map((device) => {
    const accepted = frames('device_frame_accepted', device);
    const published = frames('device_message_published', device);
    let duplicates = 0;
    let differingDuplicates = 0;
    for (const traceId of new Set(accepted.map((event) => event.traceId))) {
      const copiesById = new Map<string, KafkaRecord[]>();
      for (const record of byTrace.get(traceId) ?? []) {
        const id = resourceIdOf(record);
        copiesById.set(id, [...(copiesById.get(id) ?? []), record]);
      }
      for (const copies of copiesById.values()) {
        if (copies.length < 2) continue;
        duplicates += 1;
        const first = copies[0] as KafkaRecord;
        if (!copies.every((copy) => copy.key === first.key && copy.value === first.value)) differingDuplicates += 1;
      }
    }
    return {
      device,
      adapter: String(accepted[0]?.adapter ?? '?'),
      accepted: accepted.length,
      acceptedMissing: missingOf(accepted),
      published: published.length,
      publishedMissing: missingOf(published),
      duplicates,
      differingDuplicates,
    };
  });
}

export function formatSerialReport(reports: readonly SerialDeviceReport[]): string {
  const byLifetime = (missing: readonly MissingFrame[]) => (missing.length > 0 ? ` (by lifetime ${JSON.stringify(countBy(missing.map((m) => m.lifetime)))})` : '');
  return reports
    .map(
      (r) =>
        `  serial ${r.device} (${r.adapter}): accepted ${r.accepted}, not on Kafka ${r.acceptedMissing.length}${byLifetime(r.acceptedMissing)};` +
        ` published (Kafka or spool) ${r.published}, not on Kafka ${r.publishedMissing.length}${byLifetime(r.publishedMissing)}; duplicates ${r.duplicates} (differing ${r.differingDuplicates})`,
    )
    .join('\n');
}

function countBy(values: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

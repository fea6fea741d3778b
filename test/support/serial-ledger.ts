/**
 * The serial side of the fault tests' ledger. Serial devices get no acknowledgement, so what the
 * gateway "accepted" is every data frame it turned into records and took on (the debug log line
 * `device_frame_accepted`, one per frame, with its trace id; written synchronously to the log file,
 * so it survives a SIGKILL). Afterwards every accepted trace id must be on Kafka; the same record
 * (trace id and resource id) more than once is a duplicate and must be identical.
 */
import type { ChildGateway, LogEvent } from './child-gateway.ts';
import type { KafkaRecord } from './kafka.ts';
import { resourceIdOf } from './acked-ledger.ts';

export interface SerialDeviceReport {
  readonly device: string;
  readonly adapter: string;
  /** Frames the gateway accepted (all lifetimes). */
  readonly accepted: number;
  /** Accepted frames with records on the topic. */
  readonly found: number;
  /** Accepted frames not on the topic, by the lifetime that accepted them. */
  readonly missing: readonly { traceId: string; lifetime: number }[];
  /** Records (trace id + resource id) on the topic more than once. */
  readonly duplicates: number;
  /** Duplicates whose copies differ in key or value (must be 0). */
  readonly differingDuplicates: number;
}

export function serialLedger(gateway: ChildGateway, records: readonly KafkaRecord[], devices: readonly string[]): SerialDeviceReport[] {
  const accepted = gateway.logEvents().filter((event): event is LogEvent & { traceId: string; device: string; adapter: string } => event.event === 'device_frame_accepted');
  const byTrace = new Map<string, KafkaRecord[]>();
  for (const record of records) {
    const traceId = record.headers['trace-id'];
    if (traceId === undefined) continue;
    const list = byTrace.get(traceId) ?? [];
    list.push(record);
    byTrace.set(traceId, list);
  }
  return devices.map((device) => {
    const mine = accepted.filter((event) => event.device === device);
    const missing = mine.filter((event) => !byTrace.has(event.traceId)).map((event) => ({ traceId: event.traceId, lifetime: event.lifetime }));
    let duplicates = 0;
    let differingDuplicates = 0;
    for (const event of mine) {
      const copiesById = new Map<string, KafkaRecord[]>();
      for (const record of byTrace.get(event.traceId) ?? []) {
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
      adapter: String(mine[0]?.adapter ?? '?'),
      accepted: mine.length,
      found: mine.length - missing.length,
      missing,
      duplicates,
      differingDuplicates,
    };
  });
}

export function formatSerialReport(reports: readonly SerialDeviceReport[]): string {
  return reports
    .map(
      (r) =>
        `  serial ${r.device} (${r.adapter}): accepted ${r.accepted}, found ${r.found}, missing ${r.missing.length}` +
        `${r.missing.length > 0 ? ` [by lifetime ${JSON.stringify(countBy(r.missing.map((m) => m.lifetime)))}]` : ''}, duplicates ${r.duplicates} (differing ${r.differingDuplicates})`,
    )
    .join('\n');
}

function countBy(values: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/**
 * The fault tests' ledger must be able to fail: a lost acknowledged message is reported missing, a
 * duplicate with a different value is flagged, and a resent message is not counted twice.
 */
import { describe, expect, it } from 'vitest';
import { AckedLedger, findDuplicates, summarize } from './acked-ledger.ts';
import { parsePrometheus } from './child-gateway.ts';
import type { KafkaRecord } from './kafka.ts';

let offset = 0;
function record(messageId: string, id: string, value = `{"resourceType":"Observation","id":"${id}"}`, key = 'EUI-1'): KafkaRecord {
  offset += 1;
  return { key, value, headers: { 'source-message-id': messageId }, partition: 0, offset: String(offset) };
}

describe('AckedLedger.diff', () => {
  it('finds acknowledged messages with all their resources, reports the ones with fewer as missing, and counts unacknowledged ones found', () => {
    const ledger = new AckedLedger();
    for (const id of ['M1', 'M2', 'M3', 'M4']) ledger.sent(id, 'EUI-1');
    ledger.replied('M1', 'CA', 12);
    ledger.replied('M2', 'CR', 3_000, ['publish_timeout']);
    ledger.sent('M2', 'EUI-1');
    ledger.replied('M2', 'CA', 20);
    ledger.replied('M3', 'AA', 15);
    ledger.failed('M4', 'connection_closed');

    const report = ledger.diff(
      [record('M1', 'a'), record('M1', 'b'), record('M2', 'c'), record('M2', 'd'), record('M3', 'e'), record('M4', 'f'), record('OTHER', 'g')],
      { resourcesPerMessage: 2 },
    );
    expect(report).toMatchObject({ sent: 4, acked: 3, found: 2, unackedFound: 1, negativeReplies: { CR: 1 }, errorCodes: { publish_timeout: 1 }, failedAttempts: { connection_closed: 1 } });
    expect(report.missing).toEqual([{ controlId: 'M3', resourcesFound: 1 }]);
    expect(report.duplicates).toEqual([]);
    expect(ledger.all().find((entry) => entry.controlId === 'M2')?.attempts).toBe(2);
  });

  it('counts a resource written twice once per copy set, and tells identical copies from differing ones', () => {
    const duplicates = findDuplicates([
      record('M1', 'a'),
      record('M1', 'a'),
      record('M2', 'b', '{"id":"b","valueQuantity":{"value":97}}'),
      record('M2', 'b', '{"id":"b","valueQuantity":{"value":98}}'),
      record('M3', 'c', undefined, 'EUI-1'),
      record('M3', 'c', undefined, 'EUI-2'),
    ]);
    expect(duplicates.map(({ resourceId, copies, identicalKey, identicalValue }) => ({ resourceId, copies, identicalKey, identicalValue }))).toEqual([
      { resourceId: 'a', copies: 2, identicalKey: true, identicalValue: true },
      { resourceId: 'b', copies: 2, identicalKey: true, identicalValue: false },
      { resourceId: 'c', copies: 2, identicalKey: false, identicalValue: true },
    ]);
  });

  it('summarizes latencies by nearest rank', () => {
    expect(summarize([])).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
    expect(summarize(Array.from({ length: 100 }, (_, index) => index + 1))).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });
});

describe('parsePrometheus', () => {
  it('sums the samples of a metric whose labels match', () => {
    const samples = parsePrometheus(
      [
        '# HELP vitalbridge_errors_total Every failure.',
        'vitalbridge_errors_total{stage="publish",code="spool_write_failed"} 3',
        'vitalbridge_errors_total{stage="receive",code="stream_out_of_sync"} 2',
        'vitalbridge_spool_writable 0',
      ].join('\n'),
    );
    expect(samples.sum('vitalbridge_errors_total')).toBe(5);
    expect(samples.sum('vitalbridge_errors_total', { code: 'spool_write_failed' })).toBe(3);
    expect(samples.sum('vitalbridge_errors_total', { code: 'device_queue_overflow' })).toBe(0);
    expect(samples.sum('vitalbridge_spool_writable')).toBe(0);
  });
});

/**
 * The two functions our patch of @platformatic/kafka 1.35 replaces (patches/README.md): the record
 * batch encoder writes every record into one Buffer, and the native CRC-32C runs over a batch's
 * pieces instead of a concatenated copy. Checked here against the library's own record reader and
 * its pure-JavaScript CRC; the end-to-end tests read what the real broker stored.
 */
import { createRecordsBatch, crc32c, jsCRC32C, Reader, readRecordsBatch, Writer, type MessageRecord } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';

const text = (value: string) => Buffer.from(value, 'utf8');

/** Records of every shape the encoder must write: no key, empty values, long lengths, headers or none, timestamps before the first. */
function variedRecords(count: number, seed: number): MessageRecord[] {
  const headers = new Map([
    [text('content-type'), text('application/fhir+json; fhirVersion=4.0')],
    [text('trace-id'), text('t'.repeat(200 + seed))],
    [text('empty'), Buffer.alloc(0)],
  ]);
  return Array.from({ length: count }, (_, n) => ({
    topic: 'fhir.observation',
    partition: 0,
    timestamp: 1_700_000_000_000n + BigInt(n * 1_000 * (seed % 5)) - (n % 3 === 0 ? 7n : 0n),
    ...(n % 11 === 0 ? {} : { key: text(`urn:eui64:${'k'.repeat((n * 7) % 300)}`) }),
    value: Buffer.alloc((seed * 37 + n * 1_009) % 20_000, 0x61 + (n % 26)),
    ...(n % 4 === 0 ? {} : { headers: n % 8 === 1 ? new Map<Buffer, Buffer>() : headers }),
  }));
}

describe('@platformatic/kafka record batches (patched encoder)', () => {
  it("reads back as written with the library's own reader, CRC included, for records of every shape", () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const records = variedRecords(1 + ((seed * 13) % 90), seed);
      const bytes = createRecordsBatch(records.map((record) => ({ ...record })), { producerId: 42n, producerEpoch: 3 }).buffer;
      const batch = readRecordsBatch(Reader.from(bytes));
      expect(batch.magic).toBe(2);
      expect(batch.producerId).toBe(42n);
      expect(batch.lastOffsetDelta).toBe(records.length - 1);
      // The CRC covers everything from the attributes (byte 21) to the end.
      expect(batch.crc).toBe(jsCRC32C(bytes.subarray(21)));
      expect(batch.records).toHaveLength(records.length);
      batch.records.forEach((read, n) => {
        const written = records[n] as MessageRecord;
        expect(read.offsetDelta).toBe(n);
        expect(read.timestampDelta).toBe((written.timestamp as bigint) - (records[0]?.timestamp as bigint));
        expect(read.key?.toString('latin1')).toBe(written.key?.toString('latin1'));
        // Buffer.equals: toEqual walks long Buffers byte by byte, far too slowly for ~1,500 values.
        expect(read.value !== null && read.value.equals(written.value)).toBe(true);
        const latin1 = (headers: Iterable<[Buffer | null, Buffer | null]>) => [...headers].map(([name, value]) => [name?.toString('latin1'), value?.toString('latin1')]);
        expect(latin1(read.headers)).toEqual(latin1(written.headers ?? []));
      });
    }
  });

  it('holds the records of a batch in one Buffer, not a small Buffer per field (the patch is applied)', () => {
    const writer = createRecordsBatch(variedRecords(50, 3), {});
    // Unpatched: at least 10 pieces per record (lengths, key, value, each header's parts).
    expect(writer.buffers.length).toBeLessThan(20);
  });

  it('gives a batch in pieces the CRC-32C of its bytes concatenated', () => {
    const writer = Writer.create();
    for (const piece of [text('attributes'), Buffer.alloc(0), Buffer.alloc(70_000, 0x5a), text('é and more')]) writer.append(piece);
    expect(writer.buffers.length).toBe(4);
    expect(crc32c(writer.dynamicBuffer)).toBe(jsCRC32C(Buffer.concat(writer.buffers)));
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the CRC-32C check value (RFC 3720)
  });
});

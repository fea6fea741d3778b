/**
 * The on-disk form of one spooled record: a 16-byte header, then the payload.
 *
 *   0  u32 BE  payload length
 *   4  u32 BE  CRC-32C over the length, the sequence number and the payload
 *   8  u64 BE  sequence number (increasing by one per record, across segments)
 *  16  payload (UTF-8 JSON of one outbound Kafka record)
 *
 * A record is valid only if all of it is on disk and the checksum matches, so a write torn by a
 * crash or a power cut is recognised, whatever bytes the disk left behind.
 */
import { z } from 'zod';
import type { OutboundRecord } from '../publishing/publisher.ts';
import { crc32c } from './crc32c.ts';

export const recordHeaderBytes = 16;
/** No single record may claim more than this: a larger length field is corruption, not data. */
export const maxPayloadBytes = 256 * 1024 * 1024;

const payloadSchema = z.strictObject({
  topic: z.string(),
  key: z.string(),
  value: z.string(),
  headers: z.record(z.string(), z.string()),
});

export function encodePayload(record: OutboundRecord): Buffer {
  return Buffer.from(JSON.stringify({ topic: record.topic, key: record.key, value: record.value, headers: record.headers }), 'utf8');
}

export function decodePayload(payload: Buffer): OutboundRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const result = payloadSchema.safeParse(parsed);
  return result.success ? result.data : undefined;
}

/** Writes header + payload for `seq` into `target` at `offset`; returns the bytes written. */
export function writeRecord(target: Buffer, offset: number, seq: bigint, payload: Buffer): number {
  target.writeUInt32BE(payload.length, offset);
  target.writeBigUInt64BE(seq, offset + 8);
  payload.copy(target, offset + recordHeaderBytes);
  target.writeUInt32BE(checksum(target, offset, payload.length), offset + 4);
  return recordHeaderBytes + payload.length;
}

export type ParsedRecord =
  | { readonly kind: 'record'; readonly seq: bigint; readonly payload: Buffer; readonly bytes: number }
  /** The bytes end before the record does: more must be read (or, at the end of a file, a torn write). */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** Parses the record starting at `offset` of `source`. */
export function parseRecord(source: Buffer, offset: number): ParsedRecord {
  if (source.length - offset < recordHeaderBytes) return { kind: 'incomplete' };
  const length = source.readUInt32BE(offset);
  if (length > maxPayloadBytes) return { kind: 'corrupt', reason: `length field ${length} exceeds ${maxPayloadBytes}` };
  if (source.length - offset < recordHeaderBytes + length) return { kind: 'incomplete' };
  const stored = source.readUInt32BE(offset + 4);
  if (checksum(source, offset, length) !== stored) return { kind: 'corrupt', reason: 'checksum mismatch' };
  return {
    kind: 'record',
    seq: source.readBigUInt64BE(offset + 8),
    payload: source.subarray(offset + recordHeaderBytes, offset + recordHeaderBytes + length),
    bytes: recordHeaderBytes + length,
  };
}

/** The declared size of the record at `offset` (header + payload), or undefined without a whole header. */
export function declaredRecordBytes(source: Buffer, offset: number): number | undefined {
  if (source.length - offset < recordHeaderBytes) return undefined;
  return recordHeaderBytes + source.readUInt32BE(offset);
}

function checksum(source: Buffer, offset: number, length: number): number {
  const overLength = crc32c(source.subarray(offset, offset + 4));
  return crc32c(source.subarray(offset + 8, offset + recordHeaderBytes + length), overLength);
}

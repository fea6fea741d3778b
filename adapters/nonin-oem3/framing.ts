/**
 * Nonin OEM III framing, pure and byte-driven (the same bytes give the same events however they are
 * chunked), holding at most one packet (125 bytes) plus one frame.
 *
 * Data formats 2 and 7: 5-byte frames, 25 per packet; a frame's checksum byte is the sum of its first
 * four bytes mod 256; the status byte has bit 7 set, and bit 0 (SYNC) only on frame 1 of a packet.
 *   DF2 frame: 01, STATUS, PLETH, DATA, CHK.   DF7 frame: STATUS, PLETH MSB, PLETH LSB, DATA, CHK.
 * The framer emits one frame event per complete packet (125 bytes). Out of sync, it slides byte by
 * byte until a checksum-valid SYNC frame; what it slides over is reported as stream_out_of_sync. In
 * sync:
 * - a frame with a bad checksum drops the packet so far with it: stream_checksum_mismatch, then resync;
 * - a SYNC frame before frame 25 ends the packet early: stream_frame_truncated, and starts a new one;
 * - a frame without the format's start (DF2 byte 01, status bit 7): the packet so far is
 *   stream_frame_truncated, and the framer resynchronises from that frame's bytes.
 *
 * Data format 8: 4-byte frames, once a second: STATUS1 (bit 7 set), HR LSB, SpO2, STATUS2 (bit 7
 * clear in the last three). No checksum: the bit-7 pattern is the only check, and bytes that do not
 * fit it are stream_out_of_sync.
 */
import type { StreamFramer, StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import type { DataFormat } from './config.ts';

export const framesPerPacket = 25;
export const frameBytes = 5;
export const packetBytes = framesPerPacket * frameBytes;
export const df8FrameBytes = 4;

export const checksumOf = (frame: ArrayLike<number>): number => (frame[0]! + frame[1]! + frame[2]! + frame[3]!) & 0xff;

/** The status byte of a DF2/DF7 frame. */
export const statusOf = (format: 2 | 7, frame: ArrayLike<number>): number => (format === 2 ? frame[1]! : frame[0]!);

/** The frame has the shape of its format: DF2 starts with 01 and has status bit 7 set; DF7 has status bit 7 set. */
export function frameShapeOk(format: 2 | 7, frame: ArrayLike<number>): boolean {
  return (format === 2 ? frame[0] === 0x01 : true) && (statusOf(format, frame) & 0x80) !== 0;
}

export const df8FrameOk = (frame: ArrayLike<number>): boolean =>
  (frame[0]! & 0x80) !== 0 && (frame[1]! & 0x80) === 0 && (frame[2]! & 0x80) === 0 && (frame[3]! & 0x80) === 0;

export function createNoninFramer(format: DataFormat): StreamFramer {
  const width = format === 8 ? df8FrameBytes : frameBytes;
  /** Hunting: the last `width` bytes seen. */
  let window: number[] = [];
  /** Bytes slid over while hunting, not yet reported (at most one packet's worth). */
  let garbage: number[] = [];
  let inSync = false;
  /** In sync: the frames of the current packet (DF2/DF7), and the frame being read. */
  let packet: number[] = [];
  let frame: number[] = [];
  let events: StreamFramerEvent[] = [];

  const report = (bytes: number[], code: 'stream_out_of_sync' | 'stream_checksum_mismatch' | 'stream_frame_truncated', detail: string) => {
    if (bytes.length > 0) events.push({ kind: 'discarded', bytes: Buffer.from(bytes), code, detail });
  };
  const flushGarbage = () => {
    report(garbage, 'stream_out_of_sync', 'Bytes outside a frame were discarded while resynchronising.');
    garbage = [];
  };

  /** Whether `candidate` starts a packet (DF2/DF7) or is a frame (DF8). */
  const startsSync = (candidate: number[]): boolean =>
    format === 8
      ? df8FrameOk(candidate)
      : frameShapeOk(format, candidate) && checksumOf(candidate) === candidate[4] && (statusOf(format, candidate) & 0x01) !== 0;

  function hunt(byte: number): void {
    window.push(byte);
    if (window.length < width) return;
    if (startsSync(window)) {
      flushGarbage();
      inSync = true;
      if (format === 8) events.push({ kind: 'frame', bytes: Buffer.from(window) });
      else packet = [...window];
      window = [];
      return;
    }
    garbage.push(window.shift()!);
    if (garbage.length >= packetBytes) flushGarbage();
  }

  function loseSync(bytes: number[]): void {
    inSync = false;
    window = [];
    for (const byte of bytes) hunt(byte);
  }

  function readFrame(complete: number[]): void {
    if (format === 8) {
      if (df8FrameOk(complete)) events.push({ kind: 'frame', bytes: Buffer.from(complete) });
      else loseSync(complete);
      return;
    }
    if (!frameShapeOk(format, complete)) {
      report(packet, 'stream_frame_truncated', 'A packet was interrupted by bytes that are not a frame.');
      packet = [];
      loseSync(complete);
      return;
    }
    if (checksumOf(complete) !== complete[4]) {
      report([...packet, ...complete], 'stream_checksum_mismatch', 'A frame failed its checksum; its packet was dropped.');
      packet = [];
      inSync = false;
      window = [];
      return;
    }
    const sync = (statusOf(format, complete) & 0x01) !== 0;
    if (sync) {
      report(packet, 'stream_frame_truncated', 'A packet ended before its 25th frame.');
      packet = [...complete];
      return;
    }
    if (packet.length === 0) {
      // A frame between packets that does not start one: the packet count is lost.
      loseSync(complete);
      return;
    }
    packet.push(...complete);
    if (packet.length === packetBytes) {
      events.push({ kind: 'frame', bytes: Buffer.from(packet) });
      packet = [];
    }
  }

  return {
    push(chunk: Buffer): StreamFramerEvent[] {
      events = [];
      for (const byte of chunk) {
        if (!inSync) {
          hunt(byte);
          continue;
        }
        frame.push(byte);
        if (frame.length === width) {
          const complete = frame;
          frame = [];
          readFrame(complete);
        }
      }
      return events;
    },
  };
}

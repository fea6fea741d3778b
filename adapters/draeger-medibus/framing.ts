/**
 * Medibus framing: pure and incremental. Bytes in, complete messages out.
 *
 * - A response starts with SOH (0x01), a command with ESC (0x1B); both end with CR (0x0D) after the
 *   two checksum digits (checksum.ts). A frame event carries the whole message, start to CR.
 * - Medibus is full duplex: the device may send its own command (ICC, NOP) while one of its
 *   responses is still being transmitted. As in mdpnp's Medibus receive loop
 *   (mdpnp/mdpnp:devices/draeger/.../medibus/Medibus.java, a stack of open buffers), an ESC inside a
 *   response opens a nested command; its CR completes the command and the response continues.
 *   Only that one level exists: a second ESC inside a command, or an SOH inside any frame, cuts the
 *   open frame short (stream_frame_truncated).
 * - Bytes outside a frame are discarded as stream_out_of_sync, reported when the next frame starts
 *   (so one run of garbage is one report, whatever the chunking) or when the run reaches the limit.
 * - A frame that fails its checksum is discarded as stream_checksum_mismatch; one longer than
 *   `maxFrameBytes` as stream_frame_too_large. Memory is bounded: at most two open frames and one
 *   garbage run, each at most `maxFrameBytes`.
 * The result of a push depends only on the bytes, never on how they were split into chunks.
 */
import type { StreamFramer, StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import { CR, ESC, hasValidChecksum, SOH } from './checksum.ts';

/** Shortest message: start, command, two checksum digits, CR. */
const minFrameBytes = 5;

interface OpenFrame {
  bytes: number[];
}

export class MedibusFramer implements StreamFramer {
  /** The open response (SOH) and, nested in it, a command (ESC); or one command alone. */
  private readonly open: OpenFrame[] = [];
  private garbage: number[] = [];

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): StreamFramerEvent[] {
    const events: StreamFramerEvent[] = [];
    for (const byte of chunk) this.pushByte(byte, events);
    return events;
  }

  private flushGarbage(events: StreamFramerEvent[]): void {
    if (this.garbage.length === 0) return;
    events.push({
      kind: 'discarded',
      bytes: Buffer.from(this.garbage),
      code: 'stream_out_of_sync',
      detail: `${this.garbage.length} byte(s) outside a Medibus message`,
    });
    this.garbage = [];
  }

  private truncate(frame: OpenFrame, events: StreamFramerEvent[]): void {
    events.push({
      kind: 'discarded',
      bytes: Buffer.from(frame.bytes),
      code: 'stream_frame_truncated',
      detail: 'a new message started before this one ended with CR',
    });
  }

  private pushByte(byte: number, events: StreamFramerEvent[]): void {
    const top = this.open.at(-1);
    if (byte === SOH || byte === ESC) {
      this.flushGarbage(events);
      if (top !== undefined) {
        const nestable = byte === ESC && this.open.length === 1 && top.bytes[0] === SOH;
        if (!nestable) {
          // Everything open is cut short: the newest first.
          while (this.open.length > 0) this.truncate(this.open.pop()!, events);
        }
      }
      this.open.push({ bytes: [byte] });
      return;
    }
    if (top === undefined) {
      this.garbage.push(byte);
      if (this.garbage.length >= this.maxFrameBytes) this.flushGarbage(events);
      return;
    }
    top.bytes.push(byte);
    if (byte === CR) {
      this.open.pop();
      const bytes = Buffer.from(top.bytes);
      if (bytes.length < minFrameBytes) {
        events.push({ kind: 'discarded', bytes, code: 'stream_frame_truncated', detail: 'a message too short to hold a command and checksum' });
      } else if (!hasValidChecksum(bytes)) {
        events.push({ kind: 'discarded', bytes, code: 'stream_checksum_mismatch' });
      } else {
        events.push({ kind: 'frame', bytes });
      }
      return;
    }
    if (top.bytes.length > this.maxFrameBytes) {
      this.open.pop();
      events.push({
        kind: 'discarded',
        bytes: Buffer.from(top.bytes),
        code: 'stream_frame_too_large',
        detail: `no CR within ${this.maxFrameBytes} bytes`,
      });
    }
  }
}

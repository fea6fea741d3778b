/**
 * __name__ line framing: one ASCII text line per record, ended by CR, LF or both (in either order).
 * The framer is pure and byte-driven (the same bytes give the same events however they are chunked;
 * the fixture runner checks this on every case), keeps at most `maxLineBytes` + 1 bytes, and reports
 * every byte it discards:
 * - a line longer than `maxLineBytes` (then the rest of it up to the line end): stream_frame_too_large;
 * - a line with bytes outside printable ASCII (noise, wrong baud rate or parity): stream_out_of_sync.
 * Empty lines are line ends, not data, and are not reported. A frame is the line without its line end.
 *
 * TODO(framing): if your device's records are not single lines, change the rules here (a record start
 * pattern, a checksum -> stream_checksum_mismatch, a record cut short -> stream_frame_truncated), and
 * keep the two promises above: bounded memory, nothing discarded silently.
 * For binary packets (STX/ETX, length-prefixed) see adapters/nonin-oem3/framing.ts instead.
 */
import type { StreamFramer, StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';

const CR = 0x0d;
const LF = 0x0a;

/** Printable ASCII and TAB. TODO(framing): widen if your device sends other bytes inside a record. */
const isLineByte = (byte: number): boolean => (byte >= 0x20 && byte <= 0x7e) || byte === 0x09;

export function create__Name__Framer(maxLineBytes: number): StreamFramer {
  let line: number[] = [];
  /** Inside a line that already exceeded the limit: its rest is discarded at the line end. */
  let oversized = false;

  function endLine(): StreamFramerEvent[] {
    const bytes = Buffer.from(line);
    line = [];
    if (oversized) {
      oversized = false;
      return bytes.length > 0 ? [{ kind: 'discarded', bytes, code: 'stream_frame_too_large', detail: 'The rest of an over-long line was discarded.' }] : [];
    }
    if (bytes.length === 0) return [];
    if (!bytes.every(isLineByte)) {
      return [{ kind: 'discarded', bytes, code: 'stream_out_of_sync', detail: 'A line with bytes outside printable ASCII was discarded.' }];
    }
    return [{ kind: 'frame', bytes }];
  }

  return {
    push(chunk: Buffer): StreamFramerEvent[] {
      const events: StreamFramerEvent[] = [];
      for (const byte of chunk) {
        if (byte === CR || byte === LF) {
          events.push(...endLine());
          continue;
        }
        line.push(byte);
        if (line.length > maxLineBytes) {
          events.push({ kind: 'discarded', bytes: Buffer.from(line), code: 'stream_frame_too_large', detail: `A line exceeded ${maxLineBytes} bytes.` });
          line = [];
          oversized = true;
        }
      }
      return events;
    },
  };
}

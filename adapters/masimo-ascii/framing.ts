/**
 * Masimo "ASCII 1" line framing: one text line per second, ended by CR LF. The framer is pure and
 * byte-driven (the same bytes give the same events however they are chunked), keeps at most
 * `maxLineBytes` + 1 bytes, and reports every byte it discards:
 * - a line that does not start with the `MM/DD/YY HH:MM:SS` date and time (noise, or a connection
 *   opened in the middle of a line): stream_out_of_sync;
 * - a line that starts like a record but never reaches its last field (`EXC=<hex>`), or is cut by the
 *   next record's date and time: stream_frame_truncated;
 * - a line longer than `maxLineBytes` (the excess up to the next line end included): stream_frame_too_large;
 * - a line whose fields are not `KEY=value` tokens of the protocol's characters: stream_out_of_sync.
 * CR and LF are both accepted as line ends (sources disagree on the order), so empty lines between
 * records are line ends, not data, and are not reported.
 * A frame is the line without its line end.
 */
import type { StreamFramer, StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';

const CR = 0x0d;
const LF = 0x0a;

/** The record start: MM/DD/YY HH:MM:SS. */
const recordStart = /\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d/;
/** A whole record: date, time, then KEY=value tokens, the last one EXC=<hex>. */
const recordPattern = /^\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d( +[A-Z][A-Z0-9]*=[0-9A-Za-z.+\-%]*)* +EXC=[0-9A-Fa-f]+ *$/;

export function createMasimoFramer(maxLineBytes: number): StreamFramer {
  let line: number[] = [];
  let oversized = false;

  const discard = (bytes: Buffer, code: 'stream_out_of_sync' | 'stream_frame_truncated' | 'stream_frame_too_large', detail: string): StreamFramerEvent => ({
    kind: 'discarded',
    bytes,
    code,
    detail,
  });

  /** Splits one complete line into the events it stands for. */
  function endLine(bytes: Buffer): StreamFramerEvent[] {
    // latin1 keeps one character per byte, so character offsets are byte offsets.
    const text = bytes.toString('latin1');
    if (bytes.length === 0) return [];
    const events: StreamFramerEvent[] = [];
    let rest = text;
    let offset = 0;
    const first = recordStart.exec(rest);
    if (first === null) return [discard(bytes, 'stream_out_of_sync', 'A line without the record date and time was discarded.')];
    if (first.index > 0) {
      events.push(discard(bytes.subarray(0, first.index), 'stream_out_of_sync', 'Bytes before a record were discarded.'));
      rest = rest.slice(first.index);
      offset = first.index;
    }
    // Records cut short by the next record's start: every start after the first ends the one before.
    for (;;) {
      const next = recordStart.exec(rest.slice(1));
      if (next === null) break;
      const cut = next.index + 1;
      events.push(discard(bytes.subarray(offset, offset + cut), 'stream_frame_truncated', 'A record was cut short by the next record.'));
      rest = rest.slice(cut);
      offset += cut;
    }
    const record = bytes.subarray(offset);
    if (recordPattern.test(rest)) {
      events.push({ kind: 'frame', bytes: Buffer.from(record) });
    } else if (!/ EXC=[0-9A-Fa-f]+ *$/.test(rest)) {
      events.push(discard(record, 'stream_frame_truncated', 'A record ended before its last field (EXC).'));
    } else {
      events.push(discard(record, 'stream_out_of_sync', 'A record with characters outside the protocol was discarded.'));
    }
    return events;
  }

  return {
    push(chunk: Buffer): StreamFramerEvent[] {
      const events: StreamFramerEvent[] = [];
      for (const byte of chunk) {
        if (byte === CR || byte === LF) {
          const bytes = Buffer.from(line);
          line = [];
          if (oversized) {
            oversized = false;
            if (bytes.length > 0) events.push(discard(bytes, 'stream_frame_too_large', 'The rest of an over-long line was discarded.'));
          } else {
            events.push(...endLine(bytes));
          }
          continue;
        }
        line.push(byte);
        if (line.length > maxLineBytes) {
          events.push(discard(Buffer.from(line), 'stream_frame_too_large', `A line exceeded ${maxLineBytes} bytes.`));
          line = [];
          oversized = true;
        }
      }
      return events;
    },
  };
}

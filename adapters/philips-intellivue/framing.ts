/**
 * IntelliVue Data Export serial framing (MIB/RS-232 port):
 *
 *   C0 (BOF) | 11 01 LEN(BE16) | user data (LEN bytes) | FCS (2 bytes, LSB first) | C1 (EOF)
 *
 * Between BOF and EOF every C0, C1 and 7D is sent as 7D followed by the byte XOR 0x20 (transparency,
 * as in RFC 1662). The FCS (fcs.ts) covers header + user data. `7D C1` aborts a frame.
 * Sources: reference/device-protocols.md section A; xeonfusion/VSCaptureMP Class2.cs DataConstants
 * (BOFCHAR C0, EOFCHAR C1, ESCAPECHAR 7D, BIT5COMPL 20, FrameAbort 7D C1, DataExportID 11).
 *
 * The framer is pure and incremental: it keeps at most `maxFrameBytes` of one frame (or of garbage),
 * emits the user data of each good frame, and reports everything it throws away with a catalogue code.
 */
import type { StreamFramer, StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import type { ErrorCode } from '../../src/errors/catalogue.ts';
import { fcsBytes, hasGoodFcs } from './fcs.ts';

export const BOF = 0xc0;
export const EOF = 0xc1;
export const ESC = 0x7d;
export const ESC_XOR = 0x20;
/** Header: protocol id (Data Export) and message type (AS_MSG_TYPE). */
export const PROTOCOL_ID = 0x11;
export const MESSAGE_TYPE = 0x01;
const HEADER_LENGTH = 4;
const FCS_LENGTH = 2;

/** Default bound of one unescaped frame (header + data + FCS). The AARQ we send announces max_mtu_rx 2500. */
export const defaultMaxFrameBytes = 4096;

const needsEscape = (byte: number): boolean => byte === BOF || byte === EOF || byte === ESC;

/** Transparency: C0, C1 and 7D become 7D, byte XOR 20. */
export function escapeBytes(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  for (const byte of bytes) {
    if (needsEscape(byte)) out.push(ESC, byte ^ ESC_XOR);
    else out.push(byte);
  }
  return Buffer.from(out);
}

/** The inverse of escapeBytes; undefined when the bytes end in a lone 7D or hold an unescaped C0/C1. */
export function unescapeBytes(bytes: Uint8Array): Buffer | undefined {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i]!;
    if (byte === BOF || byte === EOF) return undefined;
    if (byte !== ESC) {
      out.push(byte);
      continue;
    }
    i += 1;
    if (i >= bytes.length) return undefined;
    out.push(bytes[i]! ^ ESC_XOR);
  }
  return Buffer.from(out);
}

/** Frames raw bytes (whatever they are) with an FCS: BOF, escaped bytes + FCS, EOF. Used by encodeFrame and the FCS vectors. */
export function frameRaw(content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([BOF]), escapeBytes(Buffer.concat([content, fcsBytes(content)])), Buffer.from([EOF])]);
}

/** A Data Export frame around `userData`: header 11 01 LEN, FCS over header + data, escaped, BOF/EOF. */
export function encodeFrame(userData: Uint8Array): Buffer {
  if (userData.length > 0xffff) throw new RangeError('IntelliVue user data is at most 65535 bytes');
  const header = Buffer.from([PROTOCOL_ID, MESSAGE_TYPE, userData.length >>> 8, userData.length & 0xff]);
  return frameRaw(Buffer.concat([header, userData]));
}

type Check = { readonly ok: true; readonly userData: Buffer } | { readonly ok: false; readonly code: ErrorCode; readonly detail: string };

/** Checks one unescaped frame body (header + data + FCS) and returns its user data. */
export function checkFrameBody(body: Buffer): Check {
  if (body.length < FCS_LENGTH + 1) {
    return { ok: false, code: 'stream_frame_truncated', detail: `a frame of ${body.length} bytes between BOF and EOF is too short for an FCS` };
  }
  if (!hasGoodFcs(body)) return { ok: false, code: 'stream_checksum_mismatch', detail: 'the frame check sequence (CRC-16/PPP) does not match' };
  const content = body.subarray(0, body.length - FCS_LENGTH);
  if (content.length < HEADER_LENGTH || content[0] !== PROTOCOL_ID || content[1] !== MESSAGE_TYPE) {
    return { ok: false, code: 'stream_out_of_sync', detail: 'the FCS is right but the frame has no Data Export header (11 01 LEN)' };
  }
  const declared = content.readUInt16BE(2);
  const actual = content.length - HEADER_LENGTH;
  if (declared > actual) return { ok: false, code: 'stream_frame_truncated', detail: `the header announces ${declared} bytes of user data, the frame holds ${actual}` };
  if (declared < actual) return { ok: false, code: 'stream_out_of_sync', detail: `the header announces ${declared} bytes of user data, the frame holds ${actual}` };
  return { ok: true, userData: Buffer.from(content.subarray(HEADER_LENGTH)) };
}

/**
 * States: `hunting` (outside a frame: every byte but BOF is garbage, reported as one discard when the
 * next BOF arrives or the garbage reaches the bound), `in-frame` (collecting unescaped bytes), and
 * `escaped` (the previous byte was 7D).
 */
export function createIntellivueFramer(options: { readonly maxFrameBytes?: number } = {}): StreamFramer {
  const max = options.maxFrameBytes ?? defaultMaxFrameBytes;
  let state: 'hunting' | 'in-frame' | 'escaped' = 'hunting';
  // Raw bytes of the current frame (BOF included) or of the current garbage run, for discard reports.
  let raw: number[] = [];
  // Unescaped body of the current frame.
  let body: number[] = [];

  function push(chunk: Buffer): StreamFramerEvent[] {
    const events: StreamFramerEvent[] = [];
    const discard = (code: ErrorCode, detail: string) => {
      events.push({ kind: 'discarded', bytes: Buffer.from(raw), code, detail });
      raw = [];
      body = [];
    };
    for (const byte of chunk) {
      if (state === 'hunting') {
        if (byte === BOF) {
          if (raw.length > 0) discard('stream_out_of_sync', `${raw.length} bytes outside a frame (before BOF)`);
          raw = [byte];
          body = [];
          state = 'in-frame';
          continue;
        }
        raw.push(byte);
        if (raw.length >= max) discard('stream_out_of_sync', `${raw.length} bytes without a BOF`);
        continue;
      }
      if (byte === BOF) {
        // A new frame starts before this one ended (or right after an escape). Even a lone BOF is reported:
        // an endless run of C0 was otherwise dropped without a trace (found by fuzzing, test/fuzz/targets.ts).
        discard('stream_frame_truncated', 'a BOF arrived inside a frame');
        raw = [byte];
        body = [];
        state = 'in-frame';
        continue;
      }
      raw.push(byte);
      if (state === 'escaped') {
        if (byte === EOF) {
          discard('stream_frame_truncated', 'the sender aborted the frame (7D C1)');
          state = 'hunting';
          continue;
        }
        body.push(byte ^ ESC_XOR);
        state = 'in-frame';
      } else if (byte === ESC) {
        state = 'escaped';
        continue;
      } else if (byte === EOF) {
        const result = checkFrameBody(Buffer.from(body));
        if (result.ok) {
          events.push({ kind: 'frame', bytes: result.userData });
          raw = [];
          body = [];
        } else {
          discard(result.code, result.detail);
        }
        state = 'hunting';
        continue;
      } else {
        body.push(byte);
      }
      if (body.length > max) {
        discard('stream_frame_too_large', `a frame exceeded ${max} bytes before its EOF`);
        state = 'hunting';
      }
    }
    return events;
  }

  return { push };
}

/**
 * MLLP (Minimal Lower Layer Protocol, HL7 v2 rel. 2) framing: 0x0B <message bytes> 0x1C 0x0D.
 *
 * The decoder is pure and incremental: feed it whatever the socket delivered and it returns what those
 * bytes completed. It never throws on bad input, because a sender's garbage must not take the listener
 * down (the reason we do not use the MLLP libraries). Memory stays bounded: at most maxFrameBytes of
 * one unfinished frame are held; bytes outside frames are only counted.
 */

const START_BLOCK = 0x0b;
const END_BLOCK = 0x1c;
const CARRIAGE_RETURN = 0x0d;

const FRAME_TRAILER = Buffer.from([END_BLOCK, CARRIAGE_RETURN]);
const END_BLOCK_AS_DATA = Buffer.from([END_BLOCK]);

/** Enough of a too-large frame to read its MSH segment, so the NAK can still name MSH-10. */
export const DEFAULT_OVERSIZE_PREFIX_BYTES = 4096;

export type FramerEvent =
  | { readonly kind: 'frame'; readonly payload: Buffer }
  /** A frame longer than maxFrameBytes, reported once its end marker arrived; its bytes were discarded. */
  | { readonly kind: 'oversize'; readonly prefix: Buffer; readonly droppedBytes: number }
  /** Bytes that belonged to no complete frame (outside frames, or a frame cut short by a new start block). */
  | { readonly kind: 'garbage'; readonly bytes: number };

export interface MllpFramerOptions {
  /** Largest message payload (without the framing bytes) kept; larger frames are discarded and reported. */
  readonly maxFrameBytes: number;
  /** How many leading bytes of a discarded frame are kept for the oversize report. */
  readonly oversizePrefixBytes?: number;
}

type FramerState = 'outside-frame' | 'in-frame' | 'discarding-frame';

export class MllpFramer {
  private readonly maxFrameBytes: number;
  private readonly oversizePrefixBytes: number;

  private state: FramerState = 'outside-frame';
  /** Pieces of the current frame, concatenated once when the frame ends. */
  private parts: Buffer[] = [];
  /** Payload bytes of the current frame so far, including any already discarded. */
  private frameBytes = 0;
  private oversizePrefix: Buffer = Buffer.alloc(0);
  /** The previous chunk ended on 0x1C inside a frame: the next byte decides whether the frame ended. */
  private endBlockPending = false;
  /** Garbage counted since the last reported event, reported before the next event so order is kept. */
  private unreportedGarbage = 0;
  private startedFrames = 0;

  constructor(options: MllpFramerOptions) {
    if (!Number.isSafeInteger(options.maxFrameBytes) || options.maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${options.maxFrameBytes}`);
    }
    this.maxFrameBytes = options.maxFrameBytes;
    this.oversizePrefixBytes = Math.min(
      options.oversizePrefixBytes ?? DEFAULT_OVERSIZE_PREFIX_BYTES,
      options.maxFrameBytes,
    );
  }

  /** Bytes of a frame that has started but not ended yet (what a closing peer leaves unfinished). */
  get unfinishedFrameBytes(): number {
    return this.state === 'outside-frame' ? 0 : this.frameBytes + (this.endBlockPending ? 1 : 0);
  }

  /** Inside a frame: its start block came, its end has not. */
  get inFrame(): boolean {
    return this.state !== 'outside-frame';
  }

  /** Frames begun so far (a new start block, whether or not the frame completes): tells one unfinished frame from the next. */
  get framesStarted(): number {
    return this.startedFrames;
  }

  /** Bytes held in memory now: the unfinished frame (never more than maxFrameBytes) or a discarded frame's prefix. */
  get heldBytes(): number {
    return this.state === 'in-frame' ? this.frameBytes : this.oversizePrefix.length;
  }

  push(chunk: Buffer): FramerEvent[] {
    const events: FramerEvent[] = [];
    const length = chunk.length;
    let position = 0;
    // indexOf results are reused while still ahead of position, so each byte is scanned about once per marker.
    let nextStart = -2;
    const findStart = (from: number): number => {
      if (nextStart !== -1 && nextStart < from) nextStart = chunk.indexOf(START_BLOCK, from);
      return nextStart;
    };

    while (position < length) {
      if (this.state === 'outside-frame') {
        const start = findStart(position);
        if (start === -1) {
          this.unreportedGarbage += length - position;
          position = length;
        } else {
          this.unreportedGarbage += start - position;
          this.beginFrame();
          position = start + 1;
        }
        continue;
      }

      if (this.endBlockPending) {
        this.endBlockPending = false;
        if (chunk[position] === CARRIAGE_RETURN) {
          this.endFrame(events);
          position += 1;
          continue;
        }
        // MLLP rel. 2: 0x1C not followed by 0x0D is data.
        this.appendToFrame(END_BLOCK_AS_DATA, 0, 1);
      }

      const start = findStart(position);
      const end = chunk.indexOf(END_BLOCK, position);
      if (start !== -1 && (end === -1 || start < end)) {
        // A new frame starts before this one ended: the unfinished one, its start byte included, is garbage.
        this.unreportedGarbage += 1 + this.frameBytes + (start - position);
        this.beginFrame();
        position = start + 1;
      } else if (end === -1) {
        this.appendToFrame(chunk, position, length);
        position = length;
      } else if (end + 1 === length) {
        this.appendToFrame(chunk, position, end);
        this.endBlockPending = true;
        position = length;
      } else if (chunk[end + 1] === CARRIAGE_RETURN) {
        this.appendToFrame(chunk, position, end);
        this.endFrame(events);
        position = end + 2;
      } else {
        this.appendToFrame(chunk, position, end + 1);
        position = end + 1;
      }
    }

    this.reportGarbage(events);
    return events;
  }

  private beginFrame(): void {
    this.startedFrames += 1;
    this.state = 'in-frame';
    this.parts = [];
    this.frameBytes = 0;
    this.oversizePrefix = Buffer.alloc(0);
    this.endBlockPending = false;
  }

  private appendToFrame(source: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.frameBytes += to - from;
    if (this.state === 'discarding-frame') return;
    this.parts.push(source.subarray(from, to));
    if (this.frameBytes > this.maxFrameBytes) {
      // Copy the prefix so the dropped chunks (and the socket buffers behind them) can be freed.
      this.oversizePrefix = Buffer.concat(this.parts, this.oversizePrefixBytes);
      this.parts = [];
      this.state = 'discarding-frame';
    }
  }

  private endFrame(events: FramerEvent[]): void {
    this.reportGarbage(events);
    if (this.state === 'discarding-frame') {
      events.push({ kind: 'oversize', prefix: this.oversizePrefix, droppedBytes: this.frameBytes });
    } else {
      // Always a copy: the payload must not alias the caller's chunk, which it may reuse.
      events.push({ kind: 'frame', payload: Buffer.concat(this.parts, this.frameBytes) });
    }
    this.state = 'outside-frame';
    this.parts = [];
    this.frameBytes = 0;
    this.oversizePrefix = Buffer.alloc(0);
  }

  private reportGarbage(events: FramerEvent[]): void {
    if (this.unreportedGarbage === 0) return;
    events.push({ kind: 'garbage', bytes: this.unreportedGarbage });
    this.unreportedGarbage = 0;
  }
}

/** Wraps one message in MLLP framing. Strings are encoded as UTF-8; pass a Buffer for any other charset. */
export function encodeMllpFrame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const frame = Buffer.allocUnsafe(body.length + 3);
  frame[0] = START_BLOCK;
  body.copy(frame, 1);
  FRAME_TRAILER.copy(frame, body.length + 1);
  return frame;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MllpFramer, encodeMllpFrame, type FramerEvent } from './framer.ts';

const START = 0x0b;
const END = 0x1c;
const CR = 0x0d;

function pushAll(framer: MllpFramer, chunks: readonly Buffer[]): FramerEvent[] {
  return chunks.flatMap((chunk) => framer.push(chunk));
}

function payloadsOf(events: readonly FramerEvent[]): string[] {
  return events.flatMap((event) => (event.kind === 'frame' ? [event.payload.toString('latin1')] : []));
}

function garbageBytesOf(events: readonly FramerEvent[]): number {
  return events.reduce((sum, event) => sum + (event.kind === 'garbage' ? event.bytes : 0), 0);
}

/** Cuts a buffer at the given offsets. */
function cut(buffer: Buffer, offsets: readonly number[]): Buffer[] {
  const bounds = [0, ...[...new Set(offsets)].sort((a, b) => a - b), buffer.length];
  return bounds.slice(1).map((end, index) => buffer.subarray(bounds[index], end));
}

const first = 'MSH|^~\\&|MONITOR|ICU|||20240101120000||ORU^R01^ORU_R01|MSG-1|P|2.6\rOBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97';
const second = 'MSH|^~\\&|MONITOR|ICU|||20240101120001||ORU^R01^ORU_R01|MSG-2|P|2.6';
const twoFrames = Buffer.concat([encodeMllpFrame(first), encodeMllpFrame(second)]);

describe('encodeMllpFrame', () => {
  it('wraps the payload in start block, end block and carriage return', () => {
    expect([...encodeMllpFrame('AB')]).toEqual([START, 0x41, 0x42, END, CR]);
    expect([...encodeMllpFrame(Buffer.from([1, 2]))]).toEqual([START, 1, 2, END, CR]);
  });
});

describe('MllpFramer', () => {
  it('decodes a two-frame stream split in two at every byte position', () => {
    for (let offset = 0; offset <= twoFrames.length; offset += 1) {
      const events = pushAll(new MllpFramer({ maxFrameBytes: 1024 }), cut(twoFrames, [offset]));
      expect(events, `split at ${offset}`).toEqual([
        { kind: 'frame', payload: Buffer.from(first) },
        { kind: 'frame', payload: Buffer.from(second) },
      ]);
    }
  });

  it('decodes a two-frame stream delivered one byte at a time', () => {
    const bytes = [...twoFrames.keys()];
    const events = pushAll(new MllpFramer({ maxFrameBytes: 1024 }), cut(twoFrames, bytes));
    expect(payloadsOf(events)).toEqual([first, second]);
  });

  it('decodes several frames coalesced into one chunk', () => {
    const payloads = ['A', 'BB', '', 'CCC'];
    const chunk = Buffer.concat(payloads.map((payload) => encodeMllpFrame(payload)));
    expect(new MllpFramer({ maxFrameBytes: 16 }).push(chunk)).toEqual(
      payloads.map((payload) => ({ kind: 'frame', payload: Buffer.from(payload) })),
    );
  });

  it('counts bytes outside frames without keeping them, and a start block inside garbage starts a frame', () => {
    const framer = new MllpFramer({ maxFrameBytes: 64 });
    const events = pushAll(framer, [
      Buffer.from('hello\r\n'),
      Buffer.concat([Buffer.from('junk'), encodeMllpFrame('MSH|one'), Buffer.from('\n')]),
    ]);
    expect(events).toEqual([
      { kind: 'garbage', bytes: 7 },
      { kind: 'garbage', bytes: 4 },
      { kind: 'frame', payload: Buffer.from('MSH|one') },
      { kind: 'garbage', bytes: 1 },
    ]);
  });

  it('treats 0x1C not followed by 0x0D as data (MLLP release 2)', () => {
    const payload = Buffer.from([0x41, END, 0x42, END, END, 0x43]);
    const stream = Buffer.concat([Buffer.from([START]), payload, Buffer.from([END, CR])]);
    for (let offset = 0; offset <= stream.length; offset += 1) {
      const events = pushAll(new MllpFramer({ maxFrameBytes: 64 }), cut(stream, [offset]));
      expect(events, `split at ${offset}`).toEqual([{ kind: 'frame', payload }]);
    }
  });

  it('reports an unfinished frame as garbage when a new start block arrives, and decodes the new frame', () => {
    const stream = Buffer.concat([Buffer.from([START]), Buffer.from('cut sh'), encodeMllpFrame('whole')]);
    for (let offset = 0; offset <= stream.length; offset += 1) {
      const events = pushAll(new MllpFramer({ maxFrameBytes: 64 }), cut(stream, [offset]));
      expect(garbageBytesOf(events), `split at ${offset}`).toBe(7);
      expect(payloadsOf(events)).toEqual(['whole']);
      expect(events.at(-1)).toEqual({ kind: 'frame', payload: Buffer.from('whole') });
    }
  });

  it('discards a frame over the limit, reports its prefix and size, and decodes the next frame', () => {
    const big = `MSH|^~\\&|PUMP|ICU|||20240101||ORU^R01|BIG-7|P|2.6\r${'X'.repeat(10_000)}`;
    const stream = Buffer.concat([encodeMllpFrame(big), encodeMllpFrame('small')]);
    for (const chunkSize of [1, 7, 100, 4096, stream.length]) {
      const offsets = Array.from({ length: Math.ceil(stream.length / chunkSize) }, (_, index) => index * chunkSize);
      const events = pushAll(new MllpFramer({ maxFrameBytes: 1000, oversizePrefixBytes: 64 }), cut(stream, offsets));
      expect(events, `chunks of ${chunkSize}`).toEqual([
        { kind: 'oversize', prefix: Buffer.from(big.slice(0, 64)), droppedBytes: big.length },
        { kind: 'frame', payload: Buffer.from('small') },
      ]);
    }
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const framer = new MllpFramer({ maxFrameBytes: 5 });
    expect(payloadsOf(framer.push(encodeMllpFrame('12345')))).toEqual(['12345']);
    expect(framer.push(encodeMllpFrame('123456'))[0]).toMatchObject({ kind: 'oversize', droppedBytes: 6 });
  });

  it('reports how much of a frame is unfinished', () => {
    const framer = new MllpFramer({ maxFrameBytes: 64 });
    framer.push(Buffer.from([START, 0x41, 0x42, END]));
    expect(framer.unfinishedFrameBytes).toBe(3);
    framer.push(Buffer.from([CR]));
    expect(framer.unfinishedFrameBytes).toBe(0);
  });

  it('returns payloads that do not alias the pushed chunk', () => {
    const chunk = encodeMllpFrame('abc');
    const [event] = new MllpFramer({ maxFrameBytes: 64 }).push(chunk);
    chunk.fill(0);
    expect(event).toEqual({ kind: 'frame', payload: Buffer.from('abc') });
  });

  it('rejects a maxFrameBytes that is not a positive integer', () => {
    expect(() => new MllpFramer({ maxFrameBytes: 0 })).toThrow(RangeError);
  });

  it('returns exactly the payloads for random payloads and random chunkings (property)', () => {
    const payloadByte = fc.integer({ min: 0, max: 255 }).filter((byte) => byte !== START && byte !== END);
    const payload = fc.array(payloadByte, { maxLength: 300 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(
        fc.array(payload, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (payloads, rawOffsets) => {
          const stream = Buffer.concat(payloads.map((item) => encodeMllpFrame(item)));
          const offsets = rawOffsets.map((offset) => (stream.length === 0 ? 0 : offset % (stream.length + 1)));
          const events = pushAll(new MllpFramer({ maxFrameBytes: 300 }), cut(stream, offsets));
          expect(events).toEqual(payloads.map((item) => ({ kind: 'frame', payload: item })));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('on arbitrary bytes, decodes the same whatever the chunking and accounts for every byte (property)', () => {
    // Bytes biased towards the framing characters, so starts, ends and stray markers all occur often.
    const streamByte = fc.oneof(fc.constantFrom(START, END, CR), fc.integer({ min: 0, max: 255 }));
    const mergeGarbage = (events: readonly FramerEvent[]): FramerEvent[] =>
      events.reduce<FramerEvent[]>((merged, event) => {
        const previous = merged.at(-1);
        if (event.kind === 'garbage' && previous?.kind === 'garbage') {
          merged[merged.length - 1] = { kind: 'garbage', bytes: previous.bytes + event.bytes };
        } else {
          merged.push(event);
        }
        return merged;
      }, []);
    fc.assert(
      fc.property(fc.array(streamByte, { maxLength: 400 }), fc.array(fc.nat(), { maxLength: 30 }), (bytes, rawOffsets) => {
        const stream = Buffer.from(bytes);
        const offsets = rawOffsets.map((offset) => offset % (stream.length + 1));
        const chunkedFramer = new MllpFramer({ maxFrameBytes: 20, oversizePrefixBytes: 8 });
        const chunked = mergeGarbage(pushAll(chunkedFramer, cut(stream, offsets)));
        const whole = mergeGarbage(new MllpFramer({ maxFrameBytes: 20, oversizePrefixBytes: 8 }).push(stream));
        expect(chunked).toEqual(whole);

        const accounted = chunked.reduce((sum, event) => {
          if (event.kind === 'frame') return sum + event.payload.length + 3;
          if (event.kind === 'oversize') return sum + event.droppedBytes + 3;
          return sum + event.bytes;
        }, 0);
        const leftover = stream.length - accounted;
        // What is left is an unfinished frame: its content plus, once started, its start block.
        expect([chunkedFramer.unfinishedFrameBytes, chunkedFramer.unfinishedFrameBytes + 1]).toContain(leftover);
      }),
      { numRuns: 1000 },
    );
  });
});

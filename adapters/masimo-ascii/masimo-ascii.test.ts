import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineFixtureTests, fixtureReceivedAt } from '../../src/adapter-kit/fixture-runner.ts';
import type { StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import { assertValidFhirR4 } from '../../test/support/fhir-validator.ts';
import { exceptionList } from './bits.ts';
import adapter from './index.ts';
import { createMasimoFramer } from './framing.ts';
import { parseMasimoRecord } from './parse.ts';

defineFixtureTests({
  adapter,
  fixturesDir: new URL('./fixtures/', import.meta.url).pathname,
  checkResource: assertValidFhirR4,
});

const config = adapter.config.parse({});
const frames = (events: StreamFramerEvent[]) => events.filter((e) => e.kind === 'frame').map((e) => e.bytes.toString('latin1'));

const record = (second: number, spo2 = '098') =>
  `02/22/16 22:47:${String(second).padStart(2, '0')} SN=0000056661 SPO2=${spo2}% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800`;

describe('masimo-ascii framer', () => {
  it('frames one record per line, without its line end, whatever the line end (CR LF, LF, LF CR)', () => {
    const framer = createMasimoFramer(512);
    expect(frames(framer.push(Buffer.from(`${record(1)}\r\n${record(2)}\n${record(3)}\n\r`)))).toEqual([record(1), record(2), record(3)]);
  });

  it('keeps a partial line until its end arrives', () => {
    const framer = createMasimoFramer(512);
    expect(framer.push(Buffer.from(record(1).slice(0, 40)))).toEqual([]);
    expect(frames(framer.push(Buffer.from(`${record(1).slice(40)}\r\n`)))).toEqual([record(1)]);
  });

  it('never holds more than maxLineBytes + 1 bytes: an endless line is discarded in pieces', () => {
    const framer = createMasimoFramer(160);
    const events = framer.push(Buffer.alloc(1000, 0x41));
    expect(events.every((e) => e.kind === 'discarded' && e.code === 'stream_frame_too_large' && e.bytes.length === 161)).toBe(true);
    expect(events).toHaveLength(6);
    // The rest (1000 - 6 * 161 = 34 bytes) goes at the line end, still as part of the over-long line.
    const tail = framer.push(Buffer.from(`\r\n${record(1)}\r\n`));
    expect(tail.map((e) => (e.kind === 'frame' ? 'frame' : `${e.code}:${e.bytes.length}`))).toEqual(['stream_frame_too_large:34', 'frame']);
  });

  it('property: garbage lines between records never throw and never cost a record; every garbage byte is reported', () => {
    const garbageLine = fc.uint8Array({ maxLength: 700 }).map((bytes) => Buffer.from(bytes.filter((b) => b !== 0x0d && b !== 0x0a)));
    fc.assert(
      fc.property(fc.array(fc.tuple(garbageLine, fc.integer({ min: 0, max: 59 })), { maxLength: 8 }), fc.integer({ min: 1, max: 50 }), (parts, chunkSize) => {
        const input = Buffer.concat(parts.flatMap(([garbage, second]) => [garbage, Buffer.from(`\r\n${record(second)}\r\n`)]));
        const framer = createMasimoFramer(512);
        const events: StreamFramerEvent[] = [];
        for (let at = 0; at < input.length; at += chunkSize) events.push(...framer.push(input.subarray(at, at + chunkSize)));
        const garbageBytes = parts.reduce((sum, [garbage]) => sum + garbage.length, 0);
        const discardedBytes = events.reduce((sum, e) => sum + (e.kind === 'discarded' ? e.bytes.length : 0), 0);
        const recordFrames = frames(events).filter((f) => parts.some(([, second]) => f === record(second)));
        expect(recordFrames).toEqual(parts.map(([, second]) => record(second)));
        // A garbage line that happens to be a record is not garbage; otherwise every garbage byte is reported.
        if (frames(events).length === parts.length) expect(discardedBytes).toBe(garbageBytes);
      }),
    );
  });
});

describe('masimo-ascii parse', () => {
  it('reads the Radical-7 example record field by field (poxrad_discrete.h)', () => {
    const parsed = parseMasimoRecord(
      Buffer.from('12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=240 PI=20.00% SPCO=01.0% SPMET=00.5% DESAT=01 PIDELTA=-02 PVI=027 ALARM=0000 EXC=000820'),
    );
    expect(parsed.local).toEqual({ year: 2005, month: 12, day: 1, hour: 11, minute: 56, second: 29 });
    expect(parsed.serialNumber).toBe('0123456789');
    expect(parsed.values).toEqual({
      SPO2: { decimal: '098' },
      BPM: { decimal: '240' },
      PI: { decimal: '20.00' },
      SPCO: { decimal: '01.0' },
      SPMET: { decimal: '00.5' },
      DESAT: { decimal: '01' },
      PIDELTA: { decimal: '-02' },
      PVI: { decimal: '027' },
    });
    expect(parsed.alarm).toBe(0);
    expect(parsed.exceptions).toBe(0x820);
    expect(exceptionList(parsed.exceptions)).toEqual(['sensor-off', 'masimo-set']);
  });

  it("reads '-' filled values (---, --.-, +--) as absent, and keeps unknown fields aside", () => {
    const parsed = parseMasimoRecord(Buffer.from('03/19/16 13:37:12 SN=0000093112 SPO2=---% BPM=---% SPCO=--.-% DESAT=-- PIDELTA=+-- SPHB=--.- ALARM=0000 EXC=000001'));
    expect(parsed.values).toEqual({ SPO2: { absent: true }, BPM: { absent: true }, SPCO: { absent: true }, DESAT: { absent: true }, PIDELTA: { absent: true } });
    expect(parsed.otherFields).toEqual({ SPHB: '--.-' });
    expect(exceptionList(parsed.exceptions)).toEqual(['no-sensor']);
  });

  it('rejects what is not a record', () => {
    expect(() => parseMasimoRecord(Buffer.from('hello'))).toThrow(GatewayError);
    expect(() => parseMasimoRecord(Buffer.from('02/22/16 22:47:45 SPO2=9x8% EXC=0'))).toThrow(GatewayError);
  });
});

describe('masimo-ascii normalize', () => {
  it('rejects a date that is not on the calendar', () => {
    const parsed = parseMasimoRecord(Buffer.from('13/45/16 22:47:45 SPO2=098% EXC=000800'));
    expect(() => adapter.normalize(parsed, { config, receivedAt: fixtureReceivedAt, binding: { deviceId: 'x' } })).toThrow(
      expect.objectContaining({ code: 'device_value_out_of_range' }),
    );
  });

  it('needs SN= or a configured device to name the device', () => {
    const parsed = parseMasimoRecord(Buffer.from('09/15/10 15:10:29 SPO2=097% BPM=064 PI=11.82% ALARM=20 EXC=800'));
    expect(() => adapter.normalize(parsed, { config, receivedAt: fixtureReceivedAt })).toThrow(expect.objectContaining({ code: 'no_device_identity' }));
  });
});

describe('masimo-ascii simulator', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes one record per second / speed that the framer, parser and normalizer accept, with slowly varying values', () => {
    vi.useFakeTimers();
    const written: Buffer[] = [];
    let now = Date.parse('2024-05-01T12:00:00Z');
    const simulator = adapter.stream!.createSimulator({ speed: 10, seed: 42, serialNumber: '0000012345' });
    simulator.start({ write: (bytes) => written.push(bytes), now: () => new Date(now) });
    for (let i = 0; i < 30; i += 1) {
      now += 1000;
      vi.advanceTimersByTime(100);
    }
    simulator.stop();
    vi.advanceTimersByTime(1000);
    expect(written).toHaveLength(30);
    const events = adapter.stream!.createFramer(config).push(Buffer.concat(written));
    expect(events.every((e) => e.kind === 'frame')).toBe(true);
    const spo2s: number[] = [];
    for (const event of events) {
      const normalized = adapter.normalize(adapter.parse(event.bytes), { config, receivedAt: fixtureReceivedAt, binding: { deviceId: 'sim' } });
      for (const { resource } of normalized.resources) {
        validateResource(resource);
        if (resource.resourceType === 'Observation' && resource.code.coding[0]?.code === '150456') spo2s.push(resource.valueQuantity!.value);
      }
    }
    expect(spo2s).toHaveLength(30);
    for (let i = 1; i < spo2s.length; i += 1) expect(Math.abs(spo2s[i]! - spo2s[i - 1]!)).toBeLessThanOrEqual(2);
  });

  it('repeats itself for the same seed', () => {
    const run = () => {
      vi.useFakeTimers();
      const written: string[] = [];
      const simulator = adapter.stream!.createSimulator({ speed: 1, seed: 7 });
      simulator.start({ write: (bytes) => written.push(bytes.toString('latin1')), now: () => new Date(0) });
      vi.advanceTimersByTime(5000);
      simulator.stop();
      vi.useRealTimers();
      return written;
    };
    expect(run()).toEqual(run());
  });
});

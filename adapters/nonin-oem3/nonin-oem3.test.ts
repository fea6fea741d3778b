import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import { defineFixtureTests, fixtureReceivedAt } from '../../src/adapter-kit/fixture-runner.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import { assertValidFhirR4 } from '../../test/support/fhir-validator.ts';
import adapter from './index.ts';
import { createNoninFramer } from './framing.ts';
import { parseNoninFrame } from './parse.ts';
import { encodeDf8, encodePacket } from './simulator.ts';

defineFixtureTests({
  adapter,
  fixturesDir: new URL('./fixtures/', import.meta.url).pathname,
  checkResource: assertValidFhirR4,
});

const frames = (events: StreamFramerEvent[]) => events.filter((e) => e.kind === 'frame').map((e) => e.bytes.toString('hex'));

describe('nonin-oem3 parse', () => {
  it('reads the pufferfish-software test packet: HR 72, SpO2 72/97 in every average, revision 48', () => {
    const packet = encodePacket(2, 72, 97, () => 1, 0x00);
    // encodePacket with status 0 and pleth 1 reproduces the pufferfish bytes exactly (first frames checked here).
    expect(packet.subarray(0, 20).toString('hex')).toBe('0181010083' + '01800148ca' + '01800161e3' + '01800130b2');
    const parsed = parseNoninFrame(packet);
    expect(parsed.heartRate).toBe(72);
    expect(parsed.spo2).toBe(97);
    expect(parsed.packet).toMatchObject({
      firmwareRevision: 48,
      spo2Display: 97,
      spo2Fast: 97,
      spo2BeatToBeat: 97,
      extendedHeartRate: 72,
      extendedSpo2: 97,
      extendedSpo2Display: 97,
      heartRateDisplay: 72,
      extendedHeartRateDisplay: 72,
    });
    expect(parsed.status).toEqual({ sensorDisconnected: false, artifact: false, outOfTrack: false, sensorAlarm: false, perfusion: undefined });
  });

  it('assembles 9-bit HR from the MSB and LSB frames, and status bits over the packet', () => {
    const parsed = parseNoninFrame(encodePacket(7, 300, 88, (i) => 1000 + i, 0x86 | 0x20));
    expect(parsed.format).toBe(7);
    expect(parsed.heartRate).toBe(300);
    expect(parsed.packet?.pleth.slice(0, 3)).toEqual([1000, 1001, 1002]);
    expect(parsed.status).toMatchObject({ artifact: true, perfusion: 'yellow' });
  });

  it('reads DF8 flags', () => {
    expect(parseNoninFrame(encodeDf8(72, 97, 0x10 | 0x04, 0x01))).toMatchObject({
      heartRate: 72,
      spo2: 97,
      status: { perfusion: 'red', artifact: true, sensorDisconnected: false },
      status2: { batteryLow: true, batteryCritical: false, spotCheck: false },
    });
  });
});

describe('nonin-oem3 framer', () => {
  const packet = (hr: number) => encodePacket(2, hr, 97, (i) => 10 + i);

  it('emits nothing until the 25th frame, then the whole packet', () => {
    const framer = createNoninFramer(2);
    const bytes = packet(72);
    expect(framer.push(bytes.subarray(0, 124))).toEqual([]);
    expect(frames(framer.push(bytes.subarray(124)))).toEqual([bytes.toString('hex')]);
  });

  it('property: random garbage between packets never throws, never costs a packet, and every garbage byte is reported', () => {
    // Garbage with no 0x01 byte cannot form a DF2 frame, so it can neither fake a packet nor hide one.
    const garbage = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes.filter((b) => b !== 0x01)));
    fc.assert(
      fc.property(fc.array(fc.tuple(garbage, fc.integer({ min: 30, max: 250 })), { maxLength: 6 }), fc.integer({ min: 1, max: 130 }), (parts, chunk) => {
        const input = Buffer.concat(parts.flatMap(([noise, hr]) => [noise, packet(hr)]));
        const framer = createNoninFramer(2);
        const events: StreamFramerEvent[] = [];
        for (let at = 0; at < input.length; at += chunk) events.push(...framer.push(input.subarray(at, at + chunk)));
        expect(frames(events)).toEqual(parts.map(([, hr]) => packet(hr).toString('hex')));
        const discarded = events.reduce((sum, e) => sum + (e.kind === 'discarded' ? e.bytes.length : 0), 0);
        expect(discarded).toBe(parts.reduce((sum, [noise]) => sum + noise.length, 0));
      }),
    );
  });

  it('property: any bytes at all never throw, and every byte is framed, discarded or still pending (at most one packet)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom(2 as const, 7 as const, 8 as const), (bytes, format) => {
        const events = createNoninFramer(format).push(Buffer.from(bytes));
        const accounted = events.reduce((sum, e) => sum + e.bytes.length, 0);
        expect(bytes.length - accounted).toBeGreaterThanOrEqual(0);
        expect(bytes.length - accounted).toBeLessThanOrEqual(125 + 5);
      }),
    );
  });

  it('DF8: resynchronises on the bit-7 pattern', () => {
    const framer = createNoninFramer(8);
    const events = framer.push(Buffer.concat([Buffer.from([0x90, 0x90]), encodeDf8(72, 97), encodeDf8(73, 96)]));
    // 90 90 48 61: the first 90 is followed by a byte with bit 7 set, so it is slid over; the second starts a frame.
    expect(events[0]).toMatchObject({ kind: 'discarded', code: 'stream_out_of_sync' });
    expect(events[0]!.bytes).toEqual(Buffer.from([0x90, 0x90]));
    expect(frames(events)).toEqual([encodeDf8(72, 97).toString('hex'), encodeDf8(73, 96).toString('hex')]);
  });
});

describe('nonin-oem3 simulator', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function run(format: 2 | 7 | 8, seconds: number) {
    vi.useFakeTimers();
    const written: Buffer[] = [];
    const simulator = adapter.stream!.createSimulator({ speed: 10, seed: 1 });
    simulator.start({ write: (bytes) => written.push(bytes), now: () => new Date(0) });
    if (format !== 2) simulator.receive(Buffer.from([0x02, 0x70, 0x02, 0x02, format, 0x03]));
    vi.advanceTimersByTime((seconds * 1000) / 10);
    simulator.stop();
    return written;
  }

  for (const format of [2, 7, 8] as const) {
    it(`answers the format-select command and writes data format ${format} that frames, parses and normalizes`, () => {
      const written = run(format, 30);
      if (format !== 2) expect(written[0]).toEqual(Buffer.from([0x06]));
      const data = Buffer.concat(format === 2 ? written : written.slice(1));
      const config = adapter.config.parse({ dataFormat: format });
      const events = adapter.stream!.createFramer(config).push(data);
      expect(events.every((e) => e.kind === 'frame')).toBe(true);
      expect(events.length).toBe(format === 8 ? 30 : 90);
      const rates: number[] = [];
      for (const event of events) {
        const normalized = adapter.normalize(adapter.parse(event.bytes), { config, receivedAt: fixtureReceivedAt, binding: { deviceId: 'sim' } });
        for (const { resource } of normalized.resources) {
          validateResource(resource);
          if (resource.resourceType === 'Observation' && resource.code.coding[0]?.code === '149530') rates.push(resource.valueQuantity!.value);
        }
      }
      expect(rates.length).toBe(events.length);
      for (let i = 1; i < rates.length; i += 1) expect(Math.abs(rates[i]! - rates[i - 1]!)).toBeLessThanOrEqual(1);
    });
  }

  it('answers an unknown format with NAK 15', () => {
    vi.useFakeTimers();
    const written: Buffer[] = [];
    const simulator = adapter.stream!.createSimulator({ speed: 1, seed: 1 });
    simulator.start({ write: (bytes) => written.push(bytes), now: () => new Date(0) });
    simulator.receive(Buffer.from([0x02, 0x70, 0x02, 0x02, 0x05, 0x03]));
    simulator.stop();
    expect(written).toEqual([Buffer.from([0x15])]);
  });
});

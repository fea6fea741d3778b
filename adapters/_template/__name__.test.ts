/**
 * __name__: one test per fixture case (fixtures/), plus focused tests of the framer, parser and simulator.
 * TODO(tests): add a case per rule you implement (bad checksum, truncated record, out-of-range value...),
 * named after what it pins; keep a framer property test if the framing is more than line ends.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineFixtureTests, fixtureReceivedAt } from '../../src/adapter-kit/fixture-runner.ts';
import type { StreamFramerEvent } from '../../src/adapter-kit/define-adapter.ts';
import { GatewayError } from '../../src/errors/catalogue.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import { assertValidFhirR4 } from '../../test/support/fhir-validator.ts';
import adapter from './index.ts';
import { create__Name__Framer } from './framing.ts';
import { parse__Name__Record } from './parse.ts';

defineFixtureTests({
  adapter,
  fixturesDir: new URL('./fixtures/', import.meta.url).pathname,
  checkResource: assertValidFhirR4,
});

const config = adapter.config.parse({});
const summary = (events: StreamFramerEvent[]) => events.map((e) => (e.kind === 'frame' ? e.bytes.toString('latin1') : `${e.code}:${e.bytes.length}`));

describe('__name__ framer', () => {
  it('frames one record per line, without its line end, whatever the line end', () => {
    const framer = create__Name__Framer(64);
    expect(summary(framer.push(Buffer.from('SN=1 PR=060\r\nSN=1 PR=061\nSN=1 PR=062\n\r')))).toEqual(['SN=1 PR=060', 'SN=1 PR=061', 'SN=1 PR=062']);
  });

  it('keeps a partial line until its end arrives', () => {
    const framer = create__Name__Framer(64);
    expect(framer.push(Buffer.from('SN=1 SP'))).toEqual([]);
    expect(summary(framer.push(Buffer.from('O2=097\r\n')))).toEqual(['SN=1 SPO2=097']);
  });

  it('never holds more than maxLineBytes + 1 bytes, and reports what it discards', () => {
    const framer = create__Name__Framer(16);
    expect(summary(framer.push(Buffer.alloc(40, 0x41)))).toEqual(['stream_frame_too_large:17', 'stream_frame_too_large:17']);
    expect(summary(framer.push(Buffer.from('\r\n\x00\x01\r\nPR=070\r\n')))).toEqual(['stream_frame_too_large:6', 'stream_out_of_sync:2', 'PR=070']);
  });
});

describe('__name__ parse', () => {
  it('reads KEY=value tokens, dashes as no value, and keeps unknown keys aside', () => {
    expect(parse__Name__Record(Buffer.from('SN=A1234 SPO2=--- PR=072 XYZ=1'))).toEqual({
      serialNumber: 'A1234',
      values: { SPO2: { absent: true }, PR: { decimal: '072' } },
      otherFields: { XYZ: '1' },
    });
  });

  it('rejects what is not a record', () => {
    expect(() => parse__Name__Record(Buffer.from('hello'))).toThrow(GatewayError);
    expect(() => parse__Name__Record(Buffer.from('SPO2=9x'))).toThrow(GatewayError);
  });
});

describe('__name__ normalize', () => {
  it('needs SN= or a configured device to name the device', () => {
    expect(() => adapter.normalize(parse__Name__Record(Buffer.from('SPO2=097')), { config, receivedAt: fixtureReceivedAt })).toThrow(
      expect.objectContaining({ code: 'no_device_identity' }),
    );
  });

  it('rejects a value outside its bounds', () => {
    expect(() => adapter.normalize(parse__Name__Record(Buffer.from('SN=A1 SPO2=101')), { config, receivedAt: fixtureReceivedAt })).toThrow(
      expect.objectContaining({ code: 'device_value_out_of_range' }),
    );
  });
});

describe('__name__ simulator', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes one record per second / speed that the framer, parser and normalizer accept', () => {
    vi.useFakeTimers();
    const written: Buffer[] = [];
    const simulator = adapter.stream!.createSimulator({ speed: 10, seed: 42, serialNumber: 'S1' });
    simulator.start({ write: (bytes) => written.push(bytes), now: () => fixtureReceivedAt });
    vi.advanceTimersByTime(1000);
    simulator.stop();
    vi.advanceTimersByTime(1000);
    expect(written).toHaveLength(10);
    const events = adapter.stream!.createFramer(config).push(Buffer.concat(written));
    expect(events.every((e) => e.kind === 'frame')).toBe(true);
    for (const event of events) {
      const normalized = adapter.normalize(adapter.parse(event.bytes), { config, receivedAt: fixtureReceivedAt });
      expect(normalized.resources).toHaveLength(3);
      for (const { resource } of normalized.resources) validateResource(resource);
    }
  });
});

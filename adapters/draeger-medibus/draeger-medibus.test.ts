import { beforeAll, describe, expect, it } from 'vitest';
import { defineFixtureTests } from '../../src/adapter-kit/fixture-runner.ts';
import { assertValidFhirR4 } from '../../test/support/fhir-validator.ts';
import adapter from './index.ts';
import { checksum, checksumDigits, commands, encodeCommand, encodeResponse, hasValidChecksum } from './checksum.ts';
import { codePage1 } from './codes.ts';
import { medibusConfigSchema } from './config.ts';
import { MedibusFramer } from './framing.ts';
import { normalizeMedibus, shiftDecimal } from './normalize.ts';
import { parseMedibus } from './parse.ts';
import { hostIdentification, MedibusSession } from './session.ts';
import { MedibusSimulator } from './simulator.ts';

const hex = (text: string) => Buffer.from(text.replaceAll(' ', ''), 'hex');
const config = medibusConfigSchema.parse({});

beforeAll(async () => {
  // Load the validator's definitions once, outside any single test's time.
  await assertValidFhirR4({ resourceType: 'Device', id: 'warm-up', status: 'active' });
});

defineFixtureTests({ adapter, fixturesDir: new URL('./fixtures', import.meta.url).pathname, checkResource: assertValidFhirR4 });

describe('checksum', () => {
  it('reproduces the reference examples: ICC = 1B 51 36 43 0D, measured data = 1B 24 33 46 0D', () => {
    // 0x1B + 0x51 = 0x6C -> "6C"; 0x1B + 0x24 = 0x3F -> "3F".
    expect(checksum(hex('1B 51'))).toBe(0x6c);
    expect(checksumDigits(hex('1B 24')).toString('latin1')).toBe('3F');
    expect(encodeCommand(commands.initializeCommunication)).toEqual(hex('1B 51 36 43 0D'));
    expect(encodeCommand(commands.measuredDataCp1)).toEqual(hex('1B 24 33 46 0D'));
    expect(hasValidChecksum(hex('1B 51 36 43 0D'))).toBe(true);
    expect(hasValidChecksum(hex('1B 51 36 44 0D'))).toBe(false);
  });

  it('keeps only the low 8 bits and pads to two upper-case digits', () => {
    expect(checksum(Buffer.from([0xff, 0x02]))).toBe(0x01);
    expect(checksumDigits(Buffer.from([0x01, 0x0a])).toString('latin1')).toBe('0B');
    // The echo of ICC: 0x01 + 0x51 = 0x52 -> "52".
    expect(encodeResponse(commands.initializeCommunication)).toEqual(hex('01 51 35 32 0D'));
  });
});

describe('framing', () => {
  it('bounds a frame without CR and reports it as too large', () => {
    const framer = new MedibusFramer(64);
    const events = framer.push(Buffer.concat([Buffer.from([0x01, 0x24]), Buffer.alloc(100, 0x41)]));
    expect(events.map((e) => (e.kind === 'discarded' ? e.code : 'frame'))).toContain('stream_frame_too_large');
  });

  it('cuts a response short when a new response starts', () => {
    const events = new MedibusFramer(4096).push(hex('01 24 37 38 01 51 35 32 0D'));
    expect(events.map((e) => (e.kind === 'discarded' ? e.code : 'frame'))).toEqual(['stream_frame_truncated', 'frame']);
  });
});

describe('parse and normalize', () => {
  it('reads device identification: id, name between apostrophes, revision', () => {
    const message = parseMedibus(encodeResponse(0x52, "4711'Evita4'04.03      "));
    expect(message).toEqual({ kind: 'device-identification', deviceId: '4711', name: 'Evita4', revision: '04.03' });
  });

  it('reads the date and time (German month, no seconds as some Evita XL send)', () => {
    expect(parseMedibus(encodeResponse(0x28, '14:05 03-MAI-24'))).toMatchObject({
      kind: 'date-time',
      local: { year: 2024, month: 5, day: 3, hour: 14, minute: 5, second: 0 },
    });
  });

  it('rejects measured data that is not whole 6-character groups', () => {
    expect(() => parseMedibus(encodeResponse(0x24, '78   '))).toThrow(expect.objectContaining({ code: 'device_message_malformed' }));
  });

  it('moves decimal points exactly (mbar -> kPa, s -> ms)', () => {
    expect(shiftDecimal('5', 1)).toBe('0.5');
    expect(shiftDecimal('1013', 1)).toBe('101.3');
    expect(shiftDecimal('-2.5', 1)).toBe('-0.25');
    expect(shiftDecimal('15', -3)).toBe('15000');
    expect(shiftDecimal('0.5', -3)).toBe('500');
    expect(shiftDecimal('-0', 1)).toBe('0');
  });

  it('has every reference code in the table with the unit and MDC code the reference implies', () => {
    const expected: [number, string, number][] = [
      [0x78, 'mbar', 151976],
      [0x7d, 'mbar', 151973],
      [0x88, 'mL', 151980],
      [0xb8, 'L/min', 151880],
      [0xd6, '/min', 151562],
      [0xe6, 'mmHg', 151708],
      [0xeb, '%', 150456],
      [0xe1, '/min', 149530],
      [0xf0, '%', 152196],
    ];
    for (const [code, unit, mdc] of expected) expect(codePage1.get(code)).toMatchObject({ unit, mdcCode: mdc });
    const mapped = [...codePage1.values()].map((row) => row.mdcCode).filter((code) => code !== undefined);
    expect(new Set(mapped).size, 'no two Medibus codes share an MDC code (their Observation ids would collide)').toBe(mapped.length);
  });

  it('needs a configured device', () => {
    expect(() =>
      normalizeMedibus(parseMedibus(encodeResponse(0x24, '78   5')), { config, receivedAt: new Date(0) }),
    ).toThrow(expect.objectContaining({ code: 'no_device_identity' }));
  });
});

/** A session driven by a fake clock. */
function clock(start = 0) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => new Date((t += ms)) };
}

describe('session', () => {
  const icc = hex('1B 51 36 43 0D');
  const poll = hex('1B 24 33 46 0D');

  it('opens with ICC, waits for the echo, identifies, then polls every pollIntervalSeconds', () => {
    const c = clock();
    const session = new MedibusSession(config);
    expect(session.onOpen(c.now()).send).toEqual([icc]);
    expect(session.onTick(c.advance(500)).send).toEqual([]);
    const afterIcc = session.onFrame(encodeResponse(0x51), c.advance(100));
    expect(afterIcc).toEqual({ send: [encodeCommand(0x52)], data: false });
    const afterId = session.onFrame(encodeResponse(0x52, "4711'Evita4'04.03      "), c.advance(100));
    expect(afterId).toEqual({ send: [poll], data: true });
    const data = session.onFrame(encodeResponse(0x24, '78   5'), c.advance(200));
    expect(data).toEqual({ send: [], data: true });
    // Keep-alive NOP after 3 s of silence, then the next poll 5 s after the last.
    expect(session.onTick(c.advance(2000)).send).toEqual([]);
    expect(session.onTick(c.advance(1000)).send).toEqual([encodeCommand(0x30)]);
    expect(session.onFrame(encodeResponse(0x30), c.advance(50))).toEqual({ send: [], data: false });
    expect(session.onTick(c.advance(1850)).send).toEqual([poll]);
  });

  it('sends an unanswered command again, then resets with device_no_response', () => {
    const c = clock();
    const session = new MedibusSession(medibusConfigSchema.parse({ retries: 2, responseTimeoutSeconds: 3 }));
    session.onOpen(c.now());
    expect(session.onTick(c.advance(2900)).send).toEqual([]);
    expect(session.onTick(c.advance(100)).send).toEqual([icc]);
    expect(session.onTick(c.advance(3000)).send).toEqual([icc]);
    const gaveUp = session.onTick(c.advance(3000));
    expect(gaveUp.send).toEqual([]);
    expect(gaveUp.reset?.code).toBe('device_no_response');
  });

  it("answers the device's own ICC and NOP by echoing them, and its 0x52 with the host's identification", () => {
    const c = clock();
    const session = new MedibusSession(config);
    session.onOpen(c.now());
    expect(session.onFrame(icc, c.advance(10))).toEqual({ send: [hex('01 51 35 32 0D')], data: false });
    expect(session.onFrame(encodeCommand(0x30), c.advance(10))).toEqual({ send: [encodeResponse(0x30)], data: false });
    expect(session.onFrame(encodeCommand(0x52), c.advance(10)).send).toEqual([encodeResponse(0x52, hostIdentification)]);
    // Still waiting for the echo of our own ICC.
    expect(session.onFrame(encodeResponse(0x51), c.advance(10)).send).toEqual([encodeCommand(0x52)]);
  });

  it('resets with device_protocol_error on a NAK or an unexpected reply', () => {
    const c = clock();
    const nak = new MedibusSession(config);
    nak.onOpen(c.now());
    expect(nak.onFrame(encodeResponse(0x15), c.advance(10)).reset?.code).toBe('device_protocol_error');
    const unexpected = new MedibusSession(config);
    unexpected.onOpen(c.now());
    expect(unexpected.onFrame(encodeResponse(0x24, '78   5'), c.advance(10)).reset?.code).toBe('device_protocol_error');
  });

  it('tolerates the late answer to a command it had to send again', () => {
    const c = clock();
    const session = new MedibusSession(config);
    session.onOpen(c.now());
    session.onTick(c.advance(3000)); // ICC sent again
    expect(session.onFrame(encodeResponse(0x51), c.advance(100)).reset).toBeUndefined();
    expect(session.onFrame(encodeResponse(0x51), c.advance(100)).reset).toBeUndefined();
  });
});

describe('session against the simulator', () => {
  it('gets measured data readings out of an in-memory conversation', async () => {
    const c = clock(Date.parse('2024-01-01T00:00:00Z'));
    const simulator = new MedibusSimulator({ speed: 1, seed: 7 });
    const session = new MedibusSession(config);
    const framer = new MedibusFramer(config.maxFrameBytes);
    const inbox: Buffer[] = [];
    simulator.start({ write: (bytes) => inbox.push(bytes), now: c.now });
    const observations: unknown[] = [];
    const devices: unknown[] = [];
    const deliver = (sent: readonly Buffer[]) => sent.forEach((bytes) => simulator.receive(bytes));
    try {
      deliver(session.onOpen(c.now()).send);
      for (let step = 0; step < 150; step += 1) {
        while (inbox.length > 0) {
          for (const event of framer.push(inbox.shift()!)) {
            expect(event.kind).toBe('frame');
            if (event.kind !== 'frame') continue;
            const result = session.onFrame(event.bytes, c.now());
            expect(result.reset).toBeUndefined();
            deliver(result.send);
            if (result.data) {
              const normalized = adapter.normalize(adapter.parse(event.bytes), {
                config,
                receivedAt: c.now(),
                binding: { deviceId: 'sim-evita', patient: { identifier: 'MRN-1' } },
              });
              for (const { resource } of normalized.resources) {
                (resource.resourceType === 'Observation' ? observations : devices).push(resource);
              }
            }
          }
        }
        const tick = session.onTick(c.advance(session.tickMs));
        expect(tick.reset).toBeUndefined();
        deliver(tick.send);
      }
    } finally {
      simulator.stop();
    }
    // 15 s of conversation: identification once, polls at 0, 5 and 10 s, 11 values each.
    expect(devices).toHaveLength(1);
    expect(observations).toHaveLength(33);
    for (const resource of [...devices, ...observations.slice(0, 11)]) await assertValidFhirR4(resource);
    const spo2 = observations.find((o) => JSON.stringify(o).includes('"150456"')) as { valueQuantity: { value: number } };
    expect(spo2.valueQuantity.value).toBeGreaterThanOrEqual(95);
    expect(spo2.valueQuantity.value).toBeLessThanOrEqual(99);
  });
});

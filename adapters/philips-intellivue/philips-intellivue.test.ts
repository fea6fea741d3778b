import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineFixtureTests, fixtureBinding, fixtureReceivedAt } from '../../src/adapter-kit/fixture-runner.ts';
import type { SessionStep } from '../../src/adapter-kit/define-adapter.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import { assertValidFhirR4 } from '../../test/support/fhir-validator.ts';
import adapter from './index.ts';
import { fcs16, fcsBytes } from './fcs.ts';
import { decimalText, decodeFloatType, encodeFloatType } from './float-type.ts';
import { createIntellivueFramer, encodeFrame, escapeBytes, frameRaw, unescapeBytes } from './framing.ts';
import { associationAccept, associationRefuse, associationRequest, extendedPollResult, mdsCreateEvent, releaseRequest } from './messages.ts';
import { parseIntellivue } from './parse.ts';
import { createIntellivueSession } from './session.ts';
import { createIntellivueSimulator } from './simulator.ts';

defineFixtureTests({
  adapter,
  fixturesDir: new URL('./fixtures/', import.meta.url).pathname,
  checkResource: assertValidFhirR4,
});

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('FCS (CRC-16/PPP)', () => {
  it('matches the mdpnp TestFCSOutputStream vectors', () => {
    expect(fcs16(hex('3A 71'))).toBe(0x269b);
    expect(fcsBytes(hex('3A 71'))).toEqual(hex('9B 26'));
    expect(frameRaw(hex('3A 71'))).toEqual(hex('C0 3A 71 9B 26 C1'));
    expect(fcs16(hex('3A 91'))).toBe(0xc195);
    expect(frameRaw(hex('3A 91'))).toEqual(hex('C0 3A 91 95 7D E1 C1'));
  });
  it('is the RFC 1662 check value for "123456789" (CRC-16/X-25: 0x906E)', () => {
    expect(fcs16(Buffer.from('123456789', 'ascii'))).toBe(0x906e);
  });
});

describe('framing', () => {
  it('escaping round-trips any bytes, and escaped bytes hold no C0/C1', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const escaped = escapeBytes(bytes);
        expect(escaped.includes(0xc0) || escaped.includes(0xc1)).toBe(false);
        expect(unescapeBytes(escaped)).toEqual(Buffer.from(bytes));
      }),
    );
  });
  it('encodeFrame then the framer gives back the user data, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 17 }), (data, chunk) => {
        const wire = encodeFrame(data);
        const framer = createIntellivueFramer();
        const events = [];
        for (let i = 0; i < wire.length; i += chunk) events.push(...framer.push(wire.subarray(i, i + chunk)));
        expect(events).toEqual([{ kind: 'frame', bytes: Buffer.from(data) }]);
      }),
    );
  });
  it('reports a run of lone BOFs (C0 C0 ...) instead of dropping them silently, and still frames what follows', () => {
    // Regression, found by fuzzing (test/fuzz/targets.ts, philips-intellivue-endless-frame): an endless run of
    // C0 was taken without any event. Each BOF that abandons an empty frame is now a 1-byte stream_frame_truncated.
    const framer = createIntellivueFramer();
    const events = framer.push(Buffer.concat([Buffer.alloc(5, 0xc0), encodeFrame(hex('0E 00'))]));
    expect(events.filter((event) => event.kind === 'discarded').map((event) => [event.code, event.bytes.length])).toEqual(
      Array.from({ length: 5 }, () => ['stream_frame_truncated', 1]),
    );
    expect(events.at(-1)).toEqual({ kind: 'frame', bytes: hex('0E 00') });
  });
  it('discards a frame larger than the bound, then resynchronises', () => {
    const framer = createIntellivueFramer({ maxFrameBytes: 64 });
    const events = framer.push(Buffer.concat([encodeFrame(Buffer.alloc(100, 1)), encodeFrame(hex('0E 00'))]));
    expect(events.map((e) => (e.kind === 'frame' ? 'frame' : e.code))).toEqual(['stream_frame_too_large', 'stream_out_of_sync', 'frame']);
  });
  it('reports a frame cut short by a new BOF, and the abort sequence 7D C1', () => {
    const framer = createIntellivueFramer();
    expect(framer.push(hex('C0 11 01 C0 11 7D C1')).map((e) => (e.kind === 'frame' ? 'frame' : e.code))).toEqual([
      'stream_frame_truncated',
      'stream_frame_truncated',
    ]);
  });
});

describe('FLOAT-Type', () => {
  it.each([
    [0x00000048, '72'],
    [0xff0003ca, '97.0'],
    [0xfe000001, '0.01'],
    [0x02000005, '500'],
    [0xfefffc18, '-10.00'],
    [0x00fffffe, '-2'],
    [0x80000001, '0.' + '0'.repeat(127) + '1'],
    [0x00000000, '0'],
  ])('0x%s -> %s', (raw, text) => {
    expect(decodeFloatType(raw)).toEqual({ decimal: text });
  });
  it.each([
    [0x007fffff, 'not-a-number'],
    [0x00800000, 'unknown'],
    [0x007ffffe, 'positive-infinity'],
    [0x00800002, 'negative-infinity'],
    [0x00800001, 'error'],
  ])('special 0x%s -> data absent %s', (raw, reason) => {
    expect(decodeFloatType(raw)).toEqual({ absent: reason });
  });
  it('decimal text equals mantissa x 10^exponent for any non-special value', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x7ffffd, max: 0x7ffffd }), fc.integer({ min: -20, max: 20 }), (m, e) => {
        const text = decimalText(m, e);
        expect(Number(text)).toBe(Number(`${m}e${e}`));
        expect(decodeFloatType(encodeFloatType(m, e))).toEqual({ decimal: text });
      }),
    );
  });
});

describe('messages', () => {
  it('the AARQ is the 238 bytes of VSCaptureMP aarq_msg_ext_poll with its session length 0xEC', () => {
    expect(associationRequest.length).toBe(238);
    expect(associationRequest[1]).toBe(associationRequest.length - 2);
    expect(parseIntellivue(associationRequest)).toEqual({ kind: 'association-request' });
  });
  it('the hand-built poll fixture equals what the simulator encoder produces for the same values', () => {
    const built = extendedPollResult(1, 1, 0x00c07dc1, new Date('2024-05-01T12:30:00Z'), [
      { handle: 16, values: [{ physioId: 16770, unitCode: 2720, mantissa: 72, exponent: 0 }] },
      { handle: 17, values: [{ physioId: 19384, unitCode: 544, mantissa: 970, exponent: -1 }] },
      {
        handle: 18,
        compound: true,
        values: [
          { physioId: 18949, unitCode: 3872, mantissa: 120, exponent: 0 },
          { physioId: 18950, unitCode: 3872, mantissa: 80, exponent: 0 },
          { physioId: 18951, unitCode: 3872, mantissa: 93, exponent: 0 },
        ],
      },
    ]);
    const framer = createIntellivueFramer();
    const fixture = framer.push(encodeFrame(built));
    expect(fixture).toHaveLength(1);
    const parsed = parseIntellivue(built);
    expect(parsed.kind).toBe('poll-result');
    if (parsed.kind !== 'poll-result') return;
    expect(parsed.absoluteTime).toEqual({ year: 2024, month: 5, day: 1, hour: 12, minute: 30, second: 0 });
    expect(parsed.observations.map((o) => o.handle)).toEqual([16, 17, 18]);
    expect(parsed.observations[2]!.compound!.map((v) => v.physioId)).toEqual([18949, 18950, 18951]);
  });
});

// ------------------------------------------------------------------------------------------------

const config = adapter.config.parse({ pollIntervalSeconds: 2, replyTimeoutSeconds: 5, keepAliveSeconds: 8 });
const at = (ms: number) => new Date(Date.UTC(2024, 0, 1) + ms);
const framesOf = (step: SessionStep) => step.send.flatMap((bytes) => createIntellivueFramer().push(bytes)).map((e) => (e.kind === 'frame' ? e.bytes : Buffer.alloc(0)));
const kinds = (step: SessionStep) => framesOf(step).map((f) => parseIntellivue(f).kind);

describe('session state machine (fake clock)', () => {
  it('associates, answers the MDS Create, polls every N s and sends keep-alives only when quiet', () => {
    const session = createIntellivueSession(config);
    const open = session.onOpen(at(0));
    expect(framesOf(open)[0]).toEqual(associationRequest);
    expect(session.onFrame(associationAccept, at(100)).data).toBe(false);
    expect(session.state).toBe('awaiting-mds');
    const mds = session.onFrame(mdsCreateEvent(7, 0, { manufacturer: 'Philips', model: 'MP70', serialNumber: 'X' }), at(200));
    expect(session.state).toBe('associated');
    const [result, poll] = framesOf(mds);
    // MDS Create Event Result echoes invoke id 7.
    expect(result!.subarray(0, 12)).toEqual(hex('E1 00 00 02 00 02 00 14 00 07 00 01'));
    expect(parseIntellivue(poll!)).toMatchObject({ kind: 'poll-request', actionType: 0xf13b, objType: { partition: 1, code: 6 } });
    const invoke = poll!.readUInt16BE(8);
    expect(session.onTick(at(1000)).send).toHaveLength(0);
    const answered = session.onFrame(extendedPollResult(invoke, 1, 0, at(1200), []), at(1200));
    expect(answered.data).toBe(true);
    expect(kinds(session.onTick(at(2200)))).toEqual(['poll-request']);
  });
  it('resets with device_no_response when the association response does not come', () => {
    const session = createIntellivueSession(config);
    session.onOpen(at(0));
    expect(session.onTick(at(4999)).reset).toBeUndefined();
    expect(session.onTick(at(5000)).reset?.code).toBe('device_no_response');
    expect(session.state).toBe('idle');
  });
  it('resets with device_no_response when a poll goes unanswered', () => {
    const session = createIntellivueSession(config);
    session.onOpen(at(0));
    session.onFrame(associationAccept, at(10));
    session.onFrame(mdsCreateEvent(1, 0, { manufacturer: 'P', model: 'M', serialNumber: 'S' }), at(20));
    expect(session.onTick(at(5019)).reset).toBeUndefined();
    expect(session.onTick(at(5020)).reset?.code).toBe('device_no_response');
  });
  it('keeps the association alive when polls are slower than the keep-alive period', () => {
    const slow = createIntellivueSession({ pollIntervalSeconds: 10, replyTimeoutSeconds: 5, keepAliveSeconds: 3 });
    slow.onOpen(at(0));
    slow.onFrame(associationAccept, at(10));
    const poll = framesOf(slow.onFrame(mdsCreateEvent(1, 0, { manufacturer: 'P', model: 'M', serialNumber: 'S' }), at(20)))[1]!;
    slow.onFrame(extendedPollResult(poll.readUInt16BE(8), 1, 0, at(30), []), at(30));
    expect(kinds(slow.onTick(at(3020)))).toEqual(['poll-request']);
    expect(parseIntellivue(framesOf(slow.onTick(at(3020)))[0] ?? Buffer.from([0x0e])).kind).toBe('association-accept');
  });
  it('an association refuse or abort resets with device_protocol_error', () => {
    const session = createIntellivueSession(config);
    session.onOpen(at(0));
    expect(session.onFrame(associationRefuse, at(1)).reset?.code).toBe('device_protocol_error');
    session.onOpen(at(2));
    expect(session.onFrame(hex('19 00'), at(3)).reset?.code).toBe('device_protocol_error');
  });
  it('close() releases an association', () => {
    const session = createIntellivueSession(config);
    session.onOpen(at(0));
    session.onFrame(associationAccept, at(1));
    session.onFrame(mdsCreateEvent(1, 0, { manufacturer: 'P', model: 'M', serialNumber: 'S' }), at(2));
    expect(framesOf(session.close(at(3)))).toEqual([releaseRequest]);
  });
});

describe('session against the simulator, in memory', () => {
  it('associates, polls and yields valid FHIR with the simulated values', async () => {
    let clock = 0;
    const now = () => at(clock);
    const toGateway: Buffer[] = [];
    const simulator = createIntellivueSimulator({ speed: 1, seed: 42, serialNumber: 'SIM0001' });
    simulator.start({ write: (bytes) => toGateway.push(bytes), now });
    const session = adapter.stream!.createSession!(config);
    const framer = adapter.stream!.createFramer(config);
    const resources = [];
    const deliver = (step: SessionStep) => step.send.forEach((bytes) => simulator.receive(bytes));
    deliver(session.onOpen(now()));
    for (let round = 0; round < 20; round += 1) {
      while (toGateway.length > 0) {
        for (const event of framer.push(toGateway.shift()!)) {
          expect(event.kind).toBe('frame');
          if (event.kind !== 'frame') continue;
          const step = session.onFrame(event.bytes, now());
          expect(step.reset).toBeUndefined();
          if (step.data) {
            const normalized = adapter.normalize(adapter.parse(event.bytes), { config, receivedAt: now(), binding: fixtureBinding });
            resources.push(...normalized.resources);
          }
          deliver(step);
        }
      }
      clock += 250;
      deliver(session.onTick(now()));
    }
    simulator.stop();
    const devices = resources.filter((r) => r.resource.resourceType === 'Device');
    expect(devices).toHaveLength(1);
    expect(devices[0]!.resource).toMatchObject({ serialNumber: 'SIM0001', modelNumber: 'MP70', manufacturer: 'Philips' });
    const observations = resources.filter((r) => r.resource.resourceType === 'Observation');
    // Polls at 0, 2 s and 4 s of the 5 s run: five Observations each (HR, SpO2, RR, temperature, NIBP panel).
    expect(observations.length).toBe(15);
    for (const { resource } of resources.slice(0, 7)) {
      validateResource(resource);
      await assertValidFhirR4(resource);
    }
  });
});

it('normalize without a configured device fails with no_device_identity', () => {
  const message = parseIntellivue(mdsCreateEvent(1, 0, { manufacturer: 'P', model: 'M', serialNumber: 'S' }));
  expect(() => adapter.normalize(message, { config, receivedAt: fixtureReceivedAt })).toThrow(/configured device/);
});

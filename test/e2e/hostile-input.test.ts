/**
 * Hostile input end to end, over real parts: a real MLLP connection into the real gateway and the real
 * Kafka broker (test/support/global-setup.ts), reading back what was published.
 * - Character sets: a patient id and a location with non-ASCII letters, in ISO 8859-1 and in UTF-8 as
 *   MSH-18 declares, reach Kafka as the same text; bytes the declared set cannot hold are a CE with
 *   undecodable_bytes and a dead letter with the exact raw bytes, and no record (never mojibake).
 * - Mutated messages (the fuzzer's own mutations, a fixed seed) through the whole gateway: each one is
 *   answered, each NAK has its dead letter with the raw bytes on Kafka, and the connection keeps serving.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement, type ReadAcknowledgement } from '../../src/hl7/read-ack.ts';
import { readMessageHeader } from '../../src/hl7/header.ts';
import { shouldSendAcknowledgement } from '../../src/hl7/ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import type { Device, Observation } from '../../schemas/fhir.ts';
import { assertValidFhirR4 } from '../support/fhir-validator.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll, type KafkaRecord } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { mutatedInputArbitrary } from '../fuzz/mutations.ts';
import { fixtureSeeds } from '../fuzz/targets.ts';

let gw: TestGateway;
let client: MllpClient;

beforeAll(async () => {
  gw = await startTestGateway({ brokers: kafkaBrokers() });
  client = new MllpClient();
  await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
});

afterAll(async () => {
  await client?.close();
  await gw?.stop();
});

async function send(message: Buffer): Promise<ReadAcknowledgement> {
  const reply = await client.send(message, { timeoutMs: 20_000 });
  const ack = readAcknowledgement(reply);
  if (ack === undefined) throw new Error(`not an ACK: ${reply.toString('utf8')}`);
  return ack;
}

/** The PCD-01 test message with MSH-18 set, a PID-3 and a PV1 location of our choosing. */
function messageWithCharset(options: { controlId: string; charset: string; patientId: string; location: string }): string {
  const lines = pcd01Message({ controlId: options.controlId, patientId: options.patientId }).split('\r');
  const msh = lines[0]!.split('|');
  msh[17] = options.charset; // MSH-1 is the separator, so MSH-n is at index n - 1
  lines[0] = msh.join('|');
  const pv1 = lines.findIndex((line) => line.startsWith('PV1'));
  lines[pv1] = `PV1||I|${options.location}`;
  return lines.join('\r');
}

const byMessageId = (id: string) => (record: KafkaRecord) => record.headers['source-message-id'] === id;

const rawOf = (record: KafkaRecord): Buffer => Buffer.from((JSON.parse(record.value) as { raw: { data: string } }).raw.data, 'base64');

describe('character sets (MSH-18) over MLLP to Kafka', () => {
  // Non-ASCII in both: Ü, Ø, é are in ISO 8859-1, so both encodings can carry them.
  const patientId = 'MÜLLER-Ø4711';
  const location = 'Intensivstation Süd^Bett 7é';

  it.each([
    ['8859/1', 'latin1' as const],
    ['UNICODE UTF-8', 'utf8' as const],
  ])('decodes a patient id and a location sent as %s: the records on Kafka hold the same text, valid FHIR', async (charset, encoding) => {
    const controlId = `CHARSET-${encoding}`;
    const bytes = Buffer.from(messageWithCharset({ controlId, charset, patientId, location }), encoding);
    expect(bytes.some((byte) => byte > 0x7f)).toBe(true);
    const ack = await send(bytes);
    expect(ack.code).toBe('CA');
    const observations = await readAll(gw.brokers, gw.topics.observation, { expected: 3, timeoutMs: 15_000, where: byMessageId(controlId) });
    expect(observations).toHaveLength(3);
    for (const record of observations) {
      const observation = JSON.parse(record.value) as Observation;
      expect(observation.subject).toMatchObject({ type: 'Patient', identifier: { value: patientId } });
      expect(record.value).not.toMatch(/Ã|Â|\uFFFD/); // the signs of UTF-8 read as Latin-1, or of replacement
      await assertValidFhirR4(observation);
    }
    const devices = await readAll(gw.brokers, gw.topics.device, { expected: 1, timeoutMs: 15_000, where: byMessageId(controlId) });
    const located = devices.map((record) => JSON.parse(record.value) as Device).find((device) => device.location !== undefined);
    expect(located?.location?.display).toContain('Intensivstation Süd');
  });

  it.each([
    ['invalid UTF-8 (Latin-1 bytes) under MSH-18 UNICODE UTF-8', 'UNICODE UTF-8', 'latin1' as const],
    ['UTF-8 bytes under an empty MSH-18 (HL7 v2.5.1 2.15.9.18: ASCII)', '', 'utf8' as const],
    ['Latin-1 bytes under MSH-18 ASCII', 'ASCII', 'latin1' as const],
  ])('answers %s with CE undecodable_bytes, dead-letters the exact bytes and publishes no record', async (_name, charset, encoding) => {
    const controlId = `UNDECODABLE-${charset.replace(/\W/g, '') || 'EMPTY'}-${encoding}`;
    const bytes = Buffer.from(messageWithCharset({ controlId, charset, patientId, location }), encoding);
    const ack = await send(bytes);
    expect(ack.code).toBe('CE');
    expect(ack.ackedControlId).toBe(controlId);
    expect(ack.errors[0]).toMatchObject({ applicationCode: 'undecodable_bytes', location: 'MSH^1^18' });
    const letters = await readAll(gw.brokers, gw.topics.deadLetter, { expected: 1, timeoutMs: 15_000, where: byMessageId(controlId) });
    expect(letters).toHaveLength(1);
    expect(letters[0]!.headers['error-code']).toBe('undecodable_bytes');
    expect(rawOf(letters[0]!).equals(bytes)).toBe(true);
    // The CE came after Kafka held the dead letter, so a record would be there by now: there is none.
    const observations = await readAll(gw.brokers, gw.topics.observation, { expected: 1, timeoutMs: 3_000, where: byMessageId(controlId) });
    expect(observations).toEqual([]);
    // The patient id is not in the gateway's logs (the reason names offsets, never the bytes).
    expect(gw.logLines.join('\n')).not.toContain('LLER-');
  });
});

describe('mutated messages through the real gateway', () => {
  it('answers every one of 40 mutated fixture messages, dead-letters every NAKed one with its raw bytes, and keeps serving the connection', async () => {
    const seeds = fixtureSeeds('hl7v2-pcd').map(({ name, bytes }) => ({ name, bytes }));
    const samples = fc
      .sample(mutatedInputArbitrary(seeds, { specialBytes: [0x7c, 0x5e, 0x0d, 0xc3, 0xe9, 0x5c], maxSeeds: 1, maxMutations: 3 }), { seed: 5, numRuns: 400 })
      .map((sample) => sample.bytes)
      // Distinct messages, so each dead letter found on Kafka answers for exactly one of them.
      .filter((bytes, index, all) => all.findIndex((other) => other.equals(bytes)) === index)
      // Framing bytes would cut the frame (the framer's own fuzz target covers that); MSH-15 NE/ER/SU may ask for no reply.
      .filter((bytes) => !bytes.includes(0x0b) && !bytes.includes(0x1c))
      .filter((bytes) => {
        const header = readMessageHeader(bytes);
        return shouldSendAcknowledgement(header, 'accepted') && shouldSendAcknowledgement(header, 'error');
      })
      .slice(0, 40);
    expect(samples).toHaveLength(40);

    const naked: Buffer[] = [];
    const codes = new Map<string, number>();
    for (const bytes of samples) {
      const ack = await send(bytes);
      codes.set(ack.code, (codes.get(ack.code) ?? 0) + 1);
      if (ack.code === 'AA' || ack.code === 'CA') continue;
      expect(['AE', 'CE', 'AR', 'CR']).toContain(ack.code);
      expect(ack.errors[0]?.applicationCode).toBeTruthy();
      naked.push(bytes);
    }
    console.log(`mutated messages over MLLP: ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(naked.length).toBeGreaterThan(0);

    const wanted = new Set(naked.map((bytes) => bytes.toString('base64')));
    const letters = await readAll(gw.brokers, gw.topics.deadLetter, {
      expected: wanted.size,
      timeoutMs: 20_000,
      where: (record) => record.headers['content-type']?.includes('deadletter') === true && wanted.has(rawOf(record).toString('base64')),
    });
    const found = new Set(letters.map((record) => rawOf(record).toString('base64')));
    const missing = [...wanted].filter((raw) => !found.has(raw));
    expect(missing).toEqual([]);

    expect((await send(Buffer.from(pcd01Message({ controlId: 'AFTER-MUTANTS-1' })))).code).toBe('CA');
  }, 120_000);
});

/**
 * End to end over real parts: a real MLLP connection into the real gateway, a real Kafka broker
 * (started by test/support/global-setup.ts), and a Kafka consumer reading back what was published.
 * Every resource read back is checked by our schemas and by an independent full-spec validator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { encodeMllpFrame } from '../../src/transports/mllp/framer.ts';
import { validateResource } from '../../src/validation/validate-resource.ts';
import type { FhirResource, Observation } from '../../schemas/fhir.ts';
import { assertValidFhirR4 } from '../support/fhir-validator.ts';
import { rawMllpConnection, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';

// Both ways the pipeline runs: on a worker thread (the default) and on the main thread (workerThreads 0).
describe.each([
  { workerThreads: 1, where: 'on a pipeline worker thread' },
  { workerThreads: 0, where: 'on the main thread' },
])('pipeline $where (mllp.workerThreads $workerThreads)', ({ workerThreads }) => {
  let gw: TestGateway;
  let client: MllpClient;

  beforeAll(async () => {
    gw = await startTestGateway({ brokers: kafkaBrokers(), config: { mllp: { workerThreads } } });
    client = new MllpClient();
    await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
  });

  afterAll(async () => {
    await client?.close();
    await gw?.stop();
  });

  async function send(message: string) {
    const reply = await client.send(message, { timeoutMs: 20_000 });
    const ack = readAcknowledgement(reply);
    if (ack === undefined) throw new Error(`not an ACK: ${reply.toString('utf8')}`);
    return ack;
  }

  /** Reads the records made from one message (by MSH-10) and parses their FHIR values. */
  async function recordsOf(topic: string, messageId: string, expected: number) {
    const records = await readAll(gw.brokers, topic, {
      expected,
      timeoutMs: 15_000,
      where: (record) => record.headers['source-message-id'] === messageId,
    });
    return records.map((record) => ({ record, resource: JSON.parse(record.value) as FhirResource }));
  }

  describe('PCD-01 ORU^R01 over MLLP to FHIR on Kafka', () => {
    it('sends CA only once Kafka holds every resource of the message, all valid FHIR with the contract headers', async () => {
      const ack = await send(pcd01Message({ controlId: 'E2E-ACCEPT-1' }));
      expect(ack.code).toBe('CA');
      expect(ack.ackedControlId).toBe('E2E-ACCEPT-1');
      expect(ack.messageType).toBe('ACK^R01^ACK');

      // The ACK came back, so the records must already be readable: no waiting for them to "arrive".
      const observations = await recordsOf(gw.topics.observation, 'E2E-ACCEPT-1', 3);
      const devices = await recordsOf(gw.topics.device, 'E2E-ACCEPT-1', 1);
      expect(observations).toHaveLength(3); // SpO2, pulse rate, one NIBP panel
      expect(devices.length).toBeGreaterThanOrEqual(1);

      const traceIds = new Set([...observations, ...devices].map(({ record }) => record.headers['trace-id']));
      expect(traceIds.size).toBe(1);
      for (const { record, resource } of [...observations, ...devices]) {
        expect(record.headers['content-type']).toBe('application/fhir+json; fhirVersion=4.0');
        expect(record.headers['source-adapter']).toBe('hl7v2-pcd');
        expect(record.key).toBe(devices.find(({ resource: d }) => d.resourceType === 'Device' && d.parent === undefined)?.record.key);
        expect(() => validateResource(resource)).not.toThrow();
        await assertValidFhirR4(resource);
      }

      const mds = devices.map(({ resource }) => resource).find((d) => d.resourceType === 'Device' && d.parent === undefined);
      expect(mds?.resourceType === 'Device' && mds.identifier).toEqual(
        expect.arrayContaining([expect.objectContaining({ system: 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680', value: '0012340000ABCDEF' })]),
      );

      const byMdc = (code: string) =>
        observations.map(({ resource }) => resource as Observation).find((o) => o.code.coding.some((c) => c.code === code));
      const spo2 = byMdc('150456');
      expect(spo2?.code.coding).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ system: 'urn:iso:std:iso:11073:10101', code: '150456' }),
          expect.objectContaining({ system: 'http://loinc.org', code: '59408-5' }),
        ]),
      );
      expect(spo2?.valueQuantity).toEqual({ value: 97, unit: expect.any(String), system: 'http://unitsofmeasure.org', code: '%' });
      expect(spo2?.effectiveDateTime).toBe('2024-05-01T12:30:00+02:00');
      expect(spo2?.subject?.identifier?.value).toBe('MRN12345');
      expect(spo2?.device.reference).toMatch(/^Device\//);

      const panel = byMdc('150020');
      expect(panel?.code.coding).toEqual(expect.arrayContaining([expect.objectContaining({ system: 'http://loinc.org', code: '85354-9' })]));
      expect(panel?.component?.map((c) => c.valueQuantity?.value)).toEqual([120, 80, 93]);
    });

    it('answers original mode (no MSH-15/16) with AA', async () => {
      const ack = await send(pcd01Message({ controlId: 'E2E-ORIGINAL-1', mode: 'original' }));
      expect(ack.code).toBe('AA');
      expect(ack.ackedControlId).toBe('E2E-ORIGINAL-1');
    });

    it('gives a resent message identical resource ids, so consumers can de-duplicate', async () => {
      const message = pcd01Message({ controlId: 'E2E-RESEND-1', spo2: '95', time: '20240501124000+0200' });
      expect((await send(message)).code).toBe('CA');
      expect((await send(message)).code).toBe('CA');
      const records = await recordsOf(gw.topics.observation, 'E2E-RESEND-1', 6);
      expect(records).toHaveLength(6);
      const ids = records.map(({ resource }) => resource.id);
      expect(new Set(ids).size).toBe(3);
    });

    it('NAKs a frame that is not HL7 with AE and an ERR, and dead-letters the raw bytes', async () => {
      const garbage = 'THIS IS NOT HL7\rPID|||SECRET-ID\r';
      const ack = await send(garbage);
      expect(ack.code).toBe('AE');
      expect(ack.errors[0]?.applicationCode).toBe('hl7_missing_msh');
      expect(ack.errors[0]?.hl7Code).toBe('100');
      const deadLetters = await readAll(gw.brokers, gw.topics.deadLetter, {
        expected: 1,
        timeoutMs: 15_000,
        where: (record) => Buffer.from(JSON.parse(record.value).raw.data, 'base64').toString('utf8') === garbage,
      });
      expect(deadLetters).toHaveLength(1);
      const letter = deadLetters.map((r) => ({ record: r, value: JSON.parse(r.value) }))[0];
      expect(letter?.record.headers['error-code']).toBe('hl7_missing_msh');
      expect(letter?.value.error).toMatchObject({ code: 'hl7_missing_msh', stage: 'parse', retryable: false });
      expect(letter?.value.outcome.resourceType).toBe('OperationOutcome');
      await assertValidFhirR4(letter?.value.outcome);
    });

    it('rejects an unsupported message type with AR (HL7: do not process) and dead-letters it', async () => {
      const ack = await send(pcd01Message({ controlId: 'E2E-ADT-1', mode: 'original', messageType: 'ADT^A01^ADT_A01' }));
      expect(ack.code).toBe('AR');
      expect(ack.errors[0]?.applicationCode).toBe('hl7_unsupported_message_type');
      const letters = await readAll(gw.brokers, gw.topics.deadLetter, {
        expected: 1,
        timeoutMs: 15_000,
        where: (record) => record.headers['source-message-id'] === 'E2E-ADT-1',
      });
      expect(letters).toHaveLength(1);
    });

    it('answers a bad numeric value with AE naming the OBX, and the listener keeps serving', async () => {
      const bad = pcd01Message({ controlId: 'E2E-BADNUM-1', spo2: '9x7' });
      const ack = await send(bad);
      expect(ack.code).toBe('CE');
      expect(ack.errors[0]?.applicationCode).toBe('invalid_numeric_value');
      expect(ack.errors[0]?.location).toMatch(/^OBX\^2\^5/);
      expect((await send(pcd01Message({ controlId: 'E2E-AFTER-BAD-1' }))).code).toBe('CA');
    });

    it('handles frames split across TCP reads, several frames in one read, and bytes outside frames', async () => {
      const connection = await rawMllpConnection(gw.gateway.mllp.port);
      try {
        const first = encodeMllpFrame(pcd01Message({ controlId: 'E2E-SPLIT-1' }));
        for (let offset = 0; offset < first.length; offset += 7) {
          await connection.write(first.subarray(offset, offset + 7));
        }
        expect(readAcknowledgement(await connection.nextReply())?.ackedControlId).toBe('E2E-SPLIT-1');

        const coalesced = Buffer.concat([
          Buffer.from('noise before the frame\r\n'),
          encodeMllpFrame(pcd01Message({ controlId: 'E2E-COALESCED-1' })),
          encodeMllpFrame(pcd01Message({ controlId: 'E2E-COALESCED-2' })),
        ]);
        await connection.write(coalesced);
        const replies = [await connection.nextReply(), await connection.nextReply()].map((r) => readAcknowledgement(r));
        expect(replies.map((r) => `${r?.code} ${r?.ackedControlId}`)).toEqual(['CA E2E-COALESCED-1', 'CA E2E-COALESCED-2']);
      } finally {
        connection.close();
      }
    });

    it('refuses a frame over mllp.maxFrameBytes with a NAK and keeps the connection working', async () => {
      const connection = await rawMllpConnection(gw.gateway.mllp.port);
      try {
        const huge = pcd01Message({ controlId: 'E2E-HUGE-1' }) + `NTE|1||${'x'.repeat(gw.config.mllp.maxFrameBytes)}\r`;
        await connection.write(encodeMllpFrame(huge));
        const nak = readAcknowledgement(await connection.nextReply());
        expect(nak?.code).toBe('CE');
        expect(nak?.ackedControlId).toBe('E2E-HUGE-1');
        expect(nak?.errors[0]?.applicationCode).toBe('mllp_frame_too_large');

        await connection.write(encodeMllpFrame(pcd01Message({ controlId: 'E2E-AFTER-HUGE-1' })));
        expect(readAcknowledgement(await connection.nextReply())?.code).toBe('CA');
      } finally {
        connection.close();
      }
    });

    it('never acknowledges an ACK', async () => {
      const connection = await rawMllpConnection(gw.gateway.mllp.port);
      try {
        await connection.write(encodeMllpFrame('MSH|^~\\&|OTHER|FAC|VITALBRIDGE||20240501120000||ACK^R01^ACK|A1|P|2.6\rMSA|AA|X1\r'));
        await connection.write(encodeMllpFrame(pcd01Message({ controlId: 'E2E-AFTER-ACK-1' })));
        // The reply to the ORU is the first reply on the connection: the ACK got none.
        expect(readAcknowledgement(await connection.nextReply())?.ackedControlId).toBe('E2E-AFTER-ACK-1');
      } finally {
        connection.close();
      }
    });

    it('serves many concurrent connections, each in order', async () => {
      const senders = await Promise.all(
        Array.from({ length: 12 }, async (_, index) => {
          const sender = new MllpClient();
          await sender.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
          const acked: string[] = [];
          for (let n = 0; n < 5; n += 1) {
            const reply = await sender.send(pcd01Message({ controlId: `E2E-C${index}-${n}`, eui64: `00123400000000${index.toString(16).padStart(2, '0').toUpperCase()}` }), { timeoutMs: 20_000 });
            acked.push(`${readAcknowledgement(reply)?.code} ${readAcknowledgement(reply)?.ackedControlId}`);
          }
          await sender.close();
          return { index, acked };
        }),
      );
      for (const { index, acked } of senders) {
        expect(acked).toEqual(Array.from({ length: 5 }, (_, n) => `CA E2E-C${index}-${n}`));
      }
    });

    it('reports ready on /readyz and alive on /healthz, and counts ACKs in /metrics', async () => {
      const base = `http://127.0.0.1:${gw.gateway.http.port}`;
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { mllp: 'up', kafka: 'connected' } });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/vitalbridge_acks_total\{code="CA"\} [1-9]/);
      expect(metrics).toMatch(/vitalbridge_dead_letters_total\{stage="parse",code="hl7_missing_msh"\} 1/);
      // What the activity tracker learns from each message, wherever the pipeline ran.
      expect(metrics).toMatch(/vitalbridge_observations_published_total\{adapter="hl7v2-pcd"\} [1-9]/);
      expect(metrics).toMatch(/vitalbridge_resources_published_total\{resource_type="Device"\} [1-9]/);
      const started = gw.logLines.filter((line) => line.includes('"pipeline_workers_started"'));
      expect(started.map((line) => (JSON.parse(line) as { threads: number }).threads)).toEqual(workerThreads === 0 ? [] : [workerThreads]);
    });

    it('never writes patient identifiers or names to the log', () => {
      const log = gw.logLines.join('');
      expect(gw.logLines.length).toBeGreaterThan(10);
      for (const secret of ['MRN12345', 'SECRET-ID', 'DOE', 'JANE']) expect(log).not.toContain(secret);
    });
  });
});

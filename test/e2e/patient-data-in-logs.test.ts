/**
 * Patient identifiers and names never reach the gateway's log. One real gateway (real MLLP socket,
 * real broker, a real serial port on a socat pty pair) is driven through every path that carries
 * patient data: an accepted PCD-01 message, messages that end as dead letters (AE) and as rejections
 * (AR), a non-HL7 frame, a serial device with a configured patient binding sending good, malformed
 * and garbage lines — with the patient data planted in the fields whose errors are reported (unit,
 * value, message type, garbage bytes). The records prove the data went through; then every log line
 * (debug level, so nothing is filtered out) is searched for every identifier and name sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { startPtyPair, type PtyPair } from '../support/socat.ts';
import { waitFor } from '../support/wait-for.ts';

/** Distinctive enough that a hit can only be a leak of what the test sent. */
const patient = {
  mllpId: 'MRNQX48213',
  deadLetterId: 'MRNQX59324',
  rejectedId: 'MRNQX60435',
  family: 'ZWICKELBERGER',
  given: 'HILDEGARD',
  serialId: 'MRNQX71546',
  serialSystem: 'urn:oid:1.2.3.4.5.99',
};
const secrets = [patient.mllpId, patient.deadLetterId, patient.rejectedId, patient.family, patient.given, patient.serialId];

const dir = mkdtempSync(join(tmpdir(), 'vb-phi-logs-'));
let pty: PtyPair;
let device: FileHandle;
let gw: TestGateway;
let client: MllpClient;

beforeAll(async () => {
  pty = await startPtyPair(join(dir, 'gateway'), join(dir, 'device'));
  device = await open(pty.devicePath, 'w');
  gw = await startTestGateway({
    brokers: kafkaBrokers(),
    logLevel: 'debug',
    config: {
      devices: [
        {
          id: 'bed7-spo2',
          adapter: 'masimo-ascii',
          transport: { kind: 'serial', path: pty.gatewayPath },
          patient: { identifier: patient.serialId, system: patient.serialSystem },
          location: 'ICU West, bed 7',
        },
      ],
    },
  });
  client = new MllpClient();
  await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
});

afterAll(async () => {
  await client?.close();
  await gw?.stop();
  await device?.close();
  await pty?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A PCD-01 message about our patient, with `edit` applied to plant data in other fields. */
function message(controlId: string, patientId: string, edit: (text: string) => string = (text) => text): string {
  return edit(pcd01Message({ controlId, patientId }).replace('DOE^JANE', `${patient.family}^${patient.given}`));
}

async function send(text: string) {
  const ack = readAcknowledgement(await client.send(text, { timeoutMs: 20_000 }));
  if (ack === undefined) throw new Error('the reply is not an ACK');
  return ack;
}

/** waitFor, with the last log lines in its error. */
async function waitForLogged(what: string, condition: () => boolean): Promise<void> {
  try {
    await waitFor(what, condition, 20_000, 100);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last log lines:\n${gw.logLines.slice(-8).join('')}`, { cause: error });
  }
}

const logged = (event: string) => gw.logLines.some((line) => line.includes(`"event":"${event}"`));

describe('patient data never appears in the log', () => {
  it('MLLP: accepted (CA, on Kafka with the patient as subject)', async () => {
    expect((await send(message('PHI-ACCEPT-1', patient.mllpId))).code).toBe('CA');
    const records = await readAll(gw.brokers, gw.topics.observation, {
      expected: 3,
      timeoutMs: 15_000,
      where: (record) => record.headers['source-message-id'] === 'PHI-ACCEPT-1',
    });
    expect(records.map((record) => JSON.parse(record.value).subject?.identifier?.value)).toEqual([patient.mllpId, patient.mllpId, patient.mllpId]);
  });

  it('MLLP: dead letters (AE) with the patient identifier as the unit and the patient name as the value', async () => {
    const badUnit = await send(message('PHI-DEAD-1', patient.deadLetterId, (text) => text.replace('262688^MDC_DIM_PERCENT^MDC', `${patient.deadLetterId}^${patient.family}^L`)));
    expect(badUnit.code).toBe('CE');
    expect(badUnit.errors[0]?.applicationCode).toBe('unknown_unit');
    const badValue = await send(message('PHI-DEAD-2', patient.deadLetterId, (text) => text.replace('|1.1.1.2|72|', `|1.1.1.2|${patient.given}|`)));
    expect(badValue.code).toBe('CE');
    expect(badValue.errors[0]?.applicationCode).toBe('invalid_numeric_value');
    const deadLetters = await readAll(gw.brokers, gw.topics.deadLetter, {
      expected: 2,
      timeoutMs: 15_000,
      where: (record) => /^PHI-DEAD-/.test(JSON.parse(record.value).source?.messageId ?? ''),
    });
    expect(deadLetters).toHaveLength(2);
  });

  it('MLLP: rejections (CR/AR) and a non-HL7 frame, each carrying patient data', async () => {
    // A three-letter name fits the shape of a message code, the one kind of value details may quote.
    const wrongType = await send(message('PHI-REJECT-1', patient.rejectedId, (text) => text.replace('ORU^R01^ORU_R01', `${patient.family}^${patient.given}`)));
    expect(wrongType.code).toBe('CR');
    expect(wrongType.errors[0]?.applicationCode).toBe('hl7_unsupported_message_type');
    const notHl7 = await send(`PID|||${patient.rejectedId}||${patient.family}^${patient.given}\r`);
    expect(notHl7.code).toBe('AE');
    expect(notHl7.errors[0]?.applicationCode).toBe('hl7_missing_msh');
  });

  it('serial device with a patient binding: good, malformed and garbage lines', async () => {
    await waitForLogged('the serial device connecting', () => logged('device_connected'));
    const lines = [
      '12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=072 PI=02.00% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=--- ALARM=0000 EXC=000000',
      // Framed as a record line, but a bit field holds the patient identifier: a dead letter.
      `12/01/05 11:56:30 SN=0123456789 SPO2=097% BPM=071 ALARM=${patient.serialId} EXC=000000`,
      // Not a record at all, full of patient data: discarded or dead-lettered.
      `${patient.serialId} ${patient.family} ${patient.given}`,
    ];
    await device.write(`${lines.join('\r\n')}\r\n`);
    const observations = await readAll(gw.brokers, gw.topics.observation, {
      expected: 1,
      timeoutMs: 20_000,
      where: (record) => record.key === 'serial:0123456789' && JSON.parse(record.value).subject?.identifier?.value === patient.serialId,
    });
    expect(observations.length).toBeGreaterThanOrEqual(1);
    await waitForLogged('both bad lines being reported', () => gw.logLines.filter((line) => /"event":"device_(frame_dead_lettered|bytes_discarded)"/.test(line)).length >= 2);
  }, 60_000);

  it('no log line holds any identifier or name sent, nor the serial binding', () => {
    const log = gw.logLines.join('');
    // The log did record each path, so an empty or filtered log cannot pass.
    for (const event of ['mllp_listening', 'message_dead_lettered', 'device_connected', 'device_frame_dead_lettered']) expect(log).toContain(`"event":"${event}"`);
    for (const secret of secrets) expect(log, `the log holds ${secret}`).not.toContain(secret);
    expect(log).not.toContain(patient.serialSystem);
  });
});

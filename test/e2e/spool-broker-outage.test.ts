/**
 * Store-and-forward with delivery.ack: spool and the real broker stopped: senders keep getting
 * positive ACKs (CA) while Kafka is down, /readyz stays ready (it follows the spool), and once the
 * broker is back every acknowledged message is on Kafka, in the order it was acknowledged.
 * Uses a broker of its own, since it stops it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { startLocalKafka, type LocalKafka } from '../../src/kafka-local/local-kafka.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { observationTime, readDelivered } from '../support/delivery-check.ts';
import { waitFor } from '../support/wait-for.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { pcd01Message } from '../support/messages.ts';
import { readAll } from '../support/kafka.ts';
import { testLineAdapter } from '../support/test-line-adapter.ts';
import { freePort } from '../../src/transports/free-port.ts';

let broker: LocalKafka;
let gw: TestGateway;
let client: MllpClient;
let spoolDir: string;

beforeAll(async () => {
  spoolDir = await mkdtemp(join(tmpdir(), 'vitalbridge-spool-e2e-'));
  broker = await startLocalKafka();
  gw = await startTestGateway({
    brokers: broker.brokers,
    config: {
      kafka: { publishTimeoutMs: 3_000 },
      delivery: { ack: 'spool', spool: { dir: spoolDir, retryMaxDelayMs: 1_000 } },
    },
  });
  client = new MllpClient();
  await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
}, 240_000);

afterAll(async () => {
  await client?.close();
  await gw?.stop();
  await broker?.stop();
  if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
}, 60_000);

let sent = 0;
async function sendCode(controlId: string): Promise<string | undefined> {
  // Each message a new observation time, so each has resource ids of its own.
  const reply = await client.send(pcd01Message({ controlId, time: observationTime(sent++) }), { timeoutMs: 30_000 });
  return readAcknowledgement(reply)?.code;
}

interface ReadyBody {
  status: string;
  checks: { mllp: string; kafka: string; spool?: string };
  spool?: { pendingRecords: number; bytes: number };
}

async function ready(): Promise<{ status: number; body: ReadyBody }> {
  const response = await fetch(`http://127.0.0.1:${gw.gateway.http.port}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyBody };
}

describe('delivery.ack: spool through a Kafka outage', () => {
  it('acknowledges (CA) while the broker is down, then delivers every acknowledged message in order once it is back', async () => {
    const acknowledged: string[] = [];
    const send = async (controlId: string) => {
      const code = await sendCode(controlId);
      expect(code, controlId).toBe('CA');
      acknowledged.push(controlId);
    };
    for (let index = 0; index < 5; index += 1) await send(`SPOOL-UP-${index}`);

    await broker.stop();
    for (let index = 0; index < 20; index += 1) await send(`SPOOL-DOWN-${index}`);
    const during = await ready();
    expect(during.status).toBe(200);
    expect(during.body.checks).toMatchObject({ mllp: 'up', spool: 'writable' });
    expect(during.body.spool?.pendingRecords).toBeGreaterThan(0);

    await broker.restart();
    for (let index = 0; index < 5; index += 1) await send(`SPOOL-AFTER-${index}`);
    await waitFor('the spool to drain to Kafka once the broker is back', async () => (await ready()).body.spool?.pendingRecords === 0, 60_000);

    const { records, report } = await readDelivered(gw.brokers, gw.topics.observation, { acknowledged, recordsPerMessage: 3, timeoutMs: 20_000 });
    // Every acknowledged message is there, in acknowledgement order (one partition: harness topics have one).
    expect(report.messageOrder).toEqual(acknowledged);
    expect(report.conflictingDuplicates).toBe(0);
    process.stderr.write(`[spool-broker-outage] ${acknowledged.length} messages acknowledged, ${records.length} observation records, ${report.duplicates.length} duplicates\n`);
    // Three observations per message (SpO2, pulse rate, NIBP panel), plus any identical duplicates.
    expect(records.length - report.duplicates.length).toBe(acknowledged.length * 3);
  }, 120_000);

  it('when the spool is full, messages get CR (spool_full) and /readyz 503; after Kafka is back they are accepted again and nothing acknowledged is lost', async () => {
    const smallDir = await mkdtemp(join(tmpdir(), 'vitalbridge-spool-full-'));
    const small = await startTestGateway({
      brokers: broker.brokers,
      config: {
        kafka: { publishTimeoutMs: 1_500 },
        delivery: { ack: 'spool', spool: { dir: smallDir, maxBytes: 64 * 1024, segmentBytes: 8 * 1024, retryMaxDelayMs: 1_000 } },
      },
    });
    const sender = new MllpClient();
    try {
      await sender.connect('127.0.0.1', small.gateway.mllp.port, { timeoutMs: 5_000 });
      const acknowledged: string[] = [];
      const sendOne = async (controlId: string) => {
        const reply = readAcknowledgement(await sender.send(pcd01Message({ controlId, time: observationTime(sent++) }), { timeoutMs: 30_000 }));
        if (reply?.code === 'CA') acknowledged.push(controlId);
        return reply;
      };

      await broker.stop();
      let refused: ReturnType<typeof readAcknowledgement>;
      for (let index = 0; index < 200 && refused === undefined; index += 1) {
        const reply = await sendOne(`FULL-${index}`);
        if (reply?.code !== 'CA') refused = reply;
      }
      // The spool (64 KiB) held a few messages, then pushed back: a reject, never a silent drop.
      expect(acknowledged.length).toBeGreaterThan(2);
      expect(refused?.code).toBe('CR');
      expect(refused?.errors[0]?.applicationCode).toBe('spool_full');
      const whileFull = await fetch(`http://127.0.0.1:${small.gateway.http.port}/readyz`);
      expect(whileFull.status).toBe(503);
      expect(((await whileFull.json()) as ReadyBody).checks.spool).toBe('full');

      await broker.restart();
      // Once the drainer has freed space the sender's retry is accepted.
      let accepted = false;
      for (let attempt = 0; attempt < 30 && !accepted; attempt += 1) accepted = (await sendOne(`FULL-RETRY-${attempt}`))?.code === 'CA';
      expect(accepted).toBe(true);
      const { report } = await readDelivered(small.brokers, small.topics.observation, { acknowledged, recordsPerMessage: 3, timeoutMs: 30_000 });
      expect(report.messageOrder.filter((id) => acknowledged.includes(id))).toEqual(acknowledged);
    } finally {
      await sender.close();
      await small.stop();
      await rm(smallDir, { recursive: true, force: true });
    }
  }, 150_000);

  it('serial devices go through the same spool: readings that arrive while the broker is down are held on disk, not in memory, and reach Kafka after it is back', async () => {
    const serialDir = await mkdtemp(join(tmpdir(), 'vitalbridge-spool-serial-'));
    const devicePort = await freePort();
    const serial = await startTestGateway({
      brokers: broker.brokers,
      extraAdapters: [testLineAdapter],
      config: {
        kafka: { publishTimeoutMs: 1_500 },
        delivery: { ack: 'spool', spool: { dir: serialDir, retryMaxDelayMs: 1_000 } },
        devices: [{ id: 'bed9-line', adapter: 'test-line', transport: { kind: 'tcp-server', host: '127.0.0.1', port: devicePort } }],
      },
    });
    // The device side: a TCP connection into the gateway's tcp-server transport.
    const device = connect({ host: '127.0.0.1', port: devicePort });
    try {
      await new Promise<void>((resolve, reject) => {
        device.once('connect', resolve);
        device.once('error', reject);
      });
      await broker.stop();
      const readings = 8;
      for (let index = 0; index < readings; index += 1) {
        device.write(`V|LINE-SPOOL-1|${90 + index}|7${index}\n`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await waitFor('every reading in the spool and none waiting in the device queue', async () => {
        const state = serial.gateway.deviceStates()[0];
        const body = (await (await fetch(`http://127.0.0.1:${serial.gateway.http.port}/readyz`)).json()) as ReadyBody;
        return state?.pendingMessages === 0 && (body.spool?.pendingRecords ?? 0) >= readings * 2;
      }, 20_000);

      await broker.restart();
      await waitFor(
        'the spool to drain to Kafka',
        async () => ((await (await fetch(`http://127.0.0.1:${serial.gateway.http.port}/readyz`)).json()) as ReadyBody).spool?.pendingRecords === 0,
        60_000,
      );
      // A send that timed out while the broker came back may have landed and been sent again:
      // such duplicates carry the same id and bytes (README, Delivery guarantees), so read distinct ids.
      const firstValueById = new Map<string, string>();
      const differingDuplicates: string[] = [];
      const observations = await readAll(serial.brokers, serial.topics.observation, {
        expected: readings * 2,
        timeoutMs: 20_000,
        where: (record) => {
          const id = (JSON.parse(record.value) as { id?: string }).id ?? `${record.partition}:${record.offset}`;
          const first = firstValueById.get(id);
          if (first === undefined) {
            firstValueById.set(id, record.value);
            return true;
          }
          if (first !== record.value) differingDuplicates.push(id);
          return false;
        },
      });
      expect(differingDuplicates).toEqual([]);
      const spo2 = observations
        .map((record) => JSON.parse(record.value) as { code?: { coding?: { code?: string }[] }; valueQuantity?: { value?: number } })
        .filter((resource) => resource.code?.coding?.some((coding) => coding.code === '150456'))
        .map((resource) => resource.valueQuantity?.value);
      // Every reading, in the order the device sent them.
      expect(spo2).toEqual(Array.from({ length: readings }, (_, index) => 90 + index));
    } finally {
      device.destroy();
      await serial.stop();
      await rm(serialDir, { recursive: true, force: true });
    }
  }, 150_000);
});

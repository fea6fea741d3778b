/**
 * Presence of an MLLP device end to end: the real gateway (presence limits of 2 s and 4 s) and the
 * real broker. One PCD-01 message connects the device; silence makes it stale, then offline
 * (`device.disconnected`) on gateway.events, with an inactive Device update on fhir.device that has
 * the adapter's Device id; a second message recovers it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import type { Device } from '../../schemas/fhir.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll, type KafkaRecord } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';

const eui64 = '00123400005E5E01';
let gw: TestGateway;
let client: MllpClient;

beforeAll(async () => {
  gw = await startTestGateway({ brokers: kafkaBrokers(), config: { presence: { staleAfterSeconds: 2, offlineAfterSeconds: 4 } } });
  client = new MllpClient();
  await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
});

afterAll(async () => {
  await client?.close();
  await gw?.stop();
});

async function send(controlId: string) {
  const ack = readAcknowledgement(await client.send(pcd01Message({ controlId, eui64 }), { timeoutMs: 10_000 }));
  expect(ack?.code).toBe('CA');
}

interface Event {
  type: string;
  deviceId: string;
  adapter: string;
  at: string;
  detail: string;
  previous: string;
}

const ofDevice = (record: KafkaRecord) => (JSON.parse(record.value) as Event).deviceId === eui64;

describe('MLLP device presence on gateway.events and fhir.device', () => {
  it('connected -> stale -> disconnected (offline) -> recovered, with Device status updates', { timeout: 40_000 }, async () => {
    const started = Date.now();
    await send('PRESENCE-1');

    const silent = await readAll(gw.brokers, gw.topics.events, { expected: 3, timeoutMs: 15_000, where: ofDevice });
    const events = silent.map((record) => JSON.parse(record.value) as Event);
    expect(events.map((event) => `${event.previous}->${event.type}`)).toEqual([
      'disconnected->device.connected',
      'connected->device.stale',
      'stale->device.disconnected',
    ]);
    for (const record of silent) {
      expect(record.key).toBe(eui64);
      expect(record.headers).toMatchObject({ 'content-type': 'application/vnd.vitalbridge.event+json', 'source-adapter': 'hl7v2-pcd' });
    }
    expect(events[0]?.adapter).toBe('hl7v2-pcd');
    const staleAfter = Date.parse(events[1]!.at) - Date.parse(events[0]!.at);
    expect(staleAfter).toBeGreaterThanOrEqual(1_000);
    expect(events[1]?.detail).toMatch(/^no data for \d+ s \(limit 2 s\)$/);
    expect(events[2]?.detail).toMatch(/^no data for \d+ s \(offline limit 4 s\)$/);

    // The HTTP API judges with the same limits.
    const api = await fetch(`http://127.0.0.1:${gw.gateway.http.port}/api/devices/${eui64}`);
    expect(((await api.json()) as { state: string }).state).toBe('offline');

    // fhir.device: the adapter's MDS Device (active), then the same Device, same id and key, inactive.
    const devices = await readAll(gw.brokers, gw.topics.device, {
      expected: 2,
      timeoutMs: 10_000,
      where: (record) => record.key === eui64 && (JSON.parse(record.value) as Device).parent === undefined,
    });
    const [adapterDevice, update] = devices.map((record) => JSON.parse(record.value) as Device);
    expect(adapterDevice?.status).toBe('active');
    expect(update).toEqual({ ...adapterDevice, status: 'inactive' });

    await send('PRESENCE-2');
    const all = await readAll(gw.brokers, gw.topics.events, { expected: 4, timeoutMs: 10_000, where: ofDevice });
    const last = JSON.parse(all.at(-1)!.value) as Event;
    expect(all).toHaveLength(4);
    expect(last).toMatchObject({ type: 'device.recovered', previous: 'disconnected', deviceId: eui64 });
    expect(Date.now() - started).toBeLessThan(35_000);
  });
});

/**
 * delivery.ack: spool and a record Kafka refuses for good. The observation topic is created with a
 * small max.message.bytes (3,000), so the drainer's batches are refused as a whole and one message's
 * Observations (a 3,500-character patient identifier in each) are refused one by one, with
 * MESSAGE_TOO_LARGE from the real broker. The drainer must neither stop there (every later record
 * still reaches Kafka) nor lose the refused ones (they are kept in the spool's quarantine/).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { waitFor } from '../support/wait-for.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { createTopicWithMaxMessageBytes, kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { gatewayTopicNames } from '../support/topics.ts';

const longPatientId = `P${'7'.repeat(3_500)}`;

async function startGatewayWithSmallObservationTopic(client: 'platformatic' | 'kafkajs'): Promise<{ gw: TestGateway; spoolDir: string; topics: Record<'observation' | 'device' | 'deadLetter' | 'events', string> }> {
  const suffix = randomUUID().slice(0, 8);
  const topics = gatewayTopicNames(`refused.${suffix}`);
  await createTopicWithMaxMessageBytes(kafkaBrokers(), topics.observation, 3000);
  const spoolDir = await mkdtemp(join(tmpdir(), 'vitalbridge-spool-refused-'));
  const gw = await startTestGateway({
    brokers: kafkaBrokers(),
    config: { kafka: { client, topics }, delivery: { ack: 'spool', spool: { dir: spoolDir, retryMaxDelayMs: 500 } } },
  });
  return { gw, spoolDir, topics };
}

describe.each(['platformatic', 'kafkajs'] as const)('delivery.ack: spool, kafka.client %s, a record Kafka refuses for good (MESSAGE_TOO_LARGE)', (kafkaClient) => {
  let gw: TestGateway;
  let spoolDir: string;
  let topics: Awaited<ReturnType<typeof startGatewayWithSmallObservationTopic>>['topics'];

  beforeAll(async () => {
    ({ gw, spoolDir, topics } = await startGatewayWithSmallObservationTopic(kafkaClient));
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
    if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
  });

  it('sets the refused records aside in quarantine/ and drains every record after them', async () => {
    const client = new MllpClient();
    await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 10_000 });
    try {
      for (const [controlId, patientId] of [
        ['REF-BEFORE', 'MRN-BEFORE'],
        ['REF-HUGE', longPatientId],
        ['REF-AFTER', 'MRN-AFTER'],
      ] as const) {
        const reply = readAcknowledgement(await client.send(pcd01Message({ controlId, patientId }), { timeoutMs: 30_000 }));
        expect(reply?.code, controlId).toBe('CA');
      }
    } finally {
      await client.close();
    }

    // The drain went past the refused records: nothing is left pending.
    await waitFor('the spool drained past the refused records', async () => {
      const body = (await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/readyz`)).json()) as { spool?: { pendingRecords: number } };
      return body.spool?.pendingRecords === 0;
    }, 60_000);

    // Every Observation of the messages before and after is on Kafka (3 per message), none of the huge one's.
    const records = await readAll(gw.brokers, topics.observation, { expected: 6, timeoutMs: 30_000 });
    const subjects = new Set(records.map((record) => (JSON.parse(record.value) as { subject?: { identifier?: { value?: string } } }).subject?.identifier?.value));
    expect(subjects).toEqual(new Set(['MRN-BEFORE', 'MRN-AFTER']));
    expect(records).toHaveLength(6);

    // The huge message's three Observations are kept, whole, in the spool's quarantine.
    const quarantine = join(spoolDir, 'quarantine');
    const files = (await readdir(quarantine)).filter((name) => /^refused-\d{20}\.json$/.test(name));
    expect(files).toHaveLength(3);
    for (const name of files) {
      const kept = JSON.parse(await readFile(join(quarantine, name), 'utf8')) as { reason: { code: string }; record: { topic: string; value: string } };
      expect(kept.reason.code).toBe('publish_refused');
      expect(kept.record.topic).toBe(topics.observation);
      expect(kept.record.value).toContain(longPatientId);
    }

    // Said with a code, counted, and without the patient identifier in the log.
    const setAside = gw.logLines.filter((line) => line.includes('"spool_record_set_aside"'));
    expect(setAside).toHaveLength(3);
    for (const line of setAside) expect(line).toContain('"code":"publish_refused"');
    expect(gw.logLines.some((line) => line.includes(longPatientId.slice(0, 200)))).toBe(false);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
    expect(metrics).toMatch(/^vitalbridge_spool_records_set_aside_total 3$/m);
  }, 120_000);
});

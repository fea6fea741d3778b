/**
 * Nothing is acknowledged that is not in Kafka: with the broker stopped, a message gets no positive
 * ACK (CR: resend later) and /readyz turns 503; once the broker is back, messages are acknowledged
 * again. Uses a broker of its own, since it stops it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { startLocalKafka, type LocalKafka } from '../../src/kafka-local/local-kafka.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';

let broker: LocalKafka;
let gw: TestGateway;
let client: MllpClient;

beforeAll(async () => {
  broker = await startLocalKafka();
  gw = await startTestGateway({ brokers: broker.brokers, config: { kafka: { publishTimeoutMs: 3_000 } } });
  client = new MllpClient();
  await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
}, 240_000);

afterAll(async () => {
  await client?.close();
  await gw?.stop();
  await broker?.stop();
}, 60_000);

async function sendCode(controlId: string): Promise<string | undefined> {
  const reply = await client.send(pcd01Message({ controlId }), { timeoutMs: 30_000 });
  return readAcknowledgement(reply)?.code;
}

async function readyStatus(): Promise<number> {
  return (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/readyz`)).status;
}

describe('Kafka outage', () => {
  it('acknowledges nothing while the broker is down, and resumes when it is back', async () => {
    expect(await sendCode('OUTAGE-BEFORE')).toBe('CA');

    await broker.stop();
    const during = await sendCode('OUTAGE-DURING');
    expect(during).toBe('CR');
    expect(await readyStatus()).toBe(503);

    await broker.restart();
    // The producer reconnects on its own; the first sends after a restart may still fail while
    // the partition leader is elected, which is a CR the sender retries, exactly like a device would.
    let after: string | undefined;
    for (let attempt = 0; attempt < 10 && after !== 'CA'; attempt += 1) after = await sendCode('OUTAGE-AFTER');
    expect(after).toBe('CA');
    expect(await readyStatus()).toBe(200);

    for (const messageId of ['OUTAGE-BEFORE', 'OUTAGE-AFTER']) {
      const records = await readAll(gw.brokers, gw.topics.observation, {
        expected: 3,
        timeoutMs: 20_000,
        where: (record) => record.headers['source-message-id'] === messageId,
      });
      expect(records.length, messageId).toBeGreaterThanOrEqual(3);
    }
  }, 240_000);
});

/**
 * kafka.lingerMs end to end (real MLLP connections, the real gateway, the real broker): a message
 * that finds no send in flight waits for other connections' messages only while a connection that
 * sent recently is free to send again (transports/mllp/sender-activity.ts). The linger is set to
 * the longest the config allows, so that waiting and not waiting are seconds apart, not milliseconds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';

const LINGER_MS = 1_000;

describe('kafka.lingerMs waits only while another sender could join', () => {
  let gw: TestGateway;
  let clients: MllpClient[] = [];

  // A gateway per test: a connection of one test would still count as a recent sender in the next.
  beforeEach(async () => {
    gw = await startTestGateway({ brokers: kafkaBrokers(), config: { kafka: { lingerMs: LINGER_MS } } });
  });
  afterEach(async () => {
    await Promise.all(clients.map((client) => client.close()));
    clients = [];
    await gw?.stop();
  });

  async function connect(): Promise<MllpClient> {
    const client = new MllpClient();
    await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
    clients.push(client);
    return client;
  }

  /** Sends one message; resolves with its ACK code and how long the ACK took. */
  async function timedSend(client: MllpClient, controlId: string, eui64: string): Promise<{ code: string | undefined; ms: number }> {
    const started = performance.now();
    const reply = await client.send(pcd01Message({ controlId, eui64 }), { timeoutMs: 20_000 });
    return { code: readAcknowledgement(reply)?.code, ms: performance.now() - started };
  }

  it('a lone sender (a central station) waiting for each ACK is answered without the linger', async () => {
    const station = await connect();
    const acks = [];
    for (let n = 0; n < 3; n += 1) acks.push(await timedSend(station, `LINGER-ALONE-${n}`, '0012340000000A01'));
    expect(acks.map((ack) => ack.code)).toEqual(['CA', 'CA', 'CA']);
    // Each well under the linger: no other sender could have joined the send.
    for (const ack of acks) expect(ack.ms).toBeLessThan(LINGER_MS / 2);
  });

  it('a message waits while another recent sender is free, and goes as soon as that sender joins', async () => {
    const first = await connect();
    const second = await connect();
    expect((await timedSend(first, 'LINGER-A-0', '0012340000000B01')).code).toBe('CA');
    // `first` sent recently and awaits nothing: the second connection's message waits for it...
    const waiting = timedSend(second, 'LINGER-B-0', '0012340000000B02');
    const joinAfterMs = 300;
    await new Promise((resolve) => setTimeout(resolve, joinAfterMs));
    // ...until `first` sends again: now every recent sender awaits its ACK, so both go at once.
    const joining = await timedSend(first, 'LINGER-A-1', '0012340000000B01');
    const waited = await waiting;
    expect([waited.code, joining.code]).toEqual(['CA', 'CA']);
    expect(waited.ms).toBeGreaterThanOrEqual(joinAfterMs);
    expect(waited.ms).toBeLessThan(LINGER_MS - 100);
    expect(joining.ms).toBeLessThan(LINGER_MS / 2);
    // Both messages' records are on Kafka (ACK-after-commit holds with the linger).
    const records = await readAll(gw.brokers, gw.topics.observation, {
      expected: 6, // three Observations per message (SpO2, pulse rate, the blood pressure panel)
      timeoutMs: 15_000,
      where: (record) => ['LINGER-B-0', 'LINGER-A-1'].includes(record.headers['source-message-id'] ?? ''),
    });
    expect(records).toHaveLength(6);
  });
});

/**
 * delivery.ack: kafka (the default) and a message whose records Kafka refuses for good. The
 * observation topic is created with max.message.bytes 6,000 and the message carries a 7,000-character
 * patient identifier in each Observation, so the real broker refuses them with MESSAGE_TOO_LARGE
 * (publish_refused). Resending cannot help, so the sender must not be told to resend (AR/CR): the raw
 * message goes to the dead-letter topic and the answer is CE with ERR-3 207. The messages before and
 * after it are delivered as usual.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { createTopicWithMaxMessageBytes, kafkaBrokers, readAll } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';
import { gatewayTopicNames } from '../support/topics.ts';

// A normal message's Observations are about 4,400 bytes as one batch; each of these is over 7,000.
const maxMessageBytes = 6_000;
const longPatientId = `P${'8'.repeat(7_000)}`;

interface DeadLetterValue {
  error: { code: string; stage: string; retryable: boolean };
  source: { messageId?: string };
  raw: { encoding: string; bytes: number; data: string };
}

describe.each(['platformatic', 'kafkajs'] as const)('delivery.ack: kafka, kafka.client %s, a message whose records Kafka refuses for good (MESSAGE_TOO_LARGE)', (kafkaClient) => {
  let gw: TestGateway;
  const suffix = randomUUID().slice(0, 8);
  const topics = gatewayTopicNames(`mllp-refused.${suffix}`);

  beforeAll(async () => {
    await createTopicWithMaxMessageBytes(kafkaBrokers(), topics.observation, maxMessageBytes);
    gw = await startTestGateway({ brokers: kafkaBrokers(), config: { kafka: { client: kafkaClient, topics } } });
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('dead-letters the refused message with its raw bytes and answers CE (ERR-3 207, publish_refused); the messages around it get CA and reach Kafka', async () => {
    const huge = pcd01Message({ controlId: 'MREF-HUGE', patientId: longPatientId });
    const client = new MllpClient();
    await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 10_000 });
    const replies = new Map<string, ReturnType<typeof readAcknowledgement>>();
    try {
      for (const [controlId, message] of [
        ['MREF-BEFORE', pcd01Message({ controlId: 'MREF-BEFORE', patientId: 'MRN-REF-BEFORE' })],
        ['MREF-HUGE', huge],
        ['MREF-AFTER', pcd01Message({ controlId: 'MREF-AFTER', patientId: 'MRN-REF-AFTER' })],
      ] as const) {
        replies.set(controlId, readAcknowledgement(await client.send(message, { timeoutMs: 30_000 })));
      }
    } finally {
      await client.close();
    }

    expect(replies.get('MREF-BEFORE')?.code).toBe('CA');
    expect(replies.get('MREF-AFTER')?.code).toBe('CA');
    const refused = replies.get('MREF-HUGE');
    expect(refused?.code, 'not CR: resending the same message cannot help').toBe('CE');
    expect(refused?.ackedControlId).toBe('MREF-HUGE');
    expect(refused?.errors).toHaveLength(1);
    expect(refused?.errors[0]).toMatchObject({ hl7Code: '207', applicationCode: 'publish_refused' });

    // The Observations of the messages before and after are on Kafka (3 per message), none of the refused one's.
    const observations = await readAll(gw.brokers, topics.observation, { expected: 6, timeoutMs: 30_000 });
    expect(observations).toHaveLength(6);
    const subjects = observations.map((record) => (JSON.parse(record.value) as { subject?: { identifier?: { value?: string } } }).subject?.identifier?.value);
    expect(new Set(subjects)).toEqual(new Set(['MRN-REF-BEFORE', 'MRN-REF-AFTER']));

    // The refused message is kept whole on the dead-letter topic, with the code.
    const deadLetters = await readAll(gw.brokers, topics.deadLetter, { expected: 1, timeoutMs: 30_000 });
    expect(deadLetters).toHaveLength(1);
    const deadLetter = deadLetters[0];
    expect(deadLetter?.headers['error-code']).toBe('publish_refused');
    expect(deadLetter?.headers['source-message-id']).toBe('MREF-HUGE');
    const value = JSON.parse(deadLetter?.value ?? '{}') as DeadLetterValue;
    expect(value.error).toMatchObject({ code: 'publish_refused', stage: 'publish', retryable: false });
    expect(value.raw.encoding).toBe('base64');
    expect(Buffer.from(value.raw.data, 'base64').equals(Buffer.from(huge, 'utf8'))).toBe(true);

    // Logged with the code, counted as a dead letter, and never with the patient identifier.
    const lines = gw.logLines.filter((line) => line.includes('"message_dead_lettered"'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"code":"publish_refused"');
    expect(gw.logLines.some((line) => line.includes(longPatientId.slice(0, 200)))).toBe(false);
    expect(gw.logLines.some((line) => line.includes('MRN-REF-'))).toBe(false);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
    expect(metrics).toMatch(/^vitalbridge_dead_letters_total\{stage="publish",code="publish_refused"\} 1$/m);
  }, 120_000);
});

describe('delivery.ack: kafka, a refused message whose dead letter Kafka refuses too', () => {
  let gw: TestGateway;
  const suffix = randomUUID().slice(0, 8);
  const topics = gatewayTopicNames(`mllp-refused-dl.${suffix}`);

  beforeAll(async () => {
    await createTopicWithMaxMessageBytes(kafkaBrokers(), topics.observation, maxMessageBytes);
    // The dead letter holds the raw message (over 7,000 bytes, base64): refused as well.
    await createTopicWithMaxMessageBytes(kafkaBrokers(), topics.deadLetter, maxMessageBytes);
    gw = await startTestGateway({ brokers: kafkaBrokers(), config: { kafka: { topics } } });
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('answers CR (publish_refused): nothing was kept, so the sender must keep the message', async () => {
    const client = new MllpClient();
    await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 10_000 });
    try {
      const reply = readAcknowledgement(await client.send(pcd01Message({ controlId: 'MREF-DL-HUGE', patientId: longPatientId }), { timeoutMs: 30_000 }));
      expect(reply?.code).toBe('CR');
      expect(reply?.errors[0]).toMatchObject({ hl7Code: '207', applicationCode: 'publish_refused' });
      const after = readAcknowledgement(await client.send(pcd01Message({ controlId: 'MREF-DL-AFTER', patientId: 'MRN-REF-DL-AFTER' }), { timeoutMs: 30_000 }));
      expect(after?.code).toBe('CA');
    } finally {
      await client.close();
    }
    expect(await readAll(gw.brokers, topics.deadLetter, { expected: 1, timeoutMs: 2_000 })).toEqual([]);
    // The log does not claim a dead letter that Kafka never took; it says why one was attempted.
    const about = gw.logLines.filter((line) => line.includes('"messageId":"MREF-DL-HUGE"'));
    expect(about.some((line) => line.includes('"event":"message_dead_lettered"'))).toBe(false);
    expect(about.some((line) => line.includes('"event":"message_not_dead_lettered"') && line.includes('"code":"publish_refused"'))).toBe(true);
    expect(gw.logLines.some((line) => line.includes(longPatientId.slice(0, 200)))).toBe(false);
  }, 120_000);
});

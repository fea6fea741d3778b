/**
 * delivery.ack: kafka (the default) and a serial device whose records Kafka refuses for good. The
 * observation topic is created with max.message.bytes 400, below one Observation record, so the real
 * broker refuses every frame's Observations with MESSAGE_TOO_LARGE (publish_refused). Serial devices
 * cannot be told to resend, and retrying can never help: each frame must end on the dead-letter topic
 * with its raw bytes, and one refused frame must not hold up the device's later frames (which used to
 * pile up behind it until device_queue_overflow dropped them).
 * The device is a real TCP connection into the gateway's tcp-server transport, speaking the test-line
 * protocol (test/support/test-line-adapter.ts).
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/transports/free-port.ts';
import { waitFor } from '../support/wait-for.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { createTopicWithMaxMessageBytes, kafkaBrokers, readAll, type KafkaRecord } from '../support/kafka.ts';
import { testLineAdapter } from '../support/test-line-adapter.ts';
import { gatewayTopicNames } from '../support/topics.ts';

const deviceId = 'bed-refused-line';
const patientIdentifier = 'MRN-SERIAL-REFUSED-4711';
// Room for every frame below: a frame that is dropped from it would be the queue overflowing, not this.
const maxQueuedMessages = 50;

interface DeadLetterValue {
  error: { code: string; stage: string };
  source: { deviceId?: string };
  raw: { encoding: string; data: string };
}

type TopicName = 'observation' | 'device' | 'deadLetter' | 'events';

/** A gateway with one test-line device on a tcp-server transport, the given topics limited to 400 bytes, and the device connected. */
async function startRefusingGateway(smallTopics: readonly TopicName[]): Promise<{ gw: TestGateway; device: Socket; topics: Record<TopicName, string> }> {
  const suffix = randomUUID().slice(0, 8);
  const topics = gatewayTopicNames(`serial-refused.${suffix}`);
  for (const name of smallTopics) await createTopicWithMaxMessageBytes(kafkaBrokers(), topics[name], 400);
  const devicePort = await freePort();
  const gw = await startTestGateway({
      brokers: kafkaBrokers(),
      extraAdapters: [testLineAdapter],
      logLevel: 'info',
      config: {
        kafka: { topics },
        devices: [
          {
            id: deviceId,
            adapter: testLineAdapter.name,
            transport: { kind: 'tcp-server', host: '127.0.0.1', port: devicePort },
            patient: { identifier: patientIdentifier },
            maxQueuedMessages,
            // No stale/recovered events while a test counts what was refused.
            staleAfterSeconds: 300,
          },
        ],
      },
    });
  const device = connect({ host: '127.0.0.1', port: devicePort });
  try {
    await new Promise<void>((resolve, reject) => {
      device.once('connect', resolve);
      device.once('error', reject);
    });
  } catch (error) {
    await gw.stop();
    throw error;
  }
  return { gw, device, topics };
}

const frameOf = (index: number) => `V|REFUSED-1|${90 + index}|${60 + index}\n`;

describe('delivery.ack: kafka, a serial device whose records Kafka refuses for good (MESSAGE_TOO_LARGE)', () => {
  let gw: TestGateway;
  let device: Socket;
  let topics: Record<TopicName, string>;

  beforeAll(async () => {
    ({ gw, device, topics } = await startRefusingGateway(['observation']));
  }, 120_000);

  afterAll(async () => {
    device?.destroy();
    await gw?.stop();
  });

  const deadLettersOfDevice = (expected: number) =>
    readAll(gw.brokers, topics.deadLetter, { expected, timeoutMs: 30_000, where: (record: KafkaRecord) => record.key === deviceId });

  it('dead-letters every refused frame with its raw bytes and publish_refused, never retries it, and the frames sent after the first refusal are not held up', async () => {
    // The first frames: refused by the broker, each becomes a dead letter.
    const firstFrames = 2;
    for (let index = 0; index < firstFrames; index += 1) device.write(frameOf(index));
    const first = await deadLettersOfDevice(firstFrames);
    expect(first, 'the first frames are dead-lettered').toHaveLength(firstFrames);

    // Frames sent after the first refusals: each one is dead-lettered too, none waits behind a refused one.
    const laterFrames = 12;
    for (let index = firstFrames; index < firstFrames + laterFrames; index += 1) {
      device.write(frameOf(index));
      // Paced, so the frames arrive as separate reads, like a device's readings.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const all = await deadLettersOfDevice(firstFrames + laterFrames);
    expect(all, 'every frame is dead-lettered').toHaveLength(firstFrames + laterFrames);

    // Each dead letter: the frame's exact bytes, in the order the device sent them, with the code.
    const raws = all.map((record) => {
      expect(record.headers['error-code']).toBe('publish_refused');
      const value = JSON.parse(record.value) as DeadLetterValue;
      expect(value.error).toMatchObject({ code: 'publish_refused', stage: 'publish' });
      expect(value.source.deviceId).toBe(deviceId);
      expect(value.raw.encoding).toBe('base64');
      return Buffer.from(value.raw.data, 'base64').toString('latin1');
    });
    expect(raws).toEqual(Array.from({ length: firstFrames + laterFrames }, (_, index) => frameOf(index)));

    // Nothing waits or was dropped; none of the Observations reached Kafka (the broker refused them).
    await waitFor('the device queue to be empty', () => gw.gateway.deviceStates().find((state) => state.deviceId === deviceId)?.pendingMessages === 0, 20_000);
    expect(gw.logLines.filter((line) => line.includes('device_queue_overflow'))).toEqual([]);
    expect(await readAll(gw.brokers, topics.observation, { expected: 1, timeoutMs: 2_000 })).toEqual([]);

    // Said with the code, counted, and without the patient identifier.
    expect(gw.logLines.some((line) => line.includes('"device_frame_dead_lettered"') && line.includes('"code":"publish_refused"'))).toBe(true);
    expect(gw.logLines.some((line) => line.includes(patientIdentifier))).toBe(false);
    const metrics = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^vitalbridge_dead_letters_total\\{stage="publish",code="publish_refused"\\} ${firstFrames + laterFrames}$`, 'm'));
  }, 120_000);
});

describe('delivery.ack: kafka, a serial device whose dead letters and events Kafka refuses for good too', () => {
  let gw: TestGateway;
  let device: Socket;

  beforeAll(async () => {
    ({ gw, device } = await startRefusingGateway(['observation', 'deadLetter', 'events']));
  }, 120_000);

  afterAll(async () => {
    device?.destroy();
    await gw?.stop();
  });

  const refusedLines = () =>
    gw.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === 'device_record_refused');

  it('drops a refused dead letter or event with a device_record_refused line (code, trace id, size; no content), counts it, and goes on with the next frame', async () => {
    const frames = 6;
    for (let index = 0; index < frames; index += 1) {
      device.write(frameOf(index));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Each frame: its Observations refused, then its dead letter refused and dropped, never retried.
    await waitFor(
      'every frame dropped after its dead letter was refused, and the queue empty',
      () =>
        refusedLines().filter((entry) => entry.kind === 'dead-letter').length === frames &&
        gw.gateway.deviceStates().find((state) => state.deviceId === deviceId)?.pendingMessages === 0,
      30_000,
    );

    const lines = refusedLines();
    // The device.connected event was refused and dropped the same way.
    expect(lines.filter((entry) => entry.kind === 'event').length).toBeGreaterThanOrEqual(1);
    for (const entry of lines) {
      expect(entry).toMatchObject({ level: 'warn', device: deviceId, code: 'publish_refused', stage: 'publish' });
      expect(typeof entry.traceId).toBe('string');
      expect(entry.bytes).toBeGreaterThan(0);
    }
    // One trace id per frame: each dead letter was tried once.
    const deadLetterTraces = lines.filter((entry) => entry.kind === 'dead-letter').map((entry) => entry.traceId);
    expect(new Set(deadLetterTraces).size).toBe(frames);
    expect(gw.logLines.filter((line) => line.includes('device_queue_overflow'))).toEqual([]);
    expect(gw.logLines.some((line) => line.includes(patientIdentifier) || line.includes('REFUSED-1'))).toBe(false);

    // Counted: each frame twice (its Observations, then its dead letter), each event once.
    const metrics = await (await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`)).text();
    const counted = Number(/^vitalbridge_errors_total\{stage="publish",code="publish_refused"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(counted).toBe(frames * 2 + lines.filter((entry) => entry.kind === 'event').length);
  }, 120_000);
});

/**
 * The FHIR server sink over real parts: the real gateway gets examples/philips-monitor.hl7 over
 * MLLP and publishes to a real broker; the sink (real kafkajs consumer group, real fhir-kit-client)
 * writes into a real FHIR server run in process (test/support/fhir-server.ts: express +
 * @medplum/fhir-router, validating with our schemas). Read back by FHIR search, the server holds
 * the same resources that are on Kafka; replays add nothing; a rejected resource is dead-lettered
 * with the server's OperationOutcome; an unavailable server is retried and nothing is committed
 * before it accepted.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Client } from 'fhir-kit-client';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement, splitHl7Messages } from '../../src/hl7/read-ack.ts';
import { createLogger } from '../../src/observability/log.ts';
import { createKafkaPublisher } from '../../src/publishing/kafka-publisher.ts';
import { fhirContentType, type Publisher } from '../../src/publishing/publisher.ts';
import { startFhirSink, type FhirSinkHandle } from '../../src/sinks/fhir-sink.ts';
import { createFhirKitWriter } from '../../src/sinks/fhir-writer.ts';
import { createKafkaRecordConsumer } from '../../src/sinks/record-consumer.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { assertValidFhirR4 } from '../support/fhir-validator.ts';
import { startTestFhirServer, type TestFhirServer } from '../support/fhir-server.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { kafkaBrokers, readAll, uniqueTopicPrefix } from '../support/kafka.ts';
import { waitFor } from '../support/wait-for.ts';

type Json = Record<string, unknown>;

const bin = new URL('../../bin/vitalbridge.js', import.meta.url).pathname;
const execFileAsync = promisify(execFile);

let gw: TestGateway;
let fhir: TestFhirServer;
let client: Client;
let producer: Publisher;
const brokers = () => kafkaBrokers();
const prefix = uniqueTopicPrefix('fhir-sink');
const deadLetterTopic = `${prefix}.deadletter`;
const group = `${prefix}-group`;
const logLines: string[] = [];
/** Latest resource per resourceType/id, as published by the gateway. */
const published = new Map<string, Json>();
let observationSample: Json;

function startSink(groupId: string, overrides: { attempts?: number; pauseMs?: number } = {}): Promise<FhirSinkHandle> {
  const log = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
  return startFhirSink({
    consumer: createKafkaRecordConsumer({ brokers: brokers(), clientId: 'fhir-sink-test', groupId, maxWaitTimeInMs: 200 }),
    writer: createFhirKitWriter({ baseUrl: fhir.url, bearerToken: 'test-token', requestTimeoutMs: 5_000 }),
    deadLetters: createKafkaPublisher({
      brokers: brokers(),
      clientId: 'fhir-sink-test-dlq',
      createTopics: true,
      topicPartitions: 1,
      replicationFactor: 1,
      connectTimeoutMs: 5_000,
      log,
    }),
    topics: [gw.topics.device, gw.topics.observation],
    deadLetterTopic,
    batchSize: 4,
    lingerMs: 150,
    retry: { attempts: overrides.attempts ?? 3, initialDelayMs: 50, maxDelayMs: 200, pauseMs: overrides.pauseMs ?? 500 },
    log,
  });
}

/** The server's copy without what the server adds (meta.versionId, meta.lastUpdated). */
function withoutServerMeta(resource: Json): Json {
  const { meta, ...rest } = resource;
  if (typeof meta !== 'object' || meta === null) return rest;
  const { versionId: _v, lastUpdated: _l, ...ours } = meta as Json;
  return Object.keys(ours).length === 0 ? rest : { ...rest, meta: ours };
}

async function searchAll(resourceType: string, searchParams: Record<string, string> = {}): Promise<Json[]> {
  const bundle = (await client.search({ resourceType, searchParams: { _count: '1000', ...searchParams } })) as { entry?: { resource: Json }[] };
  return (bundle.entry ?? []).map((e) => e.resource);
}

async function committedOffset(topic: string, groupId = group): Promise<string> {
  const admin = new Kafka({ clientId: 'fhir-sink-test-admin', brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return entry?.partitions[0]?.offset ?? '-1';
  } finally {
    await admin.disconnect();
  }
}

async function produceObservation(resource: Json): Promise<void> {
  await producer.publish(
    [
      {
        topic: gw.topics.observation,
        key: 'fhir-sink-test',
        value: JSON.stringify(resource),
        headers: { 'content-type': fhirContentType, 'source-adapter': 'fhir-sink-test', 'trace-id': `t-${String(resource.id)}` },
      },
    ],
    { timeoutMs: 10_000 },
  );
}

beforeAll(async () => {
  fhir = await startTestFhirServer();
  client = new Client({ baseUrl: fhir.url });
  gw = await startTestGateway({ brokers: brokers() });
  producer = createKafkaPublisher({
    brokers: brokers(),
    clientId: 'fhir-sink-test-producer',
    createTopics: false,
    topicPartitions: 1,
    replicationFactor: 1,
    connectTimeoutMs: 5_000,
    log: createLogger({ level: 'error', write: () => {} }),
  });
  await producer.start([]);

  const mllp = new MllpClient();
  await mllp.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
  try {
    for (const message of splitHl7Messages(await readFile(new URL('../../examples/philips-monitor.hl7', import.meta.url), 'utf8'))) {
      const ack = readAcknowledgement(await mllp.send(message, { timeoutMs: 20_000 }));
      expect(ack?.code).toBe('CA');
    }
  } finally {
    await mllp.close();
  }
  // CA means every record is on Kafka: read them all back (the reader stops at the short timeout).
  for (const topic of [gw.topics.device, gw.topics.observation]) {
    for (const record of await readAll(brokers(), topic, { expected: 10_000, timeoutMs: 4_000 })) {
      const resource = JSON.parse(record.value) as Json;
      published.set(`${String(resource.resourceType)}/${String(resource.id)}`, resource);
    }
  }
  observationSample = [...published.values()].find((r) => r.resourceType === 'Observation') as Json;
  expect(observationSample).toBeDefined();
}, 120_000);

afterAll(async () => {
  await producer?.stop();
  await gw?.stop();
  await fhir?.close();
});

describe('vitalbridge fhir-sink into a real FHIR server', () => {
  it('writes the Devices and Observations on Kafka into the server, where FHIR search finds the same resources', async () => {
    const devices = [...published.values()].filter((r) => r.resourceType === 'Device');
    const observations = [...published.values()].filter((r) => r.resourceType === 'Observation');
    expect(devices.length).toBeGreaterThan(0);
    expect(observations.length).toBeGreaterThan(0);

    const started = performance.now();
    const sink = await startSink(group);
    try {
      await waitFor('every published Observation on the server', async () =>
        (await searchAll('Observation')).length >= observations.length ? true : undefined,
      );
      await waitFor('every published Device on the server', async () => ((await searchAll('Device')).length >= devices.length ? true : undefined));
      await waitFor('offsets committed to the end', async () =>
        (await committedOffset(gw.topics.observation)) !== '-1' && (await committedOffset(gw.topics.device)) !== '-1' ? true : undefined,
      );
    } finally {
      await sink.stop();
    }
    const { bundles: bundleCount, written, committedRecords } = sink.stats();
    process.stderr.write(
      `[fhir-sink] ${devices.length} Devices + ${observations.length} Observations (${committedRecords} records) -> ${written} writes in ${bundleCount} Bundles, ${Math.round(performance.now() - started)} ms from start to all committed\n`,
    );

    // Devices by identifier (the conditional-update key), Observations by device: the same resources.
    for (const device of devices) {
      const identifier = (device.identifier as { system: string; value: string }[])[0] as { system: string; value: string };
      const found = await searchAll('Device', { identifier: `${identifier.system}|${identifier.value}` });
      expect(found.map(withoutServerMeta)).toContainEqual(device);
    }
    const byDevice = new Map<string, Json[]>();
    for (const o of observations) {
      const reference = (o.device as { reference: string }).reference;
      byDevice.set(reference, [...(byDevice.get(reference) ?? []), o]);
    }
    for (const [reference, expected] of byDevice) {
      const found = await searchAll('Observation', { device: reference });
      expect(found.map(withoutServerMeta).sort(byId)).toEqual([...expected].sort(byId));
    }
    for (const resource of await searchAll('Observation')) await assertValidFhirR4(withoutServerMeta(resource));

    // Bundles of at most 4 entries, Devices by conditional update, Observations by id, with the token.
    const bundles = fhir.requests.filter((r) => r.method === 'POST' && r.path === '/');
    expect(bundles.length).toBeGreaterThan(1);
    for (const bundle of bundles) {
      expect(bundle.status).toBe(200);
      expect(bundle.authorization).toBe('Bearer test-token');
      expect(bundle.entries.length).toBeLessThanOrEqual(4);
      for (const entry of bundle.entries) expect(entry).toMatch(/^PUT (Device\?identifier=.+|Observation\/[A-Za-z0-9\-.]+)$/);
    }
    expect(bundles.some((b) => b.entries.some((e) => e.startsWith('PUT Device?identifier=')))).toBe(true);
  }, 60_000);

  it('restarted with the same group it writes nothing again; a new group replays without duplicates', async () => {
    const before = { observations: (await searchAll('Observation')).length, devices: (await searchAll('Device')).length };
    const requestsBefore = fhir.requests.length;

    const same = await startSink(group);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await same.stop();
    expect(same.stats().written).toBe(0);
    expect(fhir.requests.slice(requestsBefore).filter((r) => r.method === 'POST')).toHaveLength(0);

    const replay = await startSink(`${group}-replay`);
    try {
      await waitFor('the replay to reach the end of both topics', async () => {
        const [o, d] = [await committedOffset(gw.topics.observation, `${group}-replay`), await committedOffset(gw.topics.device, `${group}-replay`)];
        return o === (await committedOffset(gw.topics.observation)) && d === (await committedOffset(gw.topics.device)) ? true : undefined;
      });
    } finally {
      await replay.stop();
    }
    expect(replay.stats().written).toBeGreaterThan(0);
    expect((await searchAll('Observation')).length).toBe(before.observations);
    expect((await searchAll('Device')).length).toBe(before.devices);
  }, 60_000);

  it('dead-letters a resource the server rejects (4xx) with its OperationOutcome, and goes on with the next', async () => {
    const sink = await startSink(group);
    try {
      await produceObservation({ ...observationSample, id: 'sink-test-rejected', status: 'finished' });
      await produceObservation({ ...observationSample, id: 'sink-test-after-rejected' });
      await waitFor('the record after the rejected one', async () =>
        (await searchAll('Observation', { _id: 'sink-test-after-rejected' })).length === 1 ? true : undefined,
      );
      const [deadLetter] = await readAll(brokers(), deadLetterTopic, { expected: 1, timeoutMs: 10_000 });
      expect(deadLetter).toBeDefined();
      expect(deadLetter?.headers['error-code']).toBe('fhir_server_rejected');
      expect(deadLetter?.headers['content-type']).toBe('application/vnd.vitalbridge.deadletter+json');
      expect(deadLetter?.headers['trace-id']).toBe('t-sink-test-rejected');
      const value = JSON.parse(deadLetter?.value ?? '{}') as {
        error: { code: string; httpStatus: number };
        source: { topic: string; offset: string };
        raw: { data: string };
        outcome: { resourceType: string; issue: { diagnostics?: string }[] };
      };
      expect(value.error).toMatchObject({ code: 'fhir_server_rejected', httpStatus: 400 });
      expect(value.source.topic).toBe(gw.topics.observation);
      expect(JSON.parse(Buffer.from(value.raw.data, 'base64').toString('utf8'))).toMatchObject({ id: 'sink-test-rejected', status: 'finished' });
      expect(value.outcome.resourceType).toBe('OperationOutcome');
      expect(value.outcome.issue.map((i) => i.diagnostics).join(' ')).toMatch(/status/);
      expect(await searchAll('Observation', { _id: 'sink-test-rejected' })).toHaveLength(0);
      await waitFor('the offset past both records', async () => {
        const end = await committedOffset(gw.topics.observation);
        return BigInt(end) >= BigInt(deadLetter?.offset ?? 0) ? true : undefined;
      });
    } finally {
      await sink.stop();
    }
  }, 60_000);

  it('retries while the server answers 503 and commits only after it accepted the Bundle', async () => {
    const sink = await startSink(group, { attempts: 3, pauseMs: 700 });
    try {
      const committedBefore = await committedOffset(gw.topics.observation);
      const requestsBefore = fhir.requests.length;
      fhir.failNext(7, 503); // 3 tries, pause, 3 tries, pause, then the 7th fails and the 8th succeeds
      await produceObservation({ ...observationSample, id: 'sink-test-after-outage' });

      await waitFor('the first 503s', async () => (fhir.requests.slice(requestsBefore).filter((r) => r.status === 503).length >= 4 ? true : undefined));
      // The server has not accepted anything yet: the group's offset has not moved.
      expect(await committedOffset(gw.topics.observation)).toBe(committedBefore);
      expect(await searchAll('Observation', { _id: 'sink-test-after-outage' })).toHaveLength(0);

      await waitFor('the Observation written after the outage', async () =>
        (await searchAll('Observation', { _id: 'sink-test-after-outage' })).length === 1 ? true : undefined,
      );
      await waitFor('the offset committed after success', async () =>
        BigInt(await committedOffset(gw.topics.observation)) > BigInt(committedBefore) ? true : undefined,
      );
      const after = fhir.requests.slice(requestsBefore).filter((r) => r.method === 'POST');
      expect(after.filter((r) => r.status === 503)).toHaveLength(7);
      expect(after.at(-1)?.status).toBe(200);
      expect(sink.stats().pauses).toBeGreaterThanOrEqual(2);
      expect(sink.stats().retries).toBeGreaterThanOrEqual(7);
    } finally {
      await sink.stop();
    }
  }, 60_000);
});

describe('the fhir-sink command', () => {
  it('runs as a process from its flags and environment, and on SIGTERM commits and exits 0', async () => {
    const groupId = `${group}-cli`;
    const child = spawn(process.execPath, [bin, 'fhir-sink', '--group', groupId, '--topics', `${gw.topics.device},${gw.topics.observation}`, '--batch-size', '3', '--linger-ms', '100', '--dead-letter-topic', deadLetterTopic, '--log-level', 'debug'], {
      env: { ...process.env, FHIR_SERVER_URL: fhir.url, KAFKA_BROKERS: brokers().join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the CLI sink to commit to the end', async () =>
        (await committedOffset(gw.topics.observation, groupId)) === (await committedOffset(gw.topics.observation)) &&
        (await committedOffset(gw.topics.device, groupId)) === (await committedOffset(gw.topics.device))
          ? true
          : undefined,
      30_000,
    );
    } finally {
      child.kill('SIGTERM');
    }
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 15_000))]);
    expect(code, output).toBe(0);
    expect(output).toContain('"event":"signal_received"');
    expect(output).toContain('"event":"fhir_sink_stopped"');
  }, 60_000);

  it('--help names every option and the environment', async () => {
    const { stdout } = await execFileAsync(process.execPath, [bin, 'fhir-sink', '--help']);
    for (const option of ['--brokers', '--fhir-url', '--group', '--batch-size', '--linger-ms', '--topics', '--bearer-token', 'FHIR_SERVER_URL', 'KAFKA_BROKERS']) {
      expect(stdout).toContain(option);
    }
  });
});

function byId(a: Json, b: Json): number {
  return String(a.id).localeCompare(String(b.id));
}

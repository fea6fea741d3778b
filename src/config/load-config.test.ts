import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapters as registeredAdapters } from '../../adapters/index.ts';
import { testLineAdapter } from '../../test/support/test-line-adapter.ts';
import { formatProblems, loadConfig, resolveConfig } from './load-config.ts';

describe('resolveConfig', () => {
  it('gives every default from an empty config', () => {
    const result = resolveConfig({}, {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.mllp.port).toBe(2575);
    expect(result.config.http.port).toBe(8080);
    expect(result.config.kafka.brokers).toBeUndefined();
    expect(result.config.kafka.topics).toEqual({
      observation: 'fhir.observation',
      device: 'fhir.device',
      deadLetter: 'gateway.deadletter',
      events: 'gateway.events',
    });
  });

  it('applies KAFKA_BROKERS, MLLP_PORT and HTTP_PORT over the file', () => {
    const result = resolveConfig(
      { mllp: { port: 3000 }, kafka: { brokers: ['a:1'] } },
      { KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.2:9093', MLLP_PORT: '6661', HTTP_PORT: '9000' },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.2:9093']);
    expect(result.config.mllp.port).toBe(6661);
    expect(result.config.http.port).toBe(9000);
  });

  it("applies the MLLP resource limits from the environment, and names the variable of a bad value", () => {
    const env = {
      MLLP_MAX_CONNECTIONS: '2000',
      MLLP_MAX_FRAME_BYTES: '4194304',
      MLLP_MAX_BUFFERED_BYTES: '8388608',
      MLLP_IDLE_TIMEOUT_SECONDS: '300',
      MLLP_FRAME_TIMEOUT_SECONDS: '30',
    };
    const result = resolveConfig({}, env);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { maxConnections, maxFrameBytes, maxBufferedBytes, idleTimeoutSeconds, frameTimeoutSeconds } = result.config.mllp;
    expect({ maxConnections, maxFrameBytes, maxBufferedBytes, idleTimeoutSeconds, frameTimeoutSeconds }).toEqual({
      maxConnections: 2000,
      maxFrameBytes: 4194304,
      maxBufferedBytes: 8388608,
      idleTimeoutSeconds: 300,
      frameTimeoutSeconds: 30,
    });
    const bad = resolveConfig({}, { MLLP_MAX_CONNECTIONS: 'lots' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.map((problem) => problem.path)).toEqual(['MLLP_MAX_CONNECTIONS']);
  });

  it('lists every problem at once, each with its path', () => {
    const result = resolveConfig(
      { mllp: { port: 70000, maxFrameBytes: 10, bogus: true }, kafka: { brokers: ['no-port'] }, http: { port: 'x' } },
      { HTTP_PORT: 'eighty' },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((p) => p.path).sort();
    expect(paths).toEqual(['HTTP_PORT', 'http.port', 'kafka.brokers.0', 'mllp', 'mllp.maxFrameBytes', 'mllp.port'].sort());
    expect(formatProblems(result.problems)).toContain('6 problems');
  });

  it('rejects an unknown adapter and names the registered ones', () => {
    const result = resolveConfig({ mllp: { adapter: 'nope' } }, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([{ path: 'mllp.adapter', message: expect.stringContaining('hl7v2-pcd') }]);
  });

  it("validates the listener's adapter config with the adapter's own schema", () => {
    const result = resolveConfig({ mllp: { adapterConfig: { surelyNotAnOption: 1 } } }, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]?.path).toMatch(/^mllp\.adapterConfig/);
  });
});

describe('resolveConfig: delivery', () => {
  it("defaults to ack: kafka (today's behaviour) with a spool section ready for ack: spool", () => {
    const result = resolveConfig({}, {});
    if (!result.ok) throw new Error(formatProblems(result.problems));
    expect(result.config.delivery.ack).toBe('kafka');
    expect(result.config.delivery.spool).toMatchObject({ dir: 'data/spool', maxBytes: 1024 ** 3, segmentBytes: 64 * 1024 ** 2 });
    expect(result.config.delivery.shutdownGraceMs).toBe(10_000);
  });

  it('DELIVERY_ACK and SPOOL_DIR override the file; an unknown ack mode is a problem with its path', () => {
    const result = resolveConfig({ delivery: { ack: 'kafka', spool: { dir: '/from/file' } } }, { DELIVERY_ACK: 'spool', SPOOL_DIR: '/var/lib/vitalbridge/spool' });
    if (!result.ok) throw new Error(formatProblems(result.problems));
    expect(result.config.delivery.ack).toBe('spool');
    expect(result.config.delivery.spool.dir).toBe('/var/lib/vitalbridge/spool');

    const wrong = resolveConfig({}, { DELIVERY_ACK: 'disk' });
    expect(wrong.ok).toBe(false);
    if (wrong.ok) return;
    expect(wrong.problems.map((problem) => problem.path)).toEqual(['delivery.ack']);
  });

  it('refuses segments too big for the spool and a retry cap below the first delay', () => {
    const result = resolveConfig({ delivery: { spool: { maxBytes: 1024 * 1024, segmentBytes: 768 * 1024, retryInitialDelayMs: 2_000, retryMaxDelayMs: 1_000 } } }, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => problem.path).sort()).toEqual(['delivery.spool.retryMaxDelayMs', 'delivery.spool.segmentBytes']);
  });
});

describe('loadConfig', () => {
  it('reads YAML and reports a missing file as a problem, not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vb-config-'));
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, 'mllp:\n  port: 2600\nkafka:\n  topics:\n    observation: obs\n');
    const loaded = await loadConfig({ file, env: {} });
    expect(loaded.ok && loaded.config.mllp.port).toBe(2600);
    expect(loaded.ok && loaded.config.kafka.topics.observation).toBe('obs');

    const missing = await loadConfig({ file: join(dir, 'absent.yaml'), env: {} });
    expect(missing.ok).toBe(false);
  });
});

describe('resolveConfig: devices (serial adapters)', () => {
  const adapters = [...registeredAdapters, testLineAdapter];

  it('resolves a device: adapter config by its schema, serial defaults from the adapter, stale limit 3 x the interval', () => {
    const result = resolveConfig(
      {
        devices: [
          { id: 'bed-7-spo2', adapter: 'test-line', transport: { kind: 'serial', path: '/dev/ttyUSB0', baudRate: 19200 }, patient: { identifier: 'MRN1' }, location: 'ICU 7' },
          { id: 'bed-8', adapter: 'test-line', transport: { kind: 'tcp-client', host: 'ts1', port: 4001 }, adapterConfig: { poll: true }, staleAfterSeconds: 10 },
          { id: 'bed-9', adapter: 'test-line', transport: { kind: 'tcp-server', port: 5001 } },
        ],
      },
      {},
      { adapters },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [serial, client, server] = result.devices;
    expect(serial?.transport).toEqual({ kind: 'serial', path: '/dev/ttyUSB0', baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false });
    expect(serial?.adapterConfig).toEqual({ poll: false });
    expect(serial?.staleAfterMs).toBe(3000);
    expect(serial?.binding).toEqual({ deviceId: 'bed-7-spo2', patient: { identifier: 'MRN1' }, location: 'ICU 7' });
    expect(serial?.maxQueuedMessages).toBe(1000);
    expect(client?.transport).toEqual({ kind: 'tcp-client', host: 'ts1', port: 4001, keepAliveMs: 10_000, connectTimeoutMs: 10_000 });
    expect(client?.adapterConfig).toEqual({ poll: true });
    expect(client?.staleAfterMs).toBe(10_000);
    expect(server?.transport).toEqual({ kind: 'tcp-server', host: '0.0.0.0', port: 5001, keepAliveMs: 10_000 });
  });

  it('lists every device problem at once: unknown adapter, MLLP adapter, bad adapter config, duplicate id and port, bad transport', () => {
    const result = resolveConfig(
      {
        devices: [
          { id: 'a', adapter: 'no-such-adapter', transport: { kind: 'serial', path: '/dev/ttyS0' } },
          { id: 'b', adapter: 'hl7v2-pcd', transport: { kind: 'serial', path: '/dev/ttyS1' } },
          { id: 'c', adapter: 'test-line', transport: { kind: 'serial', path: '/dev/ttyS2' }, adapterConfig: { poll: 'yes' } },
          { id: 'c', adapter: 'test-line', transport: { kind: 'serial', path: '/dev/ttyS2' } },
          { id: 'e', adapter: 'test-line', transport: { kind: 'modem', path: 'x' } },
        ],
      },
      {},
      { adapters },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = formatProblems(result.problems);
    expect(text).toContain('devices.4.transport');
    // Schema problems come first and stop the per-device checks; fix them and the rest show up.
    const second = resolveConfig(
      {
        devices: [
          { id: 'a', adapter: 'no-such-adapter', transport: { kind: 'serial', path: '/dev/ttyS0' } },
          { id: 'b', adapter: 'hl7v2-pcd', transport: { kind: 'serial', path: '/dev/ttyS1' } },
          { id: 'c', adapter: 'test-line', transport: { kind: 'serial', path: '/dev/ttyS2' }, adapterConfig: { poll: 'yes' } },
          { id: 'c', adapter: 'test-line', transport: { kind: 'serial', path: '/dev/ttyS2' } },
        ],
      },
      {},
      { adapters },
    );
    expect(second.ok).toBe(false);
    if (second.ok) return;
    const paths = second.problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['devices.0.adapter', 'devices.1.adapter', 'devices.2.adapterConfig.poll', 'devices.3.id', 'devices.3.transport']));
    const messages = second.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/unknown adapter "no-such-adapter"; registered byte-stream adapters: .*test-line/);
    expect(messages).toMatch(/"hl7v2-pcd" is an MLLP adapter .*configure it under mllp.adapter/);
  });

  it('refuses a byte-stream adapter on the MLLP listener', () => {
    const result = resolveConfig({ mllp: { adapter: 'test-line' } }, {}, { adapters });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems[0]).toMatchObject({ path: 'mllp.adapter', message: expect.stringContaining('configure it under devices[]') });
  });
});

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ResolvedDevice } from '../config/load-config.ts';
import { GatewayError } from '../errors/catalogue.ts';
import { silentLogger, type Logger } from '../observability/log.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { OutboundRecord, Publisher } from '../publishing/publisher.ts';
import type { ByteStreamTransport, ByteStreamTransportEvents } from '../transports/stream/index.ts';
import { testLineAdapter } from '../../test/support/test-line-adapter.ts';
import { createDeviceRunner } from './device-runner.ts';
import { DeviceRegistry } from './device-state.ts';

const topics = { observation: 'obs', device: 'dev', deadLetter: 'dlq', events: 'events' };

class FakeTransport extends EventEmitter<ByteStreamTransportEvents> implements ByteStreamTransport {
  readonly description = 'fake:1';
  readonly kind = 'serial' as const;
  connected = false;
  written: string[] = [];
  resets: string[] = [];
  open() {}
  write(bytes: Buffer) {
    this.written.push(bytes.toString());
    return this.connected;
  }
  reset(reason: string) {
    this.resets.push(reason);
  }
  async close() {
    if (this.connected) {
      this.connected = false;
      this.emit('close', { reason: 'transport closed' });
    }
  }
  plugIn() {
    this.connected = true;
    this.emit('open', { peer: 'fake' });
  }
  unplug() {
    this.connected = false;
    this.emit('close', { reason: 'EIO' });
  }
}

function fakePublisher() {
  const published: OutboundRecord[] = [];
  let up = true;
  const publisher: Publisher = {
    start: async () => {},
    publish: async (records) => {
      if (!up) throw new GatewayError('publish_failed', 'broker down');
      published.push(...records);
    },
    isConnected: () => up,
    inFlightRecords: () => 0,
    stop: async () => {},
  };
  return { publisher, published, setUp: (value: boolean) => (up = value) };
}

function device(overrides: Partial<ResolvedDevice> = {}): ResolvedDevice {
  return {
    id: 'bed-7-spo2',
    adapter: testLineAdapter,
    adapterConfig: { poll: false },
    transport: { kind: 'tcp-client', host: '127.0.0.1', port: 1, keepAliveMs: 1000, connectTimeoutMs: 1000 },
    binding: { deviceId: 'bed-7-spo2', patient: { identifier: 'MRN1' }, location: 'ICU bed 7' },
    staleAfterMs: 60_000,
    maxQueuedMessages: 1000,
    reconnect: { initialDelayMs: 10, maxDelayMs: 10, multiplier: 1, jitter: 0 },
    ...overrides,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function collectingLogger(): Logger & { lines: { event: string; fields: Record<string, unknown> }[] } {
  const lines: { event: string; fields: Record<string, unknown> }[] = [];
  const push = (event: string, fields: Record<string, unknown> = {}) => lines.push({ event, fields });
  return { lines, debug: push, info: push, warn: push, error: push };
}

describe('device runner (fake transport and publisher)', () => {
  it('frames, normalizes, validates and publishes; state events go to the events topic keyed by device id', async () => {
    const transport = new FakeTransport();
    const { publisher, published } = fakePublisher();
    const registry = new DeviceRegistry();
    const runner = createDeviceRunner({ device: device(), transport, publisher, topics, publishTimeoutMs: 1000, log: silentLogger, metrics: createMetrics({ defaultMetrics: false }), registry });
    runner.start();
    transport.plugIn();
    transport.emit('data', Buffer.from('V|S1|97|7'));
    transport.emit('data', Buffer.from('2\n'));
    await settle();
    const observations = published.filter((r) => r.topic === 'obs').map((r) => JSON.parse(r.value));
    expect(observations.map((o) => o.valueQuantity.value)).toEqual([97, 72]);
    expect(observations[0].subject.identifier.value).toBe('MRN1');
    const devices = published.filter((r) => r.topic === 'dev').map((r) => JSON.parse(r.value));
    expect(devices[0].location.display).toBe('ICU bed 7');
    const events = published.filter((r) => r.topic === 'events');
    expect(events.map((r) => [r.key, JSON.parse(r.value).type])).toEqual([['bed-7-spo2', 'device.connected']]);
    expect(events[0]?.headers['content-type']).toBe('application/vnd.vitalbridge.event+json');
    expect(registry.get('bed-7-spo2')).toMatchObject({ state: 'connected', framesReceived: 1, transport: 'fake:1' });

    transport.unplug();
    await settle();
    expect(registry.get('bed-7-spo2')?.state).toBe('disconnected');
    await runner.stop({ graceMs: 100 });
    expect(published.filter((r) => r.topic === 'events').map((r) => JSON.parse(r.value).type)).toEqual(['device.connected', 'device.disconnected']);
  });

  it('dead-letters a frame that fails parsing with its raw bytes and the device as key; counts and rate-limits discards', async () => {
    const transport = new FakeTransport();
    const { publisher, published } = fakePublisher();
    const metrics = createMetrics({ defaultMetrics: false });
    const log = collectingLogger();
    const runner = createDeviceRunner({ device: device(), transport, publisher, topics, publishTimeoutMs: 1000, log, metrics, registry: new DeviceRegistry() });
    runner.start();
    transport.plugIn();
    transport.emit('data', Buffer.from('garbage\nmore garbage\nV|S1|9x|70\n'));
    await settle();
    const letters = published.filter((r) => r.topic === 'dlq');
    expect(letters).toHaveLength(1);
    expect(letters[0]?.key).toBe('bed-7-spo2');
    expect(letters[0]?.headers['error-code']).toBe('device_value_out_of_range');
    const value = JSON.parse(letters[0]?.value ?? '{}');
    expect(Buffer.from(value.raw.data, 'base64').toString()).toBe('V|S1|9x|70\n');
    expect(value.source.deviceId).toBe('bed-7-spo2');
    const text = await metrics.registry.metrics();
    expect(text).toContain('vitalbridge_errors_total{stage="receive",code="stream_out_of_sync"} 2');
    expect(text).toContain('vitalbridge_dead_letters_total{stage="normalize",code="device_value_out_of_range"} 1');
    expect(log.lines.filter((l) => l.event === 'device_bytes_discarded')).toHaveLength(1);
    await runner.stop({ graceMs: 100 });
  });

  it('keeps a bounded queue while Kafka is down, drops the oldest only when full (counted), and drains when Kafka is back', async () => {
    const transport = new FakeTransport();
    const { publisher, published, setUp } = fakePublisher();
    const metrics = createMetrics({ defaultMetrics: false });
    const registry = new DeviceRegistry();
    const runner = createDeviceRunner({ device: device({ maxQueuedMessages: 3 }), transport, publisher, topics, publishTimeoutMs: 1000, log: silentLogger, metrics, registry });
    setUp(false);
    runner.start();
    transport.plugIn(); // the connected event: 1 message
    for (let n = 0; n < 5; n += 1) transport.emit('data', Buffer.from(`V|S1|9${n}|70\n`));
    await settle();
    expect(registry.get('bed-7-spo2')?.pendingMessages).toBeLessThanOrEqual(4);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/vitalbridge_errors_total\{stage="publish",code="device_queue_overflow"\} 3/);
    setUp(true);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const spo2 = published.filter((r) => r.topic === 'obs').map((r) => JSON.parse(r.value)).filter((o) => o.code.coding[0].code === '150456');
    expect(spo2.map((o) => o.valueQuantity.value)).toEqual([92, 93, 94]);
    expect(registry.get('bed-7-spo2')?.pendingMessages).toBe(0);
    await runner.stop({ graceMs: 100 });
  });

  it('runs the session: writes what onOpen/onTick return, only data frames are published and count as data', async () => {
    const transport = new FakeTransport();
    const { publisher, published } = fakePublisher();
    const registry = new DeviceRegistry();
    const runner = createDeviceRunner({ device: device({ adapterConfig: { poll: true } }), transport, publisher, topics, publishTimeoutMs: 1000, log: silentLogger, metrics: createMetrics({ defaultMetrics: false }), registry });
    runner.start();
    transport.plugIn();
    expect(transport.written).toEqual(['HELLO\n']);
    transport.emit('data', Buffer.from('A|OK\n'));
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(transport.written.filter((w) => w === 'POLL\n').length).toBeGreaterThanOrEqual(2);
    expect(registry.get('bed-7-spo2')?.framesReceived).toBe(0);
    transport.emit('data', Buffer.from('V|S1|97|70\n'));
    await settle();
    expect(registry.get('bed-7-spo2')?.framesReceived).toBe(1);
    expect(published.filter((r) => r.topic === 'obs')).toHaveLength(2);
    transport.unplug();
    const polls = transport.written.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(transport.written.length).toBe(polls);
    await runner.stop({ graceMs: 100 });
  });

  it('reports a silent device stale and recovered when data returns', async () => {
    const transport = new FakeTransport();
    const { publisher, published } = fakePublisher();
    const registry = new DeviceRegistry();
    const runner = createDeviceRunner({ device: device({ staleAfterMs: 200 }), transport, publisher, topics, publishTimeoutMs: 1000, log: silentLogger, metrics: createMetrics({ defaultMetrics: false }), registry });
    runner.start();
    transport.plugIn();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(registry.get('bed-7-spo2')?.state).toBe('stale');
    transport.emit('data', Buffer.from('V|S1|97|70\n'));
    await settle();
    expect(registry.get('bed-7-spo2')?.state).toBe('recovered');
    await runner.stop({ graceMs: 100 });
    const types = published.filter((r) => r.topic === 'events').map((r) => JSON.parse(r.value));
    expect(types.map((e) => e.type)).toEqual(['device.connected', 'device.stale', 'device.recovered', 'device.disconnected']);
    expect(types[1]).toMatchObject({ deviceId: 'bed-7-spo2', adapter: 'test-line', previous: 'connected', detail: expect.stringContaining('no data') });
  });
});

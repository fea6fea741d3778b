import { describe, expect, it } from 'vitest';
import { createActivityTracker, summarizePublished } from '../observability/activity-tracker.ts';
import { createLogger } from '../observability/log.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { OutboundRecord, Publisher } from '../publishing/publisher.ts';
import type { DeviceStatus } from './device-state.ts';
import { createPresenceMonitor, deviceStatusOf, nextPresence, type Presence } from './presence-monitor.ts';
import type { Device } from '../../schemas/fhir.ts';

const limits = { staleAfterMs: 120_000, offlineAfterMs: 900_000 };
const t0 = new Date('2024-05-01T10:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

/** Runs the state function over (now, lastSeenAt) pairs, returning the changes. */
function run(steps: readonly [now: number, lastSeen: number | undefined][]) {
  let presence: Presence | undefined;
  const changes: string[] = [];
  for (const [now, lastSeen] of steps) {
    const step = nextPresence(presence, lastSeen === undefined ? undefined : at(lastSeen), at(now), limits);
    presence = step.presence;
    if (step.change !== undefined) changes.push(`${step.change.from}->${step.change.to}@${(step.change.at.getTime() - t0.getTime()) / 1000}`);
  }
  return { presence, changes };
}

describe('nextPresence (fake clock)', () => {
  it('not seen yet: nothing', () => {
    expect(run([[0, undefined], [500, undefined]])).toEqual({ presence: undefined, changes: [] });
  });

  it('first message connects; silence makes it stale, then offline (disconnected); a message recovers', () => {
    const { changes, presence } = run([
      [1, 0],
      [60, 0],
      [119, 0],
      [120, 0],
      [500, 0],
      [899, 0],
      [900, 0],
      [1000, 0],
      [1001, 1000],
      [1002, 1000],
    ]);
    expect(changes).toEqual(['disconnected->connected@1', 'connected->stale@120', 'stale->disconnected@900', 'disconnected->recovered@1001']);
    expect(presence).toMatchObject({ state: 'recovered', lastSeenAt: at(1000) });
  });

  it('messages within the stale limit keep it connected; recovered goes stale again on silence', () => {
    const { changes } = run([
      [0, 0],
      [100, 90],
      [200, 190],
      [309, 190],
      [310, 190],
      [311, 311],
      [430, 311],
      [431, 311],
    ]);
    expect(changes).toEqual(['disconnected->connected@0', 'connected->stale@310', 'stale->recovered@311', 'recovered->stale@431']);
  });

  it('a check that comes after both limits goes straight to disconnected, once', () => {
    const { changes } = run([
      [0, 0],
      [1000, 0],
      [2000, 0],
    ]);
    expect(changes).toEqual(['disconnected->connected@0', 'connected->disconnected@1000']);
  });

  it('details say how long the device was silent and the limit', () => {
    const stale = nextPresence({ state: 'connected', since: t0, lastSeenAt: t0 }, t0, at(125), limits);
    expect(stale.change?.detail).toBe('no data for 125 s (limit 120 s)');
    const offline = nextPresence(stale.presence, t0, at(901), limits);
    expect(offline.change?.detail).toBe('no data for 901 s (offline limit 900 s)');
  });

  it('Device.status: active while data is expected, inactive when stale or disconnected', () => {
    expect(['connected', 'recovered', 'stale', 'disconnected'].map((s) => deviceStatusOf(s as never))).toEqual(['active', 'active', 'inactive', 'inactive']);
  });
});

describe('createPresenceMonitor', () => {
  const topics = { observation: 'obs', device: 'dev', deadLetter: 'dl', events: 'ev' };
  const mds = (key: string): Device => ({
    resourceType: 'Device',
    id: '3f1d2c4e-0000-5000-8000-000000000001',
    identifier: [{ system: 'urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680', value: key }],
    status: 'active',
    type: { coding: [{ system: 'urn:iso:std:iso:11073:10101', code: '69965' }] },
  });

  function setup(serial: DeviceStatus[] = []) {
    let now = t0;
    const published: OutboundRecord[] = [];
    const publisher = { publish: async (records: readonly OutboundRecord[]) => void published.push(...records) } as unknown as Publisher;
    const activity = createActivityTracker({ metrics: createMetrics() });
    const monitor = createPresenceMonitor({
      activity,
      publisher,
      topics,
      publishTimeoutMs: 1000,
      log: createLogger({ level: 'error', write: () => {} }),
      thresholds: { staleAfterMs: 2_000, offlineAfterMs: 4_000 },
      serialStates: () => serial,
      clock: () => now,
    });
    const reported = monitor.observe(activity);
    const message = (key: string, when: Date) =>
      reported.published({ adapter: 'hl7v2-pcd', transport: 'mllp', activity: summarizePublished([{ key, resource: mds(key) }]), receivedAt: when, at: when });
    const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
    return { monitor, published, message, flush, activity, setNow: (seconds: number) => (now = at(seconds)) };
  }

  it('publishes the serial event shape on the events topic and the adapter Device with the new status', async () => {
    const { monitor, published, message, flush, activity, setNow } = setup();
    message('0012340000ABCDEF', at(0));
    expect(activity.device('0012340000ABCDEF', at(0))?.messages).toBe(1); // the wrapped tracker still counts
    for (const [seconds, send] of [[0.5, false], [2.5, false], [4.5, false], [5, true], [5.5, false]] as const) {
      setNow(seconds);
      if (send) message('0012340000ABCDEF', at(seconds));
      monitor.check();
      await flush();
    }
    const events = published.filter((r) => r.topic === 'ev').map((r) => JSON.parse(String(r.value)) as { type: string; previous: string });
    expect(events.map((e) => `${e.previous}->${e.type}`)).toEqual([
      'disconnected->device.connected',
      'connected->device.stale',
      'stale->device.disconnected',
      'disconnected->device.recovered',
    ]);
    const first = published.find((r) => r.topic === 'ev')!;
    expect(first.key).toBe('0012340000ABCDEF');
    expect(first.headers).toMatchObject({ 'content-type': 'application/vnd.vitalbridge.event+json', 'source-adapter': 'hl7v2-pcd' });
    expect(JSON.parse(String(first.value))).toEqual({
      type: 'device.connected',
      deviceId: '0012340000ABCDEF',
      adapter: 'hl7v2-pcd',
      at: at(0.5).toISOString(),
      detail: 'first message over MLLP',
      previous: 'disconnected',
    });
    // Only the change to inactive needs a Device update: the recovering message carried the active Device itself.
    const devices = published.filter((r) => r.topic === 'dev');
    expect(devices).toHaveLength(1);
    expect(devices[0]?.key).toBe('0012340000ABCDEF');
    expect(JSON.parse(String(devices[0]?.value))).toEqual({ ...mds('0012340000ABCDEF'), status: 'inactive' });
  });

  it('serial devices: a Device update when their state changes, only for a Device the gateway published', async () => {
    const serial: DeviceStatus[] = [];
    const status = (deviceId: string, state: DeviceStatus['state']): DeviceStatus => ({
      deviceId, adapter: 'masimo-ascii', transport: 'serial /dev/x', state, since: t0.toISOString(), lastDataAt: undefined, framesReceived: 0, pendingMessages: 0,
    });
    const { monitor, published, flush, activity } = setup(serial);
    const reported = monitor.observe(activity);
    serial.push(status('icu7-spo2', 'connected'), status('never-sent', 'connected'));
    monitor.check();
    reported.published({ adapter: 'masimo-ascii', transport: 'serial', activity: summarizePublished([{ key: 'name:icu7-spo2', resource: mds('x') }], 'icu7-spo2'), receivedAt: t0, at: t0 });
    serial.splice(0, 2, status('icu7-spo2', 'stale'), status('never-sent', 'disconnected'));
    monitor.check();
    await flush();
    expect(published.filter((r) => r.topic === 'ev')).toEqual([]); // the runner publishes serial events
    expect(published.map((r) => [r.topic, r.key, (JSON.parse(String(r.value)) as Device).status])).toEqual([['dev', 'name:icu7-spo2', 'inactive']]);
  });

  it('keeps records while Kafka is away and sends them in order once it is back', async () => {
    let now = at(0);
    let up = false;
    const sent: string[] = [];
    const tracker = createActivityTracker({ metrics: createMetrics() });
    const monitor = createPresenceMonitor({
      activity: tracker,
      publisher: {
        publish: async (records: readonly OutboundRecord[]) => {
          if (!up) throw new Error('broker down');
          sent.push(...records.filter((r) => r.topic === 'ev').map((r) => (JSON.parse(String(r.value)) as { type: string }).type));
        },
      } as unknown as Publisher,
      topics,
      publishTimeoutMs: 1000,
      log: createLogger({ level: 'error', write: () => {} }),
      thresholds: { staleAfterMs: 2_000, offlineAfterMs: 4_000 },
      clock: () => now,
    });
    tracker.published({ adapter: 'hl7v2-pcd', transport: 'mllp', activity: summarizePublished([{ key: 'K', resource: mds('K') }]), receivedAt: now, at: now });
    const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
    monitor.check();
    now = at(2.5);
    monitor.check();
    await flush();
    expect(sent).toEqual([]);
    up = true;
    now = at(3);
    monitor.check();
    await flush();
    await flush();
    expect(sent).toEqual(['device.connected', 'device.stale']);
    await monitor.stop({ graceMs: 10 });
  });
});

/**
 * The HTTP API without a broker: time passed in (rates over the sliding window, MLLP devices going
 * stale and offline), open mode (no token: warning, no patient ids, no raw), protected health and
 * metrics, and the constant-time authenticator.
 */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/catalogue.ts';
import { createActivityTracker, SlidingRate, summarizePublished } from '../observability/activity-tracker.ts';
import { createMetrics } from '../observability/metrics.ts';
import type { NormalizedResource } from '../adapter-kit/define-adapter.ts';
import { createAuthenticator } from './auth.ts';
import { createHttpApi, listenHttp } from './http-api.ts';
import { devicesSchema, statsSchema } from './routes.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function observation(key: string, patient: string): NormalizedResource {
  return {
    key,
    resource: {
      resourceType: 'Observation',
      id: `obs-${key}`,
      status: 'final',
      code: { coding: [{ system: 'urn:iso:std:iso:11073:10101', code: '150456' }] },
      subject: { identifier: { system: 'urn:oid:1.2.3', value: patient } },
      effectiveDateTime: '2024-05-01T12:30:00+02:00',
      device: { reference: 'Device/x' },
    } as unknown as NormalizedResource['resource'],
  };
}

async function start(options: { auth?: Parameters<typeof createHttpApi>[0]['auth']; readiness?: Parameters<typeof createHttpApi>[0]['readiness'] } = {}) {
  let now = new Date('2026-01-01T10:00:00Z');
  const metrics = createMetrics({ defaultMetrics: false });
  const activity = createActivityTracker({ metrics });
  const warnings: string[] = [];
  const log = { debug: () => {}, info: () => {}, error: () => {}, warn: (event: string) => warnings.push(event) };
  const app = createHttpApi({
    readiness: options.readiness ?? { mllpListening: () => true, kafkaConnected: () => true },
    metrics,
    activity,
    clock: () => now,
    log,
    ...(options.auth === undefined ? {} : { auth: options.auth }),
  });
  const { server, address } = await listenHttp(app, '127.0.0.1', 0);
  servers.push(server);
  const get = async (path: string, token?: string) => {
    const response = await fetch(`http://127.0.0.1:${address.port}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await response.text();
    return { status: response.status, text, json: () => JSON.parse(text) as unknown };
  };
  return { activity, warnings, get, advance: (ms: number) => (now = new Date(now.getTime() + ms)), now: () => now };
}

describe('SlidingRate', () => {
  it('counts per minute over the window and forgets what fell out of it', () => {
    const rate = new SlidingRate(60_000, 5_000);
    const t0 = Date.parse('2026-01-01T10:00:00Z');
    for (let i = 0; i < 30; i += 1) rate.add(new Date(t0 + i * 1_000));
    expect(rate.perMinute(new Date(t0 + 30_000))).toBe(30);
    expect(rate.perMinute(new Date(t0 + 70_000))).toBeLessThan(30);
    expect(rate.perMinute(new Date(t0 + 200_000))).toBe(0);
  });
});

describe('authenticator', () => {
  it('is open without tokens, and tells missing, invalid, read and admin apart', () => {
    expect(createAuthenticator({}).authenticate(undefined)).toEqual({ ok: true, access: 'open' });
    const auth = createAuthenticator({ token: 'r'.repeat(16), adminToken: 'a'.repeat(20) });
    expect(auth.authenticate(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(auth.authenticate('Basic abc')).toEqual({ ok: false, reason: 'missing' });
    expect(auth.authenticate('Bearer short')).toEqual({ ok: false, reason: 'invalid' });
    expect(auth.authenticate(`Bearer ${'r'.repeat(16)}`)).toEqual({ ok: true, access: 'read' });
    expect(auth.authenticate(`bearer ${'a'.repeat(20)}`)).toEqual({ ok: true, access: 'admin' });
  });
});

describe('HTTP API with time passed in', () => {
  it('open mode: warns at start, hides patient identifiers and refuses raw dead letters', async () => {
    const api = await start();
    expect(api.warnings).toContain('http_api_unprotected');
    api.activity.published({ adapter: 'hl7v2-pcd', transport: 'mllp', activity: summarizePublished([observation('DEV-1', 'MRN-OPEN')]), receivedAt: api.now(), at: api.now() });
    const listed = await api.get('/api/devices');
    expect(listed.status).toBe(200);
    expect(devicesSchema.parse(listed.json()).devices[0]?.patient).toEqual({ bound: true });
    expect(listed.text).not.toContain('MRN-OPEN');
    api.activity.deadLettered({ adapter: 'hl7v2-pcd', error: new GatewayError('hl7_missing_msh'), raw: Buffer.from('PID|||MRN-OPEN'), at: api.now() });
    expect((await api.get('/api/deadletters')).text).not.toContain('MRN-OPEN');
    expect((await api.get('/api/deadletters?include=raw')).status).toBe(403);
  });

  it('MLLP devices go stale and offline as time passes, and their rates fall', async () => {
    const api = await start({ auth: { token: 't'.repeat(16) } });
    for (let i = 0; i < 6; i += 1) {
      api.activity.messageReceived({ adapter: 'hl7v2-pcd', at: api.now() });
      api.activity.published({ adapter: 'hl7v2-pcd', transport: 'mllp', activity: summarizePublished([observation('DEV-2', 'MRN-2')]), receivedAt: api.now(), at: api.now() });
      api.advance(10_000);
    }
    const device = async () => devicesSchema.parse((await api.get('/api/devices', 't'.repeat(16))).json()).devices[0];
    expect(await device()).toMatchObject({ id: 'DEV-2', state: 'connected', messages: { total: 6, perMinute: 6 }, patient: { identifier: 'MRN-2' } });
    api.advance(5 * 60_000);
    expect(await device()).toMatchObject({ state: 'stale', messages: { total: 6, perMinute: 0 } });
    api.advance(15 * 60_000);
    expect((await device())?.state).toBe('offline');
    const stats = statsSchema.parse((await api.get('/api/stats', 't'.repeat(16))).json());
    expect(stats.devicesByState).toEqual({ connected: 0, stale: 0, offline: 1, disconnected: 0 });
    expect(stats.adapters[0]?.messagesReceived).toEqual({ total: 6, perMinute: 0 });
  });

  it('protectHealthAndMetrics: health and metrics need the token too', async () => {
    const open = await start({ auth: { token: 't'.repeat(16) } });
    expect((await open.get('/healthz')).status).toBe(200);
    expect((await open.get('/metrics', 'wrong-token-xxxxxxxx')).status).toBe(200);
    const closed = await start({ auth: { token: 't'.repeat(16), protectHealthAndMetrics: true } });
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await closed.get(path)).status).toBe(401);
      expect((await closed.get(path, 't'.repeat(16))).status).toBe(200);
    }
    expect((await closed.get('/nowhere', 't'.repeat(16))).status).toBe(404);
  });
});

describe('/readyz with delivery.ack: spool', () => {
  const spoolState = { writable: true, lastWriteError: undefined as string | undefined, full: false, bytes: 4096, maxBytes: 65536, pendingRecords: 12, segments: 1 };

  it('follows the spool, not Kafka: ready with Kafka down, not ready while the spool cannot write or is full', async () => {
    const state = { ...spoolState };
    const api = await start({ readiness: { mllpListening: () => true, kafkaConnected: () => false, spool: () => state } });

    const kafkaDown = await api.get('/readyz');
    expect(kafkaDown.status).toBe(200);
    expect(kafkaDown.json()).toEqual({
      status: 'ready',
      checks: { mllp: 'up', kafka: 'disconnected', spool: 'writable' },
      spool: { bytes: 4096, maxBytes: 65536, pendingRecords: 12, segments: 1 },
    });

    Object.assign(state, { writable: false, lastWriteError: 'ENOSPC' });
    const unwritable = await api.get('/readyz');
    expect(unwritable.status).toBe(503);
    expect(unwritable.json()).toMatchObject({ status: 'not-ready', checks: { spool: 'unwritable' }, spool: { lastWriteError: 'ENOSPC' } });

    Object.assign(state, { writable: true, lastWriteError: undefined, full: true });
    const full = await api.get('/readyz');
    expect(full.status).toBe(503);
    expect(full.json()).toMatchObject({ checks: { spool: 'full' } });
  });
});

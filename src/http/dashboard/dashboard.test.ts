/**
 * The dashboard without a broker or browser: the per-second throughput ring, last values from
 * published Observations, the event stream's snapshot in open mode (no patient identifiers) and
 * with a token (?token= on the page and stream only, constant-time check by the authenticator).
 */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { NormalizedResource } from '../../adapter-kit/define-adapter.ts';
import { createActivityTracker, summarizePublished } from '../../observability/activity-tracker.ts';
import { createMetrics } from '../../observability/metrics.ts';
import { createHttpApi, listenHttp } from '../http-api.ts';
import type { DashboardSnapshot } from './dashboard.ts';
import { createThroughputRing } from './throughput.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function spo2(key: string, patient: string, value: number): NormalizedResource {
  return {
    key,
    resource: {
      resourceType: 'Observation',
      id: `obs-${key}-${value}`,
      status: 'final',
      code: { coding: [{ system: 'urn:iso:std:iso:11073:10101', code: '150456', display: 'MDC_PULS_OXIM_SAT_O2' }] },
      subject: { identifier: { system: 'urn:oid:1.2.3', value: patient } },
      valueQuantity: { value, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      effectiveDateTime: '2024-05-01T12:30:00+02:00',
    } as unknown as NormalizedResource['resource'],
  };
}

async function start(auth?: { token: string }) {
  const now = new Date('2026-01-01T10:00:00Z');
  const metrics = createMetrics({ defaultMetrics: false });
  const activity = createActivityTracker({ metrics });
  const app = createHttpApi({
    readiness: { mllpListening: () => true, kafkaConnected: () => false },
    metrics,
    activity,
    clock: () => now,
    ...(auth === undefined ? {} : { auth }),
  });
  const { server, address } = await listenHttp(app, '127.0.0.1', 0);
  servers.push(server);
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`http://127.0.0.1:${address.port}${path}`, { headers });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  const snapshot = async (query = '') => {
    const response = await get(`/api/events/stream${query}`);
    expect(response.status).toBe(200);
    const data = /^data: (.*)$/m.exec(response.text)?.[1];
    return JSON.parse(data ?? 'null') as DashboardSnapshot;
  };
  activity.published({ adapter: 'hl7v2-pcd', transport: 'mllp', activity: summarizePublished([spo2('DEV-1', 'MRN-SECRET', 97)]), receivedAt: now, at: now });
  activity.published({ adapter: 'hl7v2-pcd', transport: 'mllp', activity: summarizePublished([spo2('DEV-1', 'MRN-SECRET', 95)]), receivedAt: now, at: now });
  return { get, snapshot };
}

describe('throughput ring', () => {
  it('keeps per-second differences of the totals, oldest first, zero-filling skipped seconds', () => {
    const ring = createThroughputRing(5);
    const t0 = Date.parse('2026-01-01T10:00:00Z');
    const at = (s: number) => new Date(t0 + s * 1000 + 300);
    ring.sample(at(0), { messagesReceived: 10, observationsPublished: 30, deadLetters: 0 });
    ring.sample(at(1), { messagesReceived: 12, observationsPublished: 36, deadLetters: 1 });
    ring.sample(at(1), { messagesReceived: 99, observationsPublished: 99, deadLetters: 9 }); // same second: ignored
    ring.sample(at(4), { messagesReceived: 13, observationsPublished: 39, deadLetters: 1 });
    const series = ring.series();
    expect(series.messages).toEqual([0, 2, 0, 0, 1]);
    expect(series.observations).toEqual([0, 6, 0, 0, 3]);
    expect(series.deadLetters).toEqual([0, 1, 0, 0, 0]);
    expect(series.endMs).toBe(t0 + 4000);
    expect(ring.recent(2)).toEqual({ messages: 1, observations: 3, deadLetters: 0 });
    ring.sample(at(100), { messagesReceived: 20, observationsPublished: 40, deadLetters: 1 });
    expect(ring.series().messages).toEqual([0, 0, 0, 0, 7]);
  });
});

describe('dashboard routes', () => {
  it('open mode: serves the page and a snapshot with last values, Kafka status, and no patient identifiers', async () => {
    const { get, snapshot } = await start();
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Vitalbridge');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const body = await snapshot();
    expect(body.access).toBe('open');
    expect(body.kafka).toEqual({ connected: false });
    expect(body.totals?.observationsPublished).toBe(2);
    expect(body.devices).toHaveLength(1);
    expect(body.devices[0]).toMatchObject({ id: 'DEV-1', state: 'connected', patient: { bound: true } });
    expect(body.devices[0]?.patient.identifier).toBeUndefined();
    expect(body.devices[0]?.lastValues).toEqual([{ code: 'MDC_PULS_OXIM_SAT_O2', value: 95, unit: '%', at: '2026-01-01T10:00:00.000Z' }]);
    expect(body.throughput.observations).toHaveLength(600);
    expect(JSON.stringify(body)).not.toContain('MRN-SECRET');
  });

  it('with a token: 401 without it, ?token= or the header on the page and stream, patient ids once authorised', async () => {
    const token = 'tok-0123456789abcdef0123';
    const { get, snapshot } = await start({ token });
    expect((await get('/')).status).toBe(401);
    expect((await get('/?token=nope')).status).toBe(401);
    expect((await get('/api/events/stream')).status).toBe(401);
    expect((await get(`/api/stats?token=${token}`)).status).toBe(401);
    expect((await get(`/?token=${token}`)).status).toBe(200);
    expect((await get('/', { authorization: `Bearer ${token}` })).status).toBe(200);
    const body = await snapshot(`?token=${token}`);
    expect(body.access).toBe('read');
    expect(body.devices[0]?.patient).toMatchObject({ bound: true, identifier: 'MRN-SECRET' });
  });
});

/**
 * The HTTP API on the real gateway with the real broker: devices appear after MLLP messages and
 * their counts move, dead letters show without raw bytes, bearer-token auth, every metric the
 * README documents is in a scrape, and the OpenAPI document matches the routes express serves.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApi } from '../../src/http/http-api.ts';
import { deadLettersSchema, deviceSchema, devicesSchema, problemSchema, statsSchema } from '../../src/http/routes.ts';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { startHttpTestGateway, type HttpTestGateway } from '../support/http-gateway.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';

const token = 'read-token-0123456789abcdef';
const adminToken = 'admin-token-0123456789abcdef';
const eui = '00123400000A11CE';

let gw: HttpTestGateway;
let client: MllpClient;

async function send(message: string) {
  const ack = readAcknowledgement(await client.send(message, { timeoutMs: 20_000 }));
  if (ack === undefined) throw new Error('not an ACK');
  return ack;
}

async function devices(access = token) {
  const response = await gw.get('/api/devices', access);
  expect(response.status).toBe(200);
  return devicesSchema.parse(response.json()).devices;
}

beforeAll(async () => {
  gw = await startHttpTestGateway({
    brokers: kafkaBrokers(),
    http: { token, adminToken },
    devices: [
      {
        id: 'bed7-spo2',
        adapter: 'nonin-oem3',
        transport: { kind: 'tcp-server', host: '127.0.0.1', port: 0 },
        patient: { identifier: 'MRN-BED7', system: 'urn:oid:1.2.3' },
        location: 'ICU West, bed 7',
      },
    ],
  });
  client = new MllpClient();
  await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
});

afterAll(async () => {
  await client?.close();
  await gw?.stop();
});

describe('auth', () => {
  it('refuses /api/* and /openapi.json without or with a wrong token (401, counted), answers with it', async () => {
    for (const path of ['/api/devices', '/api/stats', '/api/deadletters', '/openapi.json']) {
      const missing = await gw.get(path);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(problemSchema.parse(missing.json()).status).toBe(401);
      expect((await gw.get(path, 'wrong-token-0123456789abcdef')).status).toBe(401);
      expect((await gw.get(path, `${token}x`)).status).toBe(401);
      expect((await gw.get(path, token)).status).toBe(200);
      expect((await gw.get(path, adminToken)).status).toBe(200);
    }
    const metrics = await gw.get('/metrics');
    expect(metrics.text).toMatch(/vitalbridge_http_auth_failures_total\{reason="missing"\} 4/);
    expect(metrics.text).toMatch(/vitalbridge_http_auth_failures_total\{reason="invalid"\} 8/);
    expect(gw.logLines.join('')).not.toContain(token);
  });

  it('leaves health and metrics open by default', async () => {
    expect((await gw.get('/healthz')).status).toBe(200);
    expect((await gw.get('/readyz')).status).toBe(200);
    expect((await gw.get('/metrics')).status).toBe(200);
  });
});

describe('devices', () => {
  it('lists the configured device from the start, with its binding, and patient ids only with a token', async () => {
    const configured = (await devices()).find((device) => device.id === 'bed7-spo2');
    expect(configured).toMatchObject({
      adapter: 'nonin-oem3',
      source: 'configured',
      transport: { kind: 'tcp-server' },
      patient: { bound: true, identifier: 'MRN-BED7', system: 'urn:oid:1.2.3' },
      location: 'ICU West, bed 7',
      state: 'disconnected',
    });
    const unknown = await gw.get('/api/devices/no-such-device', token);
    expect(unknown.status).toBe(404);
    expect(problemSchema.parse(unknown.json())).toMatchObject({ status: 404, title: 'Device not found' });
  });

  it('adds an MLLP device when its messages are published, and its counts and rates move', async () => {
    expect((await send(pcd01Message({ controlId: 'HTTP-DEV-1', eui64: eui, patientId: 'MRN-HTTP-1' }))).code).toBe('CA');
    const first = (await devices()).find((device) => device.source === 'mllp' && device.id.includes(eui));
    expect(first).toMatchObject({
      adapter: 'hl7v2-pcd',
      transport: { kind: 'mllp' },
      state: 'connected',
      messages: { total: 1 },
      observations: { total: 3 },
      patient: { bound: true, identifier: 'MRN-HTTP-1' },
      lastError: null,
    });
    expect(first?.messages.perMinute).toBeGreaterThan(0);
    expect(first?.lastSeenAt).not.toBeNull();

    expect((await send(pcd01Message({ controlId: 'HTTP-DEV-2', eui64: eui, patientId: 'MRN-HTTP-1', spo2: '96' }))).code).toBe('CA');
    const one = await gw.get(`/api/devices/${encodeURIComponent(first?.id ?? '')}`, token);
    expect(one.status).toBe(200);
    const second = deviceSchema.parse(one.json());
    expect(second.messages.total).toBe(2);
    expect(second.observations.total).toBe(6);
    expect(second.observations.perMinute).toBeGreaterThan(first?.observations.perMinute ?? 0);

    const stats = statsSchema.parse((await gw.get('/api/stats', token)).json());
    expect(stats.totals.messagesPublished).toBeGreaterThanOrEqual(2);
    expect(stats.totals.observationsPublished).toBeGreaterThanOrEqual(6);
    const pcd = stats.adapters.find((entry) => entry.adapter === 'hl7v2-pcd');
    expect(pcd?.observationsPublished.total).toBeGreaterThanOrEqual(6);
    expect(pcd?.messagesReceived.perMinute).toBeGreaterThan(0);
    expect(stats.inFlight).toEqual({ messages: 0, records: 0, devicePendingMessages: 0 });
    expect(stats.devicesByState.connected).toBeGreaterThanOrEqual(1);
    expect(stats.devicesByState.disconnected).toBeGreaterThanOrEqual(1);
  });
});

describe('dead letters', () => {
  const garbage = 'THIS IS NOT HL7\rPID|||SECRET-PATIENT-ID\r';

  it('shows a dead letter without raw bytes or patient data; raw only for the admin token', async () => {
    expect((await send(garbage)).code).toBe('AE');
    const response = await gw.get('/api/deadletters', token);
    expect(response.status).toBe(200);
    const body = deadLettersSchema.parse(response.json());
    const entry = body.deadLetters[0];
    expect(entry).toMatchObject({ code: 'hl7_missing_msh', stage: 'parse', adapter: 'hl7v2-pcd', bytes: Buffer.byteLength(garbage), messageId: null });
    expect(entry?.raw).toBeUndefined();
    expect(response.text).not.toContain('SECRET-PATIENT-ID');
    expect(response.text).not.toContain(Buffer.from(garbage).toString('base64'));

    expect((await gw.get('/api/deadletters?include=raw', token)).status).toBe(403);
    expect((await gw.get('/api/deadletters?include=everything', adminToken)).status).toBe(400);
    const raw = deadLettersSchema.parse((await gw.get('/api/deadletters?include=raw&limit=1', adminToken)).json());
    expect(raw.deadLetters).toHaveLength(1);
    expect(Buffer.from(raw.deadLetters[0]?.raw?.data ?? '', 'base64').toString('utf8')).toBe(garbage);

    const stats = statsSchema.parse((await gw.get('/api/stats', token)).json());
    expect(stats.deadLettersByCode.hl7_missing_msh).toBeGreaterThanOrEqual(1);
    expect(stats.totals.deadLetters).toBeGreaterThanOrEqual(1);
  });
});

/** Metric names from the README's metrics table (the one place they are documented). */
async function documentedMetrics(): Promise<string[]> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Metrics\n'), readme.indexOf('\n## ', readme.indexOf('\n## Metrics\n') + 1));
  return [...section.matchAll(/^\| `(vitalbridge_[a-z0-9_]+)` \|/gm)].map((match) => match[1] ?? '');
}

describe('metrics', () => {
  it('has a sample of every metric the README documents after an exchange, and documents every metric registered', async () => {
    // A pulse-rate row with a code the terminology table does not know: published, and counted.
    const unknownCode = pcd01Message({ controlId: 'HTTP-METRICS-1', eui64: eui }).replace('149530^MDC_PULS_OXIM_PULS_RATE^MDC', '149999^MDC_NOT_IN_THE_TABLE^MDC');
    expect((await send(unknownCode)).code).toBe('CA');
    const names = await documentedMetrics();
    expect(names.length).toBeGreaterThanOrEqual(15);
    const scrape = (await gw.get('/metrics')).text;
    const sampled = new Set(
      scrape
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '')
        .map((name) => name.replace(/_(bucket|sum|count)$/, '')),
    );
    const missing = names.filter((name) => !sampled.has(name));
    expect(missing).toEqual([]);
    expect(scrape).toMatch(/vitalbridge_observations_published_total\{adapter="hl7v2-pcd"\} \d+/);
    expect(scrape).toMatch(/vitalbridge_end_to_end_latency_seconds_count\{adapter="hl7v2-pcd"\} [1-9]/);
    expect(scrape).toMatch(/vitalbridge_devices\{state="connected"\} [1-9]/);
    expect(scrape).toMatch(/vitalbridge_unmapped_codes_total\{code="[^"]*149999"\} 1/);
    expect(scrape).toMatch(/vitalbridge_device_state\{device="bed7-spo2",state="disconnected"\} 1/);

    const registered = (await gw.gateway.metrics.registry.getMetricsAsJSON()).map((metric) => metric.name).filter((name) => !name.startsWith('vitalbridge_process_'));
    expect(registered.filter((name) => !names.includes(name))).toEqual([]);
  });
});

describe('OpenAPI', () => {
  function expressRoutes(app: ReturnType<typeof createHttpApi>): { method: string; path: string }[] {
    const stack = (app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack;
    return stack.flatMap((layer) =>
      layer.route === undefined ? [] : Object.keys(layer.route.methods).map((method) => ({ method, path: layer.route?.path ?? '' })),
    );
  }

  it('documents every route express serves, and every documented path answers on the running gateway', async () => {
    const response = await gw.get('/openapi.json', token);
    expect(response.status).toBe(200);
    const document = response.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe('3.1.0');

    const app = createHttpApi({ readiness: { mllpListening: () => true, kafkaConnected: () => true }, metrics: createMetrics({ defaultMetrics: false }) });
    const routes = expressRoutes(app);
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const route of routes) {
      const documented = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(document.paths[documented]?.[route.method], `${route.method.toUpperCase()} ${route.path} is not in /openapi.json`).toBeDefined();
    }
    expect(Object.keys(document.paths).sort()).toEqual([...new Set(routes.map((route) => route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')))].sort());

    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        expect(method).toBe('get');
        const concrete = path.replace('{id}', 'bed7-spo2');
        const answer = await gw.get(concrete, adminToken);
        expect(answer.status, `GET ${concrete}`).not.toBe(404);
        expect(answer.status, `GET ${concrete}`).toBeLessThan(500);
      }
    }
  });
});

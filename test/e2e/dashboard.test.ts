/**
 * The live dashboard in a real browser: Debian's headless Chromium driven by playwright-core, on the
 * real gateway with the real broker. While the page is open, PCD-01 messages go in over MLLP; the
 * device must appear in the device list with its last values, and the throughput figure must move
 * (read twice), without reloading. Saves test-artifacts/dashboard.png. Without /usr/bin/chromium
 * the test fails (install it: apt-get install chromium); it never skips.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAcknowledgement } from '../../src/hl7/read-ack.ts';
import { MllpClient } from '../../src/transports/mllp/client.ts';
import { startHttpTestGateway, type HttpTestGateway } from '../support/http-gateway.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { pcd01Message } from '../support/messages.ts';

const chromiumPath = '/usr/bin/chromium';
const token = 'dashboard-token-0123456789abcdef';
const eui = '00123400000DA5B0';
const artifact = new URL('../../test-artifacts/dashboard.png', import.meta.url);

let gw: HttpTestGateway;
let client: MllpClient;
let browser: Browser | undefined;
let page: Page;
let sent = 0;
/** The browser reaches the gateway through this TCP relay, so the test can cut its connections. */
let relay: Server;
let relayUrl: string;
const relayed = new Set<Socket>();

async function send(message: string) {
  const ack = readAcknowledgement(await client.send(message, { timeoutMs: 10_000 }));
  if (ack === undefined) throw new Error('not an ACK');
  return ack.code;
}

async function sendVitals(count: number) {
  for (let i = 0; i < count; i += 1) {
    sent += 1;
    expect(await send(pcd01Message({ controlId: `DASH-${sent}`, eui64: eui, patientId: 'MRN-DASH-1', spo2: String(90 + (sent % 8)) }))).toBe('CA');
  }
}

const figure = async (testId: string) => Number((await page.getByTestId(testId).textContent())?.replace(/[^0-9]/g, '') ?? 'NaN');

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: install Debian's chromium (apt-get install -y chromium); this test does not skip`);
  gw = await startHttpTestGateway({
    brokers: kafkaBrokers(),
    http: { token },
    devices: [
      {
        id: 'bed9-spo2',
        adapter: 'nonin-oem3',
        transport: { kind: 'tcp-server', host: '127.0.0.1', port: 0 },
        patient: { identifier: 'MRN-BED9', system: 'urn:oid:1.2.3' },
        location: 'ICU West, bed 9',
      },
    ],
  });
  client = new MllpClient();
  await client.connect('127.0.0.1', gw.gateway.mllp.port, { timeoutMs: 5_000 });
  relay = createServer((inbound) => {
    const outbound = connect(gw.gateway.http.port, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      relayed.add(socket);
      socket.on('close', () => relayed.delete(socket));
      socket.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  relayUrl = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu'], timeout: 30_000 });
  page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  page.setDefaultTimeout(15_000);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  for (const socket of relayed) socket.destroy();
  await new Promise<void>((resolve) => (relay === undefined ? resolve() : relay.close(() => resolve())));
  await client?.close();
  await gw?.stop();
});

describe('dashboard', () => {
  it('is protected like /api/*: 401 without a token or with a wrong one, on the page and the stream', async () => {
    expect((await gw.get('/')).status).toBe(401);
    expect((await gw.get('/?token=wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await gw.get('/api/events/stream')).status).toBe(401);
    expect((await gw.get(`/api/events/stream?token=${token}x`)).status).toBe(401);
    // ?token= is for the dashboard only, not the JSON API.
    expect((await gw.get(`/api/devices?token=${token}`)).status).toBe(401);
    const ok = await gw.get(`/?token=${token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/html/);
    expect(ok.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(ok.text).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
    const once = await gw.get('/api/events/stream', token);
    expect(once.status).toBe(200);
    expect(once.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(once.text).toMatch(/^event: snapshot$/m);
  });

  it('shows the device and a moving throughput figure while messages arrive, live, without reloading', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await page.goto(`${relayUrl}/?token=${token}`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: 10_000 }).toContain('Live');
    await expect.poll(() => page.getByTestId('kafka-status').textContent(), { timeout: 10_000 }).toContain('Kafka connected');
    // The configured device is listed from the start.
    await page.locator('tr[data-device-id="bed9-spo2"]').waitFor();

    await sendVitals(5);
    const row = page.locator(`tr[data-device-id*="${eui}"]`);
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.getAttribute('data-state')).toBe('connected');
    await expect.poll(async () => (await row.textContent()) ?? '').toMatch(/CONNECTED/);
    await expect.poll(async () => (await row.textContent()) ?? '').toMatch(/SpO₂\s*9\d\s*%/);
    // The token is the read token: authorised, so the patient identifier may show.
    await expect.poll(async () => (await row.textContent()) ?? '').toContain('MRN-DASH-1');

    await expect.poll(() => figure('obs-per-min'), { timeout: 10_000 }).toBeGreaterThan(0);
    const first = await figure('obs-per-min');
    const firstTotal = await figure('obs-total');
    await sendVitals(5);
    await expect.poll(() => figure('obs-per-min'), { timeout: 10_000 }).toBeGreaterThan(first);
    expect(await figure('obs-total')).toBeGreaterThan(firstTotal);

    // A dead letter shows in the list, by code, without its bytes.
    expect(await send('THIS IS NOT HL7\rPID|||SECRET-PATIENT-ID\r')).toBe('AE');
    await expect.poll(async () => (await page.getByTestId('deadletters').textContent()) ?? '', { timeout: 10_000 }).toContain('hl7_missing_msh');
    expect(await page.content()).not.toContain('SECRET-PATIENT-ID');

    // The chart has drawn the flow: the observations path climbs above the baseline somewhere.
    const path = (await page.locator('#obs-area').getAttribute('d')) ?? '';
    expect(path.match(/L\d+(\.\d+)? (\d+(\.\d+)?)/g)?.some((point) => Number(point.split(' ')[1]) < 100)).toBe(true);

    expect(navigations).toHaveLength(1); // updated in place: one navigation, no reload
    await mkdir(new URL('.', artifact), { recursive: true });
    await page.screenshot({ path: artifact.pathname, fullPage: false });
  }, 60_000);

  it('reconnects on its own when the stream drops', async () => {
    const before = await figure('obs-total');
    // Cut the page's connections (as a proxy timeout or a network drop would): the stream ends.
    for (const socket of relayed) socket.destroy();
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: 5_000, interval: 50 }).toContain('Reconnecting');
    await sendVitals(2);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: 20_000 }).toContain('Live');
    await expect.poll(() => figure('obs-total'), { timeout: 10_000 }).toBeGreaterThan(before);
  }, 60_000);
});

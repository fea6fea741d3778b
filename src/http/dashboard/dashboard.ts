/**
 * The live dashboard: one self-contained HTML page (page.html, inline CSS and script, no build step,
 * nothing fetched from the network) and a Server-Sent Events stream that pushes a snapshot of the
 * gateway every second: throughput per second over the last 10 minutes (kept here, server side, by
 * sampling the activity tracker's totals), devices with state, rates and last values, recent dead
 * letters and device errors, Kafka and MLLP status.
 *
 * One timer samples and broadcasts for all clients; it is unref'd, so it never keeps the process up.
 * Patient identifiers follow the API's rule: only in snapshots for authorised requests.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Request, Response } from 'express';
import type { ActivityTracker, LastValue } from '../../observability/activity-tracker.ts';
import type { Access } from '../auth.ts';
import { deadLetterView, type ApiDevice } from '../device-view.ts';
import { createThroughputRing, type ThroughputSeries } from './throughput.ts';

const pageHtml = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
/** The page's one inline script, allowed by its hash so the CSP needs no 'unsafe-inline' for scripts. */
const scriptHash = createHash('sha256')
  .update(/<script>([\s\S]*?)<\/script>/.exec(pageHtml)?.[1] ?? '', 'utf8')
  .digest('base64');
const contentSecurityPolicy = [
  "default-src 'none'",
  `script-src 'sha256-${scriptHash}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Devices sent per snapshot (problem states first); the count of all is sent too. */
const maxDevicesShown = 200;
const recentShown = 10;

export interface DashboardDevice extends ApiDevice {
  readonly lastValues: { code: string; value: number | string; unit: string | null; at: string }[];
}

export interface DashboardSnapshot {
  readonly at: string;
  readonly startedAt: string;
  readonly access: Access;
  readonly kafka: { readonly connected: boolean };
  readonly mllp: { readonly listening: boolean };
  readonly totals: ReturnType<ActivityTracker['totals']> | undefined;
  /** From the per-second series: the last 60 seconds. */
  readonly lastMinute: { messages: number; observations: number; deadLetters: number };
  readonly throughput: ThroughputSeries;
  readonly devicesByState: Record<string, number>;
  readonly devicesTotal: number;
  readonly devices: DashboardDevice[];
  readonly deadLetters: { code: string; stage: string; at: string; adapter: string; deviceId: string | null; messageId: string | null; bytes: number }[];
  readonly errors: { deviceId: string; adapter: string; code: string; at: string }[];
}

export interface DashboardOptions {
  readonly activity: ActivityTracker | undefined;
  readonly devices: (at: Date, access: { showPatient: boolean }) => ApiDevice[];
  readonly kafkaConnected: () => boolean;
  readonly mllpListening: () => boolean;
  readonly clock: () => Date;
  readonly startedAt: Date;
  /** Default 1 s. */
  readonly intervalMs?: number;
  /** Default 600 (10 minutes). */
  readonly historySeconds?: number;
}

const stateOrder: Record<ApiDevice['state'], number> = { offline: 0, stale: 1, disconnected: 2, connected: 3 };

export function createDashboard(options: DashboardOptions) {
  const ring = createThroughputRing(options.historySeconds ?? 600);
  const clients = new Set<{ res: Response; access: Access }>();
  let eventId = 0;

  function sample(at: Date): void {
    const totals = options.activity?.totals();
    if (totals !== undefined) ring.sample(at, totals);
  }

  function snapshot(at: Date, access: Access): DashboardSnapshot {
    const activity = options.activity;
    const all = options.devices(at, { showPatient: access !== 'open' });
    const byState: Record<string, number> = { connected: 0, stale: 0, offline: 0, disconnected: 0 };
    for (const device of all) byState[device.state] = (byState[device.state] ?? 0) + 1;
    const shown = [...all]
      .sort((a, b) => stateOrder[a.state] - stateOrder[b.state] || a.id.localeCompare(b.id))
      .slice(0, maxDevicesShown)
      .map((device) => ({
        ...device,
        lastValues: (activity?.lastValues(device.id) ?? []).map((value: LastValue) => ({
          code: value.code,
          value: value.value,
          unit: value.unit ?? null,
          at: value.at.toISOString(),
        })),
      }));
    const errors = all
      .filter((device) => device.lastError !== null)
      .map((device) => ({ deviceId: device.id, adapter: device.adapter, code: device.lastError?.code ?? '', at: device.lastError?.at ?? '' }))
      .sort((a, b) => b.at.localeCompare(a.at))
      .slice(0, recentShown);
    return {
      at: at.toISOString(),
      startedAt: options.startedAt.toISOString(),
      access,
      kafka: { connected: options.kafkaConnected() },
      mllp: { listening: options.mllpListening() },
      totals: activity?.totals(),
      lastMinute: ring.recent(60),
      throughput: ring.series(),
      devicesByState: byState,
      devicesTotal: all.length,
      devices: shown,
      deadLetters: (activity?.recentDeadLetters(recentShown) ?? []).map(deadLetterView),
      errors,
    };
  }

  function write(res: Response, access: Access, at: Date): void {
    eventId += 1;
    res.write(`id: ${eventId}\nevent: snapshot\ndata: ${JSON.stringify(snapshot(at, access))}\n\n`);
  }

  function tick(): void {
    const at = options.clock();
    sample(at);
    for (const client of clients) {
      if (client.res.writableEnded || client.res.destroyed) {
        clients.delete(client);
        continue;
      }
      write(client.res, client.access, at);
    }
  }

  sample(options.clock());
  const timer = setInterval(tick, options.intervalMs ?? 1_000);
  timer.unref();

  return {
    page(_req: Request, res: Response): void {
      res
        .status(200)
        .set({
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': contentSecurityPolicy,
          // The token may be in this page's address: keep it out of Referer headers and caches.
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
        })
        .send(pageHtml);
    },

    /**
     * `Accept: text/event-stream` (EventSource, `curl -N -H 'Accept: text/event-stream'`): a snapshot
     * now and then every second until the client goes. Any other Accept: one snapshot, then the end.
     */
    stream(req: Request, res: Response, access: Access): void {
      res.status(200).set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
        'Referrer-Policy': 'no-referrer',
      });
      res.flushHeaders();
      res.write('retry: 2000\n\n');
      write(res, access, options.clock());
      if (!(req.get('accept') ?? '').includes('text/event-stream')) {
        res.end();
        return;
      }
      const client = { res, access };
      clients.add(client);
      res.on('close', () => clients.delete(client));
    },

    /** For tests: the snapshot an `access` would get now. */
    snapshot: (access: Access) => snapshot(options.clock(), access),
    clientCount: () => clients.size,
    stop(): void {
      clearInterval(timer);
      for (const client of clients) client.res.end();
      clients.clear();
    },
  };
}

export type Dashboard = ReturnType<typeof createDashboard>;

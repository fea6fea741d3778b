/**
 * The HTTP API: liveness, readiness, Prometheus metrics, the device registry, statistics, recent
 * dead letters and its own OpenAPI document. Every route comes from the one table in routes.ts
 * (registered here, documented at /openapi.json). /readyz is 200 only while the MLLP listener is
 * up and the Kafka producer is connected, so an orchestrator routes no devices to a gateway that
 * could not acknowledge them.
 *
 * Auth: with http.token / http.adminToken set, /api/* and /openapi.json need
 * `Authorization: Bearer <token>` (and health and metrics too with http.protectHealthAndMetrics).
 * Patient identifiers are shown only to an authorised request; dead letters' raw bytes only to the
 * admin token with ?include=raw. The live dashboard (`/`, dashboard/) and its event stream
 * (/api/events/stream) are protected like /api/* and also take the token as `?token=`, because a
 * browser's EventSource cannot send an Authorization header.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResolvedDevice } from '../config/load-config.ts';
import type { ActivityTracker } from '../observability/activity-tracker.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DeviceStatus } from '../pipeline/device-state.ts';
import type { SpoolStatus } from '../spool/spool.ts';
import { createAuthenticator, type Access } from './auth.ts';
import { createDashboard } from './dashboard/dashboard.ts';
import { createDeviceView, deadLetterView } from './device-view.ts';
import { deadLettersQuerySchema, openApiDocument, routeTable, type OperationId, type RouteSpec } from './routes.ts';

export interface ReadinessProbe {
  readonly mllpListening: () => boolean;
  readonly kafkaConnected: () => boolean;
  /**
   * With delivery.ack: spool: the spool's state. Readiness then follows the spool (writable and
   * not full), not Kafka: the gateway acknowledges from the spool through a Kafka outage.
   */
  readonly spool?: () => SpoolStatus | undefined;
}

export interface HttpApiOptions {
  readiness: ReadinessProbe;
  metrics: Metrics;
  /** Without it (older callers, unit tests) the API shows no activity. */
  activity?: ActivityTracker;
  deviceStates?: () => readonly DeviceStatus[];
  configuredDevices?: readonly ResolvedDevice[];
  inFlightRecords?: () => number;
  auth?: { token?: string | undefined; adminToken?: string | undefined; protectHealthAndMetrics?: boolean };
  log?: Logger;
  clock?: () => Date;
  version?: string;
  /** MLLP devices: silence before stale / offline. */
  mllpStaleAfterMs?: number;
  mllpOfflineAfterMs?: number;
}

type Handler = (req: Request, res: Response, access: Access) => void | Promise<void>;

export function sendProblem(res: Response, status: number, title: string, detail?: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status, ...(detail === undefined ? {} : { detail }) }));
}

export function createHttpApi(options: HttpApiOptions) {
  const { metrics } = options;
  const clock = options.clock ?? (() => new Date());
  const startedAt = clock();
  const activity = options.activity;
  const auth = createAuthenticator({ token: options.auth?.token, adminToken: options.auth?.adminToken });
  const protectHealth = options.auth?.protectHealthAndMetrics ?? false;
  if (!auth.enabled) {
    options.log?.warn('http_api_unprotected', {
      detail: 'no http.token (HTTP_TOKEN) configured: /api/* and /openapi.json are open to anyone who can reach the port; patient identifiers and raw dead letters are not shown',
    });
  }

  const view =
    activity === undefined
      ? undefined
      : createDeviceView({
          activity,
          deviceStates: options.deviceStates ?? (() => []),
          configured: options.configuredDevices ?? [],
          mllpStaleAfterMs: options.mllpStaleAfterMs,
          mllpOfflineAfterMs: options.mllpOfflineAfterMs,
        });
  if (view !== undefined) metrics.observeDevices(() => view.countByState(clock()));
  const emptyCounts = { connected: 0, stale: 0, offline: 0, disconnected: 0 };
  const dashboard = createDashboard({
    activity,
    devices: (at, access) => view?.list(at, access) ?? [],
    kafkaConnected: () => options.readiness.kafkaConnected(),
    mllpListening: () => options.readiness.mllpListening(),
    clock,
    startedAt,
  });

  const handlers: Record<OperationId, Handler> = {
    healthz(_req, res) {
      res.json({ status: 'alive' });
    },
    readyz(_req, res) {
      const spool = options.readiness.spool?.();
      const checks = {
        mllp: options.readiness.mllpListening() ? 'up' : 'down',
        kafka: options.readiness.kafkaConnected() ? 'connected' : 'disconnected',
        ...(spool !== undefined ? { spool: !spool.writable ? 'unwritable' : spool.full ? 'full' : 'writable' } : {}),
      };
      const ready = checks.mllp === 'up' && (spool !== undefined ? checks.spool === 'writable' : checks.kafka === 'connected');
      res.status(ready ? 200 : 503).json({
        status: ready ? 'ready' : 'not-ready',
        checks,
        ...(spool !== undefined
          ? {
              spool: {
                bytes: spool.bytes,
                maxBytes: spool.maxBytes,
                pendingRecords: spool.pendingRecords,
                segments: spool.segments,
                ...(spool.lastWriteError !== undefined ? { lastWriteError: spool.lastWriteError } : {}),
              },
            }
          : {}),
      });
    },
    async metrics(_req, res) {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
    openapi(_req, res) {
      res.json(openApiDocument({ version: options.version ?? '0.1.0', protectHealthAndMetrics: protectHealth }));
    },
    listDevices(_req, res, access) {
      const at = clock();
      res.json({ at: at.toISOString(), devices: view?.list(at, { showPatient: access !== 'open' }) ?? [] });
    },
    getDevice(req, res, access) {
      const id = String(req.params.id);
      const device = view?.get(id, clock(), { showPatient: access !== 'open' });
      if (device === undefined) {
        sendProblem(res, 404, 'Device not found', `No configured or seen device has the id "${id}".`);
        return;
      }
      res.json(device);
    },
    async getStats(_req, res) {
      const at = clock();
      const totals = activity?.totals() ?? {
        messagesReceived: 0,
        messagesPublished: 0,
        observationsPublished: 0,
        resourcesPublished: 0,
        deadLetters: 0,
        publishErrors: 0,
        publishRetries: 0,
      };
      const inFlightMessages = (await metrics.inFlightMessages.get()).values.reduce((sum, value) => sum + value.value, 0);
      const pending = (options.deviceStates?.() ?? []).reduce((sum, status) => sum + status.pendingMessages, 0);
      res.json({
        at: at.toISOString(),
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.max(0, (at.getTime() - startedAt.getTime()) / 1000),
        windowSeconds: 60,
        totals,
        adapters: (activity?.adapters(at) ?? []).map((entry) => ({
          adapter: entry.adapter,
          messagesReceived: { total: entry.messagesReceived, perMinute: entry.messagesReceivedPerMinute },
          observationsPublished: { total: entry.observationsPublished, perMinute: entry.observationsPublishedPerMinute },
          deadLetters: entry.deadLetters,
        })),
        inFlight: { messages: Math.max(0, inFlightMessages), records: options.inFlightRecords?.() ?? 0, devicePendingMessages: pending },
        deadLettersByCode: activity?.deadLettersByCode() ?? {},
        devicesByState: view?.countByState(at) ?? emptyCounts,
        kafka: { connected: options.readiness.kafkaConnected() },
      });
    },
    dashboard(req, res) {
      dashboard.page(req, res);
    },
    eventStream(req, res, access) {
      dashboard.stream(req, res, access);
    },
    listDeadLetters(req, res, access) {
      const query = deadLettersQuerySchema.safeParse(req.query);
      if (!query.success) {
        sendProblem(res, 400, 'Invalid query', query.error.issues.map((issue) => `${issue.path.join('.') || '(query)'}: ${issue.message}`).join('; '));
        return;
      }
      const includeRaw = query.data.include === 'raw';
      if (includeRaw && access !== 'admin') {
        metrics.httpAuthFailures.inc({ reason: 'forbidden' });
        sendProblem(res, 403, 'Forbidden', 'Raw dead letters hold patient data: they need the admin token (http.adminToken).');
        return;
      }
      const capacity = activity?.deadLetterCapacity ?? 0;
      res.json({
        capacity: Math.max(1, capacity),
        deadLetters: (activity?.recentDeadLetters(query.data.limit) ?? []).map((entry) => ({
          ...deadLetterView(entry),
          ...(includeRaw ? { raw: { encoding: 'base64', data: entry.raw.toString('base64'), truncated: entry.rawTruncated } } : {}),
        })),
      });
    },
  };

  function guard(route: RouteSpec) {
    const protection = route.protection;
    return (req: Request, res: Response, next: NextFunction) => {
      // The dashboard and its stream also take ?token= (EventSource cannot send headers); the
      // header wins when both are sent. Either way the same constant-time comparison decides.
      const queryToken = route.tokenInQuery === true && typeof req.query.token === 'string' ? req.query.token : undefined;
      const authorization = req.get('authorization') ?? (queryToken === undefined ? undefined : `Bearer ${queryToken}`);
      const result = auth.authenticate(authorization);
      if (result.ok) {
        res.locals.access = result.access;
        next();
        return;
      }
      // Open health and metrics still accept (and ignore) a wrong token: they are public.
      if (protection === 'health' && !protectHealth) {
        res.locals.access = 'open';
        next();
        return;
      }
      metrics.httpAuthFailures.inc({ reason: result.reason });
      res.set('WWW-Authenticate', 'Bearer realm="vitalbridge"');
      sendProblem(res, 401, 'Unauthorized', result.reason === 'missing' ? `Send Authorization: Bearer <token>${route.tokenInQuery === true ? ' (or, for the dashboard, ?token=<token>)' : ''}.` : 'The bearer token is not valid.');
    };
  }

  const app = express();
  app.disable('x-powered-by');
  for (const route of routeTable as readonly RouteSpec[]) {
    const handler = handlers[route.operationId as OperationId];
    app[route.method](route.path, guard(route), async (req: Request, res: Response) => {
      await handler(req, res, res.locals.access as Access);
    });
  }
  app.use((req: Request, res: Response) => {
    sendProblem(res, 404, 'Not found', `No route ${req.method} ${req.path}; see /openapi.json.`);
  });
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    options.log?.error('http_handler_failed', { detail: error instanceof Error ? error.message : String(error) });
    sendProblem(res, 500, 'Internal error');
  });
  return app;
}

export async function listenHttp(app: express.Express, host: string, port: number): Promise<{ server: Server; address: AddressInfo }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve({ server, address: server.address() as AddressInfo });
    });
  });
}

/**
 * The one route table of the HTTP API: http-api.ts registers exactly these routes (a handler per
 * operationId, checked by the compiler) and /openapi.json is generated from them, so the document
 * cannot drift from what is served. Response bodies are zod schemas: the same schemas produce the
 * OpenAPI components (JSON Schema 2020-12, as OpenAPI 3.1 uses) and check responses in tests.
 */
import { z } from 'zod';

export const problemSchema = z
  .object({
    type: z.string().describe('A URI naming the problem type; `about:blank` when the status says it all.'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
  })
  .describe('RFC 9457 problem details (application/problem+json).');

const rateSchema = z
  .object({
    total: z.number().int().min(0),
    perMinute: z.number().min(0).describe('Over the sliding window (windowSeconds of /api/stats), scaled to one minute.'),
  })
  .describe('A count since start and its rate.');

export const deviceSchema = z
  .object({
    id: z.string().describe('Configured devices: their id. MLLP devices: the Kafka record key, i.e. the device identity (MDS EUI-64 or serial).'),
    adapter: z.string(),
    source: z.enum(['configured', 'mllp']).describe('Configured under `devices`, or seen on the MLLP listener.'),
    transport: z.object({
      kind: z.enum(['mllp', 'serial', 'tcp-client', 'tcp-server']),
      description: z.string(),
    }),
    patient: z
      .object({
        bound: z.boolean().describe('A patient is bound (configured, or named by the last message).'),
        identifier: z.string().optional().describe('Only for requests authorised with a token.'),
        system: z.string().optional().describe('Only for requests authorised with a token.'),
      })
      .describe('The bound patient; identifiers only with authorisation.'),
    location: z.string().nullable(),
    state: z
      .enum(['connected', 'stale', 'offline', 'disconnected'])
      .describe(
        'Configured devices: disconnected (port or socket not open), connected (open; includes recovered), stale (open, silent). MLLP devices: connected (a message within the stale limit), stale, offline (silent beyond the offline limit).',
      ),
    transportState: z
      .enum(['disconnected', 'connected', 'stale', 'recovered'])
      .nullable()
      .describe('Configured devices: the registry state, as on gateway.events. Null for MLLP devices.'),
    stateSince: z.string().nullable(),
    lastSeenAt: z.string().nullable().describe('Last data frame (configured devices) or last message published (MLLP).'),
    messages: rateSchema.describe('Messages whose records Kafka acknowledged.'),
    observations: rateSchema.describe('Observations Kafka acknowledged.'),
    framesReceived: z.number().int().min(0).nullable().describe('Configured devices: data frames received. Null for MLLP devices.'),
    pendingMessages: z.number().int().min(0).describe('Messages waiting for Kafka (configured devices; 0 for MLLP, whose senders wait for the ACK).'),
    deadLetters: z.number().int().min(0),
    lastError: z.object({ code: z.string(), at: z.string() }).nullable().describe('Catalogue error code (docs/errors.md) of the last failure.'),
  })
  .describe('A device the gateway knows.');

export const devicesSchema = z.object({ at: z.string(), devices: z.array(deviceSchema) });

const stateCountsSchema = z.object({
  connected: z.number().int().min(0),
  stale: z.number().int().min(0),
  offline: z.number().int().min(0),
  disconnected: z.number().int().min(0),
});

export const statsSchema = z.object({
  at: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number().min(0),
  windowSeconds: z.number().min(1).describe('The sliding window the perMinute rates are computed over.'),
  totals: z.object({
    messagesReceived: z.number().int().min(0),
    messagesPublished: z.number().int().min(0),
    observationsPublished: z.number().int().min(0),
    resourcesPublished: z.number().int().min(0),
    deadLetters: z.number().int().min(0),
    publishErrors: z.number().int().min(0),
    publishRetries: z.number().int().min(0),
  }),
  adapters: z.array(
    z.object({
      adapter: z.string(),
      messagesReceived: rateSchema,
      observationsPublished: rateSchema,
      deadLetters: z.number().int().min(0),
    }),
  ),
  inFlight: z.object({
    messages: z.number().int().min(0).describe('MLLP messages received and not yet acknowledged.'),
    records: z.number().int().min(0).describe('Kafka records handed to the producer and not yet acknowledged.'),
    devicePendingMessages: z.number().int().min(0).describe('Serial device messages queued while Kafka is unavailable.'),
  }),
  deadLettersByCode: z.record(z.string(), z.number().int().min(0)),
  devicesByState: stateCountsSchema,
  kafka: z.object({ connected: z.boolean() }),
});

export const deadLettersSchema = z.object({
  capacity: z.number().int().min(1).describe('How many dead letters the gateway keeps in memory (the full record is on the dead-letter topic).'),
  deadLetters: z.array(
    z.object({
      code: z.string(),
      stage: z.string(),
      at: z.string(),
      adapter: z.string(),
      deviceId: z.string().nullable(),
      messageId: z.string().nullable().describe('MSH-10, where the message could be read that far.'),
      bytes: z.number().int().min(0),
      raw: z
        .object({ encoding: z.literal('base64'), data: z.string(), truncated: z.boolean() })
        .optional()
        .describe('Only with include=raw and the admin token: the bytes as received (patient data).'),
    }),
  ),
});

export const deadLettersQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).optional().describe('Most recent N (default: all kept).'),
  include: z.literal('raw').optional().describe('`raw`: add the raw bytes (needs the admin token).'),
});

export const dashboardQuerySchema = z.object({
  token: z
    .string()
    .optional()
    .describe('The bearer token, for browsers (EventSource cannot send headers). Prefer the Authorization header where you can.'),
});

export const healthSchema = z.object({ status: z.literal('alive') });
export const readySchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  checks: z.object({
    mllp: z.enum(['up', 'down']),
    kafka: z.enum(['connected', 'disconnected']),
    spool: z.enum(['writable', 'full', 'unwritable']).optional().describe('Only with delivery.ack: spool; then readiness follows it instead of kafka.'),
  }),
  spool: z
    .object({
      bytes: z.number(),
      maxBytes: z.number(),
      pendingRecords: z.number().describe('Acknowledged records not yet in Kafka.'),
      segments: z.number(),
      lastWriteError: z.string().optional().describe('errno of the last failed write (ENOSPC, EACCES, ...) while unwritable.'),
    })
    .optional(),
});

/** `health`: open unless http.protectHealthAndMetrics; `api`: the bearer token when one is configured. */
export type Protection = 'health' | 'api';

export interface RouteSpec {
  readonly operationId: string;
  readonly method: 'get';
  /** Express path syntax (`:id`). */
  readonly path: string;
  readonly summary: string;
  readonly protection: Protection;
  /**
   * Also accept the token as `?token=` (the dashboard page and its event stream: a browser's
   * EventSource cannot send an Authorization header). Checked by the same authenticator.
   */
  readonly tokenInQuery?: boolean;
  readonly pathParams?: Readonly<Record<string, string>>;
  readonly query?: z.ZodObject;
  readonly responses: Readonly<Record<number, { readonly description: string; readonly schema?: z.ZodType; readonly contentType?: string }>>;
}

const problem = (description: string) => ({ description, schema: problemSchema, contentType: 'application/problem+json' });
const unauthorised = problem('Missing or wrong bearer token (only when a token is configured).');

export const routeTable = [
  {
    operationId: 'healthz',
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: 200 while the process runs.',
    protection: 'health',
    responses: { 200: { description: 'Alive.', schema: healthSchema }, 401: unauthorised },
  },
  {
    operationId: 'readyz',
    method: 'get',
    path: '/readyz',
    summary:
      'Readiness: 200 only while the MLLP listener is up and the Kafka producer is connected (delivery.ack: spool: and the spool is writable and not full, whether Kafka is up or not).',
    protection: 'health',
    responses: {
      200: { description: 'Ready.', schema: readySchema },
      503: { description: 'Not ready; the failing check is named.', schema: readySchema },
      401: unauthorised,
    },
  },
  {
    operationId: 'metrics',
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format); the metrics are listed in the README.',
    protection: 'health',
    responses: { 200: { description: 'Metrics.', contentType: 'text/plain' }, 401: unauthorised },
  },
  {
    operationId: 'openapi',
    method: 'get',
    path: '/openapi.json',
    summary: 'This document.',
    protection: 'api',
    responses: { 200: { description: 'OpenAPI 3.1 document.' }, 401: unauthorised },
  },
  {
    operationId: 'listDevices',
    method: 'get',
    path: '/api/devices',
    summary: 'Every device configured or seen on MLLP, with state, counts, rates and last error.',
    protection: 'api',
    responses: { 200: { description: 'The devices.', schema: devicesSchema }, 401: unauthorised },
  },
  {
    operationId: 'getDevice',
    method: 'get',
    path: '/api/devices/:id',
    summary: 'One device.',
    protection: 'api',
    pathParams: { id: 'Device id (configured id or MLLP device identity).' },
    responses: { 200: { description: 'The device.', schema: deviceSchema }, 401: unauthorised, 404: problem('No such device.') },
  },
  {
    operationId: 'getStats',
    method: 'get',
    path: '/api/stats',
    summary: 'Totals, per-adapter rates, in-flight messages and records, dead letters by code, devices by state.',
    protection: 'api',
    responses: { 200: { description: 'The statistics.', schema: statsSchema }, 401: unauthorised },
  },
  {
    operationId: 'listDeadLetters',
    method: 'get',
    path: '/api/deadletters',
    summary: 'The most recent dead letters (bounded in memory), newest first; raw bytes only with include=raw and the admin token.',
    protection: 'api',
    query: deadLettersQuerySchema,
    responses: {
      200: { description: 'The dead letters.', schema: deadLettersSchema },
      400: problem('Invalid query.'),
      401: unauthorised,
      403: problem('include=raw without the admin token.'),
    },
  },
  {
    operationId: 'dashboard',
    method: 'get',
    path: '/',
    summary: 'The live dashboard: one self-contained HTML page (no external resources) fed by /api/events/stream.',
    protection: 'api',
    tokenInQuery: true,
    query: dashboardQuerySchema,
    responses: { 200: { description: 'The dashboard page.', contentType: 'text/html' }, 401: unauthorised },
  },
  {
    operationId: 'eventStream',
    method: 'get',
    path: '/api/events/stream',
    summary:
      'Server-Sent Events for the dashboard: a `snapshot` event (JSON: status, totals, per-second throughput of the last 10 minutes, devices with last values, recent dead letters and errors) every second. Without `Accept: text/event-stream`, one snapshot and the response ends.',
    protection: 'api',
    tokenInQuery: true,
    query: dashboardQuerySchema,
    responses: { 200: { description: 'The event stream.', contentType: 'text/event-stream' }, 401: unauthorised },
  },
] as const satisfies readonly RouteSpec[];

export type OperationId = (typeof routeTable)[number]['operationId'];

/** `/api/devices/:id` -> `/api/devices/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

export function openApiDocument(options: { version: string; protectHealthAndMetrics: boolean }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routeTable as readonly RouteSpec[]) {
    const secured = route.protection === 'api' || options.protectHealthAndMetrics;
    const parameters = [
      ...Object.entries(route.pathParams ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })),
      ...Object.entries(route.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: !(schema as z.ZodType).safeParse(undefined).success,
        ...((schema as z.ZodType).description ? { description: (schema as z.ZodType).description } : {}),
        schema: jsonSchema(schema as z.ZodType),
      })),
    ];
    const responses = Object.fromEntries(
      Object.entries(route.responses)
        .filter(([status]) => secured || status !== '401')
        .map(([status, response]) => [
          status,
          {
            description: response.description,
            content: { [response.contentType ?? 'application/json']: { schema: response.schema === undefined ? {} : jsonSchema(response.schema) } },
          },
        ]),
    );
    paths[openApiPath(route.path)] = {
      ...paths[openApiPath(route.path)],
      [route.method]: {
        operationId: route.operationId,
        summary: route.summary,
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(secured ? { security: route.tokenInQuery === true ? [{ bearer: [] }, { queryToken: [] }] : [{ bearer: [] }] } : { security: [] }),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Vitalbridge gateway HTTP API',
      version: options.version,
      description:
        'Health, metrics, the device registry, statistics and recent dead letters of one gateway. With `http.token` (or `HTTP_TOKEN`) set, /api/* and this document need `Authorization: Bearer <token>`.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        queryToken: { type: 'apiKey', in: 'query', name: 'token', description: 'The same token, for the dashboard page and its event stream only.' },
      },
    },
    paths,
  };
}

/**
 * Composition: the adapter, the publisher, the MLLP listener and the HTTP API, wired in the
 * order the flow needs. Start-up opens Kafka first (topics created, producer connected) so that
 * no message is ever accepted that could not be published. Shutdown runs the other way round.
 */
import type { AnyAdapter } from './adapter-kit/define-adapter.ts';
import { findAdapter } from '../adapters/index.ts';
import { createHttpApi, listenHttp } from './http/http-api.ts';
import { createActivityTracker, type ActivityTracker } from './observability/activity-tracker.ts';
import type { Logger } from './observability/log.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import type { ResolvedDevice } from './config/load-config.ts';
import { createDeviceRunner, type DeviceRunner } from './pipeline/device-runner.ts';
import { DeviceRegistry, type DeviceStatus } from './pipeline/device-state.ts';
import { createMessageProcessor } from './pipeline/message-processor.ts';
import { createPipelineWorkers, type PipelineWorkers } from './pipeline/pipeline-workers.ts';
import { createPresenceMonitor } from './pipeline/presence-monitor.ts';
import type { Publisher } from './publishing/publisher.ts';
import { createSpoolingPublisher } from './publishing/spooling-publisher.ts';
import { classifyKafkaConnectError, describeKafkaSecurity } from './publishing/kafka-client-config.ts';
import { createMllpServer } from './transports/mllp/server.ts';
import { mllpTlsOptions } from './security/tls-files.ts';
import type { GatewayConfig } from '../schemas/config.ts';

export interface GatewayHandle {
  readonly mllp: { readonly host: string; readonly port: number };
  readonly http: { readonly host: string; readonly port: number };
  readonly metrics: Metrics;
  /** What flowed, per device and adapter (the HTTP API's source). */
  readonly activity: ActivityTracker;
  /** The serial devices' states (connected, disconnected, stale, recovered), for the HTTP API. */
  deviceStates(): DeviceStatus[];
  stop(options?: { graceMs?: number }): Promise<void>;
}

export async function startGateway(options: {
  config: GatewayConfig;
  adapter: AnyAdapter;
  adapterConfig: unknown;
  publisher: Publisher;
  log: Logger;
  metrics?: Metrics;
  /** Serial devices (config `devices`, resolved by resolveConfig). */
  devices?: readonly ResolvedDevice[];
}): Promise<GatewayHandle> {
  const { config, adapter, log } = options;
  const metrics = options.metrics ?? createMetrics();
  // delivery.ack: spool puts the durable spool in front of Kafka for every producer of records
  // (MLLP messages, serial devices, presence events): they are acknowledged once on disk.
  const publisher =
    config.delivery.ack === 'spool'
      ? createSpoolingPublisher({
          inner: options.publisher,
          settings: config.delivery.spool,
          publishTimeoutMs: config.kafka.publishTimeoutMs,
          log,
          metrics,
        })
      : options.publisher;
  const topics = config.kafka.topics;
  const activity = createActivityTracker({ metrics });
  const registry = new DeviceRegistry();

  // MLLP devices' presence (events from silence) and Device status updates; one place for the limits.
  const presenceLimits = { staleAfterMs: config.presence.staleAfterSeconds * 1000, offlineAfterMs: config.presence.offlineAfterSeconds * 1000 };
  const presence = createPresenceMonitor({
    activity,
    publisher,
    topics,
    publishTimeoutMs: config.kafka.publishTimeoutMs,
    log,
    thresholds: presenceLimits,
    serialStates: () => registry.list(),
  });
  /** What the pipeline reports to: the tracker, with the monitor seeing each published Device. */
  const reported = presence.observe(activity);

  try {
    await publisher.start([topics.observation, topics.device, topics.deadLetter, topics.events]);
  } catch (error) {
    // Wrong credentials or certificates will not fix themselves: fail start-up with a code that says so.
    const security = classifyKafkaConnectError(error);
    if (security === undefined) throw error;
    log.error('kafka_start_failed', { code: security.code, ...describeKafkaSecurity(config.kafka) });
    throw security;
  }

  const workers = await startPipelineWorkers(config, adapter, options.adapterConfig, log);
  const processor = createMessageProcessor({
    adapter,
    adapterConfig: options.adapterConfig,
    publisher,
    topics,
    publishTimeoutMs: config.kafka.publishTimeoutMs,
    ackSender: { application: config.mllp.application, facility: config.mllp.facility },
    log,
    metrics,
    activity: reported,
    ...(workers !== undefined ? { workers } : {}),
    // Asked only once messages flow, by then the listener below exists.
    othersMayJoin: () => mllp.othersMayJoin(),
  });

  const mllp = createMllpServer({
    host: config.mllp.host,
    port: config.mllp.port,
    maxFrameBytes: config.mllp.maxFrameBytes,
    idleTimeoutMs: config.mllp.idleTimeoutSeconds * 1000,
    frameTimeoutMs: config.mllp.frameTimeoutSeconds * 1000,
    maxBufferedBytes: config.mllp.maxBufferedBytes,
    maxConnections: config.mllp.maxConnections,
    ...(config.mllp.tls !== undefined ? { tls: mllpTlsOptions(config.mllp.tls) } : {}),
    handler: processor,
    log: ({ level, event, ...fields }) => {
      if (event === 'connection_opened' || event === 'connection_closed') {
        metrics.openConnections.set({ transport: 'mllp' }, mllp.connectionCount());
      }
      // Limits the listener enforces are failures worth a metric; an oversize frame is counted by its NAK's processor.
      if (fields.code !== undefined && fields.code !== 'mllp_frame_too_large') metrics.errors.inc({ stage: 'receive', code: fields.code });
      log[level](event, fields);
    },
  });
  metrics.observeMllpBufferedBytes(() => mllp.bufferedBytes());
  const mllpAddress = await mllp.listen();
  log.info('mllp_listening', { host: mllpAddress.host, port: mllpAddress.port, adapter: adapter.name, tls: config.mllp.tls === undefined ? 'off' : config.mllp.tls.requireClientCert ? 'mutual' : 'on' });

  const api = createHttpApi({
    metrics,
    readiness: {
      mllpListening: () => mllp.listening,
      kafkaConnected: () => publisher.isConnected(),
      ...(publisher.spoolStatus !== undefined ? { spool: () => publisher.spoolStatus?.() } : {}),
    },
    activity,
    mllpStaleAfterMs: presenceLimits.staleAfterMs,
    mllpOfflineAfterMs: presenceLimits.offlineAfterMs,
    deviceStates: () => registry.list(),
    configuredDevices: options.devices ?? [],
    inFlightRecords: () => publisher.inFlightRecords(),
    auth: { token: config.http.token, adminToken: config.http.adminToken, protectHealthAndMetrics: config.http.protectHealthAndMetrics },
    log,
  });
  const http = await listenHttp(api, config.http.host, config.http.port);
  log.info('http_listening', { host: http.address.address, port: http.address.port });

  const runners: DeviceRunner[] = (options.devices ?? []).map((device) =>
    createDeviceRunner({
      device,
      publisher,
      topics,
      publishTimeoutMs: config.kafka.publishTimeoutMs,
      log,
      metrics,
      registry,
      activity: reported,
    }),
  );
  for (const runner of runners) runner.start();
  presence.start();

  let stopping: Promise<void> | undefined;
  return {
    mllp: mllpAddress,
    http: { host: http.address.address, port: http.address.port },
    metrics,
    activity,
    deviceStates: () => registry.list(),
    stop(stopOptions) {
      stopping ??= (async () => {
        const graceMs = stopOptions?.graceMs ?? 10_000;
        // One deadline for the whole shutdown; what the publisher gets is what is left of it.
        const deadline = Date.now() + graceMs;
        log.info('gateway_stopping', { graceMs });
        // Serial devices first: stop sessions, close ports, hand what is queued to Kafka.
        await Promise.all(runners.map((runner) => runner.stop({ graceMs: Math.min(graceMs, 5_000) })));
        await mllp.close({ graceMs: Math.max(0, deadline - Date.now()) });
        await workers?.stop();
        await presence.stop({ graceMs: Math.min(Math.max(0, deadline - Date.now()), 2_000) });
        await new Promise<void>((resolve) => {
          http.server.close(() => resolve());
          http.server.closeAllConnections();
        });
        await publisher.stop({ graceMs: Math.max(0, deadline - Date.now()) });
        log.info('gateway_stopped', {});
      })();
      return stopping;
    },
  };
}

/** `mllp.workerThreads` pipeline workers, ready before the listener opens; none when it is 0. */
async function startPipelineWorkers(config: GatewayConfig, adapter: AnyAdapter, adapterConfig: unknown, log: Logger): Promise<PipelineWorkers | undefined> {
  if (config.mllp.workerThreads === 0) return undefined;
  // A worker loads the adapter again by its registry name: it must be the one this thread runs.
  if (findAdapter(adapter.name) !== adapter) throw new Error(`mllp.workerThreads needs a registered adapter; "${adapter.name}" is not the registry's (set mllp.workerThreads to 0)`);
  const workers = createPipelineWorkers({
    threads: config.mllp.workerThreads,
    adapter: { name: adapter.name },
    adapterConfig,
    topics: config.kafka.topics,
    timeoutMs: config.mllp.pipelineTimeoutSeconds * 1000,
    log,
  });
  await workers.start();
  return workers;
}

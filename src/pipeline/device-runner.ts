/**
 * One configured serial device through the flow:
 *   transport -> adapter framer -> (session) -> parse -> normalize -> validate -> publish.
 * Serial devices get no acknowledgement, so Kafka's absence is bridged by a bounded in-memory queue
 * per device (oldest dropped, logged and counted, only when full); the durable spool is issue 5.
 * Bad frames go to the dead-letter topic with their raw bytes, as on the MLLP path, and so do frames
 * whose records Kafka refuses for good (publish_refused: never retried); bytes the framer
 * discards are counted and logged (rate-limited). State changes (connected, disconnected, stale,
 * recovered) go to the events topic and the device registry.
 */
import { randomUUID } from 'node:crypto';
import type { DeviceSession, NormalizedResource, SessionStep, StreamFramer } from '../adapter-kit/define-adapter.ts';
import type { ResolvedDevice } from '../config/load-config.ts';
import { GatewayError } from '../errors/catalogue.ts';
import { createActivityTracker, summarizePublished, type ActivityTracker } from '../observability/activity-tracker.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { OutboundRecord, Publisher } from '../publishing/publisher.ts';
import { backoffDelay, createByteStreamTransport, sleep, type ByteStreamTransport } from '../transports/stream/index.ts';
import { validateResource } from '../validation/validate-resource.ts';
import { buildDeadLetterRecord } from './dead-letter.ts';
import { buildDeviceEventRecord } from './device-events.ts';
import {
  BoundedQueue,
  createLogRateLimiter,
  deviceStates,
  initialHealth,
  onDataFrame,
  onTick,
  onTransportClosed,
  onTransportOpened,
  type DeviceRegistry,
  type DeviceStatus,
  type Transition,
} from './device-state.ts';
import { buildResourceRecords } from './records.ts';
import type { GatewayConfig } from '../../schemas/config.ts';

export interface DeviceRunnerDeps {
  readonly device: ResolvedDevice;
  readonly publisher: Publisher;
  readonly topics: GatewayConfig['kafka']['topics'];
  readonly publishTimeoutMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly registry: DeviceRegistry;
  /** Counts for the HTTP API (and the metrics it feeds); default: one of its own. */
  readonly activity?: ActivityTracker;
  /** Default: the transport the device's config names. */
  readonly transport?: ByteStreamTransport;
  readonly clock?: () => Date;
  /** Same log line (per device and code) at most once per this interval. Default 10 s. */
  readonly logIntervalMs?: number;
}

interface Pending {
  readonly records: readonly OutboundRecord[];
  readonly kind: 'resources' | 'dead-letter' | 'event';
  readonly traceId: string;
  /** Dead letters: the error they carry, for the metric once Kafka holds them. */
  readonly error?: GatewayError;
  /**
   * For the activity tracker: when the frame arrived, what it became, and its bytes (dead letters;
   * resources keep them too, to be dead-lettered if Kafka refuses the records for good).
   */
  readonly receivedAt?: Date;
  readonly resources?: readonly NormalizedResource[];
  readonly raw?: Buffer;
}

export interface DeviceRunner {
  readonly deviceId: string;
  start(): void;
  /** Stops the session and closes the transport, then tries to hand pending messages to Kafka within graceMs. */
  stop(options?: { graceMs?: number }): Promise<void>;
  status(): DeviceStatus;
}

export function createDeviceRunner(deps: DeviceRunnerDeps): DeviceRunner {
  const { device, log, metrics } = deps;
  const adapter = device.adapter;
  const stream = adapter.stream;
  if (stream === undefined) throw new Error(`adapter ${adapter.name} is not a byte-stream adapter`);
  const clock = deps.clock ?? (() => new Date());
  const activity = deps.activity ?? createActivityTracker({ metrics });
  const transport = deps.transport ?? createByteStreamTransport(device.transport, { backoff: device.reconnect });
  const limited = createLogRateLimiter(deps.logIntervalMs ?? 10_000);
  const queue = new BoundedQueue<Pending>(device.maxQueuedMessages);
  const stopSignal = new AbortController();
  const fields = { device: device.id, adapter: adapter.name };

  let health = initialHealth(clock());
  let framesReceived = 0;
  let framer: StreamFramer | undefined;
  let session: DeviceSession | undefined;
  let sessionTimer: NodeJS.Timeout | undefined;
  let staleTimer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  let inFlight = false;

  function status(): DeviceStatus {
    return {
      deviceId: device.id,
      adapter: adapter.name,
      transport: transport.description,
      state: health.state,
      since: health.since.toISOString(),
      lastDataAt: health.lastDataAt?.toISOString(),
      framesReceived,
      pendingMessages: queue.length + (inFlight ? 1 : 0),
    };
  }

  function publishStatus(): void {
    deps.registry.update(status());
    metrics.devicePendingMessages.set({ device: device.id }, queue.length + (inFlight ? 1 : 0));
  }

  function apply(transition: Transition): void {
    health = transition.health;
    const change = transition.change;
    if (change !== undefined) {
      for (const state of deviceStates) metrics.deviceState.set({ device: device.id, state }, state === change.to ? 1 : 0);
      const level = change.to === 'stale' || change.to === 'disconnected' ? 'warn' : 'info';
      log[level](`device_${change.to}`, { ...fields, from: change.from, transport: transport.description, detail: change.detail });
      const traceId = randomUUID();
      enqueue({
        kind: 'event',
        traceId,
        records: [
          buildDeviceEventRecord({
            topic: deps.topics.events,
            traceId,
            event: {
              type: `device.${change.to}`,
              deviceId: device.id,
              adapter: adapter.name,
              at: change.at.toISOString(),
              detail: change.detail,
              previous: change.from,
            },
          }),
        ],
      });
    }
    publishStatus();
  }

  function countError(error: GatewayError, event: string, extra: Record<string, string | number | undefined> = {}): void {
    countOnly(error);
    const gate = limited(`${event}:${error.code}`, clock());
    if (gate.log) log.warn(event, { ...fields, code: error.code, stage: error.stage, suppressed: gate.suppressed, detail: error.message, ...extra });
  }

  /** The metric and the device's last error, without a log line. */
  function countOnly(error: GatewayError): void {
    metrics.errors.inc({ stage: error.stage, code: error.code });
    activity.deviceError({ deviceId: device.id, adapter: adapter.name, transport: transport.kind, code: error.code, at: clock() });
  }

  // ---- publishing: a bounded queue drained by one pump, retrying with back-off while Kafka is away
  function enqueue(item: Pending): void {
    const dropped = queue.push(item);
    if (dropped !== undefined) reportDropped(dropped);
    publishStatus();
    pumping ??= pump().finally(() => {
      pumping = undefined;
    });
  }

  function reportDropped(dropped: Pending): void {
    countError(new GatewayError('device_queue_overflow', `${dropped.records.length} record(s) of a ${dropped.kind} message dropped.`), 'device_queue_overflow', {
      limit: device.maxQueuedMessages,
      traceId: dropped.traceId,
    });
  }

  async function pump(): Promise<void> {
    let failures = 0;
    for (;;) {
      const item = queue.shift();
      if (item === undefined) return;
      inFlight = true;
      try {
        await deps.publisher.publish(item.records, { timeoutMs: deps.publishTimeoutMs });
        inFlight = false;
        failures = 0;
        onPublished(item);
        publishStatus();
      } catch (error) {
        inFlight = false;
        const failure = error instanceof GatewayError ? error : new GatewayError('publish_failed', undefined, { cause: error });
        if (failure.code === 'publish_refused') {
          // Kafka will never take these records: retrying would hold up every later frame until the
          // queue overflows. Dead-letter the frame instead, or drop what cannot even be dead-lettered.
          onRefused(item, failure);
          publishStatus();
          continue;
        }
        countError(failure, 'publish_failed', { traceId: item.traceId, pending: queue.length + 1 });
        activity.publishFailed({ adapter: adapter.name, error: failure, deviceIds: [device.id], at: clock() });
        const dropped = queue.unshift(item);
        if (dropped !== undefined) reportDropped(dropped);
        publishStatus();
        if (stopSignal.signal.aborted && stopDeadline !== undefined && Date.now() >= stopDeadline) return;
        await sleep(backoffDelay(failures, { initialDelayMs: 250, maxDelayMs: 5_000, multiplier: 2, jitter: 0.2 }, Math.random()), stopWait.signal);
        failures += 1;
        if (stopDeadline !== undefined && Date.now() >= stopDeadline) return;
        activity.publishRetried({ adapter: adapter.name });
      }
    }
  }

  function onRefused(item: Pending, failure: GatewayError): void {
    if (item.kind === 'resources' && item.raw !== undefined) {
      countError(failure, 'device_frame_dead_lettered', { traceId: item.traceId, bytes: item.raw.length });
      // At the head, where the refused item was, so the device's order is kept.
      const dropped = queue.unshift(deadLetterItem(item.raw, failure, item.traceId, item.receivedAt ?? clock()));
      if (dropped !== undefined) reportDropped(dropped);
      return;
    }
    // A dead letter or an event Kafka refuses is dropped: said every time (it is lost), never its content.
    countOnly(failure);
    log.warn('device_record_refused', {
      ...fields,
      code: failure.code,
      stage: failure.stage,
      kind: item.kind,
      traceId: item.traceId,
      bytes: item.records.reduce((sum, record) => sum + Buffer.byteLength(record.value), 0),
      detail: failure.message,
    });
  }

  function deadLetterItem(raw: Buffer, error: GatewayError, traceId: string, receivedAt: Date): Pending {
    return {
      kind: 'dead-letter',
      traceId,
      error,
      receivedAt,
      raw,
      records: [
        buildDeadLetterRecord({
          topic: deps.topics.deadLetter,
          raw,
          header: undefined,
          error,
          adapter: adapter.name,
          traceId,
          receivedAt,
          deviceId: device.id,
        }),
      ],
    };
  }

  function onPublished(item: Pending): void {
    if (item.kind === 'dead-letter') {
      if (item.error !== undefined) {
        activity.deadLettered({ adapter: adapter.name, error: item.error, raw: item.raw ?? Buffer.alloc(0), deviceId: device.id, at: clock() });
      }
      return;
    }
    if (item.kind === 'resources') {
      const now = clock();
      activity.published({
        adapter: adapter.name,
        transport: transport.kind,
        activity: summarizePublished(item.resources ?? [], device.id),
        receivedAt: item.receivedAt ?? now,
        at: now,
      });
      log.debug('device_message_published', { ...fields, traceId: item.traceId, records: item.records.length });
    }
  }

  // ---- receiving
  function runStep(step: SessionStep): boolean {
    for (const bytes of step.send) transport.write(bytes);
    if (step.reset !== undefined) {
      countError(new GatewayError(step.reset.code, step.reset.detail), 'device_session_reset');
      transport.reset(`session reset: ${step.reset.code}`);
      return false;
    }
    return true;
  }

  function onFrame(frame: Buffer): void {
    const receivedAt = clock();
    let carriesData = true;
    if (session !== undefined) {
      const step = session.onFrame(frame, receivedAt);
      if (!runStep(step)) return;
      carriesData = step.data;
    }
    if (!carriesData) return;
    framesReceived += 1;
    activity.messageReceived({ adapter: adapter.name, at: receivedAt });
    apply(onDataFrame(health, receivedAt));
    const traceId = randomUUID();
    try {
      const normalized = adapter.normalize(adapter.parse(frame), { config: device.adapterConfig, receivedAt, binding: device.binding });
      for (const item of normalized.resources) validateResource(item.resource);
      for (const code of normalized.unmappedCodes) metrics.unmappedCodes.inc({ code });
      if (normalized.resources.length === 0) return;
      // One line per accepted frame (debug): what fault tests diff against Kafka after a crash.
      log.debug('device_frame_accepted', { ...fields, traceId, records: normalized.resources.length });
      enqueue({
        kind: 'resources',
        traceId,
        receivedAt,
        resources: normalized.resources,
        raw: frame,
        records: buildResourceRecords(normalized, { topics: deps.topics, adapter: adapter.name, traceId }),
      });
    } catch (error) {
      const failure =
        error instanceof GatewayError
          ? error
          : new GatewayError('adapter_failure', error instanceof Error ? error.message : undefined, { cause: error });
      countError(failure, 'device_frame_dead_lettered', { traceId, bytes: frame.length });
      enqueue(deadLetterItem(frame, failure, traceId, receivedAt));
    }
  }

  transport.on('open', ({ peer }) => {
    const now = clock();
    metrics.openConnections.inc({ transport: transport.kind });
    framer = stream.createFramer(device.adapterConfig);
    session = stream.createSession?.(device.adapterConfig);
    apply(onTransportOpened(health, now, `${transport.description} open (${peer})`));
    if (session !== undefined) {
      const current = session;
      if (!runStep(current.onOpen(now))) return;
      sessionTimer = setInterval(() => {
        if (session === current) runStep(current.onTick(clock()));
      }, Math.max(10, current.tickMs));
      sessionTimer.unref();
    }
  });

  transport.on('data', (chunk) => {
    if (framer === undefined) return;
    for (const event of framer.push(chunk)) {
      if (event.kind === 'frame') onFrame(event.bytes);
      else countError(new GatewayError(event.code, event.detail), 'device_bytes_discarded', { bytes: event.bytes.length });
    }
  });

  transport.on('close', ({ reason }) => {
    metrics.openConnections.dec({ transport: transport.kind });
    clearInterval(sessionTimer);
    sessionTimer = undefined;
    framer = undefined;
    session = undefined;
    apply(onTransportClosed(health, clock(), `${transport.description}: ${reason}`));
  });

  transport.on('error', (error) => {
    countError(error, 'transport_unavailable', { transport: transport.description });
  });

  let stopDeadline: number | undefined;
  const stopWait = new AbortController();

  return {
    deviceId: device.id,
    start() {
      activity.configured({ deviceId: device.id, adapter: adapter.name, transport: transport.kind, at: clock() });
      for (const state of deviceStates) metrics.deviceState.set({ device: device.id, state }, state === health.state ? 1 : 0);
      publishStatus();
      log.info('device_starting', { ...fields, transport: transport.description, staleAfterMs: device.staleAfterMs });
      const checkEveryMs = Math.min(1000, Math.max(50, Math.floor(device.staleAfterMs / 4)));
      staleTimer = setInterval(() => apply(onTick(health, clock(), device.staleAfterMs)), checkEveryMs);
      staleTimer.unref();
      transport.open();
    },
    async stop(options) {
      const graceMs = options?.graceMs ?? 5_000;
      stopDeadline = Date.now() + graceMs;
      stopSignal.abort();
      clearInterval(staleTimer);
      clearInterval(sessionTimer);
      await transport.close();
      // Give the queue (including the final disconnected event) its chance to reach Kafka.
      const deadline = setTimeout(() => stopWait.abort(), graceMs);
      while (pumping !== undefined && !stopWait.signal.aborted) {
        await Promise.race([pumping, sleep(graceMs, stopWait.signal)]);
      }
      clearTimeout(deadline);
      stopWait.abort();
      const lost = queue.clear();
      if (lost.length > 0) {
        log.error('device_pending_lost', { ...fields, messages: lost.length, detail: 'Kafka did not take them before shutdown' });
      }
      publishStatus();
      log.info('device_stopped', fields);
    },
    status,
  };
}

/**
 * Presence of devices seen over MLLP, and Device status updates for every device.
 *
 * MLLP connections belong to senders (a monitor gateway, an interface engine), not to devices, so an
 * MLLP device's state comes from silence: the activity tracker's last-seen time per record key (the
 * device identity), checked on a timer against `presence.staleAfterSeconds` and
 * `presence.offlineAfterSeconds`. Each change goes to the events topic with the serial devices'
 * event shape and builder (device-events.ts):
 *
 * - `device.connected`: first message of a record key;
 * - `device.stale`: silent longer than staleAfterMs;
 * - `device.disconnected`: silent longer than offlineAfterMs (the HTTP API calls this `offline`);
 * - `device.recovered`: a message again after stale or disconnected.
 *
 * Device status: when a device (MLLP or serial) changes state so that its FHIR Device.status changes
 * (connected/recovered: `active`; stale/disconnected: `inactive`), the monitor publishes that
 * device's last published root Device (the one without `parent`, as the adapter built it: same id,
 * key and content) with the new status on the device topic. A device whose Device the gateway has not
 * published since start gets no update: nothing else would reproduce the adapter's Device honestly.
 *
 * `nextPresence` is pure (time passed in); the monitor around it owns the timer and publishing.
 */
import { randomUUID } from 'node:crypto';
import type { ActivityTracker, PublishedActivity } from '../observability/activity-tracker.ts';
import type { Logger } from '../observability/log.ts';
import type { OutboundRecord, Publisher } from '../publishing/publisher.ts';
import { finishWithin } from '../transports/stream/index.ts';
import { buildDeviceEventRecord } from './device-events.ts';
import { BoundedQueue, type DeviceState, type DeviceStateChange, type DeviceStatus } from './device-state.ts';
import { buildResourceRecords } from './records.ts';
import type { Device } from '../../schemas/fhir.ts';
import type { GatewayConfig } from '../../schemas/config.ts';

export interface PresenceThresholds {
  readonly staleAfterMs: number;
  readonly offlineAfterMs: number;
}

/** One MLLP device as the monitor last judged it. */
export interface Presence {
  readonly state: DeviceState;
  readonly since: Date;
  /** The last-seen time the state was judged on. */
  readonly lastSeenAt: Date;
}

export interface PresenceStep {
  readonly presence: Presence | undefined;
  readonly change?: DeviceStateChange;
}

const seconds = (ms: number) => Math.round(ms / 1000);

/**
 * One check of one device: `lastSeenAt` is the tracker's last message time (undefined: never seen).
 * A first message connects; new messages after stale or disconnected recover; silence beyond the
 * offline limit disconnects (directly, when a check comes late enough to pass both limits at once),
 * silence beyond the stale limit makes a connected or recovered device stale.
 */
export function nextPresence(previous: Presence | undefined, lastSeenAt: Date | undefined, now: Date, limits: PresenceThresholds): PresenceStep {
  if (lastSeenAt === undefined) return { presence: previous };
  const move = (from: Presence | undefined, to: DeviceState, detail: string): PresenceStep => ({
    presence: { state: to, since: now, lastSeenAt },
    change: { from: from?.state ?? 'disconnected', to, at: now, detail },
  });
  if (previous === undefined) return move(undefined, 'connected', 'first message over MLLP');
  if (lastSeenAt.getTime() > previous.lastSeenAt.getTime()) {
    if (previous.state === 'stale' || previous.state === 'disconnected') {
      return move(previous, 'recovered', `data flows again after ${seconds(lastSeenAt.getTime() - previous.lastSeenAt.getTime())} s`);
    }
    return { presence: { ...previous, lastSeenAt } };
  }
  const silentMs = now.getTime() - lastSeenAt.getTime();
  if (silentMs >= limits.offlineAfterMs && previous.state !== 'disconnected') {
    return move(previous, 'disconnected', `no data for ${seconds(silentMs)} s (offline limit ${limits.offlineAfterMs / 1000} s)`);
  }
  if (silentMs >= limits.staleAfterMs && (previous.state === 'connected' || previous.state === 'recovered')) {
    return move(previous, 'stale', `no data for ${seconds(silentMs)} s (limit ${limits.staleAfterMs / 1000} s)`);
  }
  return { presence: previous };
}

/** FHIR Device.status for a state: data expected (connected, recovered) is `active`, else `inactive`. */
export function deviceStatusOf(state: DeviceState): 'active' | 'inactive' {
  return state === 'connected' || state === 'recovered' ? 'active' : 'inactive';
}

export interface PresenceMonitorDeps {
  readonly activity: ActivityTracker;
  readonly publisher: Publisher;
  readonly topics: GatewayConfig['kafka']['topics'];
  readonly publishTimeoutMs: number;
  readonly log: Logger;
  readonly thresholds: PresenceThresholds;
  /** Serial devices' states (the runners' registry), for their Device status updates. */
  readonly serialStates?: () => readonly DeviceStatus[];
  /** Default: a quarter of the stale limit, between 100 ms and 5 s. */
  readonly checkEveryMs?: number;
  readonly clock?: () => Date;
  /** Events and Device updates kept while Kafka is away (oldest dropped). Default 1000. */
  readonly maxQueued?: number;
}

interface KnownDevice {
  readonly key: string;
  readonly adapter: string;
  readonly resource: Device;
  /** The status Kafka last got for this Device (from the adapter or from us). */
  status: Device['status'];
}

export interface PresenceMonitor {
  /** Wraps the tracker the pipeline reports to, so the monitor sees each root Device the pipeline publishes. */
  observe(tracker: ActivityTracker): ActivityTracker;
  start(): void;
  /** One check now (the timer calls it). */
  check(): void;
  /** Stops the timer and gives queued records up to graceMs to reach Kafka. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** MLLP devices' states, by record key. */
  states(): ReadonlyMap<string, Presence>;
}

export function createPresenceMonitor(deps: PresenceMonitorDeps): PresenceMonitor {
  const { log, thresholds } = deps;
  const clock = deps.clock ?? (() => new Date());
  const checkEveryMs = deps.checkEveryMs ?? Math.min(5_000, Math.max(100, Math.floor(thresholds.staleAfterMs / 4)));
  const presences = new Map<string, Presence>();
  /** Root Devices by tracker id (MLLP: record key; serial: configured device id). */
  const devices = new Map<string, KnownDevice>();
  const serialSeen = new Map<string, DeviceState>();
  const queue = new BoundedQueue<{ records: OutboundRecord[]; what: string; traceId: string }>(deps.maxQueued ?? 1_000);
  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;

  function enqueue(records: OutboundRecord[], what: string, traceId: string): void {
    const dropped = queue.push({ records, what, traceId });
    if (dropped !== undefined) log.error('presence_record_dropped', { what: dropped.what, traceId: dropped.traceId, limit: queue.limit });
    draining ??= drain().finally(() => {
      draining = undefined;
    });
  }

  /** Publishes in order; on failure the record stays first and the next check tries again. */
  async function drain(): Promise<void> {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await deps.publisher.publish(item.records, { timeoutMs: deps.publishTimeoutMs });
      } catch (error) {
        queue.unshift(item);
        log.warn('presence_publish_failed', { what: item.what, traceId: item.traceId, pending: queue.length, detail: error instanceof Error ? error.message : String(error) });
        return;
      }
    }
  }

  function publishDeviceStatus(id: string, state: DeviceState): void {
    const known = devices.get(id);
    const status = deviceStatusOf(state);
    if (known === undefined || known.status === status) return;
    known.status = status;
    const traceId = randomUUID();
    const resource: Device = { ...known.resource, status };
    const records = buildResourceRecords(
      { sourceMessageId: undefined, resources: [{ key: known.key, resource }], unmappedCodes: [] },
      { topics: deps.topics, adapter: known.adapter, traceId },
    );
    log.info('device_status_published', { device: id, status, state, traceId });
    enqueue(records, `Device ${status}`, traceId);
  }

  function announce(id: string, adapter: string, change: DeviceStateChange): void {
    const level = change.to === 'stale' || change.to === 'disconnected' ? 'warn' : 'info';
    log[level](`device_${change.to}`, { device: id, adapter, from: change.from, transport: 'mllp', detail: change.detail });
    const traceId = randomUUID();
    const record = buildDeviceEventRecord({
      topic: deps.topics.events,
      traceId,
      event: { type: `device.${change.to}`, deviceId: id, adapter, at: change.at.toISOString(), detail: change.detail, previous: change.from },
    });
    enqueue([record], `device.${change.to}`, traceId);
  }

  function check(): void {
    const now = clock();
    const present = new Set<string>();
    for (const device of deps.activity.devices(now)) {
      present.add(device.id);
      if (device.transport !== 'mllp') continue;
      const step = nextPresence(presences.get(device.id), device.lastSeenAt, now, thresholds);
      if (step.presence !== undefined) presences.set(device.id, step.presence);
      if (step.change !== undefined) {
        announce(device.id, device.adapter, step.change);
        publishDeviceStatus(device.id, step.change.to);
      }
    }
    // Devices the tracker forgot (its MLLP cap) are forgotten here too.
    for (const id of presences.keys()) if (!present.has(id)) presences.delete(id);
    for (const id of devices.keys()) if (!present.has(id)) devices.delete(id);

    for (const serial of deps.serialStates?.() ?? []) {
      const previous = serialSeen.get(serial.deviceId);
      serialSeen.set(serial.deviceId, serial.state);
      if (previous !== undefined && previous !== serial.state) publishDeviceStatus(serial.deviceId, serial.state);
    }
    if (queue.length > 0) {
      draining ??= drain().finally(() => {
        draining = undefined;
      });
    }
  }

  function remember(event: { adapter: string; activity: PublishedActivity }): void {
    for (const { id, rootDevice } of event.activity.byDevice) {
      if (rootDevice !== undefined) devices.set(id, { key: rootDevice.key, adapter: event.adapter, resource: rootDevice.resource, status: rootDevice.resource.status });
    }
  }

  return {
    observe(tracker) {
      return {
        ...tracker,
        published(event) {
          tracker.published(event);
          remember(event);
        },
      };
    },
    start() {
      timer = setInterval(check, checkEveryMs);
      timer.unref();
      log.info('presence_monitor_started', { staleAfterMs: thresholds.staleAfterMs, offlineAfterMs: thresholds.offlineAfterMs, checkEveryMs });
    },
    check,
    async stop(options) {
      clearInterval(timer);
      timer = undefined;
      const graceMs = options?.graceMs ?? 2_000;
      if (draining === undefined && queue.length > 0) draining = drain();
      if (draining !== undefined) await finishWithin(draining, graceMs);
      if (queue.length > 0) log.error('presence_records_lost', { records: queue.clear().length, detail: 'Kafka did not take them before shutdown' });
    },
    states: () => presences,
  };
}

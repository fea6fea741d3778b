/**
 * What flowed, per device and per adapter, for the HTTP API and the metrics that need more than a
 * counter: messages received, messages and Observations Kafka acknowledged, dead letters (the most
 * recent kept in a bounded ring), publish failures and retries, the last error per device, and
 * rates over a sliding window. The pipeline (message processor, device runner) reports here and
 * only here; the tracker feeds the Prometheus counters too, so the API and /metrics agree.
 *
 * Pure apart from the metrics: every call takes the time (`at`), nothing reads the clock.
 * Memory is bounded: one entry per device (MLLP devices are capped), a fixed ring of dead letters
 * with their raw bytes truncated to `maxRawBytes`.
 */
import type { NormalizedResource } from '../adapter-kit/define-adapter.ts';
import type { GatewayError } from '../errors/catalogue.ts';
import type { Metrics } from './metrics.ts';
import type { Device } from '../../schemas/fhir.ts';

/** Counts over the last `windowMs`, in `bucketMs` buckets; `perMinute` scales the window's total to a minute. */
export class SlidingRate {
  private readonly buckets: { start: number; count: number }[] = [];
  constructor(
    private readonly windowMs = 60_000,
    private readonly bucketMs = 5_000,
  ) {}

  add(at: Date, count = 1): void {
    const start = Math.floor(at.getTime() / this.bucketMs) * this.bucketMs;
    const last = this.buckets.at(-1);
    if (last !== undefined && last.start === start) last.count += count;
    else if (last !== undefined && start < last.start) {
      const bucket = this.buckets.find((b) => b.start === start);
      if (bucket !== undefined) bucket.count += count;
    } else this.buckets.push({ start, count });
    this.prune(at.getTime());
  }

  perMinute(at: Date): number {
    this.prune(at.getTime());
    const total = this.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
    return Math.round(((total * 60_000) / this.windowMs) * 100) / 100;
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs;
    while (this.buckets.length > 0 && (this.buckets[0]?.start ?? 0) + this.bucketMs <= oldest) this.buckets.shift();
  }
}

export type ActivityTransport = 'mllp' | 'serial' | 'tcp-client' | 'tcp-server';

export interface DeviceActivity {
  readonly id: string;
  readonly adapter: string;
  readonly transport: ActivityTransport;
  /** From the published Observations' subject (MLLP: PID-3); configured devices carry their binding elsewhere. */
  readonly patient: { readonly identifier: string; readonly system?: string } | undefined;
  /** When the tracker first knew the device (configured at start, or its first published message). */
  readonly knownSince: Date;
  /** Last message Kafka acknowledged; undefined before the first. */
  readonly lastSeenAt: Date | undefined;
  readonly messages: number;
  readonly observations: number;
  readonly deadLetters: number;
  readonly messagesPerMinute: number;
  readonly observationsPerMinute: number;
  readonly lastError: { readonly code: string; readonly at: Date } | undefined;
}

export interface DeadLetterEntry {
  readonly code: string;
  readonly stage: string;
  readonly at: Date;
  readonly adapter: string;
  /** Serial devices: the configured id. MLLP: unknown (the message could not be read far enough). */
  readonly deviceId: string | undefined;
  readonly messageId: string | undefined;
  readonly bytes: number;
  /** The raw bytes (at most maxRawBytes of them): patient data, shown only with the admin token. */
  readonly raw: Buffer;
  readonly rawTruncated: boolean;
}

/** The last value of one measured quantity of a device (from its last published Observation of that code). */
export interface LastValue {
  /** MDC reference id (e.g. MDC_PULS_OXIM_SAT_O2) or, without one, the first coding's code. */
  readonly code: string;
  readonly value: number | string;
  readonly unit: string | undefined;
  readonly at: Date;
}

/** A measured value of a published Observation, before the tracker stamps it with the time. */
export type MeasuredValue = Omit<LastValue, 'at'>;

/**
 * What the tracker (and the presence monitor) learn from one published message: counts, and per device
 * its patient binding, measured values and root Device. Computed where the pipeline runs, so it is plain
 * data that crosses from a pipeline worker thread cheaply, instead of every resource.
 */
export interface PublishedActivity {
  readonly resources: number;
  readonly devices: number;
  readonly observations: number;
  readonly byDevice: readonly PublishedDeviceActivity[];
}

export interface PublishedDeviceActivity {
  /** MLLP: the record key (the device identity); serial: the configured device id. */
  readonly id: string;
  readonly observations: number;
  readonly patient: { readonly identifier: string; readonly system?: string } | undefined;
  readonly values: readonly MeasuredValue[];
  /** The message's last root Device (no parent) of this device, with its record key. */
  readonly rootDevice: { readonly key: string; readonly resource: Device } | undefined;
}

/** Summarises one message's resources; `deviceId` groups them all under one configured device (serial). */
export function summarizePublished(resources: readonly NormalizedResource[], deviceId?: string): PublishedActivity {
  let devices = 0;
  let observations = 0;
  // A serial device's message counts for it even when it carried no resource.
  const byDevice = new Map<string, NormalizedResource[]>(deviceId === undefined ? [] : [[deviceId, []]]);
  for (const item of resources) {
    if (item.resource.resourceType === 'Device') devices += 1;
    else if (item.resource.resourceType === 'Observation') observations += 1;
    const id = deviceId ?? item.key;
    const group = byDevice.get(id);
    if (group === undefined) byDevice.set(id, [item]);
    else group.push(item);
  }
  return {
    resources: resources.length,
    devices,
    observations,
    byDevice: [...byDevice].map(([id, group]) => deviceActivityOf(id, group)),
  };
}

function deviceActivityOf(id: string, resources: readonly NormalizedResource[]): PublishedDeviceActivity {
  let observations = 0;
  let patient: PublishedDeviceActivity['patient'];
  let rootDevice: PublishedDeviceActivity['rootDevice'];
  for (const { key, resource } of resources) {
    if (resource.resourceType === 'Device') {
      if (resource.parent === undefined) rootDevice = { key, resource };
    } else if (resource.resourceType === 'Observation') {
      observations += 1;
      const subject = resource.subject?.identifier;
      if (patient === undefined && subject?.value !== undefined) {
        patient = { identifier: subject.value, ...(subject.system !== undefined ? { system: subject.system } : {}) };
      }
    }
  }
  return { id, observations, patient, values: observationValues(resources), rootDevice };
}

/** The values (valueQuantity, or each component's) of a message's Observations, by code. */
function observationValues(resources: readonly NormalizedResource[]): MeasuredValue[] {
  const values: MeasuredValue[] = [];
  const codeOf = (code: { coding?: { code?: string; display?: string }[] } | undefined) =>
    code?.coding?.find((coding) => coding.display?.startsWith('MDC_') === true)?.display ?? code?.coding?.[0]?.code;
  const add = (code: string | undefined, quantity: { value?: number; unit?: string; code?: string } | undefined) => {
    if (code !== undefined && quantity?.value !== undefined) values.push({ code, value: quantity.value, unit: quantity.unit ?? quantity.code });
  };
  for (const { resource } of resources) {
    if (resource.resourceType !== 'Observation') continue;
    add(codeOf(resource.code), resource.valueQuantity);
    for (const component of resource.component ?? []) add(codeOf(component.code), component.valueQuantity);
  }
  return values;
}

export interface AdapterActivity {
  readonly adapter: string;
  readonly messagesReceived: number;
  readonly messagesReceivedPerMinute: number;
  readonly observationsPublished: number;
  readonly observationsPublishedPerMinute: number;
  readonly deadLetters: number;
}

interface DeviceEntry {
  id: string;
  adapter: string;
  transport: ActivityTransport;
  patient: { identifier: string; system?: string } | undefined;
  knownSince: Date;
  lastSeenAt: Date | undefined;
  messages: number;
  observations: number;
  deadLetters: number;
  messageRate: SlidingRate;
  observationRate: SlidingRate;
  lastError: { code: string; at: Date } | undefined;
}

interface AdapterEntry {
  received: number;
  receivedRate: SlidingRate;
  observations: number;
  observationRate: SlidingRate;
  deadLetters: number;
}

export interface ActivityTrackerOptions {
  readonly metrics: Metrics;
  /** Dead letters kept for /api/deadletters. Default 100. */
  readonly deadLetterCapacity?: number;
  /** Raw bytes kept per dead letter. Default 64 KiB. */
  readonly maxRawBytes?: number;
  /** Most MLLP devices tracked; the longest silent is forgotten first. Default 10,000. */
  readonly maxDevices?: number;
  readonly windowMs?: number;
}

export type ActivityTracker = ReturnType<typeof createActivityTracker>;

export function createActivityTracker(options: ActivityTrackerOptions) {
  const { metrics } = options;
  const capacity = options.deadLetterCapacity ?? 100;
  const maxRawBytes = options.maxRawBytes ?? 64 * 1024;
  const maxDevices = options.maxDevices ?? 10_000;
  const windowMs = options.windowMs ?? 60_000;
  const devices = new Map<string, DeviceEntry>();
  const adapters = new Map<string, AdapterEntry>();
  const ring: DeadLetterEntry[] = [];
  /** Per device, the last value per code (bounded by the codes a device sends). */
  const lastValuesByDevice = new Map<string, Map<string, LastValue>>();
  const deadLettersByCode = new Map<string, number>();
  const totals = { messagesReceived: 0, messagesPublished: 0, observationsPublished: 0, resourcesPublished: 0, deadLetters: 0, publishErrors: 0, publishRetries: 0 };

  const rate = () => new SlidingRate(windowMs, Math.max(1_000, Math.floor(windowMs / 12)));

  function adapterEntry(adapter: string): AdapterEntry {
    let entry = adapters.get(adapter);
    if (entry === undefined) {
      entry = { received: 0, receivedRate: rate(), observations: 0, observationRate: rate(), deadLetters: 0 };
      adapters.set(adapter, entry);
      metrics.kafkaProduceRetries.inc({ adapter }, 0);
    }
    return entry;
  }

  function deviceEntry(id: string, adapter: string, transport: ActivityTransport, at: Date): DeviceEntry {
    let entry = devices.get(id);
    if (entry === undefined) {
      if (devices.size >= maxDevices) forgetLongestSilent();
      entry = {
        id,
        adapter,
        transport,
        patient: undefined,
        knownSince: at,
        lastSeenAt: undefined,
        messages: 0,
        observations: 0,
        deadLetters: 0,
        messageRate: rate(),
        observationRate: rate(),
        lastError: undefined,
      };
      devices.set(id, entry);
    }
    return entry;
  }

  function forgetLongestSilent(): void {
    let oldest: DeviceEntry | undefined;
    for (const entry of devices.values()) {
      if (entry.transport === 'mllp' && (oldest === undefined || (entry.lastSeenAt?.getTime() ?? 0) < (oldest.lastSeenAt?.getTime() ?? 0))) oldest = entry;
    }
    if (oldest !== undefined) {
      devices.delete(oldest.id);
      lastValuesByDevice.delete(oldest.id);
    }
  }

  function rememberValues(id: string, values: readonly MeasuredValue[], at: Date): void {
    if (values.length === 0) return;
    let byCode = lastValuesByDevice.get(id);
    if (byCode === undefined) lastValuesByDevice.set(id, (byCode = new Map<string, LastValue>()));
    // A literal, not a spread: this runs for every value of every message (2.3% of the main thread at saturation).
    for (const { code, value, unit } of values) byCode.set(code, { code, value, unit, at });
  }

  return {
    /** A message (MLLP frame or serial data frame) arrived. */
    messageReceived(event: { adapter: string; at: Date }): void {
      metrics.messagesReceived.inc({ adapter: event.adapter });
      totals.messagesReceived += 1;
      const entry = adapterEntry(event.adapter);
      entry.received += 1;
      entry.receivedRate.add(event.at);
    },

    /**
     * Kafka acknowledged every record of one message. MLLP devices are keyed by the record key (the
     * device identity); serial devices by their configured id (see summarizePublished).
     */
    published(event: { adapter: string; transport: ActivityTransport; activity: PublishedActivity; receivedAt: Date; at: Date }): void {
      const { activity } = event;
      // One counter update per resource type, not per resource (prom-client hashes the labels on every inc).
      if (activity.devices > 0) metrics.resourcesPublished.inc({ resource_type: 'Device' }, activity.devices);
      // As before: every resource that is not a Device counts under resource_type="Observation".
      if (activity.resources > activity.devices) metrics.resourcesPublished.inc({ resource_type: 'Observation' }, activity.resources - activity.devices);
      if (activity.observations > 0) metrics.observationsPublished.inc({ adapter: event.adapter }, activity.observations);
      metrics.endToEndLatency.observe({ adapter: event.adapter }, Math.max(0, event.at.getTime() - event.receivedAt.getTime()) / 1000);
      totals.messagesPublished += 1;
      totals.observationsPublished += activity.observations;
      totals.resourcesPublished += activity.resources;
      const adapter = adapterEntry(event.adapter);
      adapter.observations += activity.observations;
      if (activity.observations > 0) adapter.observationRate.add(event.at, activity.observations);

      for (const published of activity.byDevice) {
        const entry = deviceEntry(published.id, event.adapter, event.transport, event.at);
        entry.lastSeenAt = event.at;
        entry.messages += 1;
        entry.messageRate.add(event.at);
        entry.observations += published.observations;
        if (published.observations > 0) entry.observationRate.add(event.at, published.observations);
        rememberValues(published.id, published.values, event.at);
        if (published.patient !== undefined) entry.patient = published.patient;
      }
    },

    /** Kafka holds a dead letter. */
    deadLettered(event: { adapter: string; error: GatewayError; raw: Buffer; messageId?: string; deviceId?: string; at: Date }): void {
      metrics.deadLetters.inc({ stage: event.error.stage, code: event.error.code });
      totals.deadLetters += 1;
      adapterEntry(event.adapter).deadLetters += 1;
      deadLettersByCode.set(event.error.code, (deadLettersByCode.get(event.error.code) ?? 0) + 1);
      ring.push({
        code: event.error.code,
        stage: event.error.stage,
        at: event.at,
        adapter: event.adapter,
        deviceId: event.deviceId,
        messageId: event.messageId,
        bytes: event.raw.length,
        raw: Buffer.from(event.raw.subarray(0, maxRawBytes)),
        rawTruncated: event.raw.length > maxRawBytes,
      });
      if (ring.length > capacity) ring.shift();
      const device = event.deviceId === undefined ? undefined : devices.get(event.deviceId);
      if (device !== undefined) {
        device.deadLetters += 1;
        device.lastError = { code: event.error.code, at: event.at };
      }
    },

    /** A publish failed (Kafka unavailable or too slow). `deviceIds`: whose records these were, where known. */
    publishFailed(event: { adapter: string; error: GatewayError; deviceIds: readonly string[]; at: Date }): void {
      metrics.kafkaProduceErrors.inc({ code: event.error.code });
      totals.publishErrors += 1;
      for (const id of event.deviceIds) {
        const device = devices.get(id);
        if (device !== undefined) device.lastError = { code: event.error.code, at: event.at };
      }
    },

    /** The gateway tries a failed publish again (serial device queues). */
    publishRetried(event: { adapter: string }): void {
      metrics.kafkaProduceRetries.inc({ adapter: event.adapter });
      totals.publishRetries += 1;
    },

    /** Any other failure worth showing as a device's last error (serial: framing, session, transport). */
    deviceError(event: { deviceId: string; adapter: string; transport: ActivityTransport; code: string; at: Date }): void {
      const device = devices.get(event.deviceId) ?? deviceEntry(event.deviceId, event.adapter, event.transport, event.at);
      device.lastError = { code: event.code, at: event.at };
    },

    /** Registers a configured device so it is known before its first message. */
    configured(event: { deviceId: string; adapter: string; transport: ActivityTransport; at: Date }): void {
      adapterEntry(event.adapter);
      deviceEntry(event.deviceId, event.adapter, event.transport, event.at);
    },

    device(id: string, at: Date): DeviceActivity | undefined {
      const entry = devices.get(id);
      return entry === undefined ? undefined : snapshot(entry, at);
    },

    devices(at: Date): DeviceActivity[] {
      return [...devices.values()].map((entry) => snapshot(entry, at)).sort((a, b) => a.id.localeCompare(b.id));
    },

    /** The last value per code of a device's Observations, in the order the codes were first seen. */
    lastValues(id: string): LastValue[] {
      return [...(lastValuesByDevice.get(id)?.values() ?? [])];
    },

    adapters(at: Date): AdapterActivity[] {
      return [...adapters].map(([adapter, entry]) => ({
        adapter,
        messagesReceived: entry.received,
        messagesReceivedPerMinute: entry.receivedRate.perMinute(at),
        observationsPublished: entry.observations,
        observationsPublishedPerMinute: entry.observationRate.perMinute(at),
        deadLetters: entry.deadLetters,
      }));
    },

    totals(): Readonly<typeof totals> {
      return { ...totals };
    },

    deadLettersByCode(): Record<string, number> {
      return Object.fromEntries([...deadLettersByCode].sort(([a], [b]) => a.localeCompare(b)));
    },

    /** Most recent first. */
    recentDeadLetters(limit = capacity): DeadLetterEntry[] {
      return ring.slice(-limit).reverse();
    },

    deadLetterCapacity: capacity,
  };
}

function snapshot(entry: DeviceEntry, at: Date): DeviceActivity {
  return {
    id: entry.id,
    adapter: entry.adapter,
    transport: entry.transport,
    patient: entry.patient,
    knownSince: entry.knownSince,
    lastSeenAt: entry.lastSeenAt,
    messages: entry.messages,
    observations: entry.observations,
    deadLetters: entry.deadLetters,
    messagesPerMinute: entry.messageRate.perMinute(at),
    observationsPerMinute: entry.observationRate.perMinute(at),
    lastError: entry.lastError,
  };
}

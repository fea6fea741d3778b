/**
 * Prometheus metrics (prom-client). Naming follows Prometheus conventions: the vitalbridge_ prefix,
 * _total for counters, base units (_seconds, _bytes). Labels are low-cardinality: adapter, stage,
 * catalogue error code, ACK code. Each registry is per gateway instance so tests can run several.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The states `/api/devices` reports and `vitalbridge_devices{state}` counts. */
export const apiDeviceStates = ['connected', 'stale', 'offline', 'disconnected'] as const;
export type ApiDeviceState = (typeof apiDeviceStates)[number];

/** Error codes a Kafka produce can fail with (src/publishing): label values initialised to 0. */
const produceErrorCodes = ['publish_failed', 'publish_refused', 'publish_timeout'] as const;

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'vitalbridge_process_' });
  const registers = [registry];
  let deviceCounts: () => Record<ApiDeviceState, number> = () => ({ connected: 0, stale: 0, offline: 0, disconnected: 0 });
  let spoolState: () => SpoolGaugeSource | undefined = () => undefined;
  let mllpBufferedBytes: () => number = () => 0;
  const metrics = {
    registry,
    /** Where `vitalbridge_devices{state}` reads its counts at scrape time (the HTTP API's device view). */
    observeDevices(source: () => Record<ApiDeviceState, number>): void {
      deviceCounts = source;
    },
    /** Where the spool gauges read at scrape time (delivery.ack: spool); without a spool they read 0. */
    observeSpool(source: () => SpoolGaugeSource | undefined): void {
      spoolState = source;
    },
    /** Where `vitalbridge_mllp_buffered_bytes` reads the MLLP listener's total at scrape time. */
    observeMllpBufferedBytes(source: () => number): void {
      mllpBufferedBytes = source;
    },
    messagesReceived: new Counter({
      name: 'vitalbridge_messages_received_total',
      help: 'Messages (MLLP frames) received, by adapter.',
      labelNames: ['adapter'] as const,
      registers,
    }),
    resourcesPublished: new Counter({
      name: 'vitalbridge_resources_published_total',
      help: 'FHIR resources acknowledged by Kafka, by resource type.',
      labelNames: ['resource_type'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'vitalbridge_dead_letters_total',
      help: 'Messages written to the dead-letter topic, by stage and error code.',
      labelNames: ['stage', 'code'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'vitalbridge_errors_total',
      help: 'Failures by stage and error code (including transient ones that were not dead-lettered).',
      labelNames: ['stage', 'code'] as const,
      registers,
    }),
    acks: new Counter({
      name: 'vitalbridge_acks_total',
      help: 'HL7 acknowledgements sent, by MSA-1 code.',
      labelNames: ['code'] as const,
      registers,
    }),
    unmappedCodes: new Counter({
      name: 'vitalbridge_unmapped_codes_total',
      help: 'Results published with a code the terminology table does not know, by code.',
      labelNames: ['code'] as const,
      registers,
    }),
    ackLatency: new Histogram({
      name: 'vitalbridge_ack_latency_seconds',
      help: 'Time from a complete frame received to its acknowledgement being written.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    inFlightMessages: new Gauge({
      name: 'vitalbridge_in_flight_messages',
      help: 'Messages received and not yet acknowledged.',
      registers,
    }),
    openConnections: new Gauge({
      name: 'vitalbridge_open_connections',
      help: 'Open transport connections, by transport.',
      labelNames: ['transport'] as const,
      registers,
    }),
    mllpBufferedBytes: new Gauge({
      name: 'vitalbridge_mllp_buffered_bytes',
      help: 'Bytes of unfinished and queued MLLP frames held across all connections (bounded by mllp.maxBufferedBytes).',
      registers,
      collect() {
        this.set(mllpBufferedBytes());
      },
    }),
    devicePendingMessages: new Gauge({
      name: 'vitalbridge_device_pending_messages',
      help: 'Serial device messages waiting for Kafka (bounded by devices[].maxQueuedMessages), by device.',
      labelNames: ['device'] as const,
      registers,
    }),
    deviceState: new Gauge({
      name: 'vitalbridge_device_state',
      help: 'Serial device state: 1 for the current state of each device, 0 for the others.',
      labelNames: ['device', 'state'] as const,
      registers,
    }),
    observationsPublished: new Counter({
      name: 'vitalbridge_observations_published_total',
      help: 'FHIR Observations acknowledged by Kafka, by adapter.',
      labelNames: ['adapter'] as const,
      registers,
    }),
    endToEndLatency: new Histogram({
      name: 'vitalbridge_end_to_end_latency_seconds',
      help: 'Time from a complete frame received to Kafka acknowledging every record made from it, by adapter.',
      labelNames: ['adapter'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    kafkaProduceErrors: new Counter({
      name: 'vitalbridge_kafka_produce_errors_total',
      help: 'Kafka publishes that failed or timed out (records not acknowledged), by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    kafkaProduceRetries: new Counter({
      name: 'vitalbridge_kafka_produce_retries_total',
      help: 'Publishes the gateway retried after a failure (serial device queues; MLLP senders resend themselves), by adapter.',
      labelNames: ['adapter'] as const,
      registers,
    }),
    devices: new Gauge({
      name: 'vitalbridge_devices',
      help: 'Devices known to the gateway (configured or seen on MLLP), by state: connected, stale, offline, disconnected.',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const counts = deviceCounts();
        for (const state of apiDeviceStates) this.set({ state }, counts[state]);
      },
    }),
    httpAuthFailures: new Counter({
      name: 'vitalbridge_http_auth_failures_total',
      help: 'HTTP requests refused for a missing or wrong bearer token, or a token without the right asked for, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    // ---- the durable spool (delivery.ack: spool)
    spoolBytes: new Gauge({
      name: 'vitalbridge_spool_bytes',
      help: 'Bytes of spool segment files on disk (bounded by delivery.spool.maxBytes).',
      registers,
      collect() {
        this.set(spoolState()?.bytes ?? 0);
      },
    }),
    spoolPendingRecords: new Gauge({
      name: 'vitalbridge_spool_pending_records',
      help: 'Records acknowledged from the spool and not yet acknowledged by Kafka.',
      registers,
      collect() {
        this.set(spoolState()?.pendingRecords ?? 0);
      },
    }),
    spoolWritable: new Gauge({
      name: 'vitalbridge_spool_writable',
      help: '1 while the spool can write (0 after a failed write until the disk works again; 1 without a spool).',
      registers,
      collect() {
        this.set(spoolState()?.writable === false ? 0 : 1);
      },
    }),
    spoolRecordsDrained: new Counter({
      name: 'vitalbridge_spool_records_drained_total',
      help: 'Spooled records acknowledged by Kafka and checkpointed.',
      registers,
    }),
    spoolTornRecordsDiscarded: new Counter({
      name: 'vitalbridge_spool_torn_records_discarded_total',
      help: 'Incomplete or corrupt last records (never acknowledged) cut off when the spool was opened after a crash.',
      registers,
    }),
    spoolCorruptSegments: new Counter({
      name: 'vitalbridge_spool_corrupt_segments_total',
      help: 'Spool segments with a corrupt record before their end, copied to quarantine/ (acknowledged records after it are lost).',
      registers,
    }),
    spoolWriteErrors: new Counter({
      name: 'vitalbridge_spool_write_errors_total',
      help: 'Failed spool writes or fsyncs, by errno (ENOSPC, EACCES, EROFS, EIO, ...); each fails its messages with spool_write_failed.',
      labelNames: ['errno'] as const,
      registers,
    }),
    spoolRecordsSetAside: new Counter({
      name: 'vitalbridge_spool_records_set_aside_total',
      help: "Spooled records Kafka refused for good (publish_refused), kept in the spool's quarantine/ so the drain goes on.",
      registers,
    }),
    spoolDrainErrors: new Counter({
      name: 'vitalbridge_spool_drain_errors_total',
      help: 'Drainer batches Kafka did not acknowledge (retried with back-off), by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
  };
  // Known label values start at 0, so a scrape shows the series before the first event.
  for (const code of produceErrorCodes) metrics.kafkaProduceErrors.inc({ code }, 0);
  for (const reason of ['missing', 'invalid', 'forbidden']) metrics.httpAuthFailures.inc({ reason }, 0);
  for (const errno of ['ENOSPC', 'EACCES', 'EROFS', 'EIO']) metrics.spoolWriteErrors.inc({ errno }, 0);
  for (const code of produceErrorCodes) metrics.spoolDrainErrors.inc({ code }, 0);
  metrics.openConnections.set({ transport: 'mllp' }, 0);
  metrics.inFlightMessages.set(0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What the spool gauges read (a subset of the spool's status). */
export interface SpoolGaugeSource {
  readonly bytes: number;
  readonly pendingRecords: number;
  readonly writable: boolean;
}

/**
 * Prometheus metrics (prom-client). Naming follows Prometheus conventions: the vitalbridge_ prefix,
 * _total for counters, base units (_seconds, _bytes). Labels are low-cardinality: adapter, stage,
 * catalogue error code, ACK code. Each registry is per gateway instance so tests can run several.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'vitalbridge_process_' });
  const registers = [registry];
  return {
    registry,
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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * One HL7 message through the flow: parse -> normalize -> validate (message-pipeline.ts, on this thread
 * or a pipeline worker's) -> publish -> acknowledge.
 * The acknowledgement is decided here and only here:
 * - accepted (AA/CA): every record of the message is acknowledged by Kafka;
 * - error (AE/CE): the message cannot become valid FHIR; its raw bytes and the reason are on the
 *   dead-letter topic first, so nothing is lost;
 *   The same for records Kafka refuses for good (publish_refused: too large, invalid).
 * - rejected (AR/CR): an unsupported message type/version/processing id (dead-lettered too), or
 *   Kafka could not take the records in time, or the pipeline worker handling it stopped: the sender
 *   should resend (HL7 v2.5.1 §2.9.2: AR is
 *   "rejected for reasons unrelated to content, e.g. the receiving system is down").
 */
import { randomUUID } from 'node:crypto';
import type { AnyAdapter } from '../adapter-kit/define-adapter.ts';
import { GatewayError, isGatewayError, type ErrorCode } from '../errors/catalogue.ts';
import { readMessageHeader, type MessageHeader } from '../hl7/header.ts';
import {
  ackMode,
  ackErrorOf,
  acknowledgementCode,
  buildAck,
  isAcknowledgement,
  shouldSendAcknowledgement,
} from '../hl7/ack.ts';
import { createActivityTracker, type ActivityTracker } from '../observability/activity-tracker.ts';
import type { Logger } from '../observability/log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Publisher } from '../publishing/publisher.ts';
import { buildDeadLetterRecord } from './dead-letter.ts';
import { createMessagePipeline } from './message-pipeline.ts';
import type { PipelineWorkers } from './pipeline-workers.ts';
import type { GatewayConfig } from '../../schemas/config.ts';

export interface MessageProcessorDeps {
  readonly adapter: AnyAdapter;
  readonly adapterConfig: unknown;
  readonly publisher: Publisher;
  readonly topics: GatewayConfig['kafka']['topics'];
  readonly publishTimeoutMs: number;
  readonly ackSender: { readonly application: string; readonly facility: string };
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Counts per device and adapter for the HTTP API (and the metrics it feeds); default: one of its own. */
  readonly activity?: ActivityTracker;
  readonly clock?: () => Date;
  /** Runs the pipeline on worker threads (`mllp.workerThreads`); absent: on this thread. */
  readonly workers?: PipelineWorkers;
  /** Could another sender add to a Kafka send soon (the MLLP server's senders)? The publisher lingers only then. */
  readonly othersMayJoin?: () => boolean;
}

export interface ConnectionRef {
  readonly id: string;
}

type Outcome = 'accepted' | 'error' | 'rejected';

/** Unsupported message type, version or processing id: HL7 says reject (AR), not error (AE). */
const rejectingCodes: ReadonlySet<ErrorCode> = new Set([
  'hl7_unsupported_message_type',
  'hl7_unsupported_version',
  'hl7_unsupported_processing_id',
]);

export function createMessageProcessor(deps: MessageProcessorDeps) {
  const clock = deps.clock ?? (() => new Date());
  const { adapter, log, metrics } = deps;
  const activity = deps.activity ?? createActivityTracker({ metrics });
  const runPipeline = deps.workers?.run ?? createMessagePipeline({ adapter, adapterConfig: deps.adapterConfig, topics: deps.topics });
  const publishOptions = { timeoutMs: deps.publishTimeoutMs, ...(deps.othersMayJoin !== undefined ? { othersMayJoin: deps.othersMayJoin } : {}) };

  function respond(header: MessageHeader | undefined, outcome: Outcome, error?: GatewayError): string | undefined {
    if (header !== undefined && !shouldSendAcknowledgement(header, outcome)) return undefined;
    const code = acknowledgementCode(header === undefined ? 'original' : ackMode(header), outcome);
    metrics.acks.inc({ code });
    return buildAck({
      header,
      code,
      controlId: newControlId(),
      timestamp: clock(),
      receivingApp: deps.ackSender,
      errors: error === undefined ? undefined : [ackErrorOf(error)],
    });
  }

  async function deadLetter(
    raw: Buffer,
    header: MessageHeader | undefined,
    error: GatewayError,
    context: { connection: ConnectionRef; traceId: string; receivedAt: Date },
  ): Promise<{ outcome: Outcome; reason: GatewayError }> {
    metrics.errors.inc({ stage: error.stage, code: error.code });
    const fields = { code: error.code, stage: error.stage, connection: context.connection.id, messageId: header?.controlId, traceId: context.traceId, bytes: raw.length };
    const record = buildDeadLetterRecord({
      topic: deps.topics.deadLetter,
      raw,
      header,
      error,
      adapter: adapter.name,
      traceId: context.traceId,
      receivedAt: context.receivedAt,
    });
    try {
      await deps.publisher.publish([record], publishOptions);
    } catch (publishError) {
      // Not even the dead letter is held: the sender must resend. The line says why it was one.
      log.warn('message_not_dead_lettered', fields);
      return { outcome: 'rejected', reason: reportPublishFailure(publishError, context, []) };
    }
    // Said once the dead letter is on Kafka, not before.
    log.warn('message_dead_lettered', fields);
    activity.deadLettered({ adapter: adapter.name, error, raw, messageId: header?.controlId, at: clock() });
    return { outcome: rejectingCodes.has(error.code) ? 'rejected' : 'error', reason: error };
  }

  function reportPublishFailure(error: unknown, context: { connection: ConnectionRef; traceId: string }, deviceIds: readonly string[]): GatewayError {
    const failure = error instanceof GatewayError ? error : new GatewayError('publish_failed', undefined, { cause: error });
    metrics.errors.inc({ stage: failure.stage, code: failure.code });
    activity.publishFailed({ adapter: adapter.name, error: failure, deviceIds, at: clock() });
    log.error('publish_failed', {
      code: failure.code,
      connection: context.connection.id,
      traceId: context.traceId,
      detail: failure.message,
    });
    return failure;
  }

  async function onMessage(raw: Buffer, connection: ConnectionRef): Promise<string | undefined> {
    const receivedAt = clock();
    const traceId = randomUUID();
    const header = readMessageHeader(raw);
    if (header !== undefined && isAcknowledgement(header)) {
      // Acknowledging an ACK starts an endless ACK storm between two gateways.
      log.debug('ack_received_ignored', { connection: connection.id, messageId: header.controlId });
      return undefined;
    }
    activity.messageReceived({ adapter: adapter.name, at: receivedAt });
    metrics.inFlightMessages.inc();
    const stopTimer = metrics.ackLatency.startTimer();
    try {
      const outcome = await runPipeline(raw, { traceId, receivedAt });
      if (!outcome.ok) {
        if (outcome.error.code === 'pipeline_worker_failed') {
          // Not the message's fault: the sender resends once the worker is back (pipeline-workers.ts logs why).
          metrics.errors.inc({ stage: outcome.error.stage, code: outcome.error.code });
          return respond(header, 'rejected', outcome.error);
        }
        const { outcome: answer, reason } = await deadLetter(raw, header, outcome.error, { connection, traceId, receivedAt });
        return respond(header, answer, reason);
      }

      const { records, activity: published } = outcome.result;
      for (const code of outcome.result.unmappedCodes) metrics.unmappedCodes.inc({ code });
      try {
        await deps.publisher.publish(records, publishOptions);
      } catch (error) {
        if (isGatewayError(error) && error.code === 'publish_refused') {
          // Kafka will never take these records, so a resend cannot help: keep the raw message on the
          // dead-letter topic and answer AE/CE. Only if the dead letter is not kept either: AR/CR.
          const { outcome: answer, reason } = await deadLetter(raw, header, error, { connection, traceId, receivedAt });
          return respond(header, answer, reason);
        }
        const failure = reportPublishFailure(error, { connection, traceId }, published.byDevice.map(({ id }) => id));
        return respond(header, 'rejected', failure);
      }
      activity.published({ adapter: adapter.name, transport: 'mllp', activity: published, receivedAt, at: clock() });
      log.debug('message_published', {
        connection: connection.id,
        messageId: outcome.result.sourceMessageId,
        traceId,
        records: records.length,
      });
      return respond(header, 'accepted');
    } finally {
      stopTimer();
      metrics.inFlightMessages.dec();
    }
  }

  async function onOversize(prefix: Buffer, connection: ConnectionRef): Promise<string | undefined> {
    const header = readMessageHeader(prefix);
    const error = new GatewayError('mllp_frame_too_large');
    metrics.errors.inc({ stage: error.stage, code: error.code });
    log.warn('frame_too_large', { code: error.code, connection: connection.id, messageId: header?.controlId });
    // The frame was never held whole, so there is nothing to dead-letter; the NAK tells the sender.
    return respond(header, 'error', error);
  }

  return { onMessage, onOversize };
}

/** MSH-10 of our ACKs: unique, and within the 20 characters HL7 2.5 allows. */
function newControlId(): string {
  return randomUUID().replaceAll('-', '').slice(0, 20);
}

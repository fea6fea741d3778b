/**
 * The dead-letter record: the raw bytes exactly as received (base64), the catalogue error, and the
 * same error as a FHIR OperationOutcome for consumers that speak FHIR. Documented in
 * docs/kafka-contract.md. The raw message holds patient data: the topic needs the same access
 * control as the FHIR topics.
 */
import { errorCatalogue, type GatewayError } from '../errors/catalogue.ts';
import type { MessageHeader } from '../hl7/header.ts';
import { deadLetterContentType, recordHeaders, type OutboundRecord } from '../publishing/publisher.ts';
import type { OperationOutcome } from '../../schemas/fhir.ts';

export interface DeadLetter {
  readonly error: {
    readonly code: string;
    readonly stage: string;
    readonly retryable: boolean;
    readonly message: string;
    readonly location?: string;
  };
  readonly source: {
    readonly adapter: string;
    readonly messageId?: string;
    readonly sendingApplication?: string;
    readonly sendingFacility?: string;
    /** Serial devices: the configured device id. */
    readonly deviceId?: string;
    readonly receivedAt: string;
  };
  readonly raw: { readonly encoding: 'base64'; readonly bytes: number; readonly data: string };
  readonly outcome: OperationOutcome;
}

export function buildDeadLetterRecord(input: {
  topic: string;
  raw: Buffer;
  header: MessageHeader | undefined;
  error: GatewayError;
  adapter: string;
  traceId: string;
  receivedAt: Date;
  /** Serial devices: the configured device, which is then also the record key. */
  deviceId?: string;
}): OutboundRecord {
  const { error, header } = input;
  const location = error.location === undefined ? undefined : formatLocation(error.location);
  const value: DeadLetter = {
    error: {
      code: error.code,
      stage: error.stage,
      retryable: error.retryable,
      message: error.message,
      ...(location === undefined ? {} : { location }),
    },
    source: {
      adapter: input.adapter,
      ...(header?.controlId ? { messageId: header.controlId } : {}),
      ...(header?.sendingApplication ? { sendingApplication: header.sendingApplication } : {}),
      ...(header?.sendingFacility ? { sendingFacility: header.sendingFacility } : {}),
      ...(input.deviceId !== undefined ? { deviceId: input.deviceId } : {}),
      receivedAt: input.receivedAt.toISOString(),
    },
    raw: { encoding: 'base64', bytes: input.raw.length, data: input.raw.toString('base64') },
    outcome: {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: issueTypeFor(error.stage),
          details: {
            coding: [{ system: 'urn:vitalbridge:error-code', code: error.code }],
            text: errorCatalogue[error.code].message,
          },
          diagnostics: error.message,
          ...(location === undefined ? {} : { expression: [location] }),
        },
      ],
    },
  };
  const headers: Record<string, string> = {
    [recordHeaders.contentType]: deadLetterContentType,
    [recordHeaders.sourceAdapter]: input.adapter,
    [recordHeaders.traceId]: input.traceId,
    [recordHeaders.errorCode]: error.code,
  };
  if (header?.controlId) headers[recordHeaders.sourceMessageId] = header.controlId;
  return {
    topic: input.topic,
    // The sender is the best identity a message that failed parsing has.
    key: input.deviceId ?? ([header?.sendingApplication, header?.sendingFacility].filter(Boolean).join('|') || 'unknown-sender'),
    value: JSON.stringify(value),
    headers,
  };
}

/** HL7 ERL notation, e.g. OBX[3]-5.1: the segment, its occurrence, field and component. */
function formatLocation(location: NonNullable<GatewayError['location']>): string {
  let text = location.segment;
  if (location.sequence !== undefined) text += `[${location.sequence}]`;
  if (location.field !== undefined) text += `-${location.field}`;
  if (location.component !== undefined) text += `.${location.component}`;
  return text;
}

/** FHIR issue-type codes (http://hl7.org/fhir/issue-type) by stage. */
function issueTypeFor(stage: GatewayError['stage']): string {
  switch (stage) {
    case 'receive':
    case 'parse':
      return 'structure';
    case 'normalize':
      return 'code-invalid';
    case 'validate':
      return 'invariant';
    case 'publish':
      return 'transient';
    case 'sink':
      return 'processing';
    default:
      return stage satisfies never;
  }
}

/**
 * The one catalogue of gateway error codes. Every NAK, dead-letter record, log line and metric label
 * that reports a failure names one of these codes; docs/errors.md is generated from this table.
 *
 * - stage: where in the flow the failure happens (receive, parse, normalize, validate, publish).
 * - retryable: whether sending the same bytes again can succeed (true only for transient faults).
 * - hl7: the HL7 table 0357 message error condition code used in ERR-3 when the error is NAKed.
 */
/** `sink`: the FHIR server sink, downstream of Kafka (vitalbridge fhir-sink). */
export const stages = ['receive', 'parse', 'normalize', 'validate', 'publish', 'sink'] as const;
export type Stage = (typeof stages)[number];

export interface ErrorSpec {
  readonly stage: Stage;
  readonly retryable: boolean;
  readonly hl7: '100' | '101' | '102' | '103' | '200' | '201' | '202' | '203' | '207';
  readonly message: string;
}

export const errorCatalogue = {
  mllp_frame_too_large: {
    stage: 'receive',
    retryable: false,
    hl7: '207',
    message: 'The MLLP frame exceeds mllp.maxFrameBytes; split the message or raise the limit.',
  },
  mllp_bytes_outside_frame: {
    stage: 'receive',
    retryable: false,
    hl7: '207',
    message: 'Bytes arrived outside an MLLP frame (0x0B ... 0x1C 0x0D) and were discarded.',
  },
  mllp_idle_timeout: {
    stage: 'receive',
    retryable: true,
    hl7: '207',
    message: 'The connection sent nothing for mllp.idleTimeoutSeconds and was closed.',
  },
  undecodable_bytes: {
    stage: 'receive',
    retryable: false,
    hl7: '102',
    message: 'The message bytes cannot be decoded in the declared character set (MSH-18).',
  },
  stream_checksum_mismatch: {
    stage: 'receive',
    retryable: false,
    hl7: '207',
    message: 'A device frame failed its checksum and was discarded; check the cable, baud rate and parity.',
  },
  stream_out_of_sync: {
    stage: 'receive',
    retryable: false,
    hl7: '207',
    message: 'Bytes that do not form a frame of the protocol were discarded while resynchronising; check the adapter and serial settings match the device.',
  },
  stream_frame_truncated: {
    stage: 'receive',
    retryable: false,
    hl7: '207',
    message: 'A device frame ended early (a new frame started, or the line closed) and was discarded.',
  },
  stream_frame_too_large: {
    stage: 'receive',
    retryable: false,
    hl7: '207',
    message: 'A device frame exceeded the framing buffer limit and was discarded; the stream is not this protocol or is corrupted.',
  },
  device_no_response: {
    stage: 'receive',
    retryable: true,
    hl7: '207',
    message: 'The device did not answer a request in time; the gateway will reconnect and retry.',
  },
  device_protocol_error: {
    stage: 'receive',
    retryable: true,
    hl7: '207',
    message: 'The device answered with a negative acknowledgement or an unexpected reply; the session is restarted.',
  },
  transport_unavailable: {
    stage: 'receive',
    retryable: true,
    hl7: '207',
    message: 'The serial port or terminal server cannot be opened; the gateway retries with back-off. Check the path or host:port and that nothing else holds the port.',
  },
  device_value_out_of_range: {
    stage: 'normalize',
    retryable: false,
    hl7: '102',
    message: 'A device value is outside the range its protocol allows and was not published as a measurement.',
  },
  hl7_missing_msh: {
    stage: 'parse',
    retryable: false,
    hl7: '100',
    message: 'The message does not start with an MSH segment.',
  },
  hl7_unparseable: {
    stage: 'parse',
    retryable: false,
    hl7: '102',
    message: 'The HL7 v2 parser rejected the message.',
  },
  hl7_missing_field: {
    stage: 'parse',
    retryable: false,
    hl7: '101',
    message: 'A field the gateway relies on is empty.',
  },
  hl7_invalid_field: {
    stage: 'parse',
    retryable: false,
    hl7: '102',
    message: 'A field does not hold a value of its HL7 data type.',
  },
  hl7_unsupported_message_type: {
    stage: 'parse',
    retryable: false,
    hl7: '200',
    message: 'Only ORU^R01 (IHE PCD-01) is accepted on this listener.',
  },
  hl7_unsupported_version: {
    stage: 'parse',
    retryable: false,
    hl7: '203',
    message: 'MSH-12 names an HL7 version this adapter does not accept (2.3 to 2.6).',
  },
  hl7_unsupported_processing_id: {
    stage: 'parse',
    retryable: false,
    hl7: '202',
    message: 'MSH-11 names a processing id this gateway does not accept (P, D or T).',
  },
  device_message_malformed: {
    stage: 'parse',
    retryable: false,
    hl7: '102',
    message: 'A device message arrived whole (framing and checksum good) but its content does not follow the protocol; its raw bytes are on the dead-letter topic.',
  },
  unknown_unit: {
    stage: 'normalize',
    retryable: false,
    hl7: '103',
    message: 'The unit in OBX-6 cannot be mapped to UCUM; add it to the terminology table or send a UCUM unit.',
  },
  invalid_numeric_value: {
    stage: 'normalize',
    retryable: false,
    hl7: '102',
    message: 'An NM value in OBX-5 is not a decimal number.',
  },
  missing_observation_time: {
    stage: 'normalize',
    retryable: false,
    hl7: '101',
    message: 'An observation has no time: neither OBX-14 nor OBR-7 is set.',
  },
  no_device_identity: {
    stage: 'normalize',
    retryable: false,
    hl7: '101',
    message: 'The sending device cannot be identified: the message names no device (HL7: no OBX-18 and no MSH-3/MSH-4) and none is configured for this connection.',
  },
  adapter_failure: {
    stage: 'normalize',
    retryable: false,
    hl7: '207',
    message: 'The adapter failed unexpectedly on this message; the raw bytes are on the dead-letter topic.',
  },
  fhir_invalid_resource: {
    stage: 'validate',
    retryable: false,
    hl7: '207',
    message: 'A resource produced from the message failed FHIR validation.',
  },
  publish_timeout: {
    stage: 'publish',
    retryable: true,
    hl7: '207',
    message: 'Kafka did not acknowledge the records in time; resend the message.',
  },
  device_queue_overflow: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message: 'Kafka was unavailable for so long that a serial device\'s in-memory queue (devices[].maxQueuedMessages) filled up; the oldest pending message was dropped. Restore Kafka, or raise the limit.',
  },
  publish_failed: {
    stage: 'publish',
    retryable: true,
    hl7: '207',
    message: 'Kafka refused or lost the records; resend the message.',
  },
  pipeline_worker_failed: {
    stage: 'normalize',
    retryable: true,
    hl7: '207',
    message: 'The pipeline worker thread handling this message stopped (it is restarted); resend the message.',
  },
  pipeline_timeout: {
    stage: 'normalize',
    retryable: false,
    hl7: '207',
    message: 'The pipeline did not finish this message within mllp.pipelineTimeoutSeconds (an adapter defect, such as an endless loop); its worker was restarted and the raw bytes are on the dead-letter topic.',
  },
  publish_refused: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message:
      "Kafka refused the records for good (larger than the topic's max.message.bytes, or an invalid record): resending the same records cannot help. With delivery.ack: kafka an MLLP message is dead-lettered with its raw bytes and answered AE/CE (do not resend it unchanged; AR/CR only if the dead letter could not be kept either), and a serial frame is dead-lettered (never retried). With delivery.ack: spool the record is kept in the spool's quarantine/ and the drain goes on.",
  },
  // ---- the durable spool (delivery.ack: spool), src/spool/
  spool_full: {
    stage: 'publish',
    retryable: true,
    hl7: '207',
    message:
      'The local spool is full (delivery.spool.maxBytes) because Kafka has been unavailable or slow; the message was not accepted. Resend it later; restore Kafka, or raise the limit.',
  },
  spool_write_failed: {
    stage: 'publish',
    retryable: true,
    hl7: '207',
    message:
      'The records could not be written and synced to the local spool (disk full, read-only or unwritable delivery.spool.dir); the message was not accepted. Resend it; the gateway retries the disk on the next message.',
  },
  spool_unusable: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message:
      'At start-up the spool directory (delivery.spool.dir) could not be created or written (read-only file system, no permission, a file in its path, disk full), so the gateway did not start. Give it a writable directory on a local disk (SPOOL_DIR), or set delivery.ack: kafka.',
  },
  spool_torn_record_discarded: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message:
      'At start-up the last spool record was incomplete or failed its checksum (a write cut by a crash); it was never acknowledged and was discarded.',
  },
  spool_segment_corrupt: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message:
      'A spool segment holds a corrupt record that is not a torn last write (disk damage, or the file was edited): acknowledged records were lost. A copy of the segment is kept in <spool dir>/quarantine/; the log line says how many records were skipped; intact records are still delivered. Inspect the disk.',
  },
  spool_checkpoint_unreadable: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message:
      'The spool checkpoint file is unreadable; delivery restarts from the oldest spooled record, so consumers may see duplicates (with identical ids).',
  },
  fhir_server_rejected: {
    stage: 'sink',
    retryable: false,
    hl7: '207',
    message: 'The FHIR server rejected the resource (HTTP 4xx); its OperationOutcome says why. The record was not written.',
  },
  fhir_sink_unreadable_record: {
    stage: 'sink',
    retryable: false,
    hl7: '207',
    message: 'The record is not a FHIR resource with a resourceType and an id; it cannot be written to a FHIR server.',
  },
  // ---- Hostile input (issue 5): found by fuzzing and resource-limit tests
  hl7_no_observations: {
    stage: 'parse',
    retryable: false,
    hl7: '100',
    message: 'The ORU^R01 has no OBR or OBX segment, so it carries no observation (a message cut short looks like this); check the sender.',
  },
  mllp_frame_timeout: {
    stage: 'receive',
    retryable: true,
    hl7: '207',
    message: 'An MLLP frame was not completed within mllp.frameTimeoutSeconds of its start (a stalled or slowloris sender); its bytes were discarded and the connection closed. Resend the message.',
  },
  mllp_connection_limit: {
    stage: 'receive',
    retryable: true,
    hl7: '207',
    message: 'The gateway already holds mllp.maxConnections connections; this one was closed at once. Retry later, or raise the limit.',
  },
  mllp_buffer_limit: {
    stage: 'receive',
    retryable: true,
    hl7: '207',
    message: 'The gateway holds mllp.maxBufferedBytes of unfinished frames across all connections; this connection was closed to stay within that bound. Resend the message.',
  },
  // --- Security (issue 5): TLS on the MLLP listener, TLS and SASL to Kafka ---
  mllp_tls_handshake_failed: {
    stage: 'receive',
    retryable: false,
    hl7: '207',
    message: 'A connection to the TLS MLLP listener failed its TLS handshake and was closed (plain TCP sender, no or untrusted client certificate, no common TLS version or cipher, or timeout); the log line says which.',
  },
  kafka_auth_failed: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message: 'Kafka refused the SASL credentials; check kafka.sasl (mechanism, username) and KAFKA_SASL_PASSWORD, and that the user exists on the cluster.',
  },
  kafka_tls_failed: {
    stage: 'publish',
    retryable: false,
    hl7: '207',
    message: 'The TLS connection to Kafka failed (a broker certificate that does not verify against kafka.ssl.caFile, a client certificate the broker refused or did not get, or a listener that does not speak TLS); check kafka.ssl and the broker listener.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/** Where in an HL7 message an error was found, for ERR-2 (ERL data type). */
export interface Hl7ErrorLocation {
  readonly segment: string;
  readonly sequence?: number;
  readonly field?: number;
  readonly component?: number;
}

/** The error every stage throws for a known failure: a catalogue code plus what a person needs to act. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly stage: Stage;
  readonly retryable: boolean;
  readonly location: Hl7ErrorLocation | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { location?: Hl7ErrorLocation; cause?: unknown }) {
    const spec = errorCatalogue[code];
    super(detail ? `${spec.message} ${detail}` : spec.message, { cause: options?.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.stage = spec.stage;
    this.retryable = spec.retryable;
    this.location = options?.location;
  }
}

/** A GatewayError as plain data, to cross a thread boundary (structured clone drops its class and fields). */
export interface GatewayErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly location: Hl7ErrorLocation | undefined;
}

export function gatewayErrorData(error: GatewayError): GatewayErrorData {
  return { code: error.code, message: error.message, location: error.location };
}

/** The same error again on this side: code, stage, retryable, location and the full message text. */
export function gatewayErrorFromData(data: GatewayErrorData): GatewayError {
  const error = new GatewayError(data.code, undefined, data.location === undefined ? undefined : { location: data.location });
  error.message = data.message;
  return error;
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

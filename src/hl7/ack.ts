/**
 * HL7 v2 acknowledgements: which mode the sender asked for, whether it wants an ACK for this outcome,
 * and the ACK message itself. Pure: the timestamp and the new control id are passed in.
 */
import { errorCatalogue, type GatewayError } from '../errors/catalogue.ts';
import { encodingCharactersOf, defaultDelimiters, type Hl7Delimiters, type MessageHeader } from './header.ts';

/** Original mode answers AA/AE/AR; enhanced mode (MSH-15 or MSH-16 set) answers CA/CE/CR. */
export type AckMode = 'original' | 'enhanced';
export type AckOutcome = 'accepted' | 'error' | 'rejected';
export type AcknowledgementCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** HL7 table 0357, message error condition codes, as used in ERR-3. */
export const hl7ErrorConditions = {
  '0': 'Message accepted',
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
} as const;
export type Hl7ErrorConditionCode = keyof typeof hl7ErrorConditions;

/** The application that writes the ACK when the caller names none (ACK MSH-3). */
export const DEFAULT_ACK_SENDER = { application: 'VITALBRIDGE', facility: '' } as const;
const APPLICATION_ERROR_CODING_SYSTEM = 'VITALBRIDGE';
const DEFAULT_PROCESSING_ID = 'P';
const DEFAULT_VERSION = '2.6';

export function ackMode(header: MessageHeader | undefined): AckMode {
  if (header === undefined) return 'original';
  return header.acceptAckType.trim() !== '' || header.applicationAckType.trim() !== '' ? 'enhanced' : 'original';
}

export function acknowledgementCode(mode: AckMode, outcome: AckOutcome): AcknowledgementCode {
  const prefix = mode === 'enhanced' ? 'C' : 'A';
  switch (outcome) {
    case 'accepted':
      return `${prefix}A`;
    case 'error':
      return `${prefix}E`;
    case 'rejected':
      return `${prefix}R`;
    default:
      return outcome satisfies never;
  }
}

/**
 * Original mode always acknowledges. Enhanced mode follows MSH-15: AL always, NE never, ER only on
 * error or reject, SU only on success. An empty or unknown MSH-15 acknowledges, because a sender left
 * waiting for an ACK it never gets resends forever, while an unwanted ACK is merely ignored.
 */
export function shouldSendAcknowledgement(header: MessageHeader | undefined, outcome: AckOutcome): boolean {
  if (ackMode(header) === 'original' || header === undefined) return true;
  switch (header.acceptAckType.trim().toUpperCase()) {
    case 'NE':
      return false;
    case 'ER':
      return outcome !== 'accepted';
    case 'SU':
      return outcome === 'accepted';
    default:
      return true;
  }
}

/** True for an ACK (MSH-9.1 `ACK`): acknowledging one would start an ACK storm between two gateways. */
export function isAcknowledgement(header: MessageHeader | undefined): boolean {
  if (header === undefined) return false;
  return componentsOf(header.messageType, header.delimiters)[0]?.trim().toUpperCase() === 'ACK';
}

/** One ERR segment. */
export interface AckError {
  /** Our error code (ERR-5), e.g. a catalogue code. */
  readonly code: string;
  /** HL7 table 0357 code (ERR-3). */
  readonly hl7ErrorCode: Hl7ErrorConditionCode;
  /** ERR-4 (HL7 table 0516): E error, W warning. */
  readonly severity: 'E' | 'W';
  /** ERR-2. */
  readonly location?: {
    readonly segment: string;
    readonly sequence?: number;
    readonly field?: number;
    readonly component?: number;
  };
  /** ERR-8: what the person at the sending side should know; escaped here. */
  readonly text: string;
}

/** The ERR content for a gateway error: its catalogue code, HL7 condition, location and message. */
export function ackErrorOf(error: GatewayError, severity: 'E' | 'W' = 'E'): AckError {
  return {
    code: error.code,
    hl7ErrorCode: errorCatalogue[error.code].hl7,
    severity,
    ...(error.location ? { location: error.location } : {}),
    text: error.message,
  };
}

export interface BuildAckOptions {
  /** The header of the message being acknowledged; undefined when it could not be read (MSA-2 stays empty). */
  readonly header: MessageHeader | undefined;
  readonly code: AcknowledgementCode;
  /** MSH-10 of the ACK itself. */
  readonly controlId: string;
  /** MSH-7 of the ACK. */
  readonly timestamp: Date;
  /** The offset written into MSH-7; 0 (UTC) unless the site wants local time. */
  readonly utcOffsetMinutes?: number;
  readonly errors?: readonly AckError[];
  /** Who writes the ACK (our MSH-3/MSH-4), as raw HD values; the original's receiver as seen by its sender. */
  readonly receivingApp?: { readonly application: string; readonly facility: string };
}

/** Builds an ACK: segments separated by CR, in the delimiters of the message it answers. */
export function buildAck(options: BuildAckOptions): string {
  const { header } = options;
  const delimiters = header?.delimiters ?? defaultDelimiters;
  const sender = options.receivingApp ?? DEFAULT_ACK_SENDER;
  const trigger = header ? (componentsOf(header.messageType, delimiters)[1] ?? '') : '';

  const msh = segment(delimiters, [
    'MSH',
    // MSH-1 is the separator that joins these fields, so the list goes on with MSH-2.
    encodingCharactersOf(delimiters),
    sender.application,
    sender.facility,
    header?.sendingApplication ?? '',
    header?.sendingFacility ?? '',
    formatHl7Timestamp(options.timestamp, options.utcOffsetMinutes ?? 0),
    '',
    ['ACK', trigger, 'ACK'].join(delimiters.component),
    options.controlId,
    nonEmpty(header?.processingId) ?? DEFAULT_PROCESSING_ID,
    nonEmpty(header?.version) ?? DEFAULT_VERSION,
    // MSH-13 onwards stay empty: an ACK asks for no acknowledgement (MSH-15/16) and names no profile (MSH-21).
  ]);
  const msa = segment(delimiters, ['MSA', options.code, header?.controlId ?? '']);
  const errs = (options.errors ?? []).map((error) => errSegment(error, delimiters));
  return [msh, msa, ...errs].join('\r');
}

function errSegment(error: AckError, delimiters: Hl7Delimiters): string {
  const cwe = (...components: string[]): string => trimTrailingEmpty(components).join(delimiters.component);
  return segment(delimiters, [
    'ERR',
    '', // ERR-1 is deprecated in favour of ERR-2.
    error.location ? errorLocation(error.location, delimiters) : '',
    cwe(error.hl7ErrorCode, hl7ErrorConditions[error.hl7ErrorCode], 'HL70357'),
    error.severity,
    cwe(escapeHl7Text(error.code, delimiters), escapeHl7Text(error.code, delimiters), APPLICATION_ERROR_CODING_SYSTEM),
    '',
    '',
    escapeHl7Text(error.text, delimiters),
  ]);
}

/**
 * ERL: segment ^ segment sequence ^ field ^ field repetition ^ component. The segment sequence is
 * required in ERL, so it defaults to 1 (the segment's first occurrence); the repetition is always the
 * first, since our locations do not track repetitions.
 */
function errorLocation(location: NonNullable<AckError['location']>, delimiters: Hl7Delimiters): string {
  const hasField = location.field !== undefined;
  const hasComponent = hasField && location.component !== undefined;
  const components = [
    escapeHl7Text(location.segment, delimiters),
    String(location.sequence ?? 1),
    hasField ? String(location.field) : '',
    hasComponent ? '1' : '',
    hasComponent ? String(location.component) : '',
  ];
  return trimTrailingEmpty(components).join(delimiters.component);
}

/**
 * Escapes text for an HL7 field: each delimiter becomes its escape sequence (\F\ \S\ \T\ \R\ \E\, \P\ for a
 * declared truncation character), and CR/LF become hex escapes so the text cannot end the segment.
 */
export function escapeHl7Text(text: string, delimiters: Hl7Delimiters): string {
  const escape = delimiters.escape;
  const sequences = new Map<string, string>([
    [delimiters.field, `${escape}F${escape}`],
    [delimiters.component, `${escape}S${escape}`],
    [delimiters.subcomponent, `${escape}T${escape}`],
    [delimiters.repetition, `${escape}R${escape}`],
    [escape, `${escape}E${escape}`],
    ['\r', `${escape}X0D${escape}`],
    ['\n', `${escape}X0A${escape}`],
  ]);
  if (delimiters.truncation !== undefined) sequences.set(delimiters.truncation, `${escape}P${escape}`);
  let escaped = '';
  for (const character of text) escaped += sequences.get(character) ?? character;
  return escaped;
}

/** HL7 DTM to the second with offset: YYYYMMDDHHMMSS+ZZZZ, the instant shown at utcOffsetMinutes. */
export function formatHl7Timestamp(instant: Date, utcOffsetMinutes: number): string {
  if (Number.isNaN(instant.getTime())) throw new RangeError('the ACK timestamp is an invalid Date');
  if (!Number.isInteger(utcOffsetMinutes) || Math.abs(utcOffsetMinutes) > 14 * 60) {
    throw new RangeError(`utcOffsetMinutes must be an integer within ±840, got ${utcOffsetMinutes}`);
  }
  const shown = new Date(instant.getTime() + utcOffsetMinutes * 60_000);
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  const offset = Math.abs(utcOffsetMinutes);
  return (
    pad(shown.getUTCFullYear(), 4) +
    pad(shown.getUTCMonth() + 1) +
    pad(shown.getUTCDate()) +
    pad(shown.getUTCHours()) +
    pad(shown.getUTCMinutes()) +
    pad(shown.getUTCSeconds()) +
    (utcOffsetMinutes < 0 ? '-' : '+') +
    pad(Math.floor(offset / 60)) +
    pad(offset % 60)
  );
}

function segment(delimiters: Hl7Delimiters, fields: readonly string[]): string {
  return trimTrailingEmpty(fields).join(delimiters.field);
}

function componentsOf(value: string, delimiters: Hl7Delimiters): string[] {
  return value.split(delimiters.component);
}

function trimTrailingEmpty(values: readonly string[]): string[] {
  let length = values.length;
  while (length > 0 && values[length - 1] === '') length -= 1;
  return values.slice(0, length);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

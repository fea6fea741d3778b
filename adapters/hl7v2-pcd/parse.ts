/**
 * Frame bytes to a typed IHE PCD-01 message. This stage reads and checks the structure: character
 * set (MSH-18), segment ends, escape sequences, message type (MSH-9), version (MSH-12), processing id
 * (MSH-11), and the date/time and identifier fields the gateway relies on. What the values mean is
 * normalize's job. hl7-segments.ts only splits the text; it checks none of this.
 */
import { isAscii } from 'node:buffer';
import { GatewayError, type Hl7ErrorLocation } from '../../src/errors/catalogue.ts';
import { isCalendarValid, isOffsetValid, type LocalDateTime, type UtcOffset } from '../../src/fhir/index.ts';
import { hl7Code, quotedCode, versionCode } from './error-detail.ts';
import { maskEscapes, type Delimiters, type MessageCharset } from './escapes.ts';
import { splitSegments, valueAt, type RawSegment } from './hl7-segments.ts';
import { recentValues } from './recent-values.ts';

export const supportedVersions = ['2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6'] as const;
export type SupportedVersion = (typeof supportedVersions)[number];

/** HL7 table 0103: production, debugging, training. */
export const processingIds = ['P', 'D', 'T'] as const;
export type ProcessingId = (typeof processingIds)[number];

/** HD: who assigned an identifier, or who sends. */
export interface HierarchicDesignator {
  readonly namespaceId: string;
  readonly universalId: string;
  readonly universalIdType: string;
}

/** CE / CWE, both triplets. */
export interface CodedElement {
  readonly identifier: string;
  readonly text: string;
  readonly codingSystem: string;
  readonly alternateIdentifier: string;
  readonly alternateText: string;
  readonly alternateCodingSystem: string;
}

/** EI: OBX-18 equipment instance identifier. */
export interface EntityIdentifier {
  readonly entityIdentifier: string;
  readonly namespaceId: string;
  readonly universalId: string;
  readonly universalIdType: string;
}

/** An HL7 DTM/TS: the wall-clock time as sent, and the offset when one was sent. */
export interface Hl7DateTime {
  readonly local: LocalDateTime;
  readonly offset: UtcOffset | undefined;
}

/** PID-3, first repetition (CX). */
export interface PatientIdentifier {
  readonly value: string;
  readonly assigningAuthority: HierarchicDesignator;
  readonly identifierTypeCode: string;
}

/** PV1-3 (PL). */
export interface PersonLocation {
  readonly pointOfCare: string;
  readonly room: string;
  readonly bed: string;
  readonly facility: string;
  readonly building: string;
  readonly floor: string;
  readonly description: string;
}

/** One OBX segment, the fields PCD-01 uses. */
export interface ObservationRow {
  /** This OBX's occurrence in the message, from 1 (ERR-2 segment sequence). */
  readonly sequence: number;
  /** OBX-2, e.g. NM. */
  readonly valueType: string;
  /** OBX-3. */
  readonly identifier: CodedElement;
  /** OBX-4 as sent, e.g. 1.1.1.5. */
  readonly subId: string;
  /** OBX-5, first repetition, as text. */
  readonly value: string;
  /** OBX-6. */
  readonly units: CodedElement;
  /** OBX-7. */
  readonly referenceRange: string;
  /** OBX-8, every repetition. */
  readonly abnormalFlags: readonly string[];
  /** OBX-11. */
  readonly status: string;
  /** OBX-14. */
  readonly observationTime: Hl7DateTime | undefined;
  /** OBX-17, first component of the first repetition (MetricCategory, e.g. AMEAS). */
  readonly method: string;
  /** OBX-18, every repetition that names something. */
  readonly equipment: readonly EntityIdentifier[];
}

/** An OBR and its OBX segments, with the patient (PID) and location (PV1) they belong to. */
export interface ObservationOrder {
  readonly patientIdentifier: PatientIdentifier | undefined;
  readonly location: PersonLocation | undefined;
  /** OBR-7: the default time of the OBX segments under it. */
  readonly observationTime: Hl7DateTime | undefined;
  readonly rows: readonly ObservationRow[];
}

export interface Pcd01Message {
  /** MSH-10. */
  readonly controlId: string;
  /** MSH-12. */
  readonly version: SupportedVersion;
  /** MSH-11. */
  readonly processingId: ProcessingId;
  /** MSH-3. */
  readonly sendingApplication: HierarchicDesignator;
  /** MSH-4. */
  readonly sendingFacility: HierarchicDesignator;
  readonly orders: readonly ObservationOrder[];
}

const at = (segment: RawSegment | string, field: number, sequence = 1): Hl7ErrorLocation =>
  typeof segment === 'string' ? { segment, sequence, field } : { segment: segment.type, sequence: segment.sequence, field };

// ---------------------------------------------------------------------------------------------
// Bytes to text
// ---------------------------------------------------------------------------------------------

const utf8Bom = Buffer.from([0xef, 0xbb, 0xbf]);

/** HL7 table 0211 (alternate character sets): the names a sender may put in MSH-18. */
const characterSetNames = /^(ASCII|8859\/(1|2|3|4|5|6|7|8|9|15)|ISO IR(6|14|87|159)|GB 18030-2000|KS X 1001|CNS 11643-1992|BIG-5|UNICODE|UNICODE UTF-(8|16|32))$/;

/** HL7 table 0211 names we decode, and the decoder each needs. */
function charsetOf(msh18: string): MessageCharset | undefined {
  switch (msh18) {
    case '': // HL7 v2.5.1 2.15.9.18: empty means ASCII; decodeFrame refuses any byte above 0x7F first
    case 'ASCII':
    case 'UNICODE UTF-8':
      return 'utf8';
    case '8859/1':
      return 'latin1';
    default:
      return undefined;
  }
}

/** One decoder for every message: decode() without `stream` starts afresh each call. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeText(bytes: Buffer, charset: MessageCharset): string {
  // Buffer's latin1 is ISO 8859-1 exactly; TextDecoder('latin1') would be windows-1252.
  if (charset === 'latin1') return bytes.toString('latin1');
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new GatewayError('undecodable_bytes', 'The bytes are not valid UTF-8.', { cause, location: at('MSH', 18) });
  }
}

/**
 * Bytes the declared character set has no character for are an error, never a guess: guessing is how a
 * patient's name becomes mojibake. ASCII (also MSH-18 empty, HL7 v2.5.1 2.15.9.18) has nothing above 0x7F;
 * ISO 8859-1's 0x80-0x9F are C1 control codes, which in text mean Windows-1252 or UTF-8 sent as 8859/1.
 * Offsets only in the message: the bytes around them are patient data.
 */
function refuseBytesOutside(bytes: Buffer, msh18: string): void {
  const ascii = msh18 === '' || msh18 === 'ASCII';
  if (!ascii && msh18 !== '8859/1') return;
  // ASCII messages are checked natively first; the loop below then only finds where the bad byte is.
  if (ascii && isAscii(bytes)) return;
  // A plain loop: findIndex with a closure per byte was 2.7% of the pipeline's CPU.
  let offset = -1;
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i]!;
    if (ascii ? byte > 0x7f : byte >= 0x80 && byte <= 0x9f) {
      offset = i;
      break;
    }
  }
  if (offset < 0) return;
  const byte = `0x${bytes[offset]!.toString(16).toUpperCase()}`;
  const detail = ascii
    ? `MSH-18 is ${msh18 === '' ? 'empty, which HL7 v2.5.1 (2.15.9.18) defines as ASCII' : 'ASCII'}, but byte ${byte} at offset ${offset} is not ASCII; the sender must declare its character set in MSH-18 (8859/1 or UNICODE UTF-8).`
    : `MSH-18 is 8859/1, but byte ${byte} at offset ${offset} is a C1 control code, not an ISO 8859-1 character (Windows-1252 or UTF-8 sent as 8859/1?).`;
  throw new GatewayError('undecodable_bytes', detail, { location: at('MSH', 18) });
}

function delimitersOf(headerLine: string): { delimiters: Delimiters; headerLength: number } {
  // Senders keep their delimiters: MSH-1 and MSH-2 as last time give the last answer (shared, frozen).
  if (lastHeaderStart !== undefined && headerLine.startsWith(lastHeaderStart.text)) return lastHeaderStart.found;
  const field = headerLine[3];
  if (field === undefined || /[\sA-Za-z0-9]/.test(field)) {
    throw new GatewayError('hl7_invalid_field', 'MSH-1 is not a field separator.', { location: at('MSH', 1) });
  }
  const encoding = headerLine.slice(4).split(field)[0] ?? '';
  const chars = [...encoding];
  const valid =
    chars.length === 4 && new Set([field, ...chars]).size === 5 && chars.every((char) => !/[\sA-Za-z0-9]/.test(char));
  if (!valid) {
    throw new GatewayError('hl7_invalid_field', 'MSH-2 must hold the four encoding characters, e.g. ^~\\&.', {
      location: at('MSH', 2),
    });
  }
  const [component, repetition, escape, subComponent] = chars as [string, string, string, string];
  const found = Object.freeze({
    delimiters: Object.freeze({ field, component, repetition, escape, subComponent }),
    headerLength: 4 + encoding.length + 1,
  });
  // "MSH", MSH-1, the four encoding characters and the field separator that ends MSH-2: all this depends on.
  if (encoding.length === 4) lastHeaderStart = { text: headerLine.slice(0, found.headerLength), found };
  return found;
}

/** The start of the last valid header up to the end of MSH-2, and the delimiters it declares. */
let lastHeaderStart: { readonly text: string; readonly found: { readonly delimiters: Delimiters; readonly headerLength: number } } | undefined;

/** Where the first CR or LF is, -1 when there is none (indexOf is native; findIndex called a closure per byte). */
function firstLineEnd(bytes: Buffer): number {
  const cr = bytes.indexOf(0x0d);
  const lf = cr < 0 ? bytes.indexOf(0x0a) : bytes.subarray(0, cr).indexOf(0x0a);
  return lf < 0 ? cr : lf;
}

/** line.split(separator)[n] ?? '', without splitting the whole line (the MSH line, for MSH-18). */
export function fieldText(line: string, separator: string, n: number): string {
  let start = 0;
  for (let i = 0; i < n; i += 1) {
    const at = line.indexOf(separator, start);
    if (at < 0) return '';
    start = at + separator.length;
  }
  const end = line.indexOf(separator, start);
  return end < 0 ? line.slice(start) : line.slice(start, end);
}

/** The message as text, its delimiters, and where MSH-2 ends. MSH-18 is read from the raw bytes: it says how to decode them. */
function decodeFrame(frame: Buffer): { text: string; delimiters: Delimiters; charset: MessageCharset; headerLength: number } {
  // Byte comparisons rather than a Buffer view and a string per check: this runs for every message.
  const bytes = frame[0] === utf8Bom[0] && frame[1] === utf8Bom[1] && frame[2] === utf8Bom[2] ? frame.subarray(3) : frame;
  if (bytes[0] !== 0x4d || bytes[1] !== 0x53 || bytes[2] !== 0x48) throw new GatewayError('hl7_missing_msh');
  const lineEnd = firstLineEnd(bytes);
  const headerLine = bytes.toString('latin1', 0, lineEnd < 0 ? bytes.length : lineEnd);
  const { delimiters, headerLength } = delimitersOf(headerLine);
  const msh18 = fieldText(headerLine, delimiters.field, 17).split(delimiters.repetition)[0]!.split(delimiters.component)[0]!.trim();
  const charset = charsetOf(msh18);
  if (charset === undefined) {
    const named = quotedCode(msh18, characterSetNames);
    throw new GatewayError('undecodable_bytes', `MSH-18 names ${named}; this adapter decodes ASCII, 8859/1 and UNICODE UTF-8.`, {
      location: at('MSH', 18),
    });
  }
  refuseBytesOutside(bytes, msh18);
  // Devices end segments with CR (the standard), LF or CRLF; the parser wants CR.
  const decoded = decodeText(bytes, charset);
  const text = decoded.includes('\n') ? decoded.replace(/\r\n?|\n/g, '\r') : decoded;
  return { text, delimiters, charset, headerLength };
}

// ---------------------------------------------------------------------------------------------
// Fields to types
// ---------------------------------------------------------------------------------------------

const trimmed = (segment: RawSegment | undefined, field: number, component = 1, subComponent = 1, repetition = 0) =>
  valueAt(segment, field, component, subComponent, repetition).trim();

function hierarchicDesignator(segment: RawSegment, field: number): HierarchicDesignator {
  return {
    namespaceId: trimmed(segment, field, 1),
    universalId: trimmed(segment, field, 2),
    universalIdType: trimmed(segment, field, 3),
  };
}

/**
 * What was read from a field, by the field: hl7-segments.ts shares one frozen split per field text
 * (messages without escape sequences), so a code, unit or equipment identifier the device sends in
 * every message is read once; and, shared and frozen in turn, lets normalize memoize what it derives.
 */
const codedElementsByField = new WeakMap<object, CodedElement>();
const entityIdentifiersByField = new WeakMap<object, readonly EntityIdentifier[]>();

function codedElement(segment: RawSegment, field: number): CodedElement {
  const shared = segment.field(field);
  const known = shared === undefined ? undefined : codedElementsByField.get(shared);
  if (known !== undefined) return known;
  const element: CodedElement = {
    identifier: trimmed(segment, field, 1),
    text: trimmed(segment, field, 2),
    codingSystem: trimmed(segment, field, 3),
    alternateIdentifier: trimmed(segment, field, 4),
    alternateText: trimmed(segment, field, 5),
    alternateCodingSystem: trimmed(segment, field, 6),
  };
  if (shared !== undefined && Object.isFrozen(shared)) codedElementsByField.set(shared, Object.freeze(element));
  return element;
}

function entityIdentifiers(segment: RawSegment, field: number): readonly EntityIdentifier[] {
  const shared = segment.field(field);
  const known = shared === undefined ? undefined : entityIdentifiersByField.get(shared);
  if (known !== undefined) return known;
  const identifiers = (shared ?? [])
    .map((_, repetition) => ({
      entityIdentifier: trimmed(segment, field, 1, 1, repetition),
      namespaceId: trimmed(segment, field, 2, 1, repetition),
      universalId: trimmed(segment, field, 3, 1, repetition),
      universalIdType: trimmed(segment, field, 4, 1, repetition),
    }))
    .filter((ei) => ei.entityIdentifier !== '' || ei.universalId !== '');
  if (shared !== undefined && Object.isFrozen(shared)) {
    for (const identifier of identifiers) Object.freeze(identifier);
    entityIdentifiersByField.set(shared, Object.freeze(identifiers));
  }
  return identifiers;
}

const dtmPattern = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?(?:([+-])(\d{2})(\d{2}))?$/;

/** A DTM as sent to its parts, undefined when it is not one (wrong form, or no such calendar day or offset). */
function readDateTime(text: string): Hl7DateTime | undefined {
  const match = dtmPattern.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMinutes] = match;
  const local: LocalDateTime = {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: second === undefined ? 0 : Number(second),
    ...(fraction === undefined ? {} : { fraction }),
  };
  const offset: UtcOffset | undefined =
    sign === undefined ? undefined : { sign: sign as '+' | '-', hours: Number(offsetHours), minutes: Number(offsetMinutes) };
  if (!isCalendarValid(local) || (offset !== undefined && !isOffsetValid(offset))) return undefined;
  return Object.freeze({ local: Object.freeze(local), offset: offset === undefined ? undefined : Object.freeze(offset) });
}

/**
 * DTM strings seen lately and their parts: a message repeats one time in OBR-7 and every OBX-14
 * (regex + calendar check per field were ~5% of the pipeline). Bounded: cleared when full; the
 * results are shared, hence frozen. Only valid times are kept, so errors still name their field.
 */
const recentDateTimes = recentValues<Hl7DateTime>();

/**
 * HL7 DTM (TS component 1 before v2.6): YYYYMMDDHHMM[SS[.S[S[S[S]]]]][+/-ZZZZ]. At least minutes are
 * required: an observation needs a time of day, and FHIR only lets seconds be zero-filled.
 */
export function parseDateTime(text: string, segment: RawSegment, field: number): Hl7DateTime | undefined {
  if (text === '') return undefined;
  const known = recentDateTimes.get(text);
  if (known !== undefined) return known;
  const parsed = readDateTime(text);
  if (parsed === undefined) {
    const location = at(segment, field);
    throw new GatewayError(
      'hl7_invalid_field',
      `${location.segment}-${location.field} is not a date/time of the form YYYYMMDDHHMM[SS[.SSSS]][+/-ZZZZ].`,
      { location },
    );
  }
  return recentDateTimes.remember(text, parsed);
}

/** A field's first repetition as text: its components and sub-components joined again (OBX-5). */
function firstRepetitionText(obx: RawSegment, field: number, delimiters: Delimiters): string {
  // A plain value (no delimiter in it) is the text itself: no split, no joins.
  return (
    obx.plainValue(field) ??
    (obx.field(field)?.[0] ?? []).map((component) => component.join(delimiters.subComponent)).join(delimiters.component)
  );
}

const noFlags: readonly string[] = Object.freeze([]);

/** OBX-8, every repetition that is not empty; most rows have none. */
function abnormalFlagsOf(obx: RawSegment): readonly string[] {
  if (obx.plainValue(8)?.trim() === '') return noFlags;
  return (obx.field(8) ?? []).map((_, repetition) => trimmed(obx, 8, 1, 1, repetition)).filter((flag) => flag !== '');
}

function observationRow(obx: RawSegment, delimiters: Delimiters): ObservationRow {
  const value = firstRepetitionText(obx, 5, delimiters);
  return {
    sequence: obx.sequence,
    valueType: trimmed(obx, 2),
    identifier: codedElement(obx, 3),
    subId: trimmed(obx, 4),
    value: value.trim(),
    units: codedElement(obx, 6),
    referenceRange: trimmed(obx, 7),
    abnormalFlags: abnormalFlagsOf(obx),
    status: trimmed(obx, 11),
    observationTime: parseDateTime(trimmed(obx, 14), obx, 14),
    method: trimmed(obx, 17),
    equipment: entityIdentifiers(obx, 18),
  };
}

function patientIdentifier(pid: RawSegment): PatientIdentifier | undefined {
  const value = trimmed(pid, 3, 1);
  if (value === '') return undefined;
  return {
    value,
    assigningAuthority: {
      namespaceId: trimmed(pid, 3, 4, 1),
      universalId: trimmed(pid, 3, 4, 2),
      universalIdType: trimmed(pid, 3, 4, 3),
    },
    identifierTypeCode: trimmed(pid, 3, 5),
  };
}

function personLocation(pv1: RawSegment): PersonLocation | undefined {
  const location: PersonLocation = {
    pointOfCare: trimmed(pv1, 3, 1),
    room: trimmed(pv1, 3, 2),
    bed: trimmed(pv1, 3, 3),
    facility: trimmed(pv1, 3, 4, 1) || trimmed(pv1, 3, 4, 2),
    building: trimmed(pv1, 3, 7),
    floor: trimmed(pv1, 3, 8),
    description: trimmed(pv1, 3, 9),
  };
  return Object.values(location).some((part) => part !== '') ? location : undefined;
}

// ---------------------------------------------------------------------------------------------
// The message
// ---------------------------------------------------------------------------------------------

function checkHeader(msh: RawSegment): { controlId: string; version: SupportedVersion; processingId: ProcessingId } {
  const messageCode = trimmed(msh, 9, 1);
  const triggerEvent = trimmed(msh, 9, 2);
  if (messageCode === '') throw new GatewayError('hl7_missing_field', 'MSH-9 (message type) is empty.', { location: at(msh, 9) });
  if (messageCode !== 'ORU' || triggerEvent !== 'R01') {
    const named = `${quotedCode(messageCode, hl7Code)}^${quotedCode(triggerEvent, hl7Code)}`;
    throw new GatewayError('hl7_unsupported_message_type', `MSH-9 is ${named}.`, { location: at(msh, 9) });
  }
  const controlId = trimmed(msh, 10);
  if (controlId === '') throw new GatewayError('hl7_missing_field', 'MSH-10 (message control id) is empty.', { location: at(msh, 10) });
  const processingId = trimmed(msh, 11, 1);
  if (processingId === '') throw new GatewayError('hl7_missing_field', 'MSH-11 (processing id) is empty.', { location: at(msh, 11) });
  if (!(processingIds as readonly string[]).includes(processingId)) {
    throw new GatewayError('hl7_unsupported_processing_id', `MSH-11 is ${quotedCode(processingId, hl7Code)}.`, { location: at(msh, 11) });
  }
  const version = trimmed(msh, 12, 1);
  if (version === '') throw new GatewayError('hl7_missing_field', 'MSH-12 (version id) is empty.', { location: at(msh, 12) });
  if (!(supportedVersions as readonly string[]).includes(version)) {
    throw new GatewayError('hl7_unsupported_version', `MSH-12 is ${quotedCode(version, versionCode)}.`, { location: at(msh, 12) });
  }
  return { controlId, version: version as SupportedVersion, processingId: processingId as ProcessingId };
}

const segmentIdPattern = /^[A-Z][A-Z0-9]{2}$/;
const isCapital = (code: number): boolean => code >= 0x41 && code <= 0x5a;
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
/** segmentIdPattern on a line's first three characters, without a substring per line. */
const isSegmentId = (line: string): boolean =>
  isCapital(line.charCodeAt(0)) &&
  (isCapital(line.charCodeAt(1)) || isDigit(line.charCodeAt(1))) &&
  (isCapital(line.charCodeAt(2)) || isDigit(line.charCodeAt(2)));

export function parsePcd01(frame: Buffer): Pcd01Message {
  const { text, delimiters, charset, headerLength } = decodeFrame(frame);
  const masked = maskEscapes(text, headerLength, delimiters, charset);
  const lines: string[] = [];
  for (const line of masked.text.split('\r')) {
    if (line.trim() === '') continue;
    const idEnd = line.indexOf(delimiters.field);
    if (!(idEnd === 3 ? isSegmentId(line) : segmentIdPattern.test(idEnd < 0 ? line : line.slice(0, idEnd)))) {
      throw new GatewayError('hl7_unparseable', `Segment ${lines.length + 1} does not start with a segment ID (three capitals or digits).`);
    }
    lines.push(line);
  }
  const segments = splitSegments(lines, delimiters, masked.restore);
  const msh = segments[0]!;
  const header = checkHeader(msh);

  const orders: { patientIdentifier: PatientIdentifier | undefined; location: PersonLocation | undefined; observationTime: Hl7DateTime | undefined; rows: ObservationRow[] }[] = [];
  let patient: PatientIdentifier | undefined;
  let location: PersonLocation | undefined;
  for (const segment of segments) {
    switch (segment.type) {
      case 'PID':
        patient = patientIdentifier(segment);
        location = undefined;
        break;
      case 'PV1':
        location = personLocation(segment);
        break;
      case 'OBR':
        orders.push({ patientIdentifier: patient, location, observationTime: parseDateTime(trimmed(segment, 7), segment, 7), rows: [] });
        break;
      case 'OBX':
        if (orders.length === 0) orders.push({ patientIdentifier: patient, location, observationTime: undefined, rows: [] });
        orders.at(-1)!.rows.push(observationRow(segment, delimiters));
        break;
      default:
        break; // NTE, PRT, Z-segments ...: not used by PCD-01 normalization
    }
  }

  // ORU_R01 requires an OBR; a message without any OBR or OBX (e.g. cut after MSH) must not be acknowledged as delivered.
  if (orders.length === 0) throw new GatewayError('hl7_no_observations', undefined, { location: { segment: 'OBR' } });

  return {
    ...header,
    sendingApplication: hierarchicDesignator(msh, 3),
    sendingFacility: hierarchicDesignator(msh, 4),
    orders,
  };
}

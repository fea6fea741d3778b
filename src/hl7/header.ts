/**
 * A tolerant reader of the MSH segment. It looks at the first segment only and checks nothing beyond
 * "starts with MSH and a separator", so that even a message the full parser rejects can be answered
 * with a NAK addressed to its sender and naming its control id.
 */

/** The five HL7 delimiters (plus the 2.7+ truncation character when the message declares one). */
export interface Hl7Delimiters {
  readonly field: string;
  readonly component: string;
  readonly repetition: string;
  readonly escape: string;
  readonly subcomponent: string;
  readonly truncation?: string;
}

export const defaultDelimiters: Hl7Delimiters = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
};

/**
 * Raw MSH field values: nothing is unescaped or trimmed, so they can be echoed into an ACK that uses the
 * same delimiters. A field the message does not have is ''.
 */
export interface MessageHeader {
  /** MSH-1. */
  readonly fieldSeparator: string;
  /** MSH-2, as sent. */
  readonly encodingCharacters: string;
  /** The delimiters MSH-1 and MSH-2 declare, completed with the defaults where MSH-2 is short or unusable. */
  readonly delimiters: Hl7Delimiters;
  /** MSH-3 (HD). */
  readonly sendingApplication: string;
  /** MSH-4 (HD). */
  readonly sendingFacility: string;
  /** MSH-5 (HD). */
  readonly receivingApplication: string;
  /** MSH-6 (HD). */
  readonly receivingFacility: string;
  /** MSH-9, e.g. `ORU^R01^ORU_R01`. */
  readonly messageType: string;
  /** MSH-10. */
  readonly controlId: string;
  /** MSH-11. */
  readonly processingId: string;
  /** MSH-12. */
  readonly version: string;
  /** MSH-15: accept acknowledgement type (AL, NE, ER, SU). */
  readonly acceptAckType: string;
  /** MSH-16: application acknowledgement type. */
  readonly applicationAckType: string;
  /** MSH-18. */
  readonly characterSet: string;
}

/**
 * Reads the MSH segment of a message. Returns undefined when the payload does not start with `MSH`
 * followed by a field separator. Buffers are decoded as UTF-8 (MSH fields are ASCII in practice).
 */
export function readMessageHeader(payload: Buffer | string): MessageHeader | undefined {
  const segment = firstSegment(payload);
  if (!segment.startsWith('MSH') || segment.length < 4) return undefined;
  const fieldSeparator = segment.charAt(3);
  if (!canDelimit(fieldSeparator)) return undefined;

  // MSH-1 is the separator itself, so after splitting, MSH-n (n >= 2) sits at index n - 1.
  const fields = segment.split(fieldSeparator);
  const msh = (sequence: number): string => fields[sequence - 1] ?? '';

  const encodingCharacters = msh(2);
  const delimiters = delimitersFrom(fieldSeparator, encodingCharacters);
  // A field separator that is also one of the fallback delimiters cannot be answered in kind: no header.
  if (delimiters === undefined) return undefined;
  return {
    fieldSeparator,
    encodingCharacters,
    delimiters,
    sendingApplication: msh(3),
    sendingFacility: msh(4),
    receivingApplication: msh(5),
    receivingFacility: msh(6),
    messageType: msh(9),
    controlId: msh(10),
    processingId: msh(11),
    version: msh(12),
    acceptAckType: msh(15),
    applicationAckType: msh(16),
    characterSet: msh(18),
  };
}

/** The text up to the first segment terminator (CR, LF or CRLF all end at the first CR or LF). */
function firstSegment(payload: Buffer | string): string {
  if (typeof payload === 'string') {
    return payload.slice(0, segmentEnd(payload.indexOf('\r'), payload.indexOf('\n'), payload.length));
  }
  const end = segmentEnd(payload.indexOf(0x0d), payload.indexOf(0x0a), payload.length);
  return payload.toString('utf8', 0, end);
}

function segmentEnd(carriageReturn: number, lineFeed: number, length: number): number {
  const ends = [carriageReturn, lineFeed].filter((index) => index !== -1);
  return ends.length === 0 ? length : Math.min(...ends);
}

/**
 * Letters, digits and white space are content: as delimiters they would split an ACK's own codes
 * (a field separator `E` turns MSA-1 `AE` into `A`). Found by fuzzing (test/fuzz/targets.ts).
 */
function canDelimit(character: string): boolean {
  return character.length === 1 && !/[\p{L}\p{N}\s]/u.test(character);
}

/**
 * MSH-2 lists component, repetition, escape and subcomponent (and, from 2.7, truncation) characters.
 * Missing ones take the defaults; a set that repeats a character, reuses the field separator or holds a
 * character that cannot delimit is unusable for escaping, so the defaults replace it entirely; undefined
 * when the field separator is itself one of the defaults (then nothing of the header can be trusted).
 */
function delimitersFrom(fieldSeparator: string, encodingCharacters: string): Hl7Delimiters | undefined {
  const declared = [...encodingCharacters];
  const [component, repetition, escape, subcomponent, truncation] = [
    declared[0] ?? defaultDelimiters.component,
    declared[1] ?? defaultDelimiters.repetition,
    declared[2] ?? defaultDelimiters.escape,
    declared[3] ?? defaultDelimiters.subcomponent,
    declared[4],
  ];
  const all = [fieldSeparator, component, repetition, escape, subcomponent, ...(truncation ? [truncation] : [])];
  const usable =
    declared.length <= 5 &&
    new Set(all).size === all.length &&
    all.every(canDelimit);
  if (!usable) {
    const fallback = { ...defaultDelimiters, field: fieldSeparator };
    const defaults = [fallback.component, fallback.repetition, fallback.escape, fallback.subcomponent];
    return defaults.includes(fieldSeparator) ? undefined : fallback;
  }
  return truncation
    ? { field: fieldSeparator, component, repetition, escape, subcomponent, truncation }
    : { field: fieldSeparator, component, repetition, escape, subcomponent };
}

/** The MSH-2 value that declares these delimiters. */
export function encodingCharactersOf(delimiters: Hl7Delimiters): string {
  const { component, repetition, escape, subcomponent, truncation = '' } = delimiters;
  return `${component}${repetition}${escape}${subcomponent}${truncation}`;
}

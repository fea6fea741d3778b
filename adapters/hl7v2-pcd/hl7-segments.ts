/**
 * Splits a masked HL7 v2 message into segments, fields, repetitions, components and sub-components,
 * as plain strings. Escape sequences are masked beforehand (escapes.ts) and restored per value here,
 * so splitting on the delimiters is all there is to do.
 *
 * This replaced the hl7v2 library (1.8.0) on the hot path: we used it only for this split, with its
 * data-type decoders switched off because they corrupt data (its DTM decoder deletes every "-" and
 * shortens times; NM/SI become numbers), and the profile showed it as the largest cost of the
 * pipeline (~30% of parse + normalize + validate: per-value objects, dictionary lookups, iconv
 * codec lookups). hl7-segments.test.ts checks this split against the library's on generated messages.
 */

import { recentValues } from './recent-values.ts';

export interface SplitDelimiters {
  readonly field: string;
  readonly repetition: string;
  readonly component: string;
  readonly subComponent: string;
}

/** HL7's explicit null `""` reads as an empty value, like an absent one. */
const explicitNull = '""';

function subComponentsOf(component: string, delimiters: SplitDelimiters, restore: (text: string) => string): string[] {
  if (component === '' || component === explicitNull) return [''];
  if (!component.includes(delimiters.subComponent)) return [restore(component)];
  const subs = component.split(delimiters.subComponent);
  for (let i = 0; i < subs.length; i += 1) subs[i] = subs[i] === explicitNull ? '' : restore(subs[i] as string);
  return subs;
}

function componentsOf(repetition: string, delimiters: SplitDelimiters, restore: (text: string) => string): string[][] {
  if (!repetition.includes(delimiters.component)) return [subComponentsOf(repetition, delimiters, restore)];
  const components = repetition.split(delimiters.component);
  const result: string[][] = new Array<string[]>(components.length);
  for (let i = 0; i < components.length; i += 1) result[i] = subComponentsOf(components[i] as string, delimiters, restore);
  return result;
}

/** Every empty field, shared: a PCD-01 OBX has about as many empty fields as filled ones. Frozen, as it is shared. */
const emptyField: Field = Object.freeze([Object.freeze([Object.freeze([''])])]);

function fieldOf(text: string, delimiters: SplitDelimiters, restore: (text: string) => string): Field {
  if (text === '' || text === explicitNull) return emptyField;
  // Most fields hold one plain value: no split, no intermediate arrays.
  if (!text.includes(delimiters.repetition)) return [componentsOf(text, delimiters, restore)];
  return text.split(delimiters.repetition).map((repetition) => componentsOf(repetition, delimiters, restore));
}

type Field = readonly (readonly (readonly string[])[])[];

/**
 * Fields with components seen lately, split: devices send the same codes, units, categories and
 * equipment identifiers (OBX-3, -6, -17, -18) in every message, and splitting them was the largest
 * part of the split. Only for messages without escape sequences, whose values depend on the text and
 * the delimiters alone; cleared when the delimiters change or when full. Shared, hence frozen.
 * Only OBX fields: patient identifiers and names (PID, PV1, NK1) are never kept beyond their message.
 */
const recentFields = recentValues<Field>();
let recentFieldsDelimiters = '';

const unchanged = (text: string): string => text;

function freezeField(field: string[][][]): Field {
  for (const repetition of field) {
    for (const component of repetition) Object.freeze(component);
    Object.freeze(repetition);
  }
  return Object.freeze(field);
}

/**
 * The last field text seen at each OBX field position and its split: consecutive OBX rows repeat the
 * equipment (OBX-18), the category (OBX-17) and often the unit (OBX-6), and comparing with the last
 * text is cheaper than hashing a new string for the map. Cleared with recentFields.
 */
const lastTextAt: (string | undefined)[] = [];
const lastFieldAt: Field[] = [];

function recentFieldOf(text: string, position: number, delimiters: SplitDelimiters): Field {
  // A single value is as quick to split as to look up.
  if (!text.includes(delimiters.component)) return fieldOf(text, delimiters, unchanged);
  if (lastTextAt[position] === text) return lastFieldAt[position]!;
  let field = recentFields.get(text);
  if (field === undefined) {
    field = recentFields.remember(text, freezeField(fieldOf(text, delimiters, unchanged) as string[][][]));
  }
  lastTextAt[position] = text;
  lastFieldAt[position] = field;
  return field;
}

/** How a segment reads a plain value (no delimiters in it) without splitting its field. */
interface PlainValues {
  readonly delimiters: SplitDelimiters;
  readonly restore: (text: string) => string;
}

/** fields[0], and MSH-1 and MSH-2 (the delimiters themselves): empty. */
const noField: Field = Object.freeze([]);

/**
 * One segment as plain text: field(n) is HL7 field n (1-based; field 0 is unused), repetitions >
 * components > sub-components. Each field is split when first read, not before: a PCD-01 message
 * has about 200 fields and the adapter reads about half of them (MSH alone has ~20, of which 6 are
 * read), and splitting every field up front was a tenth of the pure pipeline's CPU.
 */
export class RawSegment {
  readonly type: string;
  /** The segment's occurrence among segments of its type, from 1: HL7 ERR-2 (ERL.2) "segment sequence". */
  readonly sequence: number;
  /** The line split at the field separator: parts[0] is the segment ID; MSH's parts[1] is MSH-2. */
  private readonly parts: readonly string[];
  /** Fields split so far, by field number; computed once each, so a field read twice is the same object. */
  private readonly split: (Field | undefined)[] = [];
  private readonly splitField: (text: string, position: number) => Field;
  private readonly plain: PlainValues;

  constructor(type: string, sequence: number, parts: readonly string[], splitField: (text: string, position: number) => Field, plain: PlainValues) {
    this.type = type;
    this.sequence = sequence;
    this.parts = parts;
    this.splitField = splitField;
    this.plain = plain;
  }

  /** How many fields there are, counting field 0: the last field is fieldCount - 1. */
  get fieldCount(): number {
    return this.type === 'MSH' ? Math.max(3, this.parts.length + 1) : this.parts.length;
  }

  /** Field n, undefined past the last field. */
  field(n: number): Field | undefined {
    const known = this.split[n];
    if (known !== undefined) return known;
    if (n >= this.fieldCount || n < 0 || !Number.isInteger(n)) return undefined;
    // MSH-1 is the field separator, so MSH's parts are one behind its field numbers.
    const first = this.type === 'MSH' ? 3 : 1;
    const field = n < first ? noField : this.splitField(this.parts[this.type === 'MSH' ? n - 1 : n] as string, n);
    this.split[n] = field;
    return field;
  }

  /**
   * The first sub-component of the first component of the first repetition of field n, '' when
   * absent: for a field of one plain value (most are) the text itself, with no split and no arrays.
   */
  firstValue(n: number): string {
    const known = this.split[n];
    if (known !== undefined) return known[0]?.[0]?.[0] ?? '';
    const first = this.type === 'MSH' ? 3 : 1;
    if (n < first || n >= this.fieldCount || !Number.isInteger(n)) return '';
    const text = this.parts[this.type === 'MSH' ? n - 1 : n] as string;
    const { delimiters } = this.plain;
    if (text.includes(delimiters.component) || text.includes(delimiters.repetition) || text.includes(delimiters.subComponent)) {
      return this.field(n)?.[0]?.[0]?.[0] ?? '';
    }
    return text === explicitNull ? '' : this.plain.restore(text);
  }

  /** Every field, split: for tests and for reading a whole segment. */
  get fields(): readonly Field[] {
    return Array.from({ length: this.fieldCount }, (_, n) => this.field(n) as Field);
  }
}

/**
 * Splits the lines of a masked message (parse.ts checks each starts with a segment ID) into plain
 * segments (each field split when first read). MSH-1 and MSH-2 are the delimiters themselves and stay empty.
 * @param restore puts masked escape sequences back into a value; undefined when the message had none.
 */
export function splitSegments(lines: readonly string[], delimiters: SplitDelimiters, restore: ((text: string) => string) | undefined): RawSegment[] {
  if (restore === undefined) {
    const key = `${delimiters.field}${delimiters.repetition}${delimiters.component}${delimiters.subComponent}`;
    if (key !== recentFieldsDelimiters) {
      recentFields.clear();
      lastTextAt.length = 0;
      lastFieldAt.length = 0;
      recentFieldsDelimiters = key;
    }
  }
  // Only OBX fields go through the shared cache: patient identifiers and names (PID, PV1, NK1) never do.
  // Fields are split later, when read: the cache serves them only while it holds these delimiters.
  const cacheKey = recentFieldsDelimiters;
  const obxField =
    restore === undefined
      ? (text: string, position: number) =>
          recentFieldsDelimiters === cacheKey ? recentFieldOf(text, position, delimiters) : fieldOf(text, delimiters, unchanged)
      : (text: string) => fieldOf(text, delimiters, restore);
  const otherField = (text: string) => fieldOf(text, delimiters, restore ?? unchanged);
  const plain: PlainValues = { delimiters, restore: restore ?? unchanged };
  const counts = new Map<string, number>();
  const segments: RawSegment[] = [];
  for (const line of lines) {
    if (line === '') continue;
    const parts = line.split(delimiters.field);
    const type = parts[0] as string;
    const sequence = (counts.get(type) ?? 0) + 1;
    counts.set(type, sequence);
    segments.push(new RawSegment(type, sequence, parts, type === 'OBX' ? obxField : otherField, plain));
  }
  return segments;
}

/** A value by position, '' when absent: field n, repetition r (from 0), component c and sub-component s (from 1). */
export function valueAt(segment: RawSegment | undefined, field: number, component = 1, subComponent = 1, repetition = 0): string {
  if (segment === undefined) return '';
  if (component === 1 && subComponent === 1 && repetition === 0) return segment.firstValue(field);
  return segment?.field(field)?.[repetition]?.[component - 1]?.[subComponent - 1] ?? '';
}

/** The repetitions of a field, each as its components' first sub-components. */
export function repetitionsOf(segment: RawSegment, field: number): (readonly string[])[] {
  return (segment.field(field) ?? []).map((repetition) => repetition.map((component) => component[0] ?? ''));
}

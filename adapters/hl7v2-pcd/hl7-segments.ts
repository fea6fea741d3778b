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
  /** The segment's text; part k is what line.split(field separator)[k] would be (part 0 the segment ID, MSH's part 1 MSH-2). */
  private readonly line: string;
  private readonly separator: string;
  /**
   * Where each part found so far starts (part 0 at 0): the line is scanned only as far as the fields
   * read, and only those become strings (a full split made ~200 strings per message, half unread).
   */
  private readonly starts: number[] = [0];
  /** True once the scan reached the end of the line: starts holds every part. */
  private scanned = false;
  /** Fields split so far, by field number; computed once each, so a field read twice is the same object. */
  private readonly split: (Field | undefined)[] = [];
  private readonly splitField: (text: string, position: number) => Field;
  private readonly plain: PlainValues;

  constructor(type: string, sequence: number, line: string, separator: string, splitField: (text: string, position: number) => Field, plain: PlainValues) {
    this.type = type;
    this.sequence = sequence;
    this.line = line;
    this.separator = separator;
    this.splitField = splitField;
    this.plain = plain;
  }

  /** line.split(separator)[k], undefined past the last part. */
  private part(k: number): string | undefined {
    const starts = this.starts;
    while (starts.length <= k + 1 && !this.scanned) {
      const at = this.line.indexOf(this.separator, starts[starts.length - 1]!);
      if (at < 0) this.scanned = true;
      else starts.push(at + this.separator.length);
    }
    if (k >= starts.length) return undefined;
    const end = k + 1 < starts.length ? starts[k + 1]! - this.separator.length : this.line.length;
    return this.line.slice(starts[k]!, end);
  }

  /** Field n's text, undefined past the last field; n from the first field with text (MSH-3, else 1). */
  private textOf(n: number): string | undefined {
    // MSH-1 is the field separator, so MSH's parts are one behind its field numbers.
    return this.part(this.type === 'MSH' ? n - 1 : n);
  }

  /** How many fields there are, counting field 0: the last field is fieldCount - 1. */
  get fieldCount(): number {
    while (this.part(this.starts.length) !== undefined);
    const parts = this.starts.length;
    return this.type === 'MSH' ? Math.max(3, parts + 1) : parts;
  }

  /** Field n, undefined past the last field. */
  field(n: number): Field | undefined {
    const known = this.split[n];
    if (known !== undefined) return known;
    if (n < 0 || !Number.isInteger(n)) return undefined;
    let field: Field;
    if (n < (this.type === 'MSH' ? 3 : 1)) {
      field = noField;
    } else {
      const text = this.textOf(n);
      if (text === undefined) return undefined;
      field = this.splitField(text, n);
    }
    this.split[n] = field;
    return field;
  }

  /**
   * Field n's value when it is one plain value (no repetition, component or sub-component
   * delimiter; '' when absent or the explicit null), else undefined: most fields are, and read this
   * way need no split and no arrays.
   */
  plainValue(n: number): string | undefined {
    const known = this.split[n];
    if (known !== undefined) {
      return known.length <= 1 && (known[0]?.length ?? 0) <= 1 && (known[0]?.[0]?.length ?? 0) <= 1 ? (known[0]?.[0]?.[0] ?? '') : undefined;
    }
    if (n < (this.type === 'MSH' ? 3 : 1) || !Number.isInteger(n)) return '';
    const text = this.textOf(n);
    if (text === undefined) return '';
    const { delimiters } = this.plain;
    if (text.includes(delimiters.component) || text.includes(delimiters.repetition) || text.includes(delimiters.subComponent)) return undefined;
    return text === explicitNull ? '' : this.plain.restore(text);
  }

  /** The first sub-component of the first component of the first repetition of field n, '' when absent. */
  firstValue(n: number): string {
    return this.plainValue(n) ?? this.field(n)?.[0]?.[0]?.[0] ?? '';
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
    const idEnd = line.indexOf(delimiters.field);
    const type = idEnd < 0 ? line : line.slice(0, idEnd);
    const sequence = (counts.get(type) ?? 0) + 1;
    counts.set(type, sequence);
    segments.push(new RawSegment(type, sequence, line, delimiters.field, type === 'OBX' ? obxField : otherField, plain));
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

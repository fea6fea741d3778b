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

/** One segment as plain text: fields[n] is HL7 field n (1-based; fields[0] is unused), repetitions > components > sub-components. */
export interface RawSegment {
  readonly type: string;
  /** The segment's occurrence among segments of its type, from 1: HL7 ERR-2 (ERL.2) "segment sequence". */
  readonly sequence: number;
  readonly fields: readonly (readonly (readonly (readonly string[])[])[])[];
}

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

function recentFieldOf(text: string, delimiters: SplitDelimiters): Field {
  // A single value is as quick to split as to look up.
  if (!text.includes(delimiters.component)) return fieldOf(text, delimiters, unchanged);
  let field = recentFields.get(text);
  if (field === undefined) {
    field = recentFields.remember(text, freezeField(fieldOf(text, delimiters, unchanged) as string[][][]));
  }
  return field;
}

/**
 * Splits the lines of a masked message (parse.ts checks each starts with a segment ID) into plain
 * segments. MSH-1 and MSH-2 are the delimiters themselves and stay empty.
 * @param restore puts masked escape sequences back into a value; undefined when the message had none.
 */
export function splitSegments(lines: readonly string[], delimiters: SplitDelimiters, restore: ((text: string) => string) | undefined): RawSegment[] {
  if (restore === undefined) {
    const key = `${delimiters.field}${delimiters.repetition}${delimiters.component}${delimiters.subComponent}`;
    if (key !== recentFieldsDelimiters) {
      recentFields.clear();
      recentFieldsDelimiters = key;
    }
  }
  const counts = new Map<string, number>();
  const segments: RawSegment[] = [];
  for (const line of lines) {
    if (line === '') continue;
    const parts = line.split(delimiters.field);
    const type = parts[0] as string;
    const fields: Field[] = type === 'MSH' ? [[], [], []] : [[]];
    for (let position = type === 'MSH' ? 2 : 1; position < parts.length; position += 1) {
      const text = parts[position] as string;
      fields.push(restore === undefined && type === 'OBX' ? recentFieldOf(text, delimiters) : fieldOf(text, delimiters, restore ?? unchanged));
    }
    const sequence = (counts.get(type) ?? 0) + 1;
    counts.set(type, sequence);
    segments.push({ type, sequence, fields });
  }
  return segments;
}

/** A value by position, '' when absent: field n, repetition r (from 0), component c and sub-component s (from 1). */
export function valueAt(segment: RawSegment | undefined, field: number, component = 1, subComponent = 1, repetition = 0): string {
  return segment?.fields[field]?.[repetition]?.[component - 1]?.[subComponent - 1] ?? '';
}

/** The repetitions of a field, each as its components' first sub-components. */
export function repetitionsOf(segment: RawSegment, field: number): (readonly string[])[] {
  return (segment.fields[field] ?? []).map((repetition) => repetition.map((component) => component[0] ?? ''));
}

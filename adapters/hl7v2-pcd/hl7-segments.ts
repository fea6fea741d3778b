/**
 * The only place that touches the hl7v2 library. It splits the message into segments, fields,
 * repetitions and components; we copy that structure out as plain strings at once, so none of the
 * library's untyped (`any`) values travel further. The library interprets nothing on the way:
 * escape sequences are masked beforehand (escapes.ts), and its data-type decoders are switched off
 * (see textOnlyDictionaries).
 */
import { HL7Message, type Hl7Component, type HL7Segment } from 'hl7v2';
import { dictionaries, HL7Dictionary, type HL7DataTypeDefinition, type HL7FieldDefinition } from 'hl7v2-dictionary';
import { GatewayError } from '../../src/errors/catalogue.ts';

const mapValues = <T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));

function withoutDecoder<T extends HL7FieldDefinition | HL7DataTypeDefinition>(definition: T): T {
  const { decode: _decode, ...rest } = definition;
  return rest as T;
}

/**
 * The library's dictionaries with every decoder removed, so each value reaches us as the text that was
 * sent. Its decoders corrupt data (hl7v2-dictionary 1.8.0): the DTM decoder deletes every "-", turning
 * 20151015132106-0500 into 201510151321060500, and shortens 20240501000000 to the date 20240501; NM and
 * SI become JavaScript numbers ("0012" -> 12).
 */
const textOnlyDictionaries: Record<string, HL7Dictionary> = mapValues(
  dictionaries,
  (dictionary) =>
    new HL7Dictionary({
      version: dictionary.version,
      messages: dictionary.messages,
      segments: mapValues(dictionary.segments, (segment) => ({ ...segment, fields: mapValues(segment.fields, withoutDecoder) })),
      types: mapValues(dictionary.types, (type) => ({
        ...withoutDecoder(type),
        ...(type.fields !== undefined ? { fields: mapValues(type.fields, withoutDecoder) } : {}),
      })),
    }),
);

/** One segment as plain text: fields[n] is HL7 field n (1-based; fields[0] is unused), repetitions > components > sub-components. */
export interface RawSegment {
  readonly type: string;
  /** The segment's occurrence among segments of its type, from 1: HL7 ERR-2 (ERL.2) "segment sequence". */
  readonly sequence: number;
  readonly fields: readonly (readonly (readonly (readonly string[])[])[])[];
}

/** With the decoders off the library returns strings, and null for HL7's explicit null `""`. */
function asText(value: unknown, restore: (text: string) => string): string {
  if (typeof value === 'string') return restore(value);
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return '';
  throw new GatewayError('hl7_unparseable', `The HL7 parser returned an unexpected ${typeof value} value.`);
}

/**
 * The library splits sub-components only for components its dictionary types as composite; for the
 * others the separator is still in the text, so it is split here.
 */
function subComponentsOf(component: Hl7Component, subComponentSeparator: string, restore: (text: string) => string): string[] {
  if (component.isPrimitive) {
    const value: unknown = component.getValue();
    return typeof value === 'string' ? value.split(subComponentSeparator).map(restore) : [asText(value, restore)];
  }
  return (component.subComponents ?? []).map((sub) => asText(sub?.value as unknown, restore));
}

function fieldsOf(segment: HL7Segment, subComponentSeparator: string, restore: (text: string) => string): string[][][][] {
  const fields: string[][][][] = [[]];
  // MSH-1 and MSH-2 are the delimiters themselves, which the library does not keep as text.
  const first = segment.segmentType === 'MSH' ? 3 : 1;
  for (let position = 1; position < first; position += 1) fields.push([]);
  for (let position = first; position <= segment.fields.length; position += 1) {
    const field = segment.fields[position - 1];
    fields.push(
      (field?.repetitions ?? []).map((repetition) =>
        (repetition.components ?? []).map((component) => subComponentsOf(component, subComponentSeparator, restore)),
      ),
    );
  }
  return fields;
}

/** Splits a masked message (segments separated by CR) into plain segments. */
export function splitSegments(masked: string, subComponentSeparator: string, restore: (text: string) => string): RawSegment[] {
  let message: HL7Message;
  try {
    message = HL7Message.parse(masked, { strict: false, dictionaries: textOnlyDictionaries });
  } catch (cause) {
    // The library's message may quote the message's content, which may identify a patient: not in the detail.
    throw new GatewayError('hl7_unparseable', undefined, { cause });
  }
  const counts = new Map<string, number>();
  return message.segments.map((segment) => {
    const sequence = (counts.get(segment.segmentType) ?? 0) + 1;
    counts.set(segment.segmentType, sequence);
    return { type: segment.segmentType, sequence, fields: fieldsOf(segment, subComponentSeparator, restore) };
  });
}

/** A value by position, '' when absent: field n, repetition r (from 0), component c and sub-component s (from 1). */
export function valueAt(segment: RawSegment | undefined, field: number, component = 1, subComponent = 1, repetition = 0): string {
  return segment?.fields[field]?.[repetition]?.[component - 1]?.[subComponent - 1] ?? '';
}

/** The repetitions of a field, each as its components' first sub-components. */
export function repetitionsOf(segment: RawSegment, field: number): (readonly string[])[] {
  return (segment.fields[field] ?? []).map((repetition) => repetition.map((component) => component[0] ?? ''));
}

/**
 * The plain splitter (hl7-segments.ts) against the hl7v2 library it replaced on the hot path: on
 * generated messages both must give the same segments, fields, repetitions, components and
 * sub-components. The library version below is the adapter's former code, kept only as the reference.
 */
import fc from 'fast-check';
import { HL7Message, type Hl7Component, type HL7Segment } from 'hl7v2';
import { dictionaries, HL7Dictionary, type HL7DataTypeDefinition, type HL7FieldDefinition } from 'hl7v2-dictionary';
import { describe, expect, it } from 'vitest';
import { splitSegments, type RawSegment } from './hl7-segments.ts';
import { fieldText } from './parse.ts';

const mapValues = <T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
function withoutDecoder<T extends HL7FieldDefinition | HL7DataTypeDefinition>(definition: T): T {
  const { decode: _decode, ...rest } = definition;
  return rest as T;
}
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
function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return '';
  throw new Error(`unexpected ${typeof value}`);
}
function librarySubComponents(component: Hl7Component): string[] {
  if (component.isPrimitive) {
    const value: unknown = component.getValue();
    return typeof value === 'string' ? value.split('&') : [asText(value)];
  }
  return (component.subComponents ?? []).map((sub) => asText(sub?.value as unknown));
}
function libraryFields(segment: HL7Segment): string[][][][] {
  const fields: string[][][][] = [[]];
  const first = segment.segmentType === 'MSH' ? 3 : 1;
  for (let position = 1; position < first; position += 1) fields.push([]);
  for (let position = first; position <= segment.fields.length; position += 1) {
    const field = segment.fields[position - 1];
    fields.push((field?.repetitions ?? []).map((repetition) => (repetition.components ?? []).map(librarySubComponents)));
  }
  return fields;
}
/** A segment as plain data, every field split: what toEqual compares. */
interface PlainSegment {
  readonly type: string;
  readonly sequence: number;
  readonly fields: readonly (readonly (readonly (readonly string[])[])[])[];
}
const plain = (segments: readonly RawSegment[]): PlainSegment[] =>
  segments.map((segment) => ({ type: segment.type, sequence: segment.sequence, fields: segment.fields }));

function librarySplit(message: string): PlainSegment[] {
  const parsed = HL7Message.parse(message, { strict: false, dictionaries: textOnlyDictionaries });
  const counts = new Map<string, number>();
  return parsed.segments.map((segment) => {
    const sequence = (counts.get(segment.segmentType) ?? 0) + 1;
    counts.set(segment.segmentType, sequence);
    return { type: segment.segmentType, sequence, fields: libraryFields(segment) };
  });
}

const delimiters = { field: '|', repetition: '~', component: '^', subComponent: '&' } as const;
const identity = (text: string) => text;

// Values as the adapter hands them over: escapes already masked, so no escape character; HL7's
// explicit null `""` as a whole component (inside a sub-component list the library's answer depends
// on its dictionary's typing of the component, and ours reads it as empty everywhere).
const text = fc.stringMatching(/^[A-Za-z0-9 .:\-+\u00e9]{0,6}$/);
const component = fc.oneof(
  { weight: 6, arbitrary: fc.array(text, { minLength: 1, maxLength: 3 }).map((subs) => subs.join('&')) },
  { weight: 1, arbitrary: fc.constant('""') },
);
const field = fc.array(fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join('^')), { minLength: 1, maxLength: 3 }).map((r) => r.join('~'));
const segment = fc
  .tuple(fc.constantFrom('PID', 'PV1', 'OBR', 'OBX', 'NTE', 'ZZ1', 'ORC'), fc.array(field, { minLength: 0, maxLength: 20 }))
  .map(([type, fields]) => [type, ...fields].join('|'));
const message = fc
  .tuple(fc.array(field, { minLength: 0, maxLength: 18 }), fc.array(segment, { minLength: 0, maxLength: 12 }))
  .map(([headerFields, segments]) => ({ header: ['MSH', '^~\\&', ...headerFields].join('|'), segments }));

describe('hl7-segments splitSegments', () => {
  it('splits generated messages exactly as the hl7v2 library did', () => {
    fc.assert(
      fc.property(message, ({ header, segments }) => {
        const lines = [header, ...segments];
        expect(plain(splitSegments(lines, delimiters, identity))).toEqual(librarySplit(lines.join('\r')));
      }),
      { numRuns: 500, seed: 20261121 },
    );
  });

  it('splits the same from its cache of recent fields (messages without escape sequences), on first sight and again', () => {
    fc.assert(
      fc.property(message, ({ header, segments }) => {
        const lines = [header, ...segments];
        const expected = librarySplit(lines.join('\r'));
        expect(plain(splitSegments(lines, delimiters, undefined))).toEqual(expected);
        expect(plain(splitSegments(lines, delimiters, undefined))).toEqual(expected);
      }),
      { numRuns: 500, seed: 20261121 },
    );
  });

  it('reads a field\'s first value and plain value as its split says, whatever was read before (fields are scanned lazily)', () => {
    fc.assert(
      fc.property(message, fc.array(fc.integer({ min: -1, max: 24 }), { maxLength: 30 }), ({ header, segments }, reads) => {
        const lines = [header, ...segments];
        const reference = plain(splitSegments(lines, delimiters, identity));
        const lazy = splitSegments(lines, delimiters, identity);
        for (const [index, segment] of lazy.entries()) {
          // Read in a random order first, then every field in turn.
          for (const n of [...reads, ...Array.from({ length: 26 }, (_, k) => k - 1)]) {
            const split = reference[index]!.fields[n];
            const first = split?.[0]?.[0]?.[0] ?? '';
            expect(segment.firstValue(n)).toBe(first);
            const plainValue = segment.plainValue(n);
            if (plainValue !== undefined) expect(plainValue).toBe(first);
            if (split !== undefined && (split.length > 1 || (split[0]?.length ?? 0) > 1 || (split[0]?.[0]?.length ?? 0) > 1)) expect(plainValue).toBeUndefined();
            expect(segment.field(n)).toEqual(split);
          }
          expect(segment.fieldCount).toBe(reference[index]!.fields.length);
        }
      }),
      { numRuns: 300, seed: 20261121 },
    );
  });

  it('keeps no cached split across other delimiters', () => {
    const line = 'OBX|1|NM|a^b#c';
    expect(splitSegments([line], delimiters, undefined)[0]?.fields[3]).toEqual([[['a'], ['b#c']]]);
    const hashComponents = { field: '|', repetition: '~', component: '#', subComponent: '&' } as const;
    expect(splitSegments([line], hashComponents, undefined)[0]?.fields[3]).toEqual([[['a^b'], ['c']]]);
  });

  it('splits a field read only after another message with other delimiters was split with its own delimiters', () => {
    // Fields are split when first read; the shared cache of recent fields then holds another message's delimiters.
    const [early] = splitSegments(['OBX|1|NM|a^b#c'], delimiters, undefined);
    const hashComponents = { field: '|', repetition: '~', component: '#', subComponent: '&' } as const;
    const [later] = splitSegments(['OBX|1|NM|a^b#c'], hashComponents, undefined);
    expect(later?.field(3)).toEqual([[['a^b'], ['c']]]);
    expect(early?.field(3)).toEqual([[['a'], ['b#c']]]);
    expect(early?.field(3)).toBe(early?.field(3));
    expect(early?.field(4)).toBeUndefined();
    expect(early?.fields).toHaveLength(4);
  });

  it('gives each OBX row its own field when consecutive rows repeat or change a field (the last text per position is kept)', () => {
    const rows = ['OBX|1|NM|a^b|x^y', 'OBX|2|NM|a^b|x^z', 'OBX|3|NM|c^d|x^z', 'OBX|4|NM|a^b|x^y', 'OBX|5|NM|a^b^|x^y'];
    const segments = splitSegments(rows, delimiters, undefined);
    expect(segments.map((segment) => [segment.field(3), segment.field(4)])).toEqual([
      [[[['a'], ['b']]], [[['x'], ['y']]]],
      [[[['a'], ['b']]], [[['x'], ['z']]]],
      [[[['c'], ['d']]], [[['x'], ['z']]]],
      [[[['a'], ['b']]], [[['x'], ['y']]]],
      [[[['a'], ['b'], ['']]], [[['x'], ['y']]]],
    ]);
    const header = 'MSH|^~\\&|X';
    expect(plain(splitSegments([header, ...rows], delimiters, undefined))).toEqual(librarySplit([header, ...rows].join('\r')));
  });

  it('reads the explicit null "" as empty in a sub-component too, and restores masked values', () => {
    const restore = (value: string) => value.replaceAll('\u{F0000}', '|');
    const [obx] = splitSegments(['OBX|1|NM|a&""&c^""~x\u{F0000}y||'], delimiters, restore);
    expect(obx?.fields[3]).toEqual([[['a', '', 'c'], ['']], [['x|y']]]);
    expect(obx?.fields[4]).toEqual([[['']]]);
    expect(obx?.fields.length).toBe(6);
  });
});

describe('parse fieldText', () => {
  it('is line.split(separator)[n], or empty past the last field', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '|', '^', ' ') }), fc.nat(20), (line, n) => {
        expect(fieldText(line, '|', n)).toBe(line.split('|')[n] ?? '');
      }),
      { numRuns: 2000, seed: 20261121 },
    );
  });
});
